package kafka_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/jackc/pgx/v5/pgconn"

	"streamsql/internal/sqltest"
	"streamsql/internal/testregistry"
)

// avroReader decodes Confluent-framed Avro records the way a consumer's
// deserializer does: the schema id from the frame, the schema from the
// registry over HTTP.
type avroReader struct {
	t       *testing.T
	url     string
	schemas map[uint32]avro.Schema
}

func (r *avroReader) schema(id uint32) avro.Schema {
	if s, ok := r.schemas[id]; ok {
		return s
	}
	resp, err := http.Get(fmt.Sprintf("%s/schemas/ids/%d", r.url, id))
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Schema string }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		r.t.Fatal(err)
	}
	s, err := avro.ParseWithCache(out.Schema, "", &avro.SchemaCache{})
	if err != nil {
		r.t.Fatalf("schema %d: %v\n%s", id, err, out.Schema)
	}
	r.schemas[id] = s
	return s
}

// decode returns the record as a map, its schema's id and name.
func (r *avroReader) decode(b []byte) (map[string]any, avro.Schema) {
	r.t.Helper()
	if len(b) < 5 || b[0] != 0 {
		r.t.Fatalf("not in the Confluent wire format: %x", b)
	}
	s := r.schema(binary.BigEndian.Uint32(b[1:5]))
	var m map[string]any
	if err := avro.Unmarshal(s, b[5:], &m); err != nil {
		r.t.Fatalf("decode %x: %v", b, err)
	}
	return m, s
}

// show spells an Avro value for comparison: decimals as their digits,
// timestamps in UTC.
func show(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case *big.Rat:
		return v.FloatString(2)
	case time.Time:
		return v.UTC().Format("2006-01-02T15:04:05.000000")
	case map[string]any:
		// A union decoded as {branch: value}.
		for _, x := range v {
			return show(x)
		}
	}
	return fmt.Sprint(v)
}

// unionRecord unwraps a record decoded from a ["null", record] union
// ({"namespace.name": record}); nil for null.
func unionRecord(v any) map[string]any {
	m, _ := v.(map[string]any)
	for _, x := range m {
		r, _ := x.(map[string]any)
		return r
	}
	return nil
}

func showRecord(m map[string]any, fields ...string) string {
	var parts []string
	for _, f := range fields {
		parts = append(parts, f+"="+show(m[f]))
	}
	return strings.Join(parts, " ")
}

