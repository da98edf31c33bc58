package kafka_test

import (
	"strings"
	"testing"
	"time"

	"streamsql/internal/sqltest"
	"streamsql/internal/testregistry"
)

// TestKafkaSinkAvroRetryAfterRestart restarts the server while the
// schema registry is down: the Avro sink cannot register its schemas,
// shows "retrying" in SHOW JOBS instead of failing for good, and once
// the registry is back resumes from its last committed epoch; the
// consumer sees every change exactly once, in order per key.
func TestKafkaSinkAvroRetryAfterRestart(t *testing.T) {
	_, addr := sinkBroker(t, "acct_retry")
	reg := testregistry.New(t)
	opts, srv, conn := durableServer(t)
	sqltest.Exec(t, conn,
		`CREATE TABLE acct (id int PRIMARY KEY, owner text)`,
		kafkaSink("acct_out", "acct", "acct_retry", addr, "primary_key = 'id'", "UPSERT ENCODE AVRO (schema.registry = '"+reg.URL()+"')"),
		`INSERT INTO acct VALUES (1, 'ann'), (2, 'bob'), (3, 'cy')`,
		`FLUSH`)
	checkDelivered(t, addr, "acct_retry", 3, "before the restart")
	stopServer(t, srv, conn)

	reg.SetDown(true)
	_, conn2 := restartServer(t, opts)
	sqltest.Exec(t, conn2, `UPDATE acct SET owner = 'bea' WHERE id = 2`, `INSERT INTO acct VALUES (4, 'dee')`, `FLUSH`)
	status := sinkStatus(t, conn2, "acct_out")
	if !strings.HasPrefix(status, "retrying: ") || !strings.Contains(status, "503") {
		t.Fatalf("sink status with the registry down: %q, want retrying naming the 503", status)
	}
	// More epochs commit while it retries; the table's changelog is kept.
	sqltest.Exec(t, conn2, `FLUSH`, `FLUSH`)

	reg.SetDown(false)
	waitSinkStatus(t, conn2, "acct_out", "running", 15*time.Second)
	got := ownerChanges(t, reg, consumeCommitted(t, addr, "acct_retry", 5))
	if g, want := strings.Join(got, " "), "1=ann 2=bob 3=cy 2=bea 4=dee"; g != want {
		t.Errorf("records: %s\nwant %s", g, want)
	}
}
