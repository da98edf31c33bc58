package format

import (
	"context"
	"encoding/binary"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/hamba/avro/v2"

	"streamsql/internal/testregistry"
)

// encode frames v, encoded by hamba/avro with schema, in the Confluent wire format.
func encodeAvro(t testing.TB, id int32, schema string, v any) []byte {
	s, err := avro.ParseWithCache(schema, "", &avro.SchemaCache{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := avro.Marshal(s, v)
	if err != nil {
		t.Fatalf("marshal %v: %v", v, err)
	}
	out := []byte{0, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(out[1:], uint32(id))
	return append(out, b...)
}

const tradeV1 = `{"type": "record", "name": "Trade", "namespace": "exchange",
 "fields": [
  {"name": "id", "type": "long"},
  {"name": "symbol", "type": "string"},
  {"name": "price", "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}},
  {"name": "qty", "type": "int"},
  {"name": "side", "type": {"type": "enum", "name": "Side", "symbols": ["BUY", "SELL"]}},
  {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-micros"}},
  {"name": "day", "type": {"type": "int", "logicalType": "date"}},
  {"name": "venue", "type": ["null", "string"], "default": null},
  {"name": "trader", "type": {"type": "string", "logicalType": "uuid"}},
  {"name": "tags", "type": {"type": "array", "items": "string"}},
  {"name": "attrs", "type": {"type": "map", "values": "double"}},
  {"name": "raw", "type": "bytes"},
  {"name": "ignored", "type": {"type": "record", "name": "Nested", "fields": [{"name": "x", "type": ["null", "Nested"]}]}}
 ]}`

// tradeV2 drops qty and ignored, adds fee (with a default) and a nested
// record the table stores as jsonb: a backward compatible evolution.
const tradeV2 = `{"type": "record", "name": "Trade", "namespace": "exchange",
 "fields": [
  {"name": "id", "type": "long"},
  {"name": "symbol", "type": "string"},
  {"name": "price", "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}},
  {"name": "side", "type": {"type": "enum", "name": "Side", "symbols": ["BUY", "SELL", "SHORT"]}},
  {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-millis"}},
  {"name": "day", "type": {"type": "int", "logicalType": "date"}},
  {"name": "venue", "type": ["null", "string"], "default": null},
  {"name": "trader", "type": {"type": "string", "logicalType": "uuid"}},
  {"name": "tags", "type": {"type": "array", "items": "string"}},
  {"name": "attrs", "type": {"type": "map", "values": "double"}},
  {"name": "raw", "type": "bytes"},
  {"name": "fee", "type": "double", "default": 0},
  {"name": "meta", "type": {"type": "record", "name": "Meta", "fields": [{"name": "src", "type": "string"}, {"name": "seq", "type": "long"}]}}
 ]}`

const tradeColumns = `
id bigint
symbol varchar(8)
price numeric(10,2)
qty integer
side text
ts timestamptz
day date
venue text
trader text
tags text[]
attrs jsonb
raw bytea
fee double precision
meta jsonb
part integer include partition
primary key id
`

func TestAvroRegistryAndEvolution(t *testing.T) {
	reg := testregistry.New(t)
	v1 := reg.Register(t, "trades-value", tradeV1)
	v2 := reg.Register(t, "trades-value", tradeV2)
	dec, schema := mustDecoder(t, Spec{Format: "PLAIN", Encode: "AVRO", Options: map[string]string{"schema.registry": reg.URL()}}, tradeColumns)
	ts := time.Date(2024, 5, 1, 9, 30, 0, 123456000, time.UTC)
	msgs := []Message{
		{Value: encodeAvro(t, v1, tradeV1, map[string]any{
			"id": int64(1), "symbol": "ACME", "price": big.NewRat(12345, 100), "qty": 100, "side": "BUY",
			"ts": ts, "day": ts, "venue": map[string]any{"string": "XNYS"},
			"trader": "0f8fad5b-d9cb-469f-a165-70867728950e", "tags": []string{"block", "odd lot"},
			"attrs": map[string]any{"vwap": 123.4}, "raw": []byte{0xde, 0xad},
			"ignored": map[string]any{"x": map[string]any{"exchange.Nested": map[string]any{"x": nil}}},
		})},
		{Value: encodeAvro(t, v1, tradeV1, map[string]any{
			"id": int64(2), "symbol": "INIT", "price": big.NewRat(-5, 100), "qty": -1, "side": "SELL",
			"ts": ts, "day": ts, "venue": nil, "trader": "x", "tags": []string{}, "attrs": map[string]any{},
			"raw": []byte{}, "ignored": map[string]any{"x": nil},
		})},
		{Value: encodeAvro(t, v2, tradeV2, map[string]any{
			"id": int64(3), "symbol": "ACME", "price": big.NewRat(99999999, 100), "side": "SHORT",
			"ts": ts, "day": ts, "venue": nil, "trader": "y", "tags": []string{"a"}, "attrs": map[string]any{},
			"raw": []byte("z"), "fee": 0.25, "meta": map[string]any{"src": "fix", "seq": int64(7)},
		})},
		// Malformed: truncated datum, wrong magic byte, unknown schema id,
		// a value too long for varchar(8).
		{Value: encodeAvro(t, v1, tradeV1, map[string]any{
			"id": int64(4), "symbol": "X", "price": big.NewRat(1, 1), "qty": 1, "side": "BUY", "ts": ts, "day": ts,
			"venue": nil, "trader": "", "tags": []string{}, "attrs": map[string]any{}, "raw": []byte{}, "ignored": map[string]any{"x": nil},
		})[:12]},
		{Value: []byte{1, 0, 0, 0, 1, 2}},
		{Value: []byte{0, 0, 0, 0, 99, 2}},
		{Value: encodeAvro(t, v2, tradeV2, map[string]any{
			"id": int64(5), "symbol": "TOOLONGNAME", "price": big.NewRat(1, 1), "side": "BUY",
			"ts": ts, "day": ts, "venue": nil, "trader": "", "tags": []string{}, "attrs": map[string]any{},
			"raw": []byte{}, "fee": 0.0, "meta": map[string]any{"src": "", "seq": int64(0)},
		})},
	}
	for i := range msgs {
		msgs[i].Offset = int64(i)
		msgs[i].Partition = 2
	}
	if err := dec.(Prefetcher).Prefetch(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
	got := runDecode(t, dec, schema, msgs)
	want := `insert id=1 symbol=ACME price=123.45 qty=100 side=BUY ts=2024-05-01 09:30:00.123456+00 day=2024-05-01 venue=XNYS trader=0f8fad5b-d9cb-469f-a165-70867728950e tags={block,"odd lot"} attrs={"vwap": 123.4} raw=\xdead fee=NULL meta=NULL part=2
insert id=2 symbol=INIT price=-0.05 qty=-1 side=SELL ts=2024-05-01 09:30:00.123456+00 day=2024-05-01 venue=NULL trader=x tags={} attrs={} raw=\x fee=NULL meta=NULL part=2
insert id=3 symbol=ACME price=999999.99 qty=NULL side=SHORT ts=2024-05-01 09:30:00.123+00 day=2024-05-01 venue=NULL trader=y tags={a} attrs={} raw=\x7a fee=0.25 meta={"seq": 7, "src": "fix"} part=2
reject offset=3: 22P03 Avro datum ends early
reject offset=4: 22P03 not an Avro message in the Confluent wire format (magic byte 0 and a 4-byte schema id)
reject offset=5: 42704 schema 99 not found in the schema registry
reject offset=6: 22001 column "symbol": value too long for type character varying(8)
`
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	// Each schema id is fetched once (99 once, not per message).
	if n := reg.Fetches(); n != 3 {
		t.Errorf("registry GETs = %d, want 3", n)
	}
}

const tradeKey = `{"type": "record", "name": "TradeKey", "namespace": "exchange", "fields": [{"name": "id", "type": "long"}]}`

const tradeSmall = `{"type": "record", "name": "Trade", "namespace": "exchange",
 "fields": [{"name": "symbol", "type": "string"}, {"name": "qty", "type": "int"}]}`

func TestAvroUpsert(t *testing.T) {
	reg := testregistry.New(t)
	kid := reg.Register(t, "trades-key", tradeKey)
	vid := reg.Register(t, "trades-value", tradeSmall)
	schema, err := parseTestSchema("id bigint\nsymbol text\nqty integer\nprimary key id\n")
	if err != nil {
		t.Fatal(err)
	}
	opts := map[string]string{"schema.registry": reg.URL(), "message": "exchange.Trade", "key.message": "exchange.TradeKey"}
	dec, err := NewDecoder(Spec{Format: "UPSERT", Encode: "AVRO", Options: opts}, schema)
	if err != nil {
		t.Fatal(err)
	}
	key := func(id int64) []byte { return encodeAvro(t, kid, tradeKey, map[string]any{"id": id}) }
	val := func(s string, q int) []byte {
		return encodeAvro(t, vid, tradeSmall, map[string]any{"symbol": s, "qty": q})
	}
	msgs := []Message{
		{Key: key(1), Value: val("ACME", 10)},
		{Key: key(1), Value: val("ACME", 20)},
		{Key: key(2), Value: val("INIT", 5)},
		{Key: key(1)},
		{Value: val("NOKEY", 1)},
		{Key: val("WRONG", 1), Value: val("X", 1)},
	}
	for i := range msgs {
		msgs[i].Offset = int64(i)
	}
	got := runDecode(t, dec, schema, msgs)
	want := `insert id=1 symbol=ACME qty=10
insert id=1 symbol=ACME qty=20
insert id=2 symbol=INIT qty=5
delete id=1 symbol=NULL qty=NULL
reject offset=4: 23502 upsert message has neither a key nor the primary key in its value
reject offset=5: 42804 message key: schema 2 is record "exchange.Trade", not "exchange.TradeKey"
`
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}

	// A key that is a bare Avro long, not a record.
	lid := reg.Register(t, "positions-key", `"long"`)
	dec, err = NewDecoder(Spec{Format: "UPSERT", Encode: "AVRO", Options: map[string]string{"schema.registry": reg.URL()}}, schema)
	if err != nil {
		t.Fatal(err)
	}
	lkey := func(id int64) []byte { return encodeAvro(t, lid, `"long"`, id) }
	got = runDecode(t, dec, schema, []Message{{Key: lkey(7), Value: val("SEVEN", 7)}, {Key: lkey(7), Offset: 1}})
	if want := "insert id=7 symbol=SEVEN qty=7\ndelete id=7 symbol=NULL qty=NULL\n"; got != want {
		t.Errorf("long key: got:\n%s\nwant:\n%s", got, want)
	}
}

func TestAvroOptions(t *testing.T) {
	schema, _ := parseTestSchema("id bigint\n")
	for _, tc := range []struct {
		opts map[string]string
		want string
	}{
		{map[string]string{}, `22023 FORMAT PLAIN ENCODE AVRO needs option "schema.registry"`},
		{map[string]string{"schema.registry": "localhost:8081"}, `22023 invalid schema.registry URL "localhost:8081"`},
		{map[string]string{"schema.registry": "http://x", "schema.location": "file:///a"}, `22023 unrecognized option "schema.location"`},
	} {
		_, err := NewDecoder(Spec{Format: "PLAIN", Encode: "AVRO", Options: tc.opts}, schema)
		if err == nil || !strings.HasPrefix(errText(err), tc.want) {
			t.Errorf("%v: got %v, want %s", tc.opts, err, tc.want)
		}
	}
	// A registry that is down: Prefetch reports it (the connector retries),
	// it does not reject.
	reg := testregistry.New(t)
	url := reg.URL()
	reg.Close()
	dec, err := NewDecoder(Spec{Format: "PLAIN", Encode: "AVRO", Options: map[string]string{"schema.registry": url}}, schema)
	if err != nil {
		t.Fatal(err)
	}
	err = dec.(Prefetcher).Prefetch(context.Background(), []Message{{Value: []byte{0, 0, 0, 0, 1, 2}}})
	if err == nil || !strings.HasPrefix(errText(err), "08006") {
		t.Fatalf("prefetch with the registry down: %v", err)
	}
}

// A registry behind basic auth: the decoder sends the configured
// credentials; wrong ones are an error Prefetch reports.
func TestAvroRegistryAuth(t *testing.T) {
	reg := testregistry.New(t)
	reg.RequireAuth("svc", "s3cret")
	id := reg.Register(t, "small-value", tradeSmall)
	schema, _ := parseTestSchema("symbol text\nqty integer\n")
	msg := []Message{{Value: encodeAvro(t, id, tradeSmall, map[string]any{"symbol": "ACME", "qty": 3})}}
	for _, tc := range []struct{ pass, want string }{
		{"s3cret", "insert symbol=ACME qty=3\n"},
		{"wrong", "prefetch: 28000"},
	} {
		dec, err := NewDecoder(Spec{Format: "PLAIN", Encode: "AVRO", Options: map[string]string{
			"schema.registry": reg.URL(), "schema.registry.username": "svc", "schema.registry.password": tc.pass}}, schema)
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		if err := dec.(Prefetcher).Prefetch(context.Background(), msg); err != nil {
			got = "prefetch: " + errText(err)
		} else {
			got = runDecode(t, dec, schema, msg)
		}
		if !strings.HasPrefix(got, tc.want) {
			t.Errorf("password %s: got %q, want %q", tc.pass, got, tc.want)
		}
	}
}

// AvroColumns derives a source's columns from the subject's latest schema,
// and messages of older versions decode into them.
func TestAvroColumns(t *testing.T) {
	reg := testregistry.New(t)
	v1 := reg.Register(t, "trades-value", tradeV1)
	reg.Register(t, "trades-value", tradeV2)
	spec := Spec{Format: "PLAIN", Encode: "AVRO", Options: map[string]string{"schema.registry": reg.URL()}}
	cols, err := AvroColumns(context.Background(), spec, "trades-value")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range cols {
		got = append(got, c.Name+" "+c.Type.String())
	}
	want := "id bigint, symbol character varying, price numeric(10,2), side character varying, ts timestamp with time zone, " +
		"day date, venue character varying, trader character varying, tags character varying[], attrs jsonb, raw bytea, " +
		"fee double precision, meta jsonb"
	if strings.Join(got, ", ") != want {
		t.Fatalf("columns:\n%s\nwant:\n%s", strings.Join(got, ", "), want)
	}
	if _, err := AvroColumns(context.Background(), spec, "nope-value"); err == nil || !strings.HasPrefix(errText(err), "42704") {
		t.Fatalf("unknown subject: %v", err)
	}
	schema := Schema{Columns: cols}
	dec, err := NewDecoder(spec, schema)
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Date(2024, 5, 1, 9, 30, 0, 0, time.UTC)
	msg := Message{Value: encodeAvro(t, v1, tradeV1, map[string]any{
		"id": int64(9), "symbol": "ACME", "price": big.NewRat(1, 4), "qty": 1, "side": "BUY", "ts": ts, "day": ts,
		"venue": nil, "trader": "t", "tags": []string{"x"}, "attrs": map[string]any{"a": 1.0}, "raw": []byte{1},
		"ignored": map[string]any{"x": nil},
	})}
	out := runDecode(t, dec, schema, []Message{msg})
	if want := "insert id=9 symbol=ACME price=0.25 side=BUY ts=2024-05-01 09:30:00+00 day=2024-05-01 venue=NULL trader=t tags={x} attrs={\"a\": 1} raw=\\x01 fee=NULL meta=NULL\n"; out != want {
		t.Fatalf("got %q\nwant %q", out, want)
	}
}

// Two versions of an order schema in the registry, the second evolved as
// the Avro specification allows: a field added with a default, int
// promoted to long and float to double, bytes to string, and a union
// whose branches swapped places.
const orderV1 = `{"type": "record", "name": "Order", "namespace": "shop", "fields": [
 {"name": "id", "type": "int"},
 {"name": "amount", "type": "float"},
 {"name": "note", "type": "bytes"},
 {"name": "coupon", "type": ["null", "string"], "default": null}]}`

const orderV2 = `{"type": "record", "name": "Order", "namespace": "shop", "fields": [
 {"name": "id", "type": "long"},
 {"name": "amount", "type": "double"},
 {"name": "note", "type": "string"},
 {"name": "coupon", "type": ["string", "null"], "default": "NONE"},
 {"name": "currency", "type": "string", "default": "EUR"},
 {"name": "placed", "type": {"type": "long", "logicalType": "timestamp-millis"}, "default": 0},
 {"name": "gift", "type": ["null", "boolean"], "default": null},
 {"name": "channel", "type": "string"}]}`

// TestAvroSchemaResolution decodes messages of an old and a new writer
// schema with the subject's latest schema as the reader schema: a field
// the old writer lacks takes the reader's default, not NULL, promoted
// values keep their value, the reordered union reads by the writer's
// branch, and a reader field without a default fails the old messages.
func TestAvroSchemaResolution(t *testing.T) {
	reg := testregistry.New(t)
	v1 := reg.Register(t, "orders-value", orderV1)
	schema, err := parseTestSchema("id bigint\namount double precision\nnote text\ncoupon text\ncurrency text\nplaced timestamptz\ngift boolean\n")
	if err != nil {
		t.Fatal(err)
	}
	spec := Spec{Format: "PLAIN", Encode: "AVRO", Options: map[string]string{"schema.registry": reg.URL()}, Subject: "orders-value"}
	old := func(id int, amount float32, note string, coupon any) Message {
		return Message{Value: encodeAvro(t, v1, orderV1, map[string]any{"id": id, "amount": amount, "note": []byte(note), "coupon": coupon})}
	}
	// Only v1 registered: it is writer and reader.
	dec, err := NewDecoder(spec, schema)
	if err != nil {
		t.Fatal(err)
	}
	msgs := []Message{old(1, 1.5, "first", nil)}
	if err := dec.(Prefetcher).Prefetch(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
	want := "insert id=1 amount=1.5 note=first coupon=NULL currency=NULL placed=NULL gift=NULL\n"
	if got := runDecode(t, dec, schema, msgs); got != want {
		t.Errorf("v1 alone: got\n%s\nwant\n%s", got, want)
	}

	// v2 is registered (without the field "channel" the table lacks
	// anyway, since a reader field without a default that the old writer
	// lacks fails resolution: that comes last).
	v2text := strings.Replace(orderV2, `,
 {"name": "channel", "type": "string"}`, "", 1)
	v2 := reg.Register(t, "orders-value", v2text)
	dec, err = NewDecoder(spec, schema)
	if err != nil {
		t.Fatal(err)
	}
	msgs = []Message{
		old(1, 1.5, "first", nil),
		old(2, 2.25, "with coupon", map[string]any{"string": "SAVE10"}),
		{Value: encodeAvro(t, v2, v2text, map[string]any{"id": int64(3), "amount": 3.125, "note": "new", "coupon": nil,
			"currency": "USD", "placed": time.Date(2024, 5, 1, 9, 30, 0, 0, time.UTC), "gift": map[string]any{"boolean": true}})},
		{Value: encodeAvro(t, v2, v2text, map[string]any{"id": int64(4), "amount": 4.0, "note": "x", "coupon": map[string]any{"string": "C"},
			"currency": "EUR", "placed": time.UnixMilli(0).UTC(), "gift": nil})},
		old(5, 5, "\xff", nil),
	}
	for i := range msgs {
		msgs[i].Offset = int64(i)
	}
	if err := dec.(Prefetcher).Prefetch(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
	want = `insert id=1 amount=1.5 note=first coupon=NULL currency=EUR placed=1970-01-01 00:00:00+00 gift=NULL
insert id=2 amount=2.25 note=with coupon coupon=SAVE10 currency=EUR placed=1970-01-01 00:00:00+00 gift=NULL
insert id=3 amount=3.125 note=new coupon=NULL currency=USD placed=2024-05-01 09:30:00+00 gift=t
insert id=4 amount=4 note=x coupon=C currency=EUR placed=1970-01-01 00:00:00+00 gift=NULL
reject offset=4: 22021 column "note": invalid byte sequence for encoding "UTF8" in Avro bytes
`
	if got := runDecode(t, dec, schema, msgs); got != want {
		t.Errorf("v1 and v2: got\n%s\nwant\n%s", got, want)
	}

	// v3 adds a field without a default that the table has a column
	// for: the old writer's messages cannot be resolved against it.
	schema3, err := parseTestSchema("id bigint\nchannel text\n")
	if err != nil {
		t.Fatal(err)
	}
	reg.Register(t, "orders-value", orderV2)
	dec, err = NewDecoder(spec, schema3)
	if err != nil {
		t.Fatal(err)
	}
	msgs = []Message{old(6, 6, "y", nil)}
	if err := dec.(Prefetcher).Prefetch(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
	want = `reject offset=0: 42804 schema 1 has no field "channel" and the reader schema gives it no default
`
	if got := runDecode(t, dec, schema3, msgs); got != want {
		t.Errorf("v3: got\n%s\nwant\n%s", got, want)
	}
}

// TestAvroReaderSchemaRefresh: a decoder that meets only a writer schema
// it knows still picks up a newer reader schema after readerRefresh, and
// from then on gives that writer's records the new defaults.
func TestAvroReaderSchemaRefresh(t *testing.T) {
	reg := testregistry.New(t)
	v1 := reg.Register(t, "orders-value", orderV1)
	dec, schema := mustDecoder(t, Spec{Format: "PLAIN", Encode: "AVRO", Options: map[string]string{"schema.registry": reg.URL()}, Subject: "orders-value"}, "id bigint\ncurrency text\n")
	msg := func() []Message {
		return []Message{{Value: encodeAvro(t, v1, orderV1, map[string]any{"id": 1, "amount": float32(1), "note": []byte("n"), "coupon": nil})}}
	}
	decode := func() string {
		msgs := msg()
		if err := dec.(Prefetcher).Prefetch(context.Background(), msgs); err != nil {
			t.Fatal(err)
		}
		return runDecode(t, dec, schema, msgs)
	}
	if got := decode(); got != "insert id=1 currency=NULL\n" {
		t.Fatalf("before: %s", got)
	}
	reg.Register(t, "orders-value", strings.Replace(orderV2, `,
 {"name": "channel", "type": "string"}`, "", 1))
	if got := decode(); got != "insert id=1 currency=NULL\n" {
		t.Fatalf("before the refresh: %s", got)
	}
	dec.(*avroDecoder).refresh = 0
	if got := decode(); got != "insert id=1 currency=EUR\n" {
		t.Fatalf("after the refresh: %s", got)
	}
}
