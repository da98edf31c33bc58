package format

import (
	"testing"

	"streamsql/internal/testregistry"
)

// dbzAccountEnvelope is the value schema Debezium's Avro converter writes
// for a table accounts(id, owner, balance): the row record Value, nullable
// before and after images, the source block and the op.
const dbzAccountEnvelope = `{"type": "record", "name": "Envelope", "namespace": "pg.public.accounts", "fields": [
  {"name": "before", "type": ["null", {"type": "record", "name": "Value", "fields": [
    {"name": "id", "type": "long"},
    {"name": "owner", "type": ["null", "string"], "default": null},
    {"name": "balance", "type": "double"}]}], "default": null},
  {"name": "after", "type": ["null", "Value"], "default": null},
  {"name": "source", "type": {"type": "record", "name": "Source", "namespace": "io.debezium.connector.postgresql", "fields": [
    {"name": "version", "type": "string"}, {"name": "connector", "type": "string"}, {"name": "lsn", "type": ["null", "long"], "default": null}]}},
  {"name": "op", "type": "string"},
  {"name": "ts_ms", "type": ["null", "long"], "default": null},
  {"name": "transaction", "type": ["null", {"type": "record", "name": "block", "namespace": "event",
    "fields": [{"name": "id", "type": "string"}, {"name": "total_order", "type": "long"}]}], "default": null}]}`

