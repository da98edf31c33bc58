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
