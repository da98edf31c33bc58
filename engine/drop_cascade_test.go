package engine_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// cascadeScript drops objects that others depend on with CASCADE;
// PostgreSQL names what goes along in a NOTICE ("drop cascades to view
// v", or "drop cascades to N other objects" with a DETAIL line each).
// Notices are written "code message | detail".
var cascadeScript = []noticeStep{
	{"CREATE TABLE dc_t (id int PRIMARY KEY, x int)", ""},
	{"CREATE VIEW dc_v1 AS SELECT id FROM dc_t", ""},
	{"CREATE VIEW dc_v2 AS SELECT id FROM dc_v1", ""},
	{"CREATE VIEW dc_v0 AS SELECT x FROM dc_t", ""},
	{"CREATE TABLE dc_ref (id int REFERENCES dc_t (id))", ""},
	{"DROP TABLE dc_t CASCADE", "00000 drop cascades to 4 other objects | drop cascades to view dc_v1\ndrop cascades to view dc_v2\n" +
		"drop cascades to view dc_v0\ndrop cascades to constraint dc_ref_id_fkey on table dc_ref"},
	{"DROP TABLE dc_ref", ""},
	{"CREATE TABLE dc_t (id int, x int)", ""},
	{"CREATE MATERIALIZED VIEW dc_m AS SELECT id FROM dc_t", ""},
	{"DROP TABLE dc_t CASCADE", "00000 drop cascades to materialized view dc_m"},
	{"CREATE TABLE dc_t (id int, x int)", ""},
	{"CREATE VIEW dc_v1 AS SELECT id FROM dc_t", ""},
	{"CREATE VIEW dc_v2 AS SELECT id FROM dc_v1", ""},
	// The statement's own targets are not reported.
	{"DROP VIEW dc_v1, dc_v2 CASCADE", ""},
	{"DROP TABLE dc_t CASCADE", ""},
	{"CREATE SCHEMA dc_s", ""},
	{"CREATE TABLE dc_s.t (a int)", ""},
	{"CREATE VIEW dc_s.v AS SELECT a FROM dc_s.t", ""},
	{"CREATE VIEW dc_out AS SELECT a FROM dc_s.v", ""},
	{"DROP SCHEMA dc_s CASCADE", "00000 drop cascades to 3 other objects | drop cascades to table dc_s.t\ndrop cascades to view dc_s.v\ndrop cascades to view dc_out"},
	{"CREATE FUNCTION dc_f(int) RETURNS int LANGUAGE sql AS 'SELECT $1 + 1'", ""},
	{"CREATE VIEW dc_fv AS SELECT dc_f(1) AS y", ""},
	{"DROP FUNCTION dc_f(int) CASCADE", "00000 drop cascades to view dc_fv"},
	// DROP OWNED drops the role's objects; what others own and depends
	// on them goes with CASCADE.
	{"CREATE ROLE dc_r", ""},
	{"GRANT CREATE ON SCHEMA public TO dc_r", ""},
	{"SET ROLE dc_r", ""},
	{"CREATE TABLE dc_o (a int)", ""},
	{"RESET ROLE", ""},
	{"CREATE VIEW dc_ov AS SELECT a FROM dc_o", ""},
	{"DROP OWNED BY dc_r CASCADE", "00000 drop cascades to view dc_ov"},
	{"DROP ROLE dc_r", ""},
	{"SET client_min_messages = warning", ""},
	{"CREATE TABLE dc_t (id int, x int)", ""},
	{"CREATE VIEW dc_v1 AS SELECT id FROM dc_t", ""},
	{"DROP TABLE dc_t CASCADE", ""},
	{"RESET client_min_messages", ""},
}

// TestDropCascadeNotices: DROP ... CASCADE of tables, views, schemas,
// functions and a role's objects reports what it takes along as PostgreSQL does; with
// SLT_PG_DSN set, PostgreSQL 15 answers the same script the same way.
func TestDropCascadeNotices(t *testing.T) {
	runHereAndOnPostgres(t, func(t *testing.T, url string) {
		runNoticeScript(t, url, cascadeScript, "DROP SCHEMA IF EXISTS dc_s CASCADE", "DROP TABLE IF EXISTS dc_ref", "DROP TABLE IF EXISTS dc_t CASCADE",
			"DROP VIEW IF EXISTS dc_out, dc_fv", "DROP FUNCTION IF EXISTS dc_f(int) CASCADE", "DROP TABLE IF EXISTS dc_o CASCADE", "DROP ROLE IF EXISTS dc_r")
	})
}

// dropTypeScript: DROP TYPE and DROP DOMAIN of the types there are (the
// built-in ones and the row types of relations), CASCADE or not, refused
// as PostgreSQL refuses them; every name is looked up before any is
// refused. Errors are written "code message | hint".
var dropTypeScript = []struct{ sql, err string }{
	{"CREATE TABLE dt_t (a int)", ""},
	{"CREATE VIEW dt_v AS SELECT a FROM dt_t", ""},
	{"DROP TYPE int4 CASCADE", "2BP01 cannot drop type integer because it is required by the database system"},
	{"DROP TYPE pg_catalog.varchar(10)", "2BP01 cannot drop type character varying because it is required by the database system"},
	{"DROP TYPE text[]", "2BP01 cannot drop type text[] because it is required by the database system"},
	{"DROP TYPE dt_t CASCADE", "2BP01 cannot drop type dt_t because table dt_t requires it | You can drop table dt_t instead."},
	{"DROP TYPE public.dt_v", "2BP01 cannot drop type dt_v because view dt_v requires it | You can drop view dt_v instead."},
	{"DROP TYPE dt_t[]", "2BP01 cannot drop type dt_t[] because type dt_t requires it | You can drop type dt_t instead."},
	{"DROP TYPE dt_t, nosuch", `42704 type "nosuch" does not exist`},
	{"DROP TYPE public.nosuch", `42704 type "public.nosuch" does not exist`},
	{"DROP TYPE nosch.x", `3F000 schema "nosch" does not exist`},
	{"DROP DOMAIN int4", `42809 "int4" is not a domain`},
	{"DROP DOMAIN dt_t CASCADE", `42809 "dt_t" is not a domain`},
	{"DROP DOMAIN nosuch", `42704 type "nosuch" does not exist`},
	{"DROP VIEW dt_v", ""},
	{"DROP TABLE dt_t", ""},
}

// TestDropTypeAnswers runs dropTypeScript here and, with SLT_PG_DSN set,
// on PostgreSQL 15.
func TestDropTypeAnswers(t *testing.T) {
	runHereAndOnPostgres(t, func(t *testing.T, url string) {
		conn, _ := connectNoticed(t, url)
		ctx := context.Background()
		conn.Exec(ctx, "DROP TABLE IF EXISTS dt_t CASCADE")
		for _, c := range dropTypeScript {
			_, err := conn.Exec(ctx, c.sql)
			got := ""
			var pe *pgconn.PgError
			if errors.As(err, &pe) {
				got = pe.Code + " " + pe.Message
				if pe.Hint != "" {
					got += " | " + pe.Hint
				}
			} else if err != nil {
				t.Fatalf("%s: %v", c.sql, err)
			}
			if got != c.err {
				t.Errorf("%s: %q, want %q", c.sql, got, c.err)
			}
		}
	})
}
