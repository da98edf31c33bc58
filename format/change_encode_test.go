package format

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/cockroachdb/apd/v3"

	"streamsql/sql/types"
)

func column(t types.T, vals ...types.Datum) arrow.Array { return types.ArrayFromDatums(t, vals) }

// TestJSONEncoderValues checks the spelling of every kind of value and
// that FORMAT PLAIN ENCODE JSON reads the encoded rows back unchanged.
func TestJSONEncoderValues(t *testing.T) {
	num, _, _ := apd.NewFromString("-12.50")
	ts := []types.T{types.TBool, types.TInt2, types.TInt4, types.TInt8, types.TFloat8, types.TFloat4, types.TNumeric,
		types.TText, types.TBytea, types.TDate, types.TTimestamp, types.TTimestampTZ, types.TInterval, types.TJSONB}
	names := []string{"b", "i2", "i4", "i8", "f8", "f4", "n", "s", "by", "d", "ts", "tz", "iv", "j"}
	ts0 := types.Timestamp(1_700_000_000_123_456) // microseconds since 1970
	cols := []arrow.Array{
		column(ts[0], true, nil), column(ts[1], int64(-7), nil), column(ts[2], int64(123456), nil), column(ts[3], int64(math.MaxInt64), nil),
		column(ts[4], 1.5e300, math.NaN()), column(ts[5], 0.25, nil), column(ts[6], num, nil),
		column(ts[7], "quote \" backslash \\ newline \n tab \t ctl \x01 é \u2028", nil), column(ts[8], []byte{0, 1, 254}, nil),
		column(ts[9], types.Date(-1), nil), column(ts[10], ts0, nil), column(ts[11], ts0, nil),
		column(ts[12], types.IntervalValue{Months: 14, Days: 3, Micros: 3_600_000_000}, nil), column(ts[13], `{"a": [1, 2]}`, nil),
	}
	e := NewJSONEncoder(names, ts)
	e.Bind(cols)
	got := string(e.AppendRow(nil, 0)) + "\n" + string(e.AppendRow(nil, 1))
	want := `{"b":true,"i2":-7,"i4":123456,"i8":9223372036854775807,"f8":1.5e+300,"f4":0.25,"n":-12.50,` +
		`"s":"quote \" backslash \\ newline \n tab \t ctl \u0001 é \u2028","by":"AAH+","d":"1969-12-31",` +
		`"ts":"2023-11-14 22:13:20.123456","tz":"2023-11-14 22:13:20.123456+00","iv":"1 year 2 mons 3 days 01:00:00","j":{"a": [1, 2]}}` + "\n" +
		`{"b":null,"i2":null,"i4":null,"i8":null,"f8":"NaN","f4":null,"n":null,"s":null,"by":null,"d":null,"ts":null,"tz":null,"iv":null,"j":null}`
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	// Read back with the JSON decoder.
	var schema Schema
	for i, n := range names {
		schema.Columns = append(schema.Columns, Column{Name: n, Type: ts[i]})
	}
	dec, err := NewDecoder(Spec{Format: "PLAIN", Encode: "JSON"}, schema)
	if err != nil {
		t.Fatal(err)
	}
	out := NewBatch(schema)
	dec.DecodeBatch([]Message{{Value: e.AppendRow(nil, 0)}}, out)
	if len(out.Rejects) > 0 {
		t.Fatalf("decoding the encoded row: %v", out.Rejects[0])
	}
	recCols, _ := out.Finish()
	for i := range cols {
		a, b := types.GetDatum(cols[i], 0, ts[i]), types.GetDatum(recCols[i], 0, ts[i])
		if types.FormatText(a, ts[i], time.UTC) != types.FormatText(b, ts[i], time.UTC) {
			t.Errorf("column %s: wrote %v, read back %v", names[i], a, b)
		}
	}
}

