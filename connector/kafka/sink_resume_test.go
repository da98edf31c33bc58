package kafka_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"streamsql/internal/sqltest"
)

// TestKafkaSinkResume: a sink whose broker is down fails once its log
// passes sink.log.max_bytes; SHOW JOBS and /metrics show its undelivered
// log. ALTER SINK ... RESUME while the broker is still down fails with
// 08006 and leaves the sink failed, its log kept. With the broker back
// (no server restart), RESUME delivers the log, restarts the job from its
// recorded position and the consumer sees every change exactly once,
// those the full log refused included; the sink then keeps delivering.
func TestKafkaSinkResume(t *testing.T) {
	c1, addr := sinkBroker(t, "res")
	port := brokerPort(c1)
	srv, conn := startServer(t)
	sqltest.Exec(t, conn,
		`CREATE TABLE ev (id int PRIMARY KEY, pad text)`,
		kafkaSink("ev_out", "ev", "res", addr, "delivery.timeout = '1s', sink.log.max_bytes = '4kB'", "UPSERT ENCODE JSON"))
	sqltest.Exec(t, conn, `INSERT INTO ev VALUES (1, md5('1'))`, `FLUSH`)
	checkDelivered(t, addr, "res", 1, "first broker")
	c1.Close()

	n, _ := failSink(t, conn, "ev_out", 1)
	// The failed sink's log: bytes in SHOW JOBS and /metrics.
	held, _ := strconv.ParseInt(jobColumn(t, conn, "ev_out", "Sink lag bytes"), 10, 64)
	if held <= 0 || held > 4096 {
		t.Fatalf("Sink lag bytes of the failed sink: %d, want 1..4096", held)
	}
	var metrics bytes.Buffer
	if err := srv.Engine.WriteMetrics(&metrics); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^streamsql_sink_lag_bytes\{job="ev_out",id="\d+"\} ` + strconv.FormatInt(held, 10) + `$`).Match(metrics.Bytes()) {
		t.Errorf("/metrics has no sink lag of %d bytes:\n%s", held, grepLines(metrics.String(), "sink_lag"))
	}
	// More rows while the sink is down: the table keeps them for it.
	sqltest.Exec(t, conn, fmt.Sprintf(`INSERT INTO ev SELECT g, md5(g::text) FROM generate_series(%d, %d) g`, n+1, n+30), `FLUSH`)
	n += 30

	// The broker is still down: RESUME fails and changes nothing.
	_, err := conn.Exec(context.Background(), `ALTER SINK ev_out RESUME`)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "08006" || !strings.Contains(pe.Message, `sink "ev_out" cannot deliver its log`) {
		t.Fatalf("RESUME with the broker down: %v, want 08006", err)
	}
	if s := sinkStatus(t, conn, "ev_out"); !strings.HasPrefix(s, "failed") {
		t.Fatalf("sink status after a failed RESUME: %q", s)
	}

	restartBroker(t, port, "res")
	start := time.Now()
	sqltest.Exec(t, conn, `ALTER SINK ev_out RESUME`)
	t.Logf("RESUME took %v", time.Since(start))
	if s := sinkStatus(t, conn, "ev_out"); s != "running" {
		t.Fatalf("sink status after RESUME: %q", s)
	}
	// Resuming a running sink does nothing.
	sqltest.Exec(t, conn, `ALTER SINK ev_out RESUME`)
	sqltest.Exec(t, conn, fmt.Sprintf(`INSERT INTO ev VALUES (%d, 'after')`, n+1), `FLUSH`)
	n++
	checkOnce(t, consumeCommitted(t, addr, "res", n-1), 2, n)
	eventuallyJob(t, conn, "ev_out", "Sink lag bytes", "0")
}
