package engine_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"streamsql/engine"
)

// TestViewReadsCheckedAsOwner: a plain view's query reads with its owner's
// rights, checked each time the view is read, on every path that reads a
// query: SELECT (prepared and cached too), EXPLAIN, COPY (query) TO,
// DECLARE CURSOR, SUBSCRIBE, INSERT ... SELECT and CREATE MATERIALIZED
// VIEW. A role that may create views cannot read a table through one.
func TestViewReadsCheckedAsOwner(t *testing.T) {
	ts, su := startAs(t, engine.Options{RequireRoles: true}, "streamsql", "CREATE ROLE mallory LOGIN",
		"CREATE SCHEMA scratch", "GRANT USAGE, CREATE ON SCHEMA scratch TO mallory",
		"CREATE TABLE secret (id int PRIMARY KEY, pin text)",
		"INSERT INTO secret VALUES (1, '1234'), (2, '5678')")
	m := mustConnectAs(t, ts, "mallory")
	ctx := context.Background()
	execAll(t, m, "CREATE VIEW scratch.peek AS SELECT id, pin FROM public.secret",
		"CREATE TABLE scratch.loot (id int, pin text)")

	const sel = "SELECT count(*) FROM scratch.peek"
	reads := map[string]func() error{
		"SELECT": func() error {
			var n int64
			return m.QueryRow(ctx, sel).Scan(&n)
		},
		"EXPLAIN": func() error {
			_, err := m.Exec(ctx, "EXPLAIN "+sel)
			return err
		},
		"COPY TO": func() error {
			var out strings.Builder
			_, err := m.PgConn().CopyTo(ctx, &out, "COPY (SELECT * FROM scratch.peek) TO STDOUT")
			return err
		},
		"DECLARE": func() error {
			_, err := fetchCursor(t, m, "SELECT * FROM scratch.peek", "")
			return err
		},
		"SUBSCRIBE": func() error {
			_, err := fetchCursor(t, m, "SUBSCRIBE scratch.peek", "WITH (timeout = '1s')")
			return err
		},
		"INSERT SELECT": func() error {
			_, err := m.Exec(ctx, "INSERT INTO scratch.loot SELECT * FROM scratch.peek")
			return err
		},
	}
	for name, read := range reads {
		wantCodeIn(t, name, read(), "42501")
	}
	_, err := m.Exec(ctx, "CREATE MATERIALIZED VIEW scratch.peek_mv AS SELECT * FROM scratch.peek")
	wantCode(t, err, "42501")
	for _, q := range []string{"scratch.peek", "public.secret"} {
		_, err = m.Exec(ctx, "CREATE SINK scratch.out FROM "+q+" WITH (connector = 'blackhole')")
		wantCodeIn(t, "CREATE SINK FROM "+q, err, "42501")
	}

	// Granted to the owner: every path reads.
	execAll(t, su, "GRANT SELECT ON secret TO mallory")
	for name, read := range reads {
		if err := read(); err != nil {
			t.Errorf("%s after GRANT to the view's owner: %v", name, err)
		}
	}
	// Revoked: the open session's cached plans are refused at once.
	execAll(t, su, "REVOKE SELECT ON secret FROM mallory")
	for name, read := range reads {
		wantCodeIn(t, name, read(), "42501")
	}
	// The classic case: the superuser's view, granted to a role that may
	// not read the table.
	execAll(t, su, "CREATE VIEW scratch.ids AS SELECT id FROM secret", "GRANT SELECT ON scratch.ids TO mallory")
	var n int64
	if err := m.QueryRow(ctx, "SELECT count(*) FROM scratch.ids").Scan(&n); err != nil || n != 2 {
		t.Errorf("the superuser's view: %d rows, %v", n, err)
	}
}

func wantCodeIn(t *testing.T, what string, err error, code string) {
	t.Helper()
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != code {
		t.Errorf("%s: error %v, want SQLSTATE %s", what, err, code)
	}
}
