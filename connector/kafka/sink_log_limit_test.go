package kafka_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kfake"

	"streamsql/engine"
	"streamsql/internal/sqltest"
)

// sinkStatus is the SHOW JOBS status of job name, "" when absent.
func sinkStatus(t *testing.T, conn *pgx.Conn, name string) string {
	t.Helper()
	if v := sqltest.JobRow(t, conn, name); v != nil {
		return v[2].(string)
	}
	return ""
}

// A sink whose broker is down logs its changes; past sink.log.max_bytes
// of undelivered log the sink's job stops with 53400 naming the option,
// while the views go on. Restarted with the broker back, the sink
// delivers everything, what it had logged and what came after it
// stopped, each change once.
// The server's bound (engine.Options.SinkLogMaxBytes, -sink-log-max-size)
// works the same for a sink without the option.
func TestKafkaSinkLogLimit(t *testing.T) {
	t.Run("option", func(t *testing.T) {
		testSinkLogLimit(t, 0, ", sink.log.max_bytes = '4kB'", "sink.log.max_bytes (4096)")
	})
	t.Run("server", func(t *testing.T) {
		testSinkLogLimit(t, 4096, "", "-sink-log-max-size) (4096)")
	})
}

func testSinkLogLimit(t *testing.T, serverMax int64, option, want string) {
	c1, addr := sinkBroker(t, "big")
	port := c1.ListenAddrs()[0][strings.LastIndexByte(c1.ListenAddrs()[0], ':')+1:]
	dir := t.TempDir()
	opts := engine.Options{StateMemory: -1, DataDir: dir, SinkLogMaxBytes: serverMax}
	srv := startDurable(t, opts)
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			srv.Stop()
		}
	})
	conn := connect(t, srv)
	sqltest.Exec(t, conn,
		`CREATE TABLE ev (id int PRIMARY KEY, pad text)`,
		`CREATE MATERIALIZED VIEW ev_count AS SELECT count(*) AS n FROM ev`,
		fmt.Sprintf(`CREATE SINK ev_out FROM ev WITH (connector = 'kafka', topic = 'big',
			properties.bootstrap.server = '%s', delivery.timeout = '1s'%s) FORMAT UPSERT ENCODE JSON`, addr, option))
	sqltest.Exec(t, conn, `INSERT INTO ev VALUES (1, md5('1'))`, `FLUSH`)
	if got := consumeCommitted(t, addr, "big", 1); len(got) != 1 {
		t.Fatalf("first broker: %d records, want 1", len(got))
	}
	c1.Close()

	// Each epoch of ten rows adds about 550 bytes of compressed log:
	// the eighth passes 4 kB.
	n := 1
	var status string
	for i := 0; i < 20 && !strings.HasPrefix(status, "failed"); i++ {
		sqltest.Exec(t, conn, fmt.Sprintf(`INSERT INTO ev SELECT g, md5(g::text) || md5((g+1)::text) || md5((g+2)::text)
			FROM generate_series(%d, %d) g`, n+1, n+10), `FLUSH`)
		n += 10
		status = sinkStatus(t, conn, "ev_out")
	}
	if !strings.HasPrefix(status, "failed") || !strings.Contains(status, want) {
		t.Fatalf("sink status after %d rows: %q, want failed naming %s", n, status, want)
	}
	// The views go on without the sink.
	sqltest.Exec(t, conn, fmt.Sprintf(`INSERT INTO ev VALUES (%d, 'after')`, n+1), `FLUSH`)
	n++
	sqltest.Eventually(t, conn, `SELECT n FROM ev_count`, fmt.Sprint(n))
	conn.Close(context.Background())
	stopped = true
	if _, err := srv.Stop(); err != nil {
		t.Fatal(err)
	}

	c2, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(atoi(t, port)), kfake.SeedTopics(1, "big"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c2.Close)
	srv2 := startDurable(t, opts)
	t.Cleanup(func() { srv2.Stop() })
	conn2 := connect(t, srv2)
	got := consumeCommitted(t, addr, "big", n-1)
	seen := map[string]int{}
	for _, m := range got {
		seen[m.key]++
	}
	for i := 2; i <= n; i++ {
		if k := fmt.Sprintf(`{"id":%d}`, i); seen[k] != 1 {
			t.Errorf("key %s seen %d times", k, seen[k])
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for s := sinkStatus(t, conn2, "ev_out"); s != "running"; s = sinkStatus(t, conn2, "ev_out") {
		if time.Now().After(deadline) {
			t.Fatalf("sink status after restart: %q", s)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
