package lower_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"streamsql/engine"
	"streamsql/internal/testserver"
)

// TestPlans prints the plans both lowerings make, as data: testdata/plans
// holds queries with their batch plan (EXPLAIN) and stream plan (EXPLAIN
// CREATE MATERIALIZED VIEW), over a real server; regenerate with -rewrite
// and read the diff. Commands:
//
//	exec     input: statements, one per line (or ending in ";")
//	batch    input: a query; prints its batch executor tree
//	stream   input: a query; prints the stream job of a view over it
//	logical  input: a query; prints the logical plan that job is lowered
//	         from, after the stream rules, with stream properties
//	         (EXPLAIN (LOGICAL) CREATE MATERIALIZED VIEW)
func TestPlans(t *testing.T) {
	datadriven.Walk(t, "testdata/plans", func(t *testing.T, path string) {
		srv := testserver.Start(t, engine.Options{})
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, srv.URL("plans", "streamsql"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			switch d.Cmd {
			case "exec":
				for _, st := range statements(d.Input) {
					if _, err := conn.Exec(ctx, st); err != nil {
						return errorText(err)
					}
				}
				return "ok\n"
			case "batch":
				return explain(ctx, t, conn, "EXPLAIN "+d.Input)
			case "stream":
				return explain(ctx, t, conn, "EXPLAIN CREATE MATERIALIZED VIEW v AS "+d.Input)
			case "logical":
				return explain(ctx, t, conn, "EXPLAIN (LOGICAL) CREATE MATERIALIZED VIEW v AS "+d.Input)
			}
			t.Fatalf("unknown command %s", d.Cmd)
			return ""
		})
	})
}

// statements splits input at lines ending in ";" (or every line).
func statements(input string) []string {
	var out []string
	var cur []string
	for _, line := range strings.Split(input, "\n") {
		cur = append(cur, line)
		if strings.HasSuffix(strings.TrimSpace(line), ";") || !strings.HasPrefix(line, " ") {
			if s := strings.TrimSuffix(strings.TrimSpace(strings.Join(cur, "\n")), ";"); s != "" {
				out = append(out, s)
			}
			cur = nil
		}
	}
	if s := strings.TrimSpace(strings.Join(cur, "\n")); s != "" {
		out = append(out, s)
	}
	return out
}

func explain(ctx context.Context, t *testing.T, conn *pgx.Conn, q string) string {
	rows, err := conn.Query(ctx, q)
	if err != nil {
		return errorText(err)
	}
	defer rows.Close()
	var sb strings.Builder
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		sb.WriteString(line + "\n")
	}
	if err := rows.Err(); err != nil {
		return errorText(err)
	}
	return sb.String()
}

func errorText(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return fmt.Sprintf("error (%s): %s\n", pe.Code, pe.Message)
	}
	return "error: " + err.Error() + "\n"
}
