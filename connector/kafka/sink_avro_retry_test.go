package kafka_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hamba/avro/v2"

	"streamsql/engine"
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
	opts := engine.Options{StateMemory: -1, DataDir: t.TempDir()}
	srv := startDurable(t, opts)
	conn := connect(t, srv)
	sqltest.Exec(t, conn,
		`CREATE TABLE acct (id int PRIMARY KEY, owner text)`,
		fmt.Sprintf(`CREATE SINK acct_out FROM acct WITH (connector = 'kafka', topic = 'acct_retry',
			properties.bootstrap.server = '%s', primary_key = 'id') FORMAT UPSERT ENCODE AVRO (schema.registry = '%s')`, addr, reg.URL()),
		`INSERT INTO acct VALUES (1, 'ann'), (2, 'bob'), (3, 'cy')`,
		`FLUSH`)
	if got := consumeCommitted(t, addr, "acct_retry", 3); len(got) != 3 {
		t.Fatalf("before the restart: %d records, want 3", len(got))
	}
	conn.Close(t.Context())
	if _, err := srv.Stop(); err != nil {
		t.Fatal(err)
	}

	reg.SetDown(true)
	srv2 := startDurable(t, opts)
	t.Cleanup(func() { srv2.Stop() })
	conn2 := connect(t, srv2)
	sqltest.Exec(t, conn2, `UPDATE acct SET owner = 'bea' WHERE id = 2`, `INSERT INTO acct VALUES (4, 'dee')`, `FLUSH`)
	status := sinkStatus(t, conn2, "acct_out")
	if !strings.HasPrefix(status, "retrying: ") || !strings.Contains(status, "503") {
		t.Fatalf("sink status with the registry down: %q, want retrying naming the 503", status)
	}
	// More epochs commit while it retries; the table's changelog is kept.
	sqltest.Exec(t, conn2, `FLUSH`, `FLUSH`)

	reg.SetDown(false)
	deadline := time.Now().Add(15 * time.Second)
	for s := sinkStatus(t, conn2, "acct_out"); !strings.HasPrefix(s, "running"); s = sinkStatus(t, conn2, "acct_out") {
		if time.Now().After(deadline) {
			t.Fatalf("sink status with the registry back: %q", s)
		}
		time.Sleep(50 * time.Millisecond)
	}
	msgs := consumeCommitted(t, addr, "acct_retry", 5)
	r := &avroReader{t: t, url: reg.URL(), schemas: map[uint32]avro.Schema{}}
	var got []string
	for _, m := range msgs {
		key, _ := r.decode([]byte(m.key))
		val, _ := r.decode([]byte(m.value))
		got = append(got, show(key["id"])+"="+show(val["owner"]))
	}
	if g, want := strings.Join(got, " "), "1=ann 2=bob 3=cy 2=bea 4=dee"; g != want {
		t.Errorf("records: %s\nwant %s", g, want)
	}
}
