package engine_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"streamsql/engine"
)

// skippingScript runs statements that do nothing because of IF [NOT]
// EXISTS; PostgreSQL answers each with a NOTICE ending in ", skipping".
var skippingScript = []noticeStep{
	{"CREATE TABLE tt (a int)", ""},
	{"CREATE TABLE IF NOT EXISTS tt (a int)", `42P07 relation "tt" already exists, skipping`},
	{"CREATE INDEX IF NOT EXISTS tt_a ON tt (a)", ""},
	{"CREATE INDEX IF NOT EXISTS tt_a ON tt (a)", `42P07 relation "tt_a" already exists, skipping`},
	{"CREATE SCHEMA IF NOT EXISTS public", `42P06 schema "public" already exists, skipping`},
	{"CREATE MATERIALIZED VIEW IF NOT EXISTS tt AS SELECT 1", `42P07 relation "tt" already exists, skipping`},
	{"ALTER TABLE IF EXISTS nosuch ADD COLUMN b int", `00000 relation "nosuch" does not exist, skipping`},
	{"ALTER TABLE tt ADD COLUMN IF NOT EXISTS a int", `42701 column "a" of relation "tt" already exists, skipping`},
	{"ALTER TABLE tt DROP COLUMN IF EXISTS zz", `00000 column "zz" of relation "tt" does not exist, skipping`},
	{"ALTER TABLE tt DROP CONSTRAINT IF EXISTS zz", `00000 constraint "zz" of relation "tt" does not exist, skipping`},
	{"DROP POLICY IF EXISTS p ON tt", `00000 policy "p" for relation "tt" does not exist, skipping`},
	{"DROP POLICY IF EXISTS p ON nosuch", `00000 relation "nosuch" does not exist, skipping`},
	{"DROP FUNCTION IF EXISTS nosuch(int)", `00000 function nosuch(pg_catalog.int4) does not exist, skipping`},
	{"DROP FUNCTION IF EXISTS nosuch(text, int[])", `00000 function nosuch(text,pg_catalog.int4[]) does not exist, skipping`},
	{"DROP FUNCTION IF EXISTS nosuch", `00000 function nosuch() does not exist, skipping`},
	{"DROP AGGREGATE IF EXISTS nosuch(int)", `00000 aggregate nosuch(pg_catalog.int4) does not exist, skipping`},
	{"DROP TABLE IF EXISTS nosuch, nosuch2", `00000 table "nosuch" does not exist, skipping; 00000 table "nosuch2" does not exist, skipping`},
	{"DROP VIEW IF EXISTS nosuch", `00000 view "nosuch" does not exist, skipping`},
	{"DROP MATERIALIZED VIEW IF EXISTS nosuch", `00000 materialized view "nosuch" does not exist, skipping`},
	{"DROP SCHEMA IF EXISTS nosuch", `00000 schema "nosuch" does not exist, skipping`},
	{"DROP INDEX IF EXISTS nosuch", `00000 index "nosuch" does not exist, skipping`},
	{"DROP ROLE IF EXISTS nosuch", `00000 role "nosuch" does not exist, skipping`},
	{"DROP TYPE IF EXISTS nosuch CASCADE", `00000 type "nosuch" does not exist, skipping`},
	{"DROP TYPE IF EXISTS nosuch[], public.nosuch2", `00000 type "nosuch[]" does not exist, skipping; 00000 type "public.nosuch2" does not exist, skipping`},
	{"DROP TYPE IF EXISTS nosch.x", `00000 schema "nosch" does not exist, skipping`},
	{"DROP DOMAIN IF EXISTS nosuch", `00000 type "nosuch" does not exist, skipping`},
	{"SET client_min_messages = warning", ""},
	{"DROP TABLE IF EXISTS nosuch", ""},
	{"RESET client_min_messages", ""},
	{"DROP TABLE tt", ""},
}

// noticeStep is a statement of a notice script and the notices it sends,
// separated by "; ".
type noticeStep struct{ sql, notices string }

// runNoticeScript runs the statements cleanup (their errors ignored) and
// then script on a new connection to url, comparing the notices of each
// step, each written "SQLSTATE message" (after its severity when that is
// not NOTICE, and before " | detail" when it has one).
func runNoticeScript(t *testing.T, url string, script []noticeStep, cleanup ...string) {
	t.Helper()
	conn, noticed := connectNoticed(t, url)
	ctx := context.Background()
	for _, stmt := range cleanup {
		conn.Exec(ctx, stmt)
	}
	for _, c := range script {
		*noticed = nil
		if _, err := conn.Exec(ctx, c.sql); err != nil {
			t.Fatalf("%s: %v", c.sql, err)
		}
		var got []string
		for _, n := range *noticed {
			s := n.Code + " " + n.Message
			if n.Severity != "NOTICE" {
				s = n.Severity + " " + s
			}
			if n.Detail != "" {
				s += " | " + n.Detail
			}
			got = append(got, s)
		}
		var want []string
		if c.notices != "" {
			want = strings.Split(c.notices, "; ")
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: notices %q, want %q", c.sql, got, want)
		}
	}
}

// TestIfExistsNotices: every IF [NOT] EXISTS that skips sends
// PostgreSQL's NOTICE with its SQLSTATE, unless client_min_messages is
// above notice. With SLT_PG_DSN set, PostgreSQL 15 answers the same
// script the same way.
func TestIfExistsNotices(t *testing.T) {
	runHereAndOnPostgres(t, func(t *testing.T, url string) {
		runNoticeScript(t, url, skippingScript, "DROP TABLE IF EXISTS tt")
	})
}

// runHereAndOnPostgres runs a notice script against a new server and,
// with SLT_PG_DSN set, against PostgreSQL 15 as a subtest.
func runHereAndOnPostgres(t *testing.T, run func(t *testing.T, url string)) {
	s := openStack(t, engine.Options{})
	run(t, s.url)
	if dsn := os.Getenv("SLT_PG_DSN"); dsn != "" {
		t.Run("postgresql", func(t *testing.T) { run(t, dsn) })
	} else {
		fmt.Println("SLT_PG_DSN not set: the notices are not checked against PostgreSQL")
	}
}
