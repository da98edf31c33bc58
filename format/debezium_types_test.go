package format

import (
	"context"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"streamsql/internal/testregistry"
)

// The time and decimal types of Debezium and Kafka Connect, in a table
// with one column per type. Every value is 2024-05-01 09:30:00.123456
// UTC (or its date, or its time of day), 123.45 for the decimal; the
// zoned values are sent at +02:00 (nine fraction digits of a zoned
// timestamp round to microseconds, as PostgreSQL rounds its input).
const dbzTypesColumns = `
id bigint
d date
cd date
t time
ct time
mt time
nt time
ts timestamp
cts timestamptz
mts timestamptz
nts timestamptz
zts timestamptz
zts_local timestamp
zts_text text
zt time
amount numeric(10,2)
primary key id
`

const dbzTypesWant = "insert id=1 d=2024-05-01 cd=2024-05-01 t=09:30:00.123 ct=09:30:00.123 mt=09:30:00.123456 nt=09:30:00.123456" +
	" ts=2024-05-01 09:30:00.123 cts=2024-05-01 09:30:00.123+00 mts=2024-05-01 09:30:00.123456+00 nts=2024-05-01 09:30:00.123456+00" +
	" zts=2024-05-01 09:30:00.123457+00 zts_local=2024-05-01 09:30:00.123456 zts_text=2024-05-01T11:30:00.123456789+02:00 zt=09:30:00.5 amount=123.45\n"

// dbzTypeFields are the fields of the row, as Debezium's JSON converter
// describes them in the schema block: type and semantic name.
var dbzTypeFields = []struct{ field, typ, name, json string }{
	{"id", "int64", "", `1`},
	{"d", "int32", "io.debezium.time.Date", `19844`},
	{"cd", "int32", "org.apache.kafka.connect.data.Date", `19844`},
	{"t", "int32", "io.debezium.time.Time", `34200123`},
	{"ct", "int32", "org.apache.kafka.connect.data.Time", `34200123`},
	{"mt", "int64", "io.debezium.time.MicroTime", `34200123456`},
	{"nt", "int64", "io.debezium.time.NanoTime", `34200123456789`},
	{"ts", "int64", "io.debezium.time.Timestamp", `1714555800123`},
	{"cts", "int64", "org.apache.kafka.connect.data.Timestamp", `1714555800123`},
	{"mts", "int64", "io.debezium.time.MicroTimestamp", `1714555800123456`},
	{"nts", "int64", "io.debezium.time.NanoTimestamp", `1714555800123456789`},
	{"zts", "string", "io.debezium.time.ZonedTimestamp", `"2024-05-01T11:30:00.123456789+02:00"`},
	{"zts_local", "string", "io.debezium.time.ZonedTimestamp", `"2024-05-01T11:30:00.123456+02:00"`},
	{"zts_text", "string", "io.debezium.time.ZonedTimestamp", `"2024-05-01T11:30:00.123456789+02:00"`},
	{"zt", "string", "io.debezium.time.ZonedTime", `"11:30:00.5+02:00"`},
	{"amount", "bytes", "org.apache.kafka.connect.data.Decimal", `"MDk="`},
}

// TestDebeziumJSONTimeTypes decodes a Debezium JSON event with its schema
// block (schemas.enable = true), shaped as Debezium's MySQL connector
// sends it.
func TestDebeziumJSONTimeTypes(t *testing.T) {
	dec, schema := mustDecoder(t, Spec{Format: "DEBEZIUM", Encode: "JSON"}, dbzTypesColumns)
	var fields, vals []string
	for _, f := range dbzTypeFields {
		s := fmt.Sprintf(`{"type": %q, "optional": true, "field": %q`, f.typ, f.field)
		if f.name != "" {
			s += fmt.Sprintf(`, "name": %q, "version": 1`, f.name)
		}
		if f.name == "org.apache.kafka.connect.data.Decimal" {
			s += `, "parameters": {"scale": "2", "connect.decimal.precision": "10"}`
		}
		fields = append(fields, s+"}")
		vals = append(vals, fmt.Sprintf("%q: %s", f.field, f.json))
	}
	row := `{"type": "struct", "fields": [` + strings.Join(fields, ", ") + `], "optional": true, "name": "dbserver1.shop.orders.Value"}`
	value := `{"schema": {"type": "struct", "fields": [` +
		strings.Replace(row, `"type": "struct"`, `"type": "struct", "field": "before"`, 1) + ", " +
		strings.Replace(row, `"type": "struct"`, `"type": "struct", "field": "after"`, 1) + `,
		{"type": "struct", "fields": [{"type": "string", "optional": false, "field": "connector"}], "optional": false, "name": "io.debezium.connector.mysql.Source", "field": "source"},
		{"type": "string", "optional": false, "field": "op"},
		{"type": "int64", "optional": true, "field": "ts_ms"}],
		"optional": false, "name": "dbserver1.shop.orders.Envelope", "version": 1},
	 "payload": {"before": null, "after": {` + strings.Join(vals, ", ") + `},
		"source": {"connector": "mysql"}, "op": "c", "ts_ms": 1714555800200}}`
	got := runDecode(t, dec, schema, []Message{{Value: []byte(value)}})
	if got != dbzTypesWant {
		t.Errorf("got:\n%s\nwant:\n%s", got, dbzTypesWant)
	}
}

