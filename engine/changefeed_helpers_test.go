package engine_test

// Helpers shared by the tests of SUBSCRIBE, subscriptions and their docs.

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"streamsql/engine"
	"streamsql/internal/doctest"
	"streamsql/internal/testserver"
)

// startWithConn starts a server, connects to it as user and runs the
// statements setup.
func startWithConn(t *testing.T, user string, setup ...string) (*testserver.Server, *pgx.Conn) {
	t.Helper()
	return startAs(t, engine.Options{}, user, setup...)
}

// subChange is one row of a subscription cursor: the view's columns, op,
// rw_timestamp (0 for a snapshot row) and _position ("" when NULL).
type subChange struct {
	row string
	op  string
	ts  int64
	pos string
}

// subCursorCols are the columns a subscription cursor adds after the
// view's.
var subCursorCols = []string{"op", "rw_timestamp", "_position"}

// querySub runs a FETCH on a subscription cursor.
func querySub(conn *pgx.Conn, sql string) ([]subChange, error) {
	rows, err := conn.Query(context.Background(), sql)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	fds := rows.FieldDescriptions()
	if len(fds) == 0 {
		// pgx reports an error of the statement once the rows are read.
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	n := len(fds)
	k := len(subCursorCols)
	if n < k {
		return nil, fmt.Errorf("%s: columns %v, want the view's then %v", sql, fds, subCursorCols)
	}
	for i, name := range subCursorCols {
		if fds[n-k+i].Name != name {
			return nil, fmt.Errorf("%s: columns %v, want the view's then %v", sql, fds, subCursorCols)
		}
	}
	var out []subChange
	for rows.Next() {
		v, err := rows.Values()
		if err != nil {
			return nil, err
		}
		var parts []string
		for _, x := range v[:n-k] {
			parts = append(parts, fmt.Sprint(x))
		}
		c := subChange{row: strings.Join(parts, ","), op: v[n-3].(string)}
		if ts, ok := v[n-2].(int64); ok {
			c.ts = ts
		}
		if p, ok := v[n-1].(string); ok {
			c.pos = p
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// fetchSub runs a FETCH on a subscription cursor and fails the test on
// an error.
func fetchSub(t *testing.T, conn *pgx.Conn, sql string) []subChange {
	t.Helper()
	out, err := querySub(conn, sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return out
}

// evFeed is the fixture of the subscription tests: a table ev (id int
// PRIMARY KEY and the column definitions cols), a materialized view evs
// of all its columns and a subscription sub of evs WITH (options), or
// without options when options is "".
func evFeed(cols, options string) []string {
	table, names := "CREATE TABLE ev (id int PRIMARY KEY)", "id"
	if cols != "" {
		table = "CREATE TABLE ev (id int PRIMARY KEY, " + cols + ")"
		for _, def := range strings.Split(cols, ",") {
			names += ", " + strings.Fields(def)[0]
		}
	}
	view := "CREATE MATERIALIZED VIEW evs AS SELECT " + names + " FROM ev"
	sub := "CREATE SUBSCRIPTION sub FROM evs"
	if options != "" {
		sub += " WITH (" + options + ")"
	}
	return []string{table, view, sub}
}

// fetchSubAtLeast runs sql until it has returned n changes or one run
// returns none, and returns what the runs returned.
func fetchSubAtLeast(t *testing.T, conn *pgx.Conn, sql string, n int) []subChange {
	t.Helper()
	out := fetchSub(t, conn, sql)
	for len(out) < n {
		more := fetchSub(t, conn, sql)
		if len(more) == 0 {
			break
		}
		out = append(out, more...)
	}
	return out
}

// idValues reads sql, which returns two int4 columns (an id and a value),
// as a map from id to value, both as text.
func idValues(t *testing.T, conn *pgx.Conn, sql string) map[string]string {
	t.Helper()
	rows, err := conn.Query(context.Background(), sql)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, v int32
		if err := rows.Scan(&id, &v); err != nil {
			t.Fatal(err)
		}
		out[fmt.Sprint(id)] = fmt.Sprint(v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func subOps(cs []subChange) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.op+" "+c.row)
	}
	return out
}

func subscriptionOID(t *testing.T, e *engine.Engine, name string) uint32 {
	t.Helper()
	r, ok := e.Catalog().Relation("public", name)
	if !ok {
		t.Fatalf("no subscription %s", name)
	}
	return r.OID
}

// docBlock returns the code block of docs/changefeeds.md marked
// <!-- changefeeds: name --> with language lang.
func docBlock(t *testing.T, name, lang string) string {
	t.Helper()
	return string(doctest.Block(t, "docs/changefeeds.md", "(?s)<!-- changefeeds: "+regexp.QuoteMeta(name)+" -->\n```"+lang+"\n(.*?)```")[1])
}

// runDocStatements runs the statements of parts (separated by ";\n") on
// conn and hands each FETCH to fetch.
func runDocStatements(t *testing.T, conn *pgx.Conn, fetch func(stmt string), parts ...string) {
	t.Helper()
	for _, part := range parts {
		for _, stmt := range strings.Split(part, ";\n") {
			if stmt = strings.TrimSpace(stmt); stmt == "" {
				continue
			}
			if !strings.HasPrefix(stmt, "FETCH") {
				execAll(t, conn, stmt)
				continue
			}
			fetch(stmt)
		}
	}
}
