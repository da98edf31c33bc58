package compat

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// schema is the set of objects the psql cases list and describe.
var schema = []string{
	`CREATE TABLE trades (id bigint PRIMARY KEY, sym text NOT NULL DEFAULT 'X', px double precision, ts timestamptz)`,
	`CREATE VIEW big AS SELECT id, px FROM trades WHERE px > 100`,
	`CREATE MATERIALIZED VIEW per_sym AS SELECT sym, count(*) AS n FROM trades GROUP BY sym`,
	`CREATE SCHEMA risk`,
	`CREATE TABLE risk.limits (sym text PRIMARY KEY, max_px numeric(12,2))`,
}

func TestPsqlListings(t *testing.T) {
	s := startServer(t)
	s.exec(t, schema...)

	contains(t, s.mustPsql(t, "-c", `\l`), "streamsql", "UTF8")
	out := s.mustPsql(t, "-c", `\dn`)
	contains(t, out, "public", "risk")
	if strings.Contains(out, "pg_catalog") || strings.Contains(out, "information_schema") {
		t.Errorf(`\dn lists system schemas:\n%s`, out)
	}
	out = s.mustPsql(t, "-c", `\dt`)
	contains(t, out, "trades", "table")
	for _, not := range []string{"big", "per_sym", "pg_class", "limits"} {
		if strings.Contains(out, " "+not+" ") {
			t.Errorf(`\dt lists %s:\n%s`, not, out)
		}
	}
	contains(t, s.mustPsql(t, "-c", `\dt risk.*`), "risk", "limits")
	contains(t, s.mustPsql(t, "-c", `\dv`), "big", "view")
	contains(t, s.mustPsql(t, "-c", `\dm`), "per_sym", "materialized view")
	contains(t, s.mustPsql(t, "-c", `\dt+`), "trades", "permanent")
	contains(t, s.mustPsql(t, "-c", `\df`), "List of functions")
	contains(t, s.mustPsql(t, "-c", `\dfS lower`), "lower", "text")
	contains(t, s.mustPsql(t, "-c", `\x`, "-c", `SELECT 1 AS a, 'two' AS b`), "Expanded display is on", "-[ RECORD 1 ]", "a | 1", "b | two")
}

// describe runs one psql describe command, which must succeed.
func describe(t *testing.T, s *server, cmd string) string {
	t.Helper()
	out, err := s.psql(t, "-c", cmd)
	if err != nil || strings.Contains(out, "ERROR") {
		t.Fatalf("psql -c %q: %v\n%s", cmd, err, out)
	}
	return out
}

func TestPsqlDescribeTable(t *testing.T) {
	s := startServer(t)
	s.exec(t, schema...)
	out := describe(t, s, `\d trades`)
	contains(t, out, `Table "public.trades"`, "id", "bigint", "not null", "sym", "text", "'X'", "double precision",
		"timestamp with time zone", `"trades_pkey" PRIMARY KEY, btree (id)`)
	out = describe(t, s, `\d+ trades`)
	contains(t, out, `Table "public.trades"`, "Storage", "plain", "extended", "Access method: heap")
	out = describe(t, s, `\d risk.limits`)
	contains(t, out, `Table "risk.limits"`, "numeric(12,2)", `"limits_pkey" PRIMARY KEY, btree (sym)`)
	out, _ = s.psql(t, "-c", `\d nosuch`)
	contains(t, out, `Did not find any relation named "nosuch"`)
}

// Secondary indexes and UNIQUE constraints are listed under "Indexes:" as
// PostgreSQL lists them, and by \di.
func TestPsqlDescribeIndexes(t *testing.T) {
	s := startServer(t)
	s.exec(t, "CREATE TABLE users (id bigint PRIMARY KEY, email text UNIQUE, city text, score int)",
		"CREATE INDEX users_city_idx ON users (city)", "CREATE INDEX ON users (score DESC, city)")
	out := describe(t, s, `\d users`)
	contains(t, out, `Table "public.users"`, "Indexes:", `"users_pkey" PRIMARY KEY, btree (id)`,
		`"users_email_key" UNIQUE CONSTRAINT, btree (email)`, `"users_city_idx" btree (city)`,
		`"users_score_city_idx" btree (score DESC, city)`)
	out = describe(t, s, `\di`)
	contains(t, out, "users_city_idx", "users_email_key", "users_score_city_idx", "index")
}

