package postgres_test

import (
	"context"
	"strings"
	"testing"

	"streamsql/engine"
	"streamsql/internal/sqltest"
	"streamsql/internal/testserver"
)

// TestPostgresSinkCreateTable lets the sink create its target table
// (create_table = 'true'): the columns get the sink's PostgreSQL types
// and the table its primary key, and the rows arrive.
func TestPostgresSinkCreateTable(t *testing.T) {
	pg, u := upstream(t)
	sqltest.Exec(t, pg, `DROP TABLE IF EXISTS sink_created`)
	conn := sqltest.Connect(t, testserver.Start(t, engine.Options{StateMemory: -1}).URL("pg", "pg"))
	sqltest.Exec(t, conn,
		`CREATE TABLE src (id int PRIMARY KEY, region varchar(8), amount numeric(12,2), at timestamptz, day date, tags text[], ok boolean, score double precision)`,
		`INSERT INTO src VALUES (1, 'eu', 10.5, '2024-01-02 03:04:05+00', '2024-01-02', '{a,b}', true, 0.5), (2, 'us', NULL, NULL, NULL, NULL, NULL, NULL)`,
		`CREATE SINK created_out FROM src WITH (`+sinkWith(u, "sink_created", ", create_table = 'true'")+`)`,
		`DELETE FROM src WHERE id = 2`, `INSERT INTO src VALUES (3, 'apac', 1, NULL, NULL, '{}', false, 2)`, `FLUSH`)
	sqltest.Eventually(t, pg, `SELECT to_regclass('sink_created') IS NOT NULL`, "true")
	sqltest.Eventually(t, pg, `SELECT id, region, amount::text, day::text, array_to_string(tags, ','), ok, score FROM sink_created ORDER BY id`,
		"1 eu 10.50 2024-01-02 a,b true 0.5\n3 apac 1.00 <nil>  false 2")
	got := sqltest.Rows(t, pg, `SELECT column_name, format_type(atttypid, atttypmod) FROM information_schema.columns c
		JOIN pg_attribute a ON a.attrelid = 'sink_created'::regclass AND a.attname = c.column_name
		WHERE c.table_name = 'sink_created' ORDER BY ordinal_position`)
	want := "id integer\nregion character varying(8)\namount numeric(12,2)\nat timestamp with time zone\nday date\ntags text[]\nok boolean\nscore double precision"
	if got != want {
		t.Errorf("created columns:\n%s\nwant\n%s", got, want)
	}
	if pk := sqltest.Rows(t, pg, `SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'sink_created'::regclass AND contype = 'p'`); pk != "PRIMARY KEY (id)" {
		t.Errorf("primary key of the created table: %q", pk)
	}
}

// TestPostgresSinkRenameRestart renames a sink and kills and restarts the
// server: the sink keeps its progress row (keyed by its identity, not its
// name), so nothing is delivered twice. An audit trigger with a unique
// (id, v) would make a second delivery of any row version fail.
func TestPostgresSinkRenameRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a server")
	}
	pg, u := upstream(t)
	sqltest.Exec(t, pg, `DROP TABLE IF EXISTS sink_renamed, sink_renamed_audit`,
		`CREATE TABLE IF NOT EXISTS streamsql_sink_progress (sink text PRIMARY KEY, epoch bigint NOT NULL, updated timestamptz NOT NULL DEFAULT now())`,
		`ALTER TABLE streamsql_sink_progress ADD COLUMN IF NOT EXISTS name text`,
		`DELETE FROM streamsql_sink_progress WHERE name IN ('before_rename', 'after_rename')`,
		`CREATE TABLE sink_renamed (id int PRIMARY KEY, v bigint)`,
		`CREATE TABLE sink_renamed_audit (id int, v bigint, UNIQUE (id, v))`,
		`CREATE OR REPLACE FUNCTION sink_renamed_audit() RETURNS trigger LANGUAGE plpgsql AS $$
		 BEGIN INSERT INTO sink_renamed_audit VALUES (NEW.id, NEW.v); RETURN NEW; END $$`,
		`CREATE TRIGGER sink_renamed_audit AFTER INSERT OR UPDATE ON sink_renamed FOR EACH ROW EXECUTE FUNCTION sink_renamed_audit()`)
	bin := testserver.Build(t)
	dir := t.TempDir()
	srv := testserver.StartProcess(t, bin, dir, "error")
	t.Cleanup(func() { srv.Kill() })
	conn := srv.Dial(t)
	sqltest.Exec(t, conn,
		`CREATE TABLE acc (id int PRIMARY KEY, v bigint)`,
		`INSERT INTO acc VALUES (1, 1), (2, 1)`,
		`CREATE SINK before_rename FROM acc WITH (`+sinkWith(u, "sink_renamed", ", primary_key = 'id'")+`)`,
		`FLUSH`)
	q := `SELECT id, v FROM sink_renamed ORDER BY id`
	sqltest.Eventually(t, pg, q, "1 1\n2 1")
	sqltest.Exec(t, conn, `ALTER SINK before_rename RENAME TO after_rename`, `UPDATE acc SET v = 2 WHERE id = 1`, `FLUSH`)
	sqltest.Eventually(t, pg, q, "1 2\n2 1")
	conn.Close(context.Background())
	srv.Kill()

	srv = testserver.StartProcess(t, bin, dir, "error")
	conn = srv.Dial(t)
	defer conn.Close(context.Background())
	sqltest.Exec(t, conn, `UPDATE acc SET v = 3 WHERE id = 1`, `INSERT INTO acc VALUES (3, 1)`, `FLUSH`)
	sqltest.Eventually(t, pg, q, "1 3\n2 1\n3 1")
	sqltest.Eventually(t, pg, `SELECT name FROM streamsql_sink_progress WHERE name IN ('before_rename', 'after_rename')`, "after_rename")
	if got := sqltest.Rows(t, pg, `SELECT count(*), count(DISTINCT (id, v)) FROM sink_renamed_audit`); got != "5 5" {
		t.Errorf("audit rows (total, distinct) = %s, want 5 5 (each row version once)", got)
	}
	if got := sqltest.Rows(t, conn, `SHOW SINKS`); !strings.Contains(got, "after_rename") || strings.Contains(got, "before_rename") {
		t.Errorf("SHOW SINKS after the rename and restart:\n%s", got)
	}
}
