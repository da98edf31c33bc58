package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"streamsql/internal/crashtest"
	"streamsql/internal/sqltest"
)

// TestPostgresSinkCrashExactlyOnce kills streamsqld (a subprocess) with
// SIGKILL at random moments while a writer inserts and updates rows that
// a postgres sink applies to a PostgreSQL table, and restarts it each
// time. A trigger on the target records every row version it receives in
// an audit table with a unique (id, v): every update raises v, so a
// change delivered twice fails its transaction and the sink never
// catches up. At the end the target equals the table.
//
// The normal run has 3 kills; STREAMSQL_KAFKA_CRASH=long (the flag of
// the sink crash loops) makes it 20.
func TestPostgresSinkCrashExactlyOnce(t *testing.T) {
	rounds := crashtest.Rounds(t)
	pg, u := upstream(t)
	sqltest.Exec(t, pg, `DROP TABLE IF EXISTS sink_crash, sink_crash_audit`,
		`CREATE TABLE IF NOT EXISTS streamsql_sink_progress (sink text PRIMARY KEY, epoch bigint NOT NULL, updated timestamptz NOT NULL DEFAULT now())`,
		`ALTER TABLE streamsql_sink_progress ADD COLUMN IF NOT EXISTS name text`,
		`DELETE FROM streamsql_sink_progress WHERE name = 'crash_out'`,
		`CREATE TABLE sink_crash (id int PRIMARY KEY, v bigint)`,
		`CREATE TABLE sink_crash_audit (id int, v bigint, UNIQUE (id, v))`,
		`CREATE OR REPLACE FUNCTION sink_crash_audit() RETURNS trigger LANGUAGE plpgsql AS $$
		 BEGIN INSERT INTO sink_crash_audit VALUES (NEW.id, NEW.v); RETURN NEW; END $$`,
		`CREATE TRIGGER sink_crash_audit AFTER INSERT OR UPDATE ON sink_crash FOR EACH ROW EXECUTE FUNCTION sink_crash_audit()`)
	rows := crashtest.KillLoop(t, rounds,
		`CREATE SINK crash_out FROM acc WITH (`+sinkWith(u, "sink_crash", ", primary_key = 'id', delivery.timeout = '5s'")+`)`)
	var lines []string
	for _, r := range rows {
		lines = append(lines, fmt.Sprintf("%d %d", r.ID, r.V))
	}
	want := strings.Join(lines, "\n")
	deadline := time.Now().Add(60 * time.Second)
	var got string
	for time.Now().Before(deadline) {
		if got = sqltest.Rows(t, pg, `SELECT id, v FROM sink_crash ORDER BY id`); got == want {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got != want {
		t.Fatalf("after %d kills: the target has %d rows, the table %d (a duplicate delivery stops the sink at the audit table's unique constraint)",
			rounds, strings.Count(got, "\n")+1, strings.Count(want, "\n")+1)
	}
	var audited int
	if err := pg.QueryRow(context.Background(), `SELECT count(*) FROM sink_crash_audit`).Scan(&audited); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d kills, %d rows, %d row versions applied once each", rounds, strings.Count(want, "\n")+1, audited)
}