// TestDebeziumAvroTimeTypes decodes the same row from Debezium's Avro
// converter, which names the semantic types in "connect.name" on the
// Avro base types.
func TestDebeziumAvroTimeTypes(t *testing.T) {
	var fields []string
	for _, f := range dbzTypeFields {
		typ := map[string]string{"int64": "long", "int32": "int", "string": "string", "bytes": "bytes"}[f.typ]
		s := fmt.Sprintf(`{"type": %q`, typ)
		if f.name != "" {
			s += fmt.Sprintf(`, "connect.version": 1, "connect.name": %q`, f.name)
		}
		if f.name == "org.apache.kafka.connect.data.Decimal" {
			s += `, "scale": 2, "precision": 10, "connect.parameters": {"scale": "2", "connect.decimal.precision": "10"}, "logicalType": "decimal"`
		}
		fields = append(fields, fmt.Sprintf(`{"name": %q, "type": ["null", %s}], "default": null}`, f.field, s))
	}
	envelope := `{"type": "record", "name": "Envelope", "namespace": "dbserver1.shop.orders", "fields": [
	  {"name": "before", "type": ["null", {"type": "record", "name": "Value", "fields": [` + strings.Join(fields, ", ") + `]}], "default": null},
	  {"name": "after", "type": ["null", "Value"], "default": null},
	  {"name": "op", "type": "string"},
	  {"name": "ts_ms", "type": ["null", "long"], "default": null}]}`
	reg := testregistry.New(t)
	id := reg.Register(t, "dbserver1.shop.orders-value", envelope)
	dec, schema := mustDecoder(t, Spec{Format: "DEBEZIUM", Encode: "AVRO", Options: map[string]string{"schema.registry": reg.URL()}}, dbzTypesColumns)
	after := map[string]any{
		"id": map[string]any{"long": int64(1)}, "d": map[string]any{"int": 19844}, "cd": map[string]any{"int": 19844},
		"t": map[string]any{"int": 34200123}, "ct": map[string]any{"int": 34200123},
		"mt": map[string]any{"long": int64(34200123456)}, "nt": map[string]any{"long": int64(34200123456789)},
		"ts": map[string]any{"long": int64(1714555800123)}, "cts": map[string]any{"long": int64(1714555800123)},
		"mts": map[string]any{"long": int64(1714555800123456)}, "nts": map[string]any{"long": int64(1714555800123456789)},
		"zts":       map[string]any{"string": "2024-05-01T11:30:00.123456789+02:00"},
		"zts_local": map[string]any{"string": "2024-05-01T11:30:00.123456+02:00"},
		"zts_text":  map[string]any{"string": "2024-05-01T11:30:00.123456789+02:00"},
		"zt":        map[string]any{"string": "11:30:00.5+02:00"},
		"amount":    map[string]any{"bytes.decimal": big.NewRat(12345, 100)},
	}
	msgs := []Message{{Value: encodeAvro(t, id, envelope, map[string]any{
		"after": map[string]any{"dbserver1.shop.orders.Value": after}, "op": "c", "ts_ms": map[string]any{"long": int64(1714555800200)}})}}
	if err := dec.(Prefetcher).Prefetch(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
	if got := runDecode(t, dec, schema, msgs); got != dbzTypesWant {
		t.Errorf("got:\n%s\nwant:\n%s", got, dbzTypesWant)
	}
}
