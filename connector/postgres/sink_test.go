package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"streamsql/engine"
	"streamsql/internal/sqltest"
	"streamsql/internal/testpg"
	"streamsql/internal/testserver"
)

// upstream connects to the PostgreSQL of SLT_PG_DSN, or skips.
func upstream(t *testing.T) (*pgx.Conn, *pgx.ConnConfig) {
	t.Helper()
	return testpg.Connect(t)
}

// sinkWith is the WITH clause of a postgres sink into table of the
// database u names.
func sinkWith(u *pgx.ConnConfig, table, extra string) string {
	w := fmt.Sprintf(`connector = 'postgres', host = '%s', port = '%d', user = '%s', database = '%s', table = '%s', sslmode = 'disable'`,
		u.Host, u.Port, u.User, u.Database, table)
	if u.Password != "" {
		w += fmt.Sprintf(", password = '%s'", u.Password)
	}
	return w + extra
}

// TestPostgresSink keeps a PostgreSQL table equal to an aggregation:
// upserts, deletes, a key that changes; the progress table holds the
// last delivered epoch; the password is masked in SHOW CREATE SINK.
func TestPostgresSink(t *testing.T) {
	pg, u := upstream(t)
	sqltest.Exec(t, pg, `DROP TABLE IF EXISTS sink_totals`,
		`CREATE TABLE IF NOT EXISTS streamsql_sink_progress (sink text PRIMARY KEY, epoch bigint NOT NULL, updated timestamptz NOT NULL DEFAULT now())`,
		`ALTER TABLE streamsql_sink_progress ADD COLUMN IF NOT EXISTS name text`,
		`DELETE FROM streamsql_sink_progress WHERE name = 'totals'`,
		`CREATE TABLE sink_totals (acct text PRIMARY KEY, n bigint, total numeric(12,2), last_at timestamptz)`)

	conn := sqltest.Connect(t, testserver.Start(t, engine.Options{StateMemory: -1}).URL("pg", "pg"))
	sqltest.Exec(t, conn,
		`CREATE TABLE pay (id int PRIMARY KEY, acct text, amount numeric(12,2), at timestamptz)`,
		`INSERT INTO pay VALUES (1, 'a', 10.5, '2024-01-02 03:04:05+00'), (2, 'b''s', 20, '2024-01-02 03:04:06+00'), (3, 'a', 1, '2024-01-02 03:04:07+00')`,
		`CREATE SINK totals AS SELECT acct, count(*) AS n, sum(amount) AS total, max(at) AS last_at FROM pay GROUP BY acct
			WITH (`+sinkWith(u, "public.sink_totals", ", primary_key = 'acct', password = 'sekret'")+`)`)
	q := `SELECT acct, n, total::text, last_at AT TIME ZONE 'UTC' FROM sink_totals ORDER BY acct`
	sqltest.Eventually(t, pg, q, "a 2 11.50 2024-01-02 03:04:07 +0000 UTC\nb's 1 20.00 2024-01-02 03:04:06 +0000 UTC")
	sqltest.Exec(t, conn, `DELETE FROM pay WHERE acct = 'b''s'`, `UPDATE pay SET amount = 5 WHERE id = 3`,
		`INSERT INTO pay VALUES (4, 'c', 7, NULL)`, `FLUSH`)
	sqltest.Eventually(t, pg, q, "a 2 15.50 2024-01-02 03:04:07 +0000 UTC\nc 1 7.00 <nil>")

	var epoch int64
	if err := pg.QueryRow(context.Background(), `SELECT epoch FROM streamsql_sink_progress WHERE name = 'totals'`).Scan(&epoch); err != nil || epoch <= 0 {
		t.Fatalf("progress row: epoch %d, %v", epoch, err)
	}
	var name, def string
	if err := conn.QueryRow(context.Background(), `SHOW CREATE SINK totals`).Scan(&name, &def); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(def, "sekret") || !strings.Contains(def, "password = '********'") {
		t.Errorf("SHOW CREATE SINK shows the password: %s", def)
	}
}

// TestPostgresSinkOptions checks the errors of a bad sink.
func TestPostgresSinkOptions(t *testing.T) {
	conn := sqltest.Connect(t, testserver.Start(t, engine.Options{StateMemory: -1}).URL("pg", "pg"))
	sqltest.Exec(t, conn, `CREATE TABLE p (id int PRIMARY KEY, v int)`)
	for _, c := range []struct{ sql, code, msg string }{
		{`CREATE SINK s FROM p WITH (connector = 'postgres', host = 'h', user = 'u', database = 'd')`, "22023", `requires option "table"`},
		{`CREATE SINK s FROM p WITH (connector = 'postgres', host = 'h', user = 'u', database = 'd', table = 't', primary_key = 'nope')`, "42703", `primary_key column "nope"`},
		{`CREATE SINK s FROM p WITH (connector = 'postgres', host = 'h', user = 'u', database = 'd', table = 't') FORMAT PLAIN ENCODE JSON`, "22023", "takes no FORMAT"},
	} {
		_, err := conn.Exec(context.Background(), c.sql)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != c.code || !strings.Contains(pe.Message, c.msg) {
			t.Errorf("%s: %v, want %s %q", c.sql, err, c.code, c.msg)
		}
	}
}
