package kafka_test

import (
	"context"
	"encoding/binary"
	"errors"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"streamsql/internal/sqltest"
	"streamsql/internal/testregistry"
	"streamsql/storage"
)

// forgetViewPositions deletes the committed source positions of the sinks
// names in the stopped server's data directory dir, as a sink that last
// committed before view positions were recorded has none.
func forgetViewPositions(t *testing.T, dir string, oids map[string]uint32) {
	t.Helper()
	var ids []uint32
	for _, id := range oids {
		ids = append(ids, id)
	}
	forgetJobRecords(t, dir, ids, 'p')
}

// forgetJobRecords deletes the epoch records of the given kinds of jobs
// ids in the stopped server's data directory dir.
func forgetJobRecords(t *testing.T, dir string, ids []uint32, kinds ...byte) {
	t.Helper()
	db, err := storage.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	b := db.Pebble().NewBatch()
	for _, id := range ids {
		lo := binary.BigEndian.AppendUint32([]byte{storage.PrefixEpoch}, id)
		for _, k := range kinds {
			if err := b.DeleteRange(append(lo[:5:5], k), append(lo[:5:5], k+1), nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := db.CommitBatch(b); err != nil {
		t.Fatal(err)
	}
	b.Close()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestKafkaSinkFromViewRebuildWithoutPosition: sinks that read a view
// and last committed before view positions were recorded cannot replay
// their view log from a position. One in FORMAT UPSERT, retried at a
// restart (its schema registry down), is rebuilt from the view once it
// builds: the deletes its view log holds, then the view's rows as
// upserts; the consumer's reconstruction equals the view. One in FORMAT
// PLAIN cannot take the rows again without repeating them: it fails with
// 0A000, and so does ALTER SINK RESUME, with a hint.
func TestKafkaSinkFromViewRebuildWithoutPosition(t *testing.T) {
	_, addr := sinkBroker(t, "vnopos", "vnopos_plain")
	reg := testregistry.New(t)
	opts, srv, conn := durableServer(t)
	sqltest.Exec(t, conn,
		`CREATE TABLE acct (id int PRIMARY KEY, owner text)`,
		`CREATE MATERIALIZED VIEW acct_v AS SELECT id, owner FROM acct WHERE owner <> 'nobody'`,
		kafkaSink("acct_out", "acct_v", "vnopos", addr, "primary_key = 'id'", "UPSERT ENCODE AVRO (schema.registry = '"+reg.URL()+"')"),
		`CREATE TABLE evt (id int, what text) APPEND ONLY`,
		`CREATE MATERIALIZED VIEW evt_v AS SELECT id, what FROM evt WHERE id > 0`,
		kafkaSink("evt_out", "evt_v", "vnopos_plain", addr, "force_append_only = 'true'", "PLAIN ENCODE AVRO (schema.registry = '"+reg.URL()+"')"),
		`INSERT INTO acct VALUES (1, 'ann'), (2, 'bob'), (3, 'cy')`,
		`INSERT INTO evt VALUES (1, 'a')`,
		`FLUSH`)
	checkDelivered(t, addr, "vnopos", 3, "before the restart")
	oids := map[string]uint32{"acct_out": uint32(sqltest.JobInt(t, conn, "acct_out", "Id")), "evt_out": uint32(sqltest.JobInt(t, conn, "evt_out", "Id"))}
	stopServer(t, srv, conn)
	forgetViewPositions(t, opts.DataDir, oids)

	reg.SetDown(true)
	_, conn = restartServer(t, opts)
	sqltest.Exec(t, conn,
		`UPDATE acct SET owner = 'bea' WHERE id = 2`, `INSERT INTO acct VALUES (4, 'dee')`, `FLUSH`,
		`DELETE FROM acct WHERE id = 3`, `INSERT INTO acct VALUES (5, 'eve')`, `FLUSH`,
		`UPDATE acct SET owner = 'nobody' WHERE id = 1`, `INSERT INTO evt VALUES (2, 'b')`, `FLUSH`)
	if s := sinkStatus(t, conn, "acct_out"); !strings.HasPrefix(s, "retrying: ") {
		t.Fatalf("acct_out with the registry down: %q, want retrying", s)
	}
	reg.SetDown(false)
	deadline := time.Now().Add(15 * time.Second)
	for !strings.HasPrefix(sinkStatus(t, conn, "acct_out"), "running") || strings.HasPrefix(sinkStatus(t, conn, "evt_out"), "retrying") {
		if time.Now().After(deadline) {
			t.Fatalf("with the registry back: acct_out %q, evt_out %q", sinkStatus(t, conn, "acct_out"), sinkStatus(t, conn, "evt_out"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	sqltest.Exec(t, conn, `INSERT INTO acct VALUES (6, 'fay')`, `UPDATE acct SET owner = 'ed' WHERE id = 4`, `FLUSH`)

	// 3 before; then the tombstones of 3 and 1, the upserts of 2, 4, 5;
	// then 6 and 4 live.
	msgs := consumeCommitted(t, addr, "vnopos", 10)
	final := map[string]string{}
	for _, c := range ownerChanges(t, reg, msgs) {
		id, owner, _ := strings.Cut(c, "=")
		final[id] = owner
		if owner == "-" {
			delete(final, id)
		}
	}
	var got []string
	for id, owner := range final {
		got = append(got, id+"="+owner)
	}
	sort.Strings(got)
	if g, want := strings.Join(got, " "), "2=bea 4=ed 5=eve 6=fay"; g != want {
		t.Errorf("the consumer's reconstruction: %s\nwant (the view) %s", g, want)
	}
	if len(msgs) != 10 {
		t.Errorf("%d records, want 10", len(msgs))
	}
	if v := sqltest.Rows(t, conn, `SELECT string_agg(id || '=' || owner, ' ' ORDER BY id) FROM acct_v`); v != "2=bea 4=ed 5=eve 6=fay" {
		t.Errorf("the view: %s", v)
	}

	// The PLAIN sink cannot be rebuilt from the view.
	if s := sinkStatus(t, conn, "evt_out"); !strings.Contains(s, "no recorded position") {
		t.Errorf("evt_out: %q, want failed for no recorded position", s)
	}
	_, err := conn.Exec(context.Background(), `ALTER SINK evt_out RESUME`)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "0A000" || !strings.Contains(pe.Hint, "FORMAT UPSERT or DEBEZIUM") {
		t.Fatalf("RESUME of the PLAIN sink: %v (hint %q), want 0A000 with a hint", err, hintOf(pe))
	}
}

func hintOf(pe *pgconn.PgError) string {
	if pe == nil {
		return ""
	}
	return pe.Hint
}
