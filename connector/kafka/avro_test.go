package kafka_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/jackc/pgx/v5"

	"streamsql/internal/sqltest"
	"streamsql/internal/testregistry"
)

const orderV1 = `{"type": "record", "name": "Order", "namespace": "shop", "fields": [
  {"name": "id", "type": "long"},
  {"name": "sym", "type": "string"},
  {"name": "qty", "type": "int"},
  {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-millis"}}]}`

// orderV2 adds a field with a default: a backward compatible change.
const orderV2 = `{"type": "record", "name": "Order", "namespace": "shop", "fields": [
  {"name": "id", "type": "long"},
  {"name": "sym", "type": "string"},
  {"name": "qty", "type": "int"},
  {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-millis"}},
  {"name": "venue", "type": "string", "default": "XNAS"}]}`

const accountValue = `{"type": "record", "name": "Account", "namespace": "bank", "fields": [
  {"name": "id", "type": "long"},
  {"name": "owner", "type": "string"},
  {"name": "balance", "type": "double"}]}`

func sendRaw(t *testing.T, p sarama.SyncProducer, topic string, part int32, key, val []byte) {
	t.Helper()
	m := &sarama.ProducerMessage{Topic: topic, Partition: part}
	if key != nil {
		m.Key = sarama.ByteEncoder(key)
	}
	if val != nil {
		m.Value = sarama.ByteEncoder(val)
	}
	if _, _, err := p.SendMessage(m); err != nil {
		t.Fatal(err)
	}
}

// TestKafkaAvro reads Avro in the Confluent wire format, its schemas
// registered in a schema registry stand-in over HTTP: a source whose
// writer schema evolves (a second version adds a field with a default)
// reads records of both versions, and a FORMAT UPSERT ENCODE AVRO table
// takes its primary key from the Avro record key and deletes on a null
// value. A record with a schema id the registry does not know is a reject.
func TestKafkaAvro(t *testing.T) {
	_, addr := brokerTopics(t, 2, "orders", "accounts")
	reg := testregistry.New(t)
	p := producer(t, addr, nil)
	v1 := testregistry.NewEncoder(t, reg.Register(t, "orders-value", orderV1), orderV1)
	base := time.Date(2024, 5, 1, 9, 30, 0, 0, time.UTC)
	for i := 0; i < 6; i++ {
		sendRaw(t, p, "orders", int32(i%2), nil, v1.Encode(t, map[string]any{
			"id": int64(i), "sym": []string{"AAPL", "MSFT"}[i%2], "qty": 10 * (i + 1), "ts": base.Add(time.Duration(i) * time.Second)}))
	}

	_, conn := startServer(t)
	sqltest.Exec(t, conn,
		fmt.Sprintf(`CREATE SOURCE orders (id bigint, sym varchar, qty int, ts timestamptz, venue text)
			WITH (connector = 'kafka', topic = 'orders', properties.bootstrap.server = '%s')
			FORMAT PLAIN ENCODE AVRO (schema.registry = '%s')`, addr, reg.URL()),
		`CREATE MATERIALIZED VIEW order_totals AS
			SELECT sym, count(*) AS n, sum(qty) AS qty, count(venue) AS with_venue, max(ts) AS last FROM orders GROUP BY sym`)
	sqltest.Eventually(t, conn, "SELECT sym, n, qty, with_venue, to_char(last AT TIME ZONE 'UTC', 'HH24:MI:SS') FROM order_totals ORDER BY sym",
		"AAPL 3 90 0 09:30:04\nMSFT 3 120 0 09:30:05")

	// Version 2 is registered; records of both versions keep coming.
	v2 := testregistry.NewEncoder(t, reg.Register(t, "orders-value", orderV2), orderV2)
	sendRaw(t, p, "orders", 0, nil, v2.Encode(t, map[string]any{"id": int64(6), "sym": "AAPL", "qty": 5, "ts": base.Add(10 * time.Second), "venue": "XLON"}))
	sendRaw(t, p, "orders", 0, nil, v1.Encode(t, map[string]any{"id": int64(7), "sym": "MSFT", "qty": 7, "ts": base.Add(11 * time.Second)}))
	sendRaw(t, p, "orders", 1, nil, v2.Encode(t, map[string]any{"id": int64(8), "sym": "MSFT", "qty": 1, "ts": base.Add(12 * time.Second), "venue": "XNAS"}))
	// An unknown schema id: rejected, the job goes on.
	bad := v2.Encode(t, map[string]any{"id": int64(9), "sym": "AAPL", "qty": 1, "ts": base, "venue": "?"})
	bad[4] = 99
	sendRaw(t, p, "orders", 0, nil, bad)
	sendRaw(t, p, "orders", 0, nil, v2.Encode(t, map[string]any{"id": int64(10), "sym": "AAPL", "qty": 100, "ts": base.Add(13 * time.Second), "venue": "XLON"}))
	// The first records, of version 1 while it was the latest, have no
	// venue; once the partition's reader has met version 2, the latest
	// (the reader schema), records of version 1 take its default for
	// venue, XNAS (id 7).
	sqltest.Eventually(t, conn, "SELECT sym, n, qty, with_venue, to_char(last AT TIME ZONE 'UTC', 'HH24:MI:SS') FROM order_totals ORDER BY sym",
		"AAPL 5 195 2 09:30:13\nMSFT 5 128 2 09:30:12")
	sqltest.Exec(t, conn, "FLUSH")
	sqltest.Eventually(t, conn, `SELECT relation, partition, "offset", left(error, 5) FROM rejects`, "orders 0 5 42704")

	// FORMAT UPSERT ENCODE AVRO: the key is a bare long (the one-column
	// primary key), the value the row; a null value deletes.
	key := testregistry.NewEncoder(t, reg.Register(t, "accounts-key", `"long"`), `"long"`)
	val := testregistry.NewEncoder(t, reg.Register(t, "accounts-value", accountValue), accountValue)
	acct := func(id int64, owner string, bal float64) {
		sendRaw(t, p, "accounts", int32(id%2), key.Encode(t, id), val.Encode(t, map[string]any{"id": id, "owner": owner, "balance": bal}))
	}
	acct(1, "ann", 100)
	acct(2, "bob", 50)
	acct(3, "cy", 10)
	acct(1, "ann", 120)
	sendRaw(t, p, "accounts", 0, key.Encode(t, int64(2)), nil)
	sendRaw(t, p, "accounts", 1, key.Encode(t, int64(3)), nil)
	acct(3, "cy", 15)
	accountsTable(t, conn, addr, "accounts", "UPSERT", reg.URL(), "1 ann 120\n3 cy 15", "2 135")
}