// TestKafkaSinkAvroUpsert writes a table's changes as FORMAT UPSERT ENCODE
// AVRO: the key and value schemas are registered as <topic>-key and
// <topic>-value, a consumer decodes every record from the registry's
// schema, an update is an upsert, a delete a tombstone, and replaying the
// records rebuilds the table.
func TestKafkaSinkAvroUpsert(t *testing.T) {
	_, addr := sinkBroker(t, "acct_avro")
	reg := testregistry.New(t)
	_, conn := startServer(t)
	sqltest.Exec(t, conn,
		`CREATE TABLE acct (id int PRIMARY KEY, owner text, balance numeric(10,2), opened timestamptz, day date, score numeric, big bigint)`,
		`INSERT INTO acct VALUES (1, 'ann', 10.50, '2024-05-01 09:30:00.123456+00', '2024-05-01', 1.25, 9000000000),
			(2, 'bob', -20, NULL, NULL, NULL, NULL), (3, 'cy', 12345678.99, '1999-12-31 23:59:59+00', '1970-01-01', 'NaN', -1)`,
		kafkaSink("acct_out", "acct", "acct_avro", addr, "primary_key = 'id'", "UPSERT ENCODE AVRO (schema.registry = '"+reg.URL()+"')"),
		`UPDATE acct SET balance = balance + 1 WHERE id = 1`,
		`DELETE FROM acct WHERE id = 2`,
		`INSERT INTO acct VALUES (4, 'dee', 0.01, NULL, '2024-02-29', 3, 4)`,
		`FLUSH`)
	msgs := consumeCommitted(t, addr, "acct_avro", 6)
	if len(msgs) != 6 {
		t.Fatalf("got %d messages, want 6", len(msgs))
	}
	r := &avroReader{t: t, url: reg.URL(), schemas: map[uint32]avro.Schema{}}
	rows := map[string]string{}
	fields := []string{"id", "owner", "balance", "opened", "day", "score", "big"}
	for _, m := range msgs {
		key, ks := r.decode([]byte(m.key))
		if ks.(*avro.RecordSchema).Name() != "acct_out_key" {
			t.Errorf("key schema %s", ks.String())
		}
		k := show(key["id"])
		if m.tombstone {
			delete(rows, k)
			continue
		}
		val, _ := r.decode([]byte(m.value))
		rows[k] = showRecord(val, fields...)
	}
	var got []string
	for _, v := range rows {
		got = append(got, v)
	}
	sort.Strings(got)
	want := []string{
		"id=1 owner=ann balance=11.50 opened=2024-05-01T09:30:00.123456 day=2024-05-01T00:00:00.000000 score=1.25 big=9000000000",
		"id=3 owner=cy balance=12345678.99 opened=1999-12-31T23:59:59.000000 day=1970-01-01T00:00:00.000000 score=NaN big=-1",
		"id=4 owner=dee balance=0.01 opened=null day=2024-02-29T00:00:00.000000 score=3 big=4",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("reconstruction:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !msgs[4].tombstone {
		t.Errorf("message 4 (the delete of id 2) is not a tombstone")
	}
	// The subjects hold the derived schemas (TopicNameStrategy).
	for subject, wantIn := range map[string]string{
		"acct_avro-value": `{"name":"balance","type":["null",{"logicalType":"decimal","precision":10,"scale":2,"type":"bytes"}],"default":null}`,
		"acct_avro-key":   `"fields":[{"name":"id","type":["null","int"],"default":null}]`,
	} {
		resp, err := http.Get(reg.URL() + "/subjects/" + subject + "/versions/latest")
		if err != nil {
			t.Fatal(err)
		}
		var out struct{ Schema string }
		json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if !strings.Contains(out.Schema, wantIn) {
			t.Errorf("subject %s: %s\nwant it to contain %s", subject, out.Schema, wantIn)
		}
	}
	if !strings.Contains(msgs[0].value[5:], "ann") {
		t.Errorf("first value %q", msgs[0].value)
	}
}

// TestKafkaSinkAvroDebezium writes Debezium change events as Avro, a
// delete followed by its tombstone; a registry that is down makes CREATE
// SINK fail with a clear error.
func TestKafkaSinkAvroDebezium(t *testing.T) {
	_, addr := sinkBroker(t, "dbz_avro")
	reg := testregistry.New(t)
	_, conn := startServer(t)
	sqltest.Exec(t, conn, `CREATE TABLE t (id int PRIMARY KEY, v int)`, `INSERT INTO t VALUES (1, 1), (2, 2)`)

	reg.SetDown(true)
	_, err := conn.Exec(context.Background(), kafkaSink("dbz", "t", "dbz_avro", addr, "primary_key = 'id'", "DEBEZIUM ENCODE AVRO (schema.registry = '"+reg.URL()+"')"))
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "08006" || !strings.Contains(pe.Message, "schema registry") || !strings.Contains(pe.Message, "503") {
		t.Fatalf("CREATE SINK with the registry down: %v, want 08006 naming the registry's 503", err)
	}
	reg.SetDown(false)

	sqltest.Exec(t, conn,
		kafkaSink("dbz", "t", "dbz_avro", addr, "primary_key = 'id'", "DEBEZIUM ENCODE AVRO (schema.registry = '"+reg.URL()+"')"),
		`UPDATE t SET v = 5 WHERE id = 2`,
		`FLUSH`,
		`DELETE FROM t WHERE id = 1`,
		`FLUSH`)
	msgs := consumeCommitted(t, addr, "dbz_avro", 5)
	r := &avroReader{t: t, url: reg.URL(), schemas: map[uint32]avro.Schema{}}
	var ops []string
	for _, m := range msgs {
		key, _ := r.decode([]byte(m.key))
		if m.tombstone {
			ops = append(ops, show(key["id"])+":tombstone")
			continue
		}
		ev, _ := r.decode([]byte(m.value))
		before, after := "null", "null"
		if b := unionRecord(ev["before"]); b != nil {
			before = show(b["v"])
		}
		if a := unionRecord(ev["after"]); a != nil {
			after = show(a["v"])
		}
		src, _ := ev["source"].(map[string]any)
		ops = append(ops, fmt.Sprintf("%s:%s before=%s after=%s source=%v", show(key["id"]), ev["op"], before, after, src["name"]))
	}
	want := "1:c before=null after=1 source=dbz|2:c before=null after=2 source=dbz|2:u before=2 after=5 source=dbz|1:d before=1 after=null source=dbz|1:tombstone"
	if got := strings.Join(ops, "|"); got != want {
		t.Errorf("debezium events:\n%s\nwant\n%s", got, want)
	}
}