func encodeAll(t *testing.T, cfg ChangeEncoderConfig, cols []arrow.Array, ops []Op) (string, error) {
	t.Helper()
	e, err := NewChangeEncoder(context.Background(), cfg)
	if err != nil {
		return "", err
	}
	e.now = func() time.Time { return time.UnixMilli(1000) }
	var sb strings.Builder
	_, err = e.Encode(cols, ops, len(ops), func(k, v []byte, hasKey, hasValue bool) {
		key, val := "-", "null"
		if hasKey {
			key = string(k)
		}
		if hasValue {
			val = string(v)
		}
		fmt.Fprintf(&sb, "%s %s\n", key, val)
	})
	// EncodeFramed writes the same messages, each value in place.
	e2, err2 := NewChangeEncoder(context.Background(), cfg)
	if err2 != nil {
		t.Fatal(err2)
	}
	e2.now = e.now
	var f textFrame
	framed, n, err2 := e2.EncodeFramed([]byte("start\n"), cols, ops, len(ops), &f)
	if (err == nil) != (err2 == nil) {
		t.Fatalf("Encode: %v; EncodeFramed: %v", err, err2)
	}
	if got, want := string(framed), "start\n"+sb.String(); err == nil && got != want {
		t.Fatalf("EncodeFramed wrote\n%s\nEncode\n%s", got, want)
	}
	if err == nil && n != strings.Count(sb.String(), "\n") {
		t.Fatalf("EncodeFramed counted %d messages, Encode emitted %d", n, strings.Count(sb.String(), "\n"))
	}
	return sb.String(), err
}

// textFrame lays out messages as encodeAll prints them: "key value\n",
// "-" for no key and null for no value.
type textFrame struct{ hasValue bool }

func (f *textFrame) Open(buf, key []byte, hasKey, hasValue bool) []byte {
	f.hasValue = hasValue
	if !hasKey {
		key = []byte("-")
	}
	return append(append(buf, key...), ' ')
}

func (f *textFrame) Close(buf []byte, start int) []byte {
	if !f.hasValue {
		if len(buf) != start {
			panic("a message without a value has one")
		}
		buf = append(buf, "null"...)
	}
	return append(buf, '\n')
}