// accountsTable creates the table accounts (id, owner, balance) over
// topic on the broker at addr in FORMAT format ENCODE AVRO with the schema
// registry at registry, and the view bank (count and sum of balance) over
// it, and waits until the table's rows are rows and bank's row is bank.
func accountsTable(t *testing.T, conn *pgx.Conn, addr, topic, format, registry, rows, bank string) {
	t.Helper()
	sqltest.Exec(t, conn,
		fmt.Sprintf(`CREATE TABLE accounts (id bigint PRIMARY KEY, owner text, balance double precision)
			WITH (connector = 'kafka', topic = '%s', properties.bootstrap.server = '%s')
			FORMAT %s ENCODE AVRO (schema.registry = '%s')`, topic, addr, format, registry),
		"CREATE MATERIALIZED VIEW bank AS SELECT count(*) AS n, sum(balance) AS total FROM accounts")
	sqltest.Eventually(t, conn, "SELECT id, owner, balance FROM accounts ORDER BY id", rows)
	sqltest.Eventually(t, conn, "SELECT n, total FROM bank", bank)
}

// accountEnvelope is Debezium's Avro envelope of accounts rows.
const accountEnvelope = `{"type": "record", "name": "Envelope", "namespace": "bank.public.accounts", "fields": [
  {"name": "before", "type": ["null", {"type": "record", "name": "Value", "fields": [
    {"name": "id", "type": "long"}, {"name": "owner", "type": "string"}, {"name": "balance", "type": "double"}]}], "default": null},
  {"name": "after", "type": ["null", "Value"], "default": null},
  {"name": "source", "type": {"type": "record", "name": "Source", "fields": [{"name": "connector", "type": "string"}]}},
  {"name": "op", "type": "string"},
  {"name": "ts_ms", "type": ["null", "long"], "default": null}]}`

