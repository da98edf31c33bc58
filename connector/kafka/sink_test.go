package kafka_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	osexec "os/exec"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"streamsql/internal/sqltest"
)

// sinkMsg is one record a read_committed consumer saw.
type sinkMsg struct {
	key, value string
	tombstone  bool
}

// consumeCommitted reads topic from its start with a read_committed
// consumer until it has seen want records (or the deadline), then reads
// on for a moment to catch extra (duplicate) records.
func consumeCommitted(t *testing.T, addr, topic string, want int) []sinkMsg {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var out []sinkMsg
	deadline := time.Now().Add(20 * time.Second)
	settle := time.Time{}
	for time.Now().Before(deadline) {
		if len(out) >= want {
			if settle.IsZero() {
				settle = time.Now().Add(500 * time.Millisecond)
			} else if time.Now().After(settle) {
				break
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		fs := cl.PollFetches(ctx)
		cancel()
		fs.EachRecord(func(r *kgo.Record) {
			out = append(out, sinkMsg{key: string(r.Key), value: string(r.Value), tombstone: r.Value == nil})
		})
	}
	return out
}

// reconstruct applies upsert messages (key -> value, tombstone deletes)
// and returns the rows sorted.
func reconstruct(msgs []sinkMsg) []string {
	m := map[string]string{}
	for _, r := range msgs {
		if r.tombstone {
			delete(m, r.key)
		} else {
			m[r.key] = r.value
		}
	}
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

func sinkBroker(t *testing.T, topics ...string) (*kfake.Cluster, string) {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, topics...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, c.ListenAddrs()[0]
}

// TestKafkaSinkUpsert writes a table's changes as FORMAT UPSERT: the
// read_committed consumer sees one message per change (an update in
// place as one upsert, a delete as a tombstone), and replaying them
// rebuilds the table.
func TestKafkaSinkUpsert(t *testing.T) {
	_, addr := sinkBroker(t, "accounts")
	_, conn := startServer(t)
	sqltest.Exec(t, conn,
		`CREATE TABLE acct (id int PRIMARY KEY, owner text, balance numeric(10,2))`,
		`INSERT INTO acct VALUES (1, 'ann', 10.50), (2, 'bob "b"', 20), (3, 'cy', 30)`,
		kafkaSink("acct_out", "acct", "accounts", addr, "primary_key = 'id'", "UPSERT ENCODE JSON"),
		`UPDATE acct SET balance = balance + 1 WHERE id = 1`,
		`DELETE FROM acct WHERE id = 2`,
		`INSERT INTO acct VALUES (4, 'dee', 40)`,
		`FLUSH`)
	msgs := consumeCommitted(t, addr, "accounts", 6)
	if len(msgs) != 6 {
		t.Fatalf("got %d messages, want 6 (3 snapshot rows, update, delete, insert): %v", len(msgs), msgs)
	}
	if msgs[3].key != `{"id":1}` || msgs[3].value != `{"id":1,"owner":"ann","balance":11.50}` {
		t.Errorf("update message = %+v", msgs[3])
	}
	if msgs[4].key != `{"id":2}` || !msgs[4].tombstone {
		t.Errorf("delete message = %+v, want a tombstone for id 2", msgs[4])
	}
	got := strings.Join(reconstruct(msgs), "\n")
	want := strings.Join([]string{
		`{"id":1,"owner":"ann","balance":11.50}`,
		`{"id":3,"owner":"cy","balance":30.00}`,
		`{"id":4,"owner":"dee","balance":40.00}`,
	}, "\n")
	if got != want {
		t.Errorf("reconstruction:\n%s\nwant\n%s", got, want)
	}
	// The messages parse as JSON.
	for _, m := range msgs {
		if !m.tombstone && !json.Valid([]byte(m.value)) {
			t.Errorf("invalid JSON %q", m.value)
		}
	}
	// kcat, an outside client, sees the same committed records.
	if kcat, err := osexec.LookPath("kcat"); err == nil {
		out, err := osexec.Command(kcat, "-C", "-b", addr, "-t", "accounts", "-e", "-q",
			"-X", "isolation.level=read_committed", "-f", "%k|%s|%S\n").CombinedOutput()
		if err != nil {
			t.Fatalf("kcat: %v\n%s", err, out)
		}
		var lines []string
		for _, m := range msgs {
			if m.tombstone {
				lines = append(lines, m.key+"||-1")
			} else {
				lines = append(lines, fmt.Sprintf("%s|%s|%d", m.key, m.value, len(m.value)))
			}
		}
		if got, want := strings.TrimSpace(string(out)), strings.Join(lines, "\n"); got != want {
			t.Errorf("kcat read_committed:\n%s\nwant\n%s", got, want)
		}
	} else {
		t.Log("kcat is not installed: the outside-client check is skipped")
	}
	// SHOW CREATE SINK keeps the FORMAT clause.
	var name, def string
	if err := conn.QueryRow(context.Background(), `SHOW CREATE SINK acct_out`).Scan(&name, &def); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(def, "FORMAT UPSERT ENCODE JSON") || !strings.Contains(def, "primary_key = 'id'") {
		t.Errorf("SHOW CREATE SINK = %s", def)
	}
}

// TestKafkaSinkPlainAndDebezium checks FORMAT PLAIN's refusal of a
// retracting query (and force_append_only), and the Debezium envelope.
func TestKafkaSinkPlainAndDebezium(t *testing.T) {
	_, addr := sinkBroker(t, "plain", "forced", "dbz")
	_, conn := startServer(t)
	sqltest.Exec(t, conn, `CREATE TABLE t (id int PRIMARY KEY, g text, v int)`, `INSERT INTO t VALUES (1, 'a', 1), (2, 'a', 2)`)
	_, err := conn.Exec(context.Background(), fmt.Sprintf(`CREATE SINK bad AS SELECT g, sum(v) AS s FROM t GROUP BY g
		WITH (connector = 'kafka', topic = 'plain', properties.bootstrap.server = '%s') FORMAT PLAIN ENCODE JSON`, addr))
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "0A000" || !strings.Contains(pe.Message, "not append-only") {
		t.Fatalf("PLAIN over an aggregation: %v, want 0A000 not append-only", err)
	}
	_, err = conn.Exec(context.Background(), fmt.Sprintf(`CREATE SINK bad AS SELECT * FROM t
		WITH (connector = 'kafka', topic = 'plain', properties.bootstrap.server = '%s') FORMAT UPSERT ENCODE AVRO`, addr))
	if !errors.As(err, &pe) || pe.Code != "22023" || !strings.Contains(pe.Message, "schema.registry") {
		t.Fatalf("ENCODE AVRO without a registry: %v, want 22023 naming schema.registry", err)
	}
	sqltest.Exec(t, conn,
		fmt.Sprintf(`CREATE SINK forced AS SELECT g, sum(v) AS s FROM t GROUP BY g
			WITH (connector = 'kafka', topic = 'forced', properties.bootstrap.server = '%s', force_append_only = 'true') FORMAT PLAIN ENCODE JSON`, addr),
		kafkaSink("dbz", "t", "dbz", addr, "primary_key = 'id'", "DEBEZIUM ENCODE JSON"),
		`UPDATE t SET v = 5 WHERE id = 2`,
		`FLUSH`,
		`DELETE FROM t WHERE id = 1`,
		`FLUSH`)
	forced := consumeCommitted(t, addr, "forced", 3)
	var vals []string
	for _, m := range forced {
		vals = append(vals, m.value)
	}
	if got, want := strings.Join(vals, " "), `{"g":"a","s":3} {"g":"a","s":6} {"g":"a","s":5}`; got != want {
		t.Errorf("force_append_only messages = %s, want %s", got, want)
	}
	dbz := consumeCommitted(t, addr, "dbz", 5)
	var ops []string
	for _, m := range dbz {
		if m.tombstone {
			ops = append(ops, m.key+":tombstone")
			continue
		}
		var ev struct {
			Before, After map[string]any
			Op            string
		}
		if err := json.Unmarshal([]byte(m.value), &ev); err != nil {
			t.Fatalf("%q: %v", m.value, err)
		}
		ops = append(ops, fmt.Sprintf("%s:%s before=%v after=%v", m.key, ev.Op, ev.Before["v"], ev.After["v"]))
	}
	want := `{"id":1}:c before=<nil> after=1|{"id":2}:c before=<nil> after=2|{"id":2}:u before=2 after=5|{"id":1}:d before=1 after=<nil>|{"id":1}:tombstone`
	if got := strings.Join(ops, "|"); got != want {
		t.Errorf("debezium events:\n%s\nwant\n%s", got, want)
	}
}

// showSinkLag returns the lag column of the sink's row in SHOW JOBS.
func showSinkLag(t *testing.T, conn *pgx.Conn, name string) int64 {
	t.Helper()
	row := sqltest.JobColumns(t, conn, name)
	if row == nil {
		t.Fatalf("no job %s in SHOW JOBS", name)
	}
	var lag int64 = -1
	fmt.Sscan(fmt.Sprint(row["Sink lag rows"]), &lag)
	return lag
}

// TestKafkaSinkBrokerDown stops the broker while rows keep coming: the
// view stays fresh (FLUSH returns, SELECT sees the rows), the sink's lag
// grows in SHOW JOBS; a broker started on the same port receives the
// logged changes, and the two brokers together hold every change once.
func TestKafkaSinkBrokerDown(t *testing.T) {
	c1, addr := sinkBroker(t, "events")
	port := c1.ListenAddrs()[0][strings.LastIndexByte(c1.ListenAddrs()[0], ':')+1:]
	srv, conn := startServer(t)
	sqltest.Exec(t, conn,
		`CREATE TABLE ev (id int PRIMARY KEY, v int)`,
		`CREATE MATERIALIZED VIEW ev_count AS SELECT count(*) AS n FROM ev`,
		kafkaSink("ev_out", "ev", "events", addr, "delivery.timeout = '1s'", "UPSERT ENCODE JSON"))
	for i := 1; i <= 10; i++ {
		sqltest.Exec(t, conn, fmt.Sprintf(`INSERT INTO ev VALUES (%d, %d)`, i, i))
	}
	sqltest.Exec(t, conn, `FLUSH`)
	first := consumeCommitted(t, addr, "events", 10)
	if len(first) != 10 {
		t.Fatalf("first broker: %d records, want 10", len(first))
	}
	c1.Close()

	for i := 11; i <= 30; i++ {
		start := time.Now()
		sqltest.Exec(t, conn, fmt.Sprintf(`INSERT INTO ev VALUES (%d, %d)`, i, i), `FLUSH`)
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("INSERT and FLUSH took %v with the broker down", d)
		}
	}
	sqltest.Eventually(t, conn, `SELECT n FROM ev_count`, "30")
	deadline := time.Now().Add(10 * time.Second)
	for showSinkLag(t, conn, "ev_out") != 20 {
		if time.Now().After(deadline) {
			t.Fatalf("sink lag rows = %d, want 20 while the broker is down", showSinkLag(t, conn, "ev_out"))
		}
		time.Sleep(50 * time.Millisecond)
	}

	var metrics bytes.Buffer
	if err := srv.Engine.WriteMetrics(&metrics); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^streamsql_sink_lag_rows\{job="ev_out",id="\d+"\} 20$`).Match(metrics.Bytes()) ||
		!regexp.MustCompile(`(?m)^streamsql_sink_lag_epochs\{job="ev_out",id="\d+"\} [1-9]\d*$`).Match(metrics.Bytes()) {
		t.Errorf("/metrics has no sink lag of 20 rows:\n%s", grepLines(metrics.String(), "sink_lag"))
	}

	c2, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(atoi(t, port)), kfake.SeedTopics(1, "events"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c2.Close)
	second := consumeCommitted(t, addr, "events", 20)
	if len(second) != 20 {
		t.Fatalf("second broker: %d records, want 20", len(second))
	}
	seen := map[string]int{}
	for _, m := range append(first, second...) {
		seen[m.key]++
	}
	for i := 1; i <= 30; i++ {
		if k := fmt.Sprintf(`{"id":%d}`, i); seen[k] != 1 {
			t.Errorf("key %s seen %d times", k, seen[k])
		}
	}
	deadline = time.Now().Add(10 * time.Second)
	for showSinkLag(t, conn, "ev_out") != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("sink lag rows = %d after the broker came back", showSinkLag(t, conn, "ev_out"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func atoi(t *testing.T, s string) int {
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatal(err)
	}
	return n
}

// kafkaSink is CREATE SINK name FROM from into topic on the broker at
// addr, with the further options options (none when empty) and the
// format clause format (FORMAT ...).
func kafkaSink(name, from, topic, addr, options, format string) string {
	if options != "" {
		options = ", " + options
	}
	return fmt.Sprintf("CREATE SINK %s FROM %s WITH (connector = 'kafka', topic = '%s', properties.bootstrap.server = '%s'%s) FORMAT %s",
		name, from, topic, addr, options, format)
}
