package format

import (
	"fmt"
	"testing"
	"time"

	"streamsql/internal/cputime"
	"streamsql/internal/testregistry"
	"streamsql/sql/types"
)

// The benchmarks decode batches of 4,096 messages, as a source reader
// hands them over, and report messages per second of one goroutine (one
// core): go test ./format -run '^$' -bench . -benchtime 2s

const benchBatch = 4096

var bidSchema = Schema{Columns: []Column{
	{Name: "auction", Type: mustType("bigint")},
	{Name: "bidder", Type: mustType("bigint")},
	{Name: "price", Type: mustType("bigint")},
	{Name: "channel", Type: mustType("varchar")},
	{Name: "url", Type: mustType("text")},
	{Name: "date_time", Type: mustType("timestamp")},
	{Name: "extra", Type: mustType("text")},
}}

func mustType(s string) types.T {
	t, err := parseTestType(s)
	if err != nil {
		panic(err)
	}
	return t
}

func bidJSON(i int) []byte {
	ts := time.Date(2015, 7, 15, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Millisecond)
	return fmt.Appendf(nil, `{"auction":%d,"bidder":%d,"price":%d,"channel":"channel-%d","url":"https://www.nexmark.com/item.htm?query=%d","date_time":"%s","extra":"%s"}`,
		1000+i%997, 2000+i%1009, 100+i%100000, i%10, i, ts.Format("2006-01-02 15:04:05.000"), "jbpzwjaxhk")
}

// runBench decodes, with a decoder of spec for schema, benchBatch
// messages at a time, message i being msg(i).
func runBench(b *testing.B, spec Spec, schema Schema, msg func(i int) Message) {
	dec, err := NewDecoder(spec, schema)
	if err != nil {
		b.Fatal(err)
	}
	msgs := make([]Message, benchBatch)
	for i := range msgs {
		msgs[i] = msg(i)
	}
	out := NewBatch(schema)
	defer out.Release()
	var bytes int64
	for _, m := range msgs {
		bytes += int64(len(m.Value))
	}
	b.SetBytes(bytes / int64(len(msgs)))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cputime.Used()
	n := 0
	for n < b.N {
		batch := msgs
		if rest := b.N - n; rest < len(batch) {
			batch = batch[:rest]
		}
		out.Reset()
		dec.DecodeBatch(batch, out)
		if len(out.Rejects) > 0 {
			b.Fatalf("reject: %v", out.Rejects[0].Err)
		}
		cols, _ := out.Finish()
		for _, c := range cols {
			c.Release()
		}
		n += len(batch)
	}
	cpu := cputime.Used() - cpu0
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	if cpu > 0 {
		// The machine is shared: CPU time of the process (user + system,
		// GC included) is the figure to compare, not wall time.
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "msgs/cpu-s")
	}
}

func BenchmarkJSONPlainBid(b *testing.B) {
	runBench(b, Spec{Format: "PLAIN", Encode: "JSON"}, bidSchema, func(i int) Message {
		m := Message{Value: bidJSON(i), Offset: int64(i)}
		return m
	})
}

func BenchmarkDebeziumJSON(b *testing.B) {
	schema := Schema{Columns: bidSchema.Columns, PrimaryKey: []int{0}}
	runBench(b, Spec{Format: "DEBEZIUM", Encode: "JSON"}, schema, func(i int) Message {
		op := "c"
		before := []byte("null")
		if i%4 == 3 {
			op, before = "u", bidJSON(i-1)
		}
		m := Message{Offset: int64(i), Value: fmt.Appendf(nil,
			`{"before":%s,"after":%s,"source":{"version":"2.5.0.Final","connector":"mysql","name":"dbserver1","ts_ms":1700000000000,"snapshot":"false","db":"nexmark","table":"bid","server_id":223344,"file":"mysql-bin.000003","pos":%d,"row":0},"op":"%s","ts_ms":1700000000123,"transaction":null}`,
			before, bidJSON(i), 154+i, op)}
		return m
	})
}