func TestPsqlDescribeConstraints(t *testing.T) {
	s := startServer(t)
	s.exec(t, "CREATE TABLE p (id int PRIMARY KEY)",
		"CREATE TABLE c (id int PRIMARY KEY, pid int REFERENCES p, n int CHECK (n > 0))")
	contains(t, describe(t, s, `\d c`), "Check constraints:", `"c_n_check" CHECK (n > 0)`,
		"Foreign-key constraints:", `"c_pid_fkey" FOREIGN KEY (pid) REFERENCES p(id)`)
	// regclass values print as names, as PostgreSQL's output function does.
	contains(t, describe(t, s, `\d p`), "Referenced by:", `TABLE "c" CONSTRAINT "c_pid_fkey" FOREIGN KEY (pid) REFERENCES p(id)`)
	contains(t, describe(t, s, `SELECT 'c'::regclass AS r, 'int4'::regtype AS t`), " c | integer")
}

func TestPsqlDescribeSource(t *testing.T) {
	s := startServer(t)
	s.exec(t, `CREATE SOURCE gen (id bigint, v double precision, ts timestamptz) WITH (connector = 'datagen')`)
	// A source is a relation of kind 'r' (see docs/clients.md).
	out := describe(t, s, `\d gen`)
	contains(t, out, `Table "public.gen"`, "id", "bigint", "v", "double precision", "timestamp with time zone")
	out = describe(t, s, `\d+ gen`)
	contains(t, out, `Table "public.gen"`, "Storage", "Access method: heap")
	contains(t, describe(t, s, `\dt+ gen`), "gen", "StreamSQL source")
}

func TestPsqlDescribeFunctions(t *testing.T) {
	s := startServer(t)
	out := describe(t, s, `\df`)
	contains(t, out, "List of functions", "(0 rows)")
	out = describe(t, s, `\df+ upper`)
	contains(t, out, "upper", "text", "immutable")
	out = describe(t, s, `\dfS to_regclass`)
	contains(t, out, "to_regclass", "regclass", "text", "func")
}

func TestPsqlDescribeView(t *testing.T) {
	s := startServer(t)
	s.exec(t, schema...)
	out := describe(t, s, `\d big`)
	contains(t, out, `View "public.big"`, "id", "bigint", "px")
	// The definitions are deparsed as PostgreSQL 15 prints them:
	// qualified columns, implicit casts written out, one clause a line.
	out = describe(t, s, `\d+ big`)
	contains(t, out, "View definition:\n SELECT trades.id,\n    trades.px\n   FROM trades\n  WHERE trades.px > 100::double precision;\n")
	out = describe(t, s, `\d+ per_sym`)
	contains(t, out, `Materialized view "public.per_sym"`,
		"View definition:\n SELECT trades.sym,\n    count(*) AS n\n   FROM trades\n  GROUP BY trades.sym;\n")
}

func TestPsqlCopy(t *testing.T) {
	s := startServer(t)
	s.exec(t, schema...)
	dir := t.TempDir()
	in := filepath.Join(dir, "in.txt")
	if err := os.WriteFile(in, []byte("1\tAAA\t101.5\t2024-01-02 03:04:05+00\n2\tBBB\t\\N\t\\N\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	contains(t, s.mustPsql(t, "-c", `\copy trades from '`+in+`'`), "COPY 2")
	csv := filepath.Join(dir, "in.csv")
	if err := os.WriteFile(csv, []byte("id,px\n3,\"7.25\"\n4,\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	contains(t, s.mustPsql(t, "-c", `\copy trades (id, px) from '`+csv+`' with (format csv, header)`), "COPY 2")
	// The default fills the column the CSV leaves out.
	contains(t, s.mustPsql(t, "-At", "-c", `SELECT count(*) FROM trades WHERE sym = 'X'`), "2")

	out := filepath.Join(dir, "out.txt")
	contains(t, s.mustPsql(t, "-c", `\copy trades to '`+out+`'`), "COPY 4")
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(got)), "\n")
	if len(lines) != 4 || !strings.Contains(string(got), "1\tAAA\t101.5\t2024-01-02 03:04:05+00") || !strings.Contains(string(got), "2\tBBB\t\\N\t\\N") {
		t.Errorf("COPY TO text:\n%s", got)
	}
	outCSV := filepath.Join(dir, "out.csv")
	contains(t, s.mustPsql(t, "-c", `\copy (SELECT id, sym FROM trades WHERE id <= 2 ORDER BY id) to '`+outCSV+`' with (format csv, header)`), "COPY 2")
	got, err = os.ReadFile(outCSV)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "id,sym\n1,AAA\n2,BBB\n" {
		t.Errorf("COPY TO csv: %q", got)
	}

	// A bad row keeps nothing of its COPY.
	bad := filepath.Join(dir, "bad.txt")
	if err := os.WriteFile(bad, []byte("10\tOK\t1\t\\N\n1\tDUP\t1\t\\N\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	o, err := s.psql(t, "-c", `\copy trades from '`+bad+`'`)
	if err == nil || !strings.Contains(o, "duplicate key") {
		t.Errorf("duplicate key in COPY: %v\n%s", err, o)
	}
	contains(t, s.mustPsql(t, "-At", "-c", `SELECT count(*) FROM trades`), "4")
}
