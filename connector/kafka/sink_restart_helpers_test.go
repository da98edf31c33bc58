package kafka_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kfake"

	"streamsql/engine"
	"streamsql/internal/sqltest"
	"streamsql/internal/testregistry"
	"streamsql/internal/testserver"
)

// Helpers of the sink tests that stop and start the server, the broker
// or the schema registry under a sink.

// durableServer starts a server on a data directory of its own, without
// a state memory bound, and connects to it. The test stops it.
func durableServer(t *testing.T) (engine.Options, *testserver.Server, *pgx.Conn) {
	t.Helper()
	opts := engine.Options{StateMemory: -1, DataDir: t.TempDir()}
	srv := startDurable(t, opts)
	return opts, srv, connect(t, srv)
}

// stopServer closes conn and stops srv.
func stopServer(t *testing.T, srv *testserver.Server, conn *pgx.Conn) {
	t.Helper()
	conn.Close(t.Context())
	if _, err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
}

// restartServer starts a server again on opts' data directory and
// connects to it; the server stops with the test.
func restartServer(t *testing.T, opts engine.Options) (*testserver.Server, *pgx.Conn) {
	t.Helper()
	srv := startDurable(t, opts)
	t.Cleanup(func() { srv.Stop() })
	return srv, connect(t, srv)
}

// brokerPort is the port the broker c listens on, to start another on
// the same address with restartBroker.
func brokerPort(c *kfake.Cluster) string {
	addr := c.ListenAddrs()[0]
	return addr[strings.LastIndexByte(addr, ':')+1:]
}

// restartBroker starts a broker with topic on port, where the sink's
// broker was; it stops with the test.
func restartBroker(t *testing.T, port, topic string) {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(atoi(t, port)), kfake.SeedTopics(1, topic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
}

// waitSinkStatus polls SHOW JOBS until sink's status starts with prefix.
func waitSinkStatus(t *testing.T, conn *pgx.Conn, sink, prefix string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for s := sinkStatus(t, conn, sink); !strings.HasPrefix(s, prefix); s = sinkStatus(t, conn, sink) {
		if time.Now().After(deadline) {
			t.Fatalf("sink %s status: %q, want %s", sink, s, prefix)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// failSink inserts rows into ev (from id n+1 on) until the sink's log,
// its broker down, is full and the sink fails; it returns the last id
// and the sink's status.
func failSink(t *testing.T, conn *pgx.Conn, sink string, n int) (int, string) {
	t.Helper()
	status := sinkStatus(t, conn, sink)
	for i := 0; i < 20 && !strings.HasPrefix(status, "failed"); i++ {
		sqltest.Exec(t, conn, fmt.Sprintf(`INSERT INTO ev SELECT g, md5(g::text) || md5((g+1)::text) || md5((g+2)::text)
			FROM generate_series(%d, %d) g`, n+1, n+10), `FLUSH`)
		n += 10
		status = sinkStatus(t, conn, sink)
	}
	if !strings.HasPrefix(status, "failed") {
		t.Fatalf("sink status after %d rows: %q, want failed", n, status)
	}
	return n, status
}

// checkDelivered consumes the committed records of topic and fails t
// (saying when) unless there are n.
func checkDelivered(t *testing.T, addr, topic string, n int, when string) {
	t.Helper()
	if got := consumeCommitted(t, addr, topic, n); len(got) != n {
		t.Fatalf("%s: %d records, want %d", when, len(got), n)
	}
}

// checkOnce checks that the records hold every key {"id":i} for i in
// [from, to] exactly once, and no other.
func checkOnce(t *testing.T, got []sinkMsg, from, to int) {
	t.Helper()
	seen := map[string]int{}
	for _, m := range got {
		seen[m.key]++
	}
	for i := from; i <= to; i++ {
		if k := fmt.Sprintf(`{"id":%d}`, i); seen[k] != 1 {
			t.Errorf("key %s seen %d times", k, seen[k])
		}
	}
	if len(got) != to-from+1 {
		t.Errorf("%d records, want %d", len(got), to-from+1)
	}
}

// ownerChanges decodes the Avro records of an acct(id, owner) sink as
// "id=owner", or "id=-" for a tombstone.
func ownerChanges(t *testing.T, reg *testregistry.Registry, msgs []sinkMsg) []string {
	t.Helper()
	r := &avroReader{t: t, url: reg.URL(), schemas: map[uint32]avro.Schema{}}
	var got []string
	for _, m := range msgs {
		key, _ := r.decode([]byte(m.key))
		if m.tombstone {
			got = append(got, show(key["id"])+"=-")
			continue
		}
		val, _ := r.decode([]byte(m.value))
		got = append(got, show(key["id"])+"="+show(val["owner"]))
	}
	return got
}