// TestKafkaDebeziumAvroTable feeds a table from Debezium change events in
// Avro: creates, an update and a delete reach the table in order, the
// tombstone after the delete is nothing, and a view follows.
func TestKafkaDebeziumAvroTable(t *testing.T) {
	_, addr := brokerTopics(t, 1, "bank.public.accounts")
	reg := testregistry.New(t)
	enc := testregistry.NewEncoder(t, reg.Register(t, "bank.public.accounts-value", accountEnvelope), accountEnvelope)
	p := producer(t, addr, nil)
	row := func(id int64, owner string, bal float64) map[string]any {
		return map[string]any{"bank.public.accounts.Value": map[string]any{"id": id, "owner": owner, "balance": bal}}
	}
	ev := func(op string, before, after map[string]any) []byte {
		v := map[string]any{"op": op, "source": map[string]any{"connector": "postgresql"}}
		if before != nil {
			v["before"] = before
		}
		if after != nil {
			v["after"] = after
		}
		return enc.Encode(t, v)
	}
	for _, v := range [][]byte{
		ev("r", nil, row(1, "ann", 100)),
		ev("c", nil, row(2, "bob", 50)),
		ev("c", nil, row(3, "cy", 10)),
		ev("u", row(1, "ann", 100), row(1, "ann", 120)),
		ev("d", row(2, "bob", 50), nil),
		nil, // the tombstone
	} {
		sendRaw(t, p, "bank.public.accounts", 0, []byte("k"), v)
	}
	_, conn := startServer(t)
	accountsTable(t, conn, addr, "bank.public.accounts", "DEBEZIUM", reg.URL(), "1 ann 120\n3 cy 10", "2 130")
	sendRaw(t, p, "bank.public.accounts", 0, []byte("k"), ev("u", row(3, "cy", 10), row(3, "cy", 12.5)))
	sqltest.Eventually(t, conn, "SELECT n, total FROM bank", "2 132.5")
}

// TestKafkaAvroRegistryDown: while the schema registry is unavailable the
// source waits for it instead of rejecting records; when it answers again
// every record is read.
func TestKafkaAvroRegistryDown(t *testing.T) {
	_, addr := brokerTopics(t, 1, "orders")
	reg := testregistry.New(t)
	v1 := testregistry.NewEncoder(t, reg.Register(t, "orders-value", orderV1), orderV1)
	p := producer(t, addr, nil)
	for i := 0; i < 3; i++ {
		sendRaw(t, p, "orders", 0, nil, v1.Encode(t, map[string]any{"id": int64(i), "sym": "A", "qty": 1, "ts": time.Unix(0, 0)}))
	}
	reg.SetDown(true)
	_, conn := startServer(t)
	sqltest.Exec(t, conn,
		fmt.Sprintf(`CREATE SOURCE orders (id bigint, sym varchar, qty int, ts timestamptz)
			WITH (connector = 'kafka', topic = 'orders', properties.bootstrap.server = '%s')
			FORMAT PLAIN ENCODE AVRO (schema.registry = '%s')`, addr, reg.URL()),
		"CREATE MATERIALIZED VIEW n AS SELECT count(*) AS n FROM orders")
	// The reader has the records and asks for their schema: refused
	// twice, it is retrying (every second) rather than rejecting.
	for deadline := time.Now().Add(20 * time.Second); reg.Refused() < 2; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the source asked the registry %d times in 20 s", reg.Refused())
		}
	}
	sqltest.Exec(t, conn, "FLUSH")
	sqltest.Eventually(t, conn, "SELECT (SELECT n FROM n), (SELECT count(*) FROM rejects)", "0 0")
	reg.SetDown(false)
	sqltest.Eventually(t, conn, "SELECT (SELECT n FROM n), (SELECT count(*) FROM rejects)", "3 0")
}