const bidAvro = `{"type": "record", "name": "Bid", "namespace": "nexmark", "fields": [
 {"name": "auction", "type": "long"}, {"name": "bidder", "type": "long"}, {"name": "price", "type": "long"},
 {"name": "channel", "type": "string"}, {"name": "url", "type": "string"},
 {"name": "date_time", "type": {"type": "long", "logicalType": "timestamp-millis"}}, {"name": "extra", "type": "string"}]}`

func BenchmarkAvroBid(b *testing.B) {
	reg := testregistry.New(b)
	id := reg.Register(b, "bid-value", bidAvro)
	runBench(b, Spec{Format: "PLAIN", Encode: "AVRO", Options: map[string]string{"schema.registry": reg.URL()}}, bidSchema, func(i int) Message {
		ts := time.Date(2015, 7, 15, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Millisecond)
		m := Message{Offset: int64(i), Value: encodeAvro(b, id, bidAvro, map[string]any{
			"auction": int64(1000 + i%997), "bidder": int64(2000 + i%1009), "price": int64(100 + i%100000),
			"channel": fmt.Sprintf("channel-%d", i%10), "url": fmt.Sprintf("https://www.nexmark.com/item.htm?query=%d", i),
			"date_time": ts, "extra": "jbpzwjaxhk",
		})}
		return m
	})
}

func BenchmarkCSVBid(b *testing.B) {
	runBench(b, Spec{Format: "PLAIN", Encode: "CSV"}, bidSchema, func(i int) Message {
		ts := time.Date(2015, 7, 15, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Millisecond)
		m := Message{Offset: int64(i), Value: fmt.Appendf(nil, "%d,%d,%d,channel-%d,https://www.nexmark.com/item.htm?query=%d,%s,jbpzwjaxhk",
			1000+i%997, 2000+i%1009, 100+i%100000, i%10, i, ts.Format("2006-01-02 15:04:05.000"))}
		return m
	})
}

func BenchmarkUpsertJSON(b *testing.B) {
	schema := Schema{Columns: bidSchema.Columns, PrimaryKey: []int{0}}
	runBench(b, Spec{Format: "UPSERT", Encode: "JSON"}, schema, func(i int) Message {
		m := Message{Offset: int64(i), Key: fmt.Appendf(nil, `{"auction":%d}`, 1000+i%997), Value: bidJSON(i)}
		if i%8 == 7 {
			m.Value = nil // a delete by key
		}
		return m
	})
}

func BenchmarkCanalJSON(b *testing.B) {
	schema := Schema{Columns: bidSchema.Columns, PrimaryKey: []int{0}}
	runBench(b, Spec{Format: "CANAL", Encode: "JSON"}, schema, func(i int) Message {
		typ, old := "INSERT", "null"
		if i%4 == 3 {
			typ, old = "UPDATE", fmt.Sprintf(`[{"price":"%d"}]`, 99+i%100000)
		}
		m := Message{Offset: int64(i), Value: fmt.Appendf(nil,
			`{"data":[{"auction":"%d","bidder":"%d","price":"%d","channel":"channel-%d","url":"https://www.nexmark.com/item.htm?query=%d","date_time":"2015-07-15 00:00:%02d.000","extra":"jbpzwjaxhk"}],"database":"nexmark","es":1700000000000,"id":%d,"isDdl":false,"mysqlType":{"auction":"bigint"},"old":%s,"pkNames":["auction"],"sql":"","table":"bid","ts":1700000000123,"type":"%s"}`,
			1000+i%997, 2000+i%1009, 100+i%100000, i%10, i, i%60, i, old, typ)}
		return m
	})
}

func BenchmarkMaxwellJSON(b *testing.B) {
	schema := Schema{Columns: bidSchema.Columns, PrimaryKey: []int{0}}
	runBench(b, Spec{Format: "MAXWELL", Encode: "JSON"}, schema, func(i int) Message {
		typ, old := "insert", ""
		if i%4 == 3 {
			typ, old = "update", fmt.Sprintf(`,"old":{"price":%d}`, 99+i%100000)
		}
		m := Message{Offset: int64(i), Value: fmt.Appendf(nil,
			`{"database":"nexmark","table":"bid","type":"%s","ts":1700000000,"xid":%d,"commit":true,"data":%s%s}`,
			typ, 8000+i, bidJSON(i), old)}
		return m
	})
}
