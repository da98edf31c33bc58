package kafka_test

import (
	"fmt"
	"strings"
	"testing"

	"streamsql/internal/sqltest"
)

// TestKafkaDebeziumTable feeds a table from Debezium change events:
// inserts, updates and deletes reach the table in order and a view over
// it follows; an event with an unknown op is rejected and skipped.
func TestKafkaDebeziumTable(t *testing.T) {
	_, addr := brokerTopics(t, 1, "products")
	p := producer(t, addr, nil)
	ev := func(op, before, after string) string {
		return fmt.Sprintf(`{"before": %s, "after": %s, "source": {"connector": "mysql", "db": "shop", "table": "products"}, "op": "%s"}`, before, after, op)
	}
	row := func(id int, name string, price string) string {
		return fmt.Sprintf(`{"id": %d, "name": "%s", "price": "%s"}`, id, name, price)
	}
	send(t, p, "products", 0, "", ev("c", "null", row(1, "hammer", "12.50")))
	send(t, p, "products", 0, "", ev("c", "null", row(2, "saw", "9.90")))
	send(t, p, "products", 0, "", ev("c", "null", row(3, "drill", "80.00")))
	send(t, p, "products", 0, "", ev("u", row(1, "hammer", "12.50"), row(1, "hammer", "14.00")))
	send(t, p, "products", 0, "", ev("d", row(2, "saw", "9.90"), "null"))
	send(t, p, "products", 0, "", `{"op": "x", "after": {"id": 9}}`)

	_, conn := startServer(t)
	sqltest.Exec(t, conn, fmt.Sprintf(`CREATE TABLE products (id int PRIMARY KEY, name text, price numeric(10,2))
		WITH (connector = 'kafka', topic = 'products', properties.bootstrap.server = '%s') FORMAT DEBEZIUM ENCODE JSON`, addr),
		"CREATE MATERIALIZED VIEW catalog_value AS SELECT count(*) AS n, sum(price) AS total FROM products")
	sqltest.Eventually(t, conn, "SELECT id, name, price::text FROM products ORDER BY id", "1 hammer 14.00\n3 drill 80.00")
	sqltest.Eventually(t, conn, "SELECT n, total::text FROM catalog_value", "2 94.00")
	// The event with an unknown op is kept in rejects and counted by the
	// table's ingest job in SHOW JOBS.
	sqltest.Eventually(t, conn, `SELECT job, relation, partition, "offset" FROM rejects`, "products products 0 5")
	if rejects := jobColumn(t, conn, "products", "Rejects"); rejects != "1" {
		t.Fatalf("SHOW JOBS counts %s rejects for products, want 1", rejects)
	}

	// Later events keep flowing into the table and the view, also after
	// an ALTER TABLE.
	send(t, p, "products", 0, "", ev("c", "null", row(4, "level", "6.00")))
	sqltest.Eventually(t, conn, "SELECT n, total::text FROM catalog_value", "3 100.00")
	sqltest.Exec(t, conn, "ALTER TABLE products ADD COLUMN stock int")
	send(t, p, "products", 0, "", ev("c", "null", `{"id": 5, "name": "vise", "price": "30.00", "stock": 7}`))
	sqltest.Eventually(t, conn, "SELECT id, stock FROM products WHERE id >= 4 ORDER BY id", "4 <nil>\n5 7")
	sqltest.Eventually(t, conn, "SELECT n, total::text FROM catalog_value", "4 130.00")

	// Tables take the change envelopes; sources do not.
	for _, q := range []struct{ sql, want string }{
		{fmt.Sprintf(`CREATE SOURCE s (id int) WITH (connector = 'kafka', topic = 'products', properties.bootstrap.server = '%s') FORMAT DEBEZIUM ENCODE JSON`, addr),
			"kafka connector does not support FORMAT DEBEZIUM ENCODE JSON"},
		{fmt.Sprintf(`CREATE TABLE u (id int, v text) WITH (connector = 'kafka', topic = 'products', properties.bootstrap.server = '%s') FORMAT UPSERT ENCODE JSON`, addr),
			"primary key"},
	} {
		if _, err := conn.Exec(t.Context(), q.sql); err == nil || !strings.Contains(err.Error(), q.want) {
			t.Errorf("%s: %v, want %q", q.sql, err, q.want)
		}
	}
}
