package kafka_test

import (
	"encoding/json"
	"math/big"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hamba/avro/v2"

	"streamsql/internal/doctest"
	"streamsql/internal/sqltest"
	"streamsql/internal/testregistry"
)

// TestDocExample runs the example of docs/connectors/kafka.md: the records
// of its "produce" block go into the topic (keyed by the named field),
// the statements of its "run" block run with the broker's address in
// place of localhost:9092, and the query of its "expect" block must
// return the rows below it.
func TestDocExample(t *testing.T) {
	const page = "docs/connectors/kafka.md"
	produce := doctest.Block(t, page, "(?s)<!-- produce: topic=(\\S+) key=(\\S+) -->\n```json\n(.*?)```")
	run := doctest.Block(t, page, "(?s)<!-- run -->\n```sql\n(.*?)```")
	expect := doctest.Block(t, page, "(?s)<!-- expect -->\n```sql\n(.*?)```\n```text\n(.*?)```")
	topic := string(produce[1])
	_, addr := brokerTopics(t, 2, topic)
	p := producer(t, addr, nil)
	for i, line := range strings.Split(strings.TrimSpace(string(produce[3])), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		key, _ := rec[string(produce[2])].(string)
		send(t, p, topic, int32(i%2), key, line)
	}
	_, conn := startServer(t)
	for _, stmt := range strings.Split(string(run[1]), ";\n") {
		if stmt = strings.TrimSpace(stmt); stmt != "" {
			sqltest.Exec(t, conn, strings.ReplaceAll(stmt, "localhost:9092", addr))
		}
	}
	query := strings.TrimSuffix(strings.TrimSpace(string(expect[1])), ";")
	sqltest.Eventually(t, conn, query, strings.TrimSpace(string(expect[2])))
	var rejects int
	if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM rejects WHERE relation = '"+topic+"'").Scan(&rejects); err != nil {
		t.Fatal(err)
	}
	if rejects != 1 {
		t.Fatalf("%d rejects, want the one record with \"qty\": \"lots\"", rejects)
	}
}

// docBlock returns the SQL statements of the block marked <!-- name -->
// in docs/connectors/kafka.md, with the broker's and the registry's
// addresses in place of the example ones.
func docBlock(t *testing.T, name, addr, registry string) []string {
	t.Helper()
	m := doctest.Block(t, "docs/connectors/kafka.md", "(?s)<!-- "+regexp.QuoteMeta(name)+" -->\n```sql\n(.*?)```")
	var out []string
	for _, stmt := range strings.Split(string(m[1]), ";\n") {
		if stmt = strings.TrimSpace(stmt); stmt != "" {
			stmt = strings.ReplaceAll(stmt, "localhost:9092", addr)
			out = append(out, strings.ReplaceAll(stmt, "http://localhost:8081", registry))
		}
	}
	return out
}

// TestDocWatermarkExample runs the watermark example of
// docs/connectors/kafka.md as its text describes it: records at
// 00:00:01, 00:00:05 and 00:00:25 in partition 0 of a two-partition
// topic, none in partition 1; the window of 00:00:00 closes with 2 rows
// once partition 1 has been idle for 300 ms.
func TestDocWatermarkExample(t *testing.T) {
	_, addr := brokerTopics(t, 2, "clicks")
	p := producer(t, addr, nil)
	for i, sec := range []int{1, 5, 25} {
		send(t, p, "clicks", 0, "", tsRecord(i, sec))
	}
	_, conn := startServer(t)
	sqltest.Exec(t, conn, docBlock(t, "run-watermark", addr, "")...)
	sqltest.Eventually(t, conn, "SELECT to_char(window_start, 'HH24:MI:SS'), n FROM clicks_10s", "00:00:00 2")
}

