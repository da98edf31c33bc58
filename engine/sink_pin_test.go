package engine_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kfake"

	"streamsql/engine"
	"streamsql/internal/loopback"
	"streamsql/internal/sqltest"
	"streamsql/internal/testclient"
	"streamsql/internal/testregistry"
	"streamsql/pgwire"
)

// jobStatus is job name's status in SHOW JOBS ("" when absent).
func jobStatus(t *testing.T, conn *pgx.Conn, name string) string {
	t.Helper()
	if v := sqltest.JobRow(t, conn, name); v != nil {
		return v[2].(string)
	}
	return ""
}

// logKeys counts table's changelog entries, waiting up to 5 s for the
// count to be want (epochs commit, and trim, every barrier interval even
// with no job running).
func logKeys(t *testing.T, e *engine.Engine, table string, want int) int {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, err := e.TableLogKeys(table)
		if err != nil {
			t.Fatal(err)
		}
		if want < 0 || n == want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSinkPinFromCommittedPositions: a sink that cannot be rebuilt at a
// restart (its schema registry is down) waits for its target with the
// changelog of its table kept from the position it committed, not from
// the start. The entries another sink kept (its broker unreachable) are
// trimmed once that sink is dropped, while what the waiting sink has not
// read stays until it runs again and reads it.
func TestSinkPinFromCommittedPositions(t *testing.T) {
	broker, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "pin"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(broker.Close)
	reg := testregistry.New(t)
	opts := engine.Options{StateMemory: -1, DataDir: t.TempDir()}
	srv, err := loopback.Start(opts, pgwire.Options{})
	if err != nil {
		t.Fatal(err)
	}
	conn := testclient.Connect(t, srv.URL("test", "streamsql"), nil)
	execAll(t, conn,
		`CREATE TABLE pin_t (id int PRIMARY KEY, pad text)`,
		fmt.Sprintf(`CREATE SINK pin_avro FROM pin_t WITH (connector = 'kafka', topic = 'pin',
			properties.bootstrap.server = '%s', primary_key = 'id') FORMAT UPSERT ENCODE AVRO (schema.registry = '%s')`,
			broker.ListenAddrs()[0], reg.URL()),
		// Nothing listens on port 1: this sink's log fills and it fails,
		// keeping the table's changelog from its position.
		`CREATE SINK pin_down FROM pin_t WITH (connector = 'kafka', topic = 'pin', primary_key = 'id',
			properties.bootstrap.server = '127.0.0.1:1', delivery.timeout = '1s', sink.log.max_bytes = '1kB') FORMAT UPSERT ENCODE JSON`)
	n := 0
	for i := 0; i < 20 && !strings.HasPrefix(jobStatus(t, conn, "pin_down"), "failed"); i++ {
		execAll(t, conn, fmt.Sprintf(`INSERT INTO pin_t SELECT g, md5(g::text) || md5((g+1)::text) FROM generate_series(%d, %d) g`, n+1, n+10), "FLUSH")
		n += 10
	}
	if s := jobStatus(t, conn, "pin_down"); !strings.HasPrefix(s, "failed") {
		t.Fatalf("pin_down: %q, want failed", s)
	}
	execAll(t, conn, fmt.Sprintf(`INSERT INTO pin_t SELECT g, 'x' FROM generate_series(%d, %d) g`, n+1, n+20), "FLUSH")
	kept := logKeys(t, srv.Engine, "pin_t", -1)
	if kept == 0 {
		t.Fatal("the failed sink keeps no changelog")
	}
	conn.Close(context.Background())
	if _, err := srv.Stop(); err != nil {
		t.Fatal(err)
	}

	reg.SetDown(true)
	srv2, err := loopback.Start(opts, pgwire.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv2.Stop() })
	conn = testclient.Connect(t, srv2.URL("test", "streamsql"), nil)
	defer conn.Close(context.Background())
	if s := jobStatus(t, conn, "pin_avro"); !strings.HasPrefix(s, "retrying: ") {
		t.Fatalf("pin_avro with the registry down: %q, want retrying", s)
	}
	// The waiting sink read everything before the restart: once the other
	// sink is gone, nothing before the waiting sink's position is kept.
	execAll(t, conn, "DROP SINK pin_down", "FLUSH")
	if got := logKeys(t, srv2.Engine, "pin_t", 0); got != 0 {
		t.Errorf("changelog entries after dropping the other sink: %d (of %d), want 0", got, kept)
	}
	// What it has not read is kept for it.
	execAll(t, conn, `INSERT INTO pin_t VALUES (-1, 'a'), (-2, 'b')`, "FLUSH")
	if got := logKeys(t, srv2.Engine, "pin_t", 2); got != 2 {
		t.Errorf("changelog entries the waiting sink has not read: %d, want 2", got)
	}
	reg.SetDown(false)
	deadline := time.Now().Add(15 * time.Second)
	for s := jobStatus(t, conn, "pin_avro"); s != "running"; s = jobStatus(t, conn, "pin_avro") {
		if time.Now().After(deadline) {
			t.Fatalf("pin_avro with the registry back: %q", s)
		}
		time.Sleep(50 * time.Millisecond)
	}
	execAll(t, conn, "FLUSH", "FLUSH")
	if got := logKeys(t, srv2.Engine, "pin_t", 0); got != 0 {
		t.Errorf("changelog entries once the sink read them: %d, want 0", got)
	}
}