// TestChangeEncoderEnvelopes checks PLAIN, UPSERT and DEBEZIUM over an
// insert, an update in place, an update of the key and a delete.
func TestChangeEncoderEnvelopes(t *testing.T) {
	ts := []types.T{types.TInt4, types.TText}
	cols := []arrow.Array{
		column(ts[0], int64(1), int64(1), int64(1), int64(2), int64(3), int64(3)),
		column(ts[1], "a", "a", "b", "b", "c", "c"),
	}
	ops := []Op{Insert, UpdateDelete, UpdateInsert, UpdateDelete, UpdateInsert, Delete}
	cfg := ChangeEncoderConfig{Encode: "JSON", Names: []string{"id", "v"}, Types: ts, PrimaryKey: []int{0}, Name: "s"}

	cfg.Format = "UPSERT"
	got, err := encodeAll(t, cfg, cols, ops)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":1} {"id":1,"v":"a"}
{"id":1} {"id":1,"v":"b"}
{"id":2} null
{"id":3} {"id":3,"v":"c"}
{"id":3} null
`
	if got != want {
		t.Errorf("UPSERT:\n%s\nwant\n%s", got, want)
	}

	cfg.Format = "DEBEZIUM"
	got, err = encodeAll(t, cfg, cols, ops)
	if err != nil {
		t.Fatal(err)
	}
	src := `"ts_ms":1000,"source":{"connector":"streamsql","name":"s"}}`
	want = `{"id":1} {"before":null,"after":{"id":1,"v":"a"},"op":"c",` + src + `
{"id":1} {"before":{"id":1,"v":"a"},"after":{"id":1,"v":"b"},"op":"u",` + src + `
{"id":2} {"before":{"id":2,"v":"b"},"after":null,"op":"d",` + src + `
{"id":2} null
{"id":3} {"before":null,"after":{"id":3,"v":"c"},"op":"c",` + src + `
{"id":3} {"before":{"id":3,"v":"c"},"after":null,"op":"d",` + src + `
{"id":3} null
`
	if got != want {
		t.Errorf("DEBEZIUM:\n%s\nwant\n%s", got, want)
	}
	// Without tombstones a delete is its event alone.
	cfg.NoTombstones = true
	got, err = encodeAll(t, cfg, cols, ops)
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.ReplaceAll(strings.ReplaceAll(want, "{\"id\":2} null\n", ""), "{\"id\":3} null\n", ""); got != want {
		t.Errorf("DEBEZIUM without tombstones:\n%s\nwant\n%s", got, want)
	}
	cfg.NoTombstones = false

	cfg.Format, cfg.PrimaryKey = "PLAIN", nil
	if _, err := encodeAll(t, cfg, cols, ops); err == nil || !strings.Contains(err.Error(), "not append-only") {
		t.Errorf("PLAIN over deletes: %v", err)
	}
	cfg.ForceAppendOnly = true
	got, err = encodeAll(t, cfg, cols, ops)
	if err != nil {
		t.Fatal(err)
	}
	want = `- {"id":1,"v":"a"}
- {"id":1,"v":"b"}
- {"id":3,"v":"c"}
`
	if got != want {
		t.Errorf("PLAIN force_append_only:\n%s\nwant\n%s", got, want)
	}
}

// BenchmarkChangeEncoderQ0 encodes Nexmark q0's rows (auction, bidder,
// price, date_time) as FORMAT PLAIN ENCODE JSON, 4,096 rows per chunk.
func BenchmarkChangeEncoderQ0(b *testing.B) {
	benchQ0(b, ChangeEncoderConfig{Format: "PLAIN", Encode: "JSON"})
}

// benchQ0 encodes 4,096 rows of Nexmark q0 per chunk with an encoder of
// cfg.
func benchQ0(b *testing.B, cfg ChangeEncoderConfig) {
	const n = 4096
	e, cols, ops := q0Encoder(b, n, cfg)
	var buf []byte
	for b.Loop() {
		buf = buf[:0]
		if _, err := e.Encode(cols, ops, n, func(k, v []byte, _, _ bool) { buf = append(buf, v...) }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// q0Encoder returns an encoder of cfg for Nexmark q0's columns and n
// rows of them, all inserts.
func q0Encoder(b *testing.B, n int, cfg ChangeEncoderConfig) (*ChangeEncoder, []arrow.Array, []Op) {
	ts := []types.T{types.TInt8, types.TInt8, types.TInt8, types.TTimestamp}
	var a, bd, p, dt []types.Datum
	ops := make([]Op, n)
	for i := 0; i < n; i++ {
		a = append(a, int64(1000+i%100))
		bd = append(bd, int64(2000+i))
		p = append(p, int64(100+i*7))
		dt = append(dt, types.Timestamp(490_000_000_000_000+int64(i)*1000))
	}
	cols := []arrow.Array{types.ArrayFromDatums(ts[0], a), types.ArrayFromDatums(ts[1], bd), types.ArrayFromDatums(ts[2], p), types.ArrayFromDatums(ts[3], dt)}
	cfg.Names, cfg.Types = []string{"auction", "bidder", "price", "date_time"}, ts
	e, err := NewChangeEncoder(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	return e, cols, ops
}

// BenchmarkChangeEncoderQ0Framed is BenchmarkChangeEncoderQ0 with each
// message framed in one buffer (EncodeFramed, as a sink log writes them).
func BenchmarkChangeEncoderQ0Framed(b *testing.B) {
	const n = 4096
	e, cols, ops := q0Encoder(b, n, ChangeEncoderConfig{Format: "PLAIN", Encode: "JSON"})
	var buf []byte
	var f textFrame
	for b.Loop() {
		var err error
		if buf, _, err = e.EncodeFramed(buf[:0], cols, ops, n, &f); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// TestJSONTimestamps compares the timestamp writer with the text output
// of sql/types over days before and after 1970, fractions, BC years and
// the infinities.
func TestJSONTimestamps(t *testing.T) {
	vals := []types.Datum{types.TimestampNegInfinity, types.TimestampPosInfinity}
	for _, v := range []int64{0, 1, -1, 999_999, 1_000_000, 86_399_999_999, 86_400_000_000, -86_400_000_000, -86_400_000_001,
		1_436_918_400_001_000, -62_135_596_800_000_000, -62_135_596_800_000_001, -62_200_000_000_000_000, 253_402_300_799_999_999} {
		vals = append(vals, types.Timestamp(v))
	}
	for _, typ := range []types.T{types.TTimestamp, types.TTimestampTZ} {
		col := types.ArrayFromDatums(typ, vals)
		e := NewJSONEncoder([]string{"t"}, []types.T{typ})
		e.Bind([]arrow.Array{col})
		for i, v := range vals {
			want := `{"t":"` + string(types.AppendText(nil, v, typ, nil)) + `"}`
			if got := string(e.AppendRow(nil, i)); got != want {
				t.Errorf("%s %d: got %s, want %s", typ, v, got, want)
			}
		}
	}
}