// TestDocAvroExample runs the Avro example of docs/connectors/kafka.md
// against a registry stand-in.
func TestDocAvroExample(t *testing.T) {
	_, addr := brokerTopics(t, 1, "orders", "accounts")
	reg := testregistry.New(t)
	p := producer(t, addr, nil)
	v2 := testregistry.NewEncoder(t, reg.Register(t, "orders-value", orderV2), orderV2)
	sendRaw(t, p, "orders", 0, nil, v2.Encode(t, map[string]any{"id": int64(1), "sym": "AAPL", "qty": 5, "ts": time.Unix(0, 0), "venue": "XLON"}))
	key := testregistry.NewEncoder(t, reg.Register(t, "accounts-key", `"long"`), `"long"`)
	val := testregistry.NewEncoder(t, reg.Register(t, "accounts-value", accountValue), accountValue)
	sendRaw(t, p, "accounts", 0, key.Encode(t, int64(7)), val.Encode(t, map[string]any{"id": int64(7), "owner": "ann", "balance": 1.5}))
	_, conn := startServer(t)
	sqltest.Exec(t, conn, docBlock(t, "run-avro", addr, reg.URL())...)
	sqltest.Exec(t, conn, "CREATE MATERIALIZED VIEW doc_orders AS SELECT sym, qty, venue FROM orders")
	sqltest.Eventually(t, conn, "SELECT sym, qty, venue FROM doc_orders", "AAPL 5 XLON")
	sqltest.Eventually(t, conn, "SELECT id, owner, balance FROM accounts", "7 ann 1.5")
}

// TestDocAvroSinkExample runs the ENCODE AVRO sink example of
// docs/connectors/kafka.md: the topic gets an upsert and a tombstone, and
// the registered value schema is the one the page shows.
func TestDocAvroSinkExample(t *testing.T) {
	_, addr := sinkBroker(t)
	reg := testregistry.New(t)
	_, conn := startServer(t)
	sqltest.Exec(t, conn, docBlock(t, "run-avro-sink", addr, reg.URL())...)
	sqltest.Exec(t, conn, "FLUSH")
	msgs := consumeCommitted(t, addr, "trades", 2)
	if len(msgs) != 2 || msgs[0].tombstone || !msgs[1].tombstone {
		t.Fatalf("records: %+v, want an upsert and a tombstone", msgs)
	}
	r := &avroReader{t: t, url: reg.URL(), schemas: map[uint32]avro.Schema{}}
	v, _ := r.decode([]byte(msgs[0].value))
	if got, want := showRecord(v, "id", "sym", "qty", "at", "day"), "id=1 sym=AAPL qty=100 at=2024-05-01T09:30:00.500000 day=2024-05-01T00:00:00.000000"; got != want {
		t.Errorf("value: %s, want %s", got, want)
	}
	if px, ok := v["px"].(*big.Rat); !ok || px.FloatString(4) != "189.1250" {
		t.Errorf("px = %v, want the decimal 189.1250", v["px"])
	}
	m := doctest.Block(t, "docs/connectors/kafka.md", "(?s)registered as\n`trades-value` is\n\n```json\n(.*?)```")
	resp, err := http.Get(reg.URL() + "/subjects/trades-value/versions/latest")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Schema string }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	if want := strings.ReplaceAll(strings.ReplaceAll(string(m[1]), "\n", ""), "  ", ""); out.Schema != want {
		t.Errorf("registered schema:\n%s\nthe page shows\n%s", out.Schema, want)
	}
}

// TestDocTableWatermarkExample runs the example of "Tables fed by Kafka"
// in docs/connectors/kafka.md: partition 1 a minute behind partition 0.
func TestDocTableWatermarkExample(t *testing.T) {
	c := broker(t, 2)
	addr := c.ListenAddrs()[0]
	if err := c.CreateTopic("trades", 2, nil); err != nil {
		t.Fatal(err)
	}
	p := producer(t, addr, nil)
	for i := 0; i < 5; i++ {
		send(t, p, "trades", 0, "", tsRecord(i, 60+i))
		send(t, p, "trades", 1, "", tsRecord(10+i, 2*i))
	}
	_, conn := startServer(t)
	sqltest.Exec(t, conn, docBlock(t, "run-table-watermark", addr, "")...)
	sqltest.Eventually(t, conn, "SELECT count(*) FROM trades", "10")
	send(t, p, "trades", 1, "", tsRecord(20, 12))
	sqltest.Eventually(t, conn, "SELECT to_char(window_start, 'HH24:MI:SS'), n FROM trades_10s", "00:00:00 5")
}
