package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"streamsql/engine"
	"streamsql/internal/sqltest"
	"streamsql/internal/testregistry"
	"streamsql/internal/testserver"
)

// startViewSinkBrokerDown starts a server on a new data directory with
// table ev, view ev_v over it and the UPSERT sink ev_out of ev_v into
// topic, which has taken row 1; then stops the broker. It returns the
// broker's address and port, the server's options, the server and a
// connection.
func startViewSinkBrokerDown(t *testing.T, topic string) (addr, port string, opts engine.Options, srv *testserver.Server, conn *pgx.Conn) {
	t.Helper()
	c1, addr := sinkBroker(t, topic)
	port = brokerPort(c1)
	opts = engine.Options{StateMemory: -1, DataDir: t.TempDir()}
	srv = startDurable(t, opts)
	conn = connect(t, srv)
	sqltest.Exec(t, conn,
		`CREATE TABLE ev (id int PRIMARY KEY, pad text)`,
		`CREATE MATERIALIZED VIEW ev_v AS SELECT id, upper(pad) AS pad FROM ev WHERE id > 0`,
		kafkaSink("ev_out", "ev_v", topic, addr, "primary_key = 'id', delivery.timeout = '1s', sink.log.max_bytes = '4kB'", "UPSERT ENCODE JSON"))
	sqltest.Exec(t, conn, `INSERT INTO ev VALUES (1, md5('1'))`, `FLUSH`)
	checkDelivered(t, addr, topic, 1, "first broker")
	c1.Close()
	return addr, port, opts, srv, conn
}

// TestKafkaSinkResumeFromView: a sink that reads a materialized view
// fails while its broker is down (its log is full). The view goes on;
// what it commits meanwhile is kept for the sink in its view log, which
// counts in the sink's lag. ALTER SINK RESUME with the broker back
// delivers the sink's log, then replays the view log from the sink's
// last committed epoch and follows the view again: the consumer sees
// every key exactly once, also across a server restart while the sink
// is failed.
func TestKafkaSinkResumeFromView(t *testing.T) {
	addr, port, opts, srv, conn := startViewSinkBrokerDown(t, "vres")
	n, _ := failSink(t, conn, "ev_out", 1)
	held, _ := strconv.ParseInt(jobColumn(t, conn, "ev_out", "Sink lag bytes"), 10, 64)
	// The view goes on; the sink's view log keeps what it commits.
	sqltest.Exec(t, conn, fmt.Sprintf(`INSERT INTO ev SELECT g, md5(g::text) FROM generate_series(%d, %d) g`, n+1, n+30), `FLUSH`)
	n += 30
	if got := sqltest.Rows(t, conn, `SELECT count(*) FROM ev_v`); got != strconv.Itoa(n) {
		t.Fatalf("view rows while the sink is failed: %s, want %d", got, n)
	}
	lag, _ := strconv.ParseInt(jobColumn(t, conn, "ev_out", "Sink lag bytes"), 10, 64)
	if lag <= held {
		t.Errorf("Sink lag bytes with the view log: %d, want more than the sink log's %d", lag, held)
	}

	// A restart while the sink is failed: it starts behind its view,
	// replays the view log into its log, which is full again.
	conn.Close(t.Context())
	if _, err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	srv2 := startDurable(t, opts)
	t.Cleanup(func() { srv2.Stop() })
	conn = connect(t, srv2)
	sqltest.Exec(t, conn, fmt.Sprintf(`INSERT INTO ev SELECT g, md5(g::text) FROM generate_series(%d, %d) g`, n+1, n+5), `FLUSH`)
	n += 5
	if s := sinkStatus(t, conn, "ev_out"); !strings.HasPrefix(s, "failed") {
		n, _ = failSink(t, conn, "ev_out", n)
	}

	// The broker is still down: RESUME fails and changes nothing.
	_, err := conn.Exec(context.Background(), `ALTER SINK ev_out RESUME`)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "08006" {
		t.Fatalf("RESUME with the broker down: %v, want 08006", err)
	}
	sqltest.Exec(t, conn, fmt.Sprintf(`INSERT INTO ev VALUES (%d, 'down')`, n+1), `FLUSH`)
	n++

	restartBroker(t, port, "vres")
	sqltest.Exec(t, conn, `ALTER SINK ev_out RESUME`)
	if s := sinkStatus(t, conn, "ev_out"); s != "running" {
		t.Fatalf("sink status after RESUME: %q", s)
	}
	sqltest.Exec(t, conn, fmt.Sprintf(`INSERT INTO ev VALUES (%d, 'after')`, n+1), `FLUSH`)
	n++
	checkOnce(t, consumeCommitted(t, addr, "vres", n-1), 2, n)
	eventuallyJob(t, conn, "ev_out", "Sink lag bytes", "0")
}

