package kafka_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"streamsql/internal/sqltest"
	"streamsql/internal/testregistry"
)

// TestKafkaSinkBrokerDownAtStart: the server starts while the sink's
// broker is unreachable. The sink's job starts all the same, logs the
// changes made meanwhile, and once the broker is back (same address)
// delivers them: the read_committed consumer sees every key exactly
// once, and the log drains.
func TestKafkaSinkBrokerDownAtStart(t *testing.T) {
	c1, addr := sinkBroker(t, "down_at_start")
	port := brokerPort(c1)
	opts, srv, conn := durableServer(t)
	sqltest.Exec(t, conn,
		`CREATE TABLE ev (id int PRIMARY KEY, pad text)`,
		kafkaSink("ev_out", "ev", "down_at_start", addr, "primary_key = 'id', delivery.timeout = '1s'", "UPSERT ENCODE JSON"),
		`INSERT INTO ev VALUES (1, 'first')`, `FLUSH`)
	checkDelivered(t, addr, "down_at_start", 1, "first broker")
	stopServer(t, srv, conn)
	c1.Close()

	_, conn = restartServer(t, opts)
	for i := 0; i < 5; i++ {
		sqltest.Exec(t, conn, fmt.Sprintf(`INSERT INTO ev SELECT g, md5(g::text) FROM generate_series(%d, %d) g`, 2+10*i, 11+10*i), `FLUSH`)
	}
	if s := sinkStatus(t, conn, "ev_out"); !strings.HasPrefix(s, "running; sink delivery retrying after") {
		t.Errorf("sink status with the broker down: %q", s)
	}
	restartBroker(t, port, "down_at_start")
	sqltest.Exec(t, conn, `INSERT INTO ev VALUES (52, 'back')`, `FLUSH`)
	checkOnce(t, consumeCommitted(t, addr, "down_at_start", 51), 2, 52)
	eventuallyJob(t, conn, "ev_out", "Sink lag bytes", "0")
}

// TestKafkaSinkStopMidBuild: a sink whose build is retried in the
// background (its schema registry accepts connections but does not
// answer) is being built when the server stops. The stop abandons the
// build at once: it returns without waiting for the registry, and no
// goroutine of the build or of its retry loop is left behind.
func TestKafkaSinkStopMidBuild(t *testing.T) {
	_, addr := sinkBroker(t, "mid_build")
	reg := testregistry.New(t)
	opts, srv, conn := durableServer(t)
	sqltest.Exec(t, conn,
		`CREATE TABLE acct (id int PRIMARY KEY, owner text)`,
		kafkaSink("acct_out", "acct", "mid_build", addr, "primary_key = 'id', delivery.timeout = '2s'", "UPSERT ENCODE AVRO (schema.registry = '"+reg.URL()+"')"),
		`INSERT INTO acct VALUES (1, 'ann')`, `FLUSH`)
	stopServer(t, srv, conn)

	// The first build at start waits for the registry up to the delivery
	// timeout, then the job is retried in the background.
	reg.SetHang(true)
	srv2 := startDurable(t, opts)
	conn = connect(t, srv2)
	if s := sinkStatus(t, conn, "acct_out"); !strings.HasPrefix(s, "retrying: ") {
		t.Fatalf("sink status with the registry hanging: %q, want retrying", s)
	}
	deadline := time.Now().Add(5 * time.Second)
	for reg.Held() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no retried build reached the registry")
		}
		time.Sleep(10 * time.Millisecond)
	}
	conn.Close(t.Context())
	start := time.Now()
	if _, err := srv2.Stop(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("stopping the server mid-build took %v", d)
	}
	for _, f := range []string{"stream.(*Coordinator).retryBuild", "connector.NewSinkChangeEncoder"} {
		if stacks := goroutinesWith(f); stacks != "" {
			t.Errorf("a goroutine in %s outlives the server:\n%s", f, stacks)
		}
	}
	for deadline := time.Now().Add(2 * time.Second); reg.Held() > 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Errorf("the abandoned build's registry request is still open")
			break
		}
	}
}

// goroutinesWith returns the stacks of the goroutines that have f in
// their stack.
func goroutinesWith(f string) string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, f) {
			out = append(out, g)
		}
	}
	return strings.Join(out, "\n\n")
}