// TestAvroDebezium decodes Debezium's Avro envelope: c and r insert the
// after image, u is an update pair (an insert without a before image), d
// deletes the before image, a tombstone is nothing, an unknown op and a
// schema that is not an envelope are rejects.
func TestAvroDebezium(t *testing.T) {
	reg := testregistry.New(t)
	id := reg.Register(t, "pg.public.accounts-value", dbzAccountEnvelope)
	plain := reg.Register(t, "other-value", tradeSmall)
	dec, schema := mustDecoder(t, Spec{Format: "DEBEZIUM", Encode: "AVRO", Options: map[string]string{"schema.registry": reg.URL()}}, "id bigint\nowner text\nbalance double precision\nprimary key id\n")
	img := func(id int64, owner string, bal float64) map[string]any {
		return map[string]any{"id": id, "owner": owner, "balance": bal}
	}
	src := map[string]any{"version": "2.7.0", "connector": "postgresql", "lsn": int64(123)}
	ev := func(op string, before, after map[string]any) []byte {
		v := map[string]any{"op": op, "source": src, "ts_ms": int64(1700000000000)}
		// A union of null and a record takes the record under its name.
		if before != nil {
			v["before"] = map[string]any{"pg.public.accounts.Value": before}
		}
		if after != nil {
			v["after"] = map[string]any{"pg.public.accounts.Value": after}
		}
		return encodeAvro(t, id, dbzAccountEnvelope, v)
	}
	msgs := []Message{
		{Value: ev("r", nil, img(1, "ann", 10))},
		{Value: ev("c", nil, img(2, "bob", 20))},
		{Value: ev("u", img(1, "ann", 10), img(1, "ann", 15.5))},
		{Value: ev("u", nil, img(2, "bob", 21))},
		{Value: ev("d", img(2, "bob", 21), nil)},
		{Value: nil},
		{Value: ev("x", nil, img(3, "cy", 1))},
		{Value: ev("d", nil, nil)},
		{Value: encodeAvro(t, plain, tradeSmall, map[string]any{"symbol": "A", "qty": 1})},
	}
	for i := range msgs {
		msgs[i].Offset = int64(i)
	}
	got := runDecode(t, dec, schema, msgs)
	want := `insert id=1 owner=ann balance=10
insert id=2 owner=bob balance=20
update-delete id=1 owner=ann balance=10
update-insert id=1 owner=ann balance=15.5
insert id=2 owner=bob balance=21
delete id=2 owner=bob balance=21
reject offset=6: 22023 unknown Debezium event type "x"
reject offset=7: 22023 Debezium event has no "before"
reject offset=8: 42804 schema exchange.Trade is not a Debezium envelope (it needs "op" and "before" or "after")
`
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

// dbzAfterFirst is an envelope whose writer schema puts after before
// before, an order Debezium does not write; the decoder must still give
// the rows in the order the op takes them.
const dbzAfterFirst = `{"type": "record", "name": "Envelope", "namespace": "odd.accounts", "fields": [
  {"name": "after", "type": ["null", {"type": "record", "name": "Value", "fields": [
    {"name": "id", "type": "long"},
    {"name": "owner", "type": ["null", "string"], "default": null},
    {"name": "balance", "type": "string"}]}], "default": null},
  {"name": "before", "type": ["null", "Value"], "default": null},
  {"name": "op", "type": "string"}]}`

// TestAvroDirectDecode: Avro messages decode straight into the columns.
// The expected rows are those the staging-row decoder gave (rows, then
// rejects, of each half of the messages: runDecode).
// A message that fails after some of its fields (or, for Debezium, after
// a whole image) were written adds nothing, the messages around it keep
// their rows, INCLUDE columns fill every row of an event, and envelopes
// laid out in an order Debezium never writes (after first, an image the
// op does not use) give the rows the staging-row decoder gave.
func TestAvroDirectDecode(t *testing.T) {
	reg := testregistry.New(t)
	id := reg.Register(t, "odd.accounts-value", dbzAfterFirst)
	schema, err := parseTestSchema("id bigint\nowner text\nbalance double precision\npart int include partition\nprimary key id\n")
	if err != nil {
		t.Fatal(err)
	}
	img := func(id int64, owner, bal string) map[string]any {
		return map[string]any{"id": id, "owner": map[string]any{"string": owner}, "balance": bal}
	}
	ev := func(op string, before, after map[string]any) []byte {
		v := map[string]any{"op": op}
		if before != nil {
			v["before"] = map[string]any{"odd.accounts.Value": before}
		}
		if after != nil {
			v["after"] = map[string]any{"odd.accounts.Value": after}
		}
		return encodeAvro(t, id, dbzAfterFirst, v)
	}
	dec, err := NewDecoder(Spec{Format: "DEBEZIUM", Encode: "AVRO", Options: map[string]string{"schema.registry": reg.URL()}}, schema)
	if err != nil {
		t.Fatal(err)
	}
	msgs := []Message{
		{Value: ev("u", img(1, "ann", "10"), img(1, "ann", "15.5"))},
		{Value: ev("c", img(2, "old", "1"), img(2, "bob", "20"))},
		{Value: ev("d", img(3, "cy", "3"), img(3, "cy", "4"))},
		{Value: ev("u", img(4, "dan", "4"), img(4, "dan", "dear"))},
		{Value: ev("u", img(5, "eve", "cheap"), img(5, "eve", "5"))},
		{Value: ev("u", nil, img(6, "fay", "6"))},
		{Value: ev("r", nil, img(7, "gus", "7"))},
	}
	for i := range msgs {
		msgs[i].Offset, msgs[i].Partition = int64(i), 2
	}
	got := runDecode(t, dec, schema, msgs)
	want := `update-delete id=1 owner=ann balance=10 part=2
update-insert id=1 owner=ann balance=15.5 part=2
insert id=2 owner=bob balance=20 part=2
delete id=3 owner=cy balance=3 part=2
insert id=6 owner=fay balance=6 part=2
insert id=7 owner=gus balance=7 part=2
reject offset=3: 22P02 column "balance": invalid input syntax for type double precision: "dear"
reject offset=4: 22P02 column "balance": invalid input syntax for type double precision: "cheap"
`
	if got != want {
		t.Errorf("DEBEZIUM, after first: got:\n%s\nwant:\n%s", got, want)
	}

	// PLAIN and UPSERT: a field that fails after others were written.
	const acct = `{"type": "record", "name": "Acct", "fields": [
  {"name": "id", "type": ["null", "long"]}, {"name": "owner", "type": "string"}, {"name": "balance", "type": "string"}]}`
	vid := reg.Register(t, "acct-value", acct)
	kid := reg.Register(t, "acct-key", `"long"`)
	row := func(id any, owner, bal string) []byte {
		return encodeAvro(t, vid, acct, map[string]any{"id": id, "owner": owner, "balance": bal})
	}
	key := func(k int64) []byte { return encodeAvro(t, kid, `"long"`, k) }
	msgs = []Message{
		{Value: row(map[string]any{"long": int64(1)}, "ann", "1.5")},
		{Value: row(map[string]any{"long": int64(2)}, "bob", "lots")},
		{Value: row(nil, "cy", "3"), Key: key(3)}, // an explicit null is a value: no key from the message key
		{Value: nil, Key: key(1)},
		{Value: row(nil, "dan", "4")},
		{Value: []byte{1, 2, 3}},
	}
	for i := range msgs {
		msgs[i].Offset, msgs[i].Partition = int64(i), 1
	}
	for _, tc := range []struct{ format, want string }{
		{"PLAIN", `insert id=1 owner=ann balance=1.5 part=1
insert id=NULL owner=cy balance=3 part=1
reject offset=1: 22P02 column "balance": invalid input syntax for type double precision: "lots"
insert id=NULL owner=dan balance=4 part=1
reject offset=5: 22P03 not an Avro message in the Confluent wire format (magic byte 0 and a 4-byte schema id)
`},
		{"UPSERT", `insert id=1 owner=ann balance=1.5 part=1
reject offset=1: 22P02 column "balance": invalid input syntax for type double precision: "lots"
reject offset=2: 23502 upsert message has no value for primary key column "id"
delete id=1 owner=NULL balance=NULL part=1
reject offset=4: 23502 upsert message has no value for primary key column "id"
reject offset=5: 22P03 not an Avro message in the Confluent wire format (magic byte 0 and a 4-byte schema id)
`},
	} {
		dec, err := NewDecoder(Spec{Format: tc.format, Encode: "AVRO", Options: map[string]string{"schema.registry": reg.URL()}}, schema)
		if err != nil {
			t.Fatal(err)
		}
		if got := runDecode(t, dec, schema, msgs); got != tc.want {
			t.Errorf("%s: got:\n%s\nwant:\n%s", tc.format, got, tc.want)
		}
	}
}
