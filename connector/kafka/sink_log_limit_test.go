package kafka_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

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
	port := brokerPort(c1)
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
		kafkaSink("ev_out", "ev", "big", addr, "delivery.timeout = '1s'"+option, "UPSERT ENCODE JSON"))
	sqltest.Exec(t, conn, `INSERT INTO ev VALUES (1, md5('1'))`, `FLUSH`)
	checkDelivered(t, addr, "big", 1, "first broker")
	c1.Close()

	// Each epoch of ten rows adds about 550 bytes of compressed log:
	// the eighth passes 4 kB.
	n, status := failSink(t, conn, "ev_out", 1)
	if !strings.Contains(status, want) {
		t.Fatalf("sink status after %d rows: %q, want failed naming %s", n, status, want)
	}
	// The views go on without the sink.
	sqltest.Exec(t, conn, fmt.Sprintf(`INSERT INTO ev VALUES (%d, 'after')`, n+1), `FLUSH`)
	n++
	sqltest.Eventually(t, conn, `SELECT n FROM ev_count`, fmt.Sprint(n))
	stopped = true
	stopServer(t, srv, conn)

	restartBroker(t, port, "big")
	_, conn2 := restartServer(t, opts)
	checkOnce(t, consumeCommitted(t, addr, "big", n-1), 2, n)
	waitSinkStatus(t, conn2, "ev_out", "running", 10*time.Second)
}
