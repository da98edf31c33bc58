package kafka_test

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"streamsql/engine"
	"streamsql/internal/testserver"
)

// TestDocExample runs the example of docs/connectors/kafka.md: the records
// of its "produce" block go into the topic (keyed by the named field),
// the statements of its "run" block run with the broker's address in
// place of localhost:9092, and the query of its "expect" block must
// return the rows below it.
func TestDocExample(t *testing.T) {
	doc, err := os.ReadFile("../../docs/connectors/kafka.md")
	if err != nil {
		t.Fatal(err)
	}
	produce := regexp.MustCompile("(?s)<!-- produce: topic=(\\S+) key=(\\S+) -->\n```json\n(.*?)```").FindSubmatch(doc)
	run := regexp.MustCompile("(?s)<!-- run -->\n```sql\n(.*?)```").FindSubmatch(doc)
	expect := regexp.MustCompile("(?s)<!-- expect -->\n```sql\n(.*?)```\n```text\n(.*?)```").FindSubmatch(doc)
	if produce == nil || run == nil || expect == nil {
		t.Fatal("docs/connectors/kafka.md lacks its produce, run or expect block")
	}
	topic, keyField := string(produce[1]), string(produce[2])
	c := broker(t, 2)
	addr := c.ListenAddrs()[0]
	if err := c.CreateTopic(topic, 2, nil); err != nil {
		t.Fatal(err)
	}
	p := producer(t, addr, nil)
	for i, line := range strings.Split(strings.TrimSpace(string(produce[3])), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		key, _ := rec[keyField].(string)
		send(t, p, topic, int32(i%2), key, line)
	}
	srv := testserver.Start(t, engine.Options{StateMemory: -1})
	conn := connect(t, srv)
	for _, stmt := range strings.Split(string(run[1]), ";\n") {
		if stmt = strings.TrimSpace(stmt); stmt != "" {
			exec(t, conn, strings.ReplaceAll(stmt, "localhost:9092", addr))
		}
	}
	query := strings.TrimSuffix(strings.TrimSpace(string(expect[1])), ";")
	eventually(t, conn, query, strings.TrimSpace(string(expect[2])))
	var rejects int
	if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM rejects WHERE relation = '"+topic+"'").Scan(&rejects); err != nil {
		t.Fatal(err)
	}
	if rejects != 1 {
		t.Fatalf("%d rejects, want the one record with \"qty\": \"lots\"", rejects)
	}
}