// TestKafkaSinkFromViewRetryAfterRestart: an Avro sink that reads a
// materialized view cannot be rebuilt at a restart (the schema registry
// is down) and retries in the background while the view goes on. Once
// the registry is back, the sink replays from its view log what the view
// committed meanwhile: every change exactly once, in order per key.
func TestKafkaSinkFromViewRetryAfterRestart(t *testing.T) {
	_, addr := sinkBroker(t, "vretry")
	reg := testregistry.New(t)
	opts := engine.Options{StateMemory: -1, DataDir: t.TempDir()}
	srv := startDurable(t, opts)
	conn := connect(t, srv)
	sqltest.Exec(t, conn,
		`CREATE TABLE acct (id int PRIMARY KEY, owner text)`,
		`CREATE MATERIALIZED VIEW acct_v AS SELECT id, owner FROM acct WHERE owner <> 'nobody'`,
		kafkaSink("acct_out", "acct_v", "vretry", addr, "primary_key = 'id'", "UPSERT ENCODE AVRO (schema.registry = '"+reg.URL()+"')"),
		`INSERT INTO acct VALUES (1, 'ann'), (2, 'bob'), (3, 'cy')`,
		`FLUSH`)
	checkDelivered(t, addr, "vretry", 3, "before the restart")
	conn.Close(t.Context())
	if _, err := srv.Stop(); err != nil {
		t.Fatal(err)
	}

	reg.SetDown(true)
	srv2 := startDurable(t, opts)
	t.Cleanup(func() { srv2.Stop() })
	conn2 := connect(t, srv2)
	sqltest.Exec(t, conn2, `UPDATE acct SET owner = 'bea' WHERE id = 2`, `INSERT INTO acct VALUES (4, 'dee')`, `FLUSH`)
	if status := sinkStatus(t, conn2, "acct_out"); !strings.HasPrefix(status, "retrying: ") {
		t.Fatalf("sink status with the registry down: %q, want retrying", status)
	}
	// More epochs commit while it retries, with more changes of the view.
	sqltest.Exec(t, conn2, `FLUSH`, `INSERT INTO acct VALUES (5, 'eve')`, `FLUSH`, `UPDATE acct SET owner = 'nobody' WHERE id = 1`, `FLUSH`)

	reg.SetDown(false)
	deadline := time.Now().Add(15 * time.Second)
	for s := sinkStatus(t, conn2, "acct_out"); !strings.HasPrefix(s, "running"); s = sinkStatus(t, conn2, "acct_out") {
		if time.Now().After(deadline) {
			t.Fatalf("sink status with the registry back: %q", s)
		}
		time.Sleep(50 * time.Millisecond)
	}
	sqltest.Exec(t, conn2, `INSERT INTO acct VALUES (6, 'fay')`, `FLUSH`)
	msgs := consumeCommitted(t, addr, "vretry", 8)
	got := ownerChanges(t, reg, msgs)
	if g, want := strings.Join(got, " "), "1=ann 2=bob 3=cy 2=bea 4=dee 5=eve 1=- 6=fay"; g != want {
		t.Errorf("records: %s\nwant %s", g, want)
	}
	eventuallyJob(t, conn2, "acct_out", "Sink lag bytes", "0")
}
