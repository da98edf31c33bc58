package engine_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"streamsql/internal/sqltest"
)

// A blackhole sink counts what its query sends it: SHOW JOBS reports the
// rows out, the backfill and the later changes, deletes included.
func TestBlackholeSinkRowsOut(t *testing.T) {
	s := sharedStack(t)
	conn := s.connect(t)
	defer conn.Close(context.Background())
	execAll(t, conn,
		"CREATE TABLE sink_trades (id int PRIMARY KEY, sym varchar, qty int)",
		"INSERT INTO sink_trades VALUES (1, 'A', 10), (2, 'B', 20), (3, 'A', 5)",
		"CREATE SINK sink_big AS SELECT id, sym FROM sink_trades WHERE qty >= 10 WITH (connector = 'blackhole')",
		"INSERT INTO sink_trades VALUES (4, 'C', 30)",
		"UPDATE sink_trades SET qty = 1 WHERE id = 1",
		"FLUSH")
	v := sqltest.JobRow(t, conn, "sink_big")
	if v == nil {
		t.Fatal("SHOW JOBS has no sink_big")
	}
	// Backfill 1 and 2, then the insert of 4, then the delete of 1 (its
	// new version fails the filter).
	if out := v[4].(int64); out != 4 {
		t.Errorf("rows out = %d, want 4", out)
	}
	if status := v[2].(string); status != "running" {
		t.Errorf("status = %q", status)
	}
	execAll(t, conn, "DROP SINK sink_big")
}

// ALTER SINK ... RENAME TO renames a sink (SHOW SINKS and DROP see the new
// name); renaming something that is not a sink, or a sink that does not
// exist, is an error with PostgreSQL's codes.
func TestAlterSinkRename(t *testing.T) {
	s := sharedStack(t)
	conn := s.connect(t)
	defer conn.Close(context.Background())
	ctx := context.Background()
	execAll(t, conn,
		"CREATE TABLE rename_src (id int PRIMARY KEY)",
		"CREATE SINK rename_a FROM rename_src WITH (connector = 'blackhole')",
		"ALTER SINK rename_a RENAME TO rename_b")
	var names []string
	rows, err := conn.Query(ctx, "SHOW SINKS")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		v, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, fmt.Sprint(v[0]))
	}
	rows.Close()
	if got := strings.Join(names, ","); !strings.Contains(got, "rename_b") || strings.Contains(got, "rename_a") {
		t.Errorf("SHOW SINKS = %s, want rename_b and no rename_a", got)
	}
	for _, c := range []struct{ sql, code string }{
		{"ALTER SINK rename_a RENAME TO rename_c", "42P01"},
		{"ALTER SINK rename_src RENAME TO rename_c", "42809"},
		{"ALTER SOURCE rename_b RENAME TO rename_c", "42809"},
		{"ALTER SINK rename_b RENAME TO rename_src", "42P07"},
	} {
		_, err := conn.Exec(ctx, c.sql)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != c.code {
			t.Errorf("%s: %v, want %s", c.sql, err, c.code)
		}
	}
	execAll(t, conn, "DROP SINK rename_b")
}
