package engine_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kfake"

	"streamsql/engine"
	"streamsql/internal/doctest"
	"streamsql/internal/testclient"
	"streamsql/internal/testserver"
)

// Tests of auto.schema.change: upstream MySQL DDL carried by Canal,
// Maxwell and Debezium events in Kafka (kfake, in process) reaches the
// table, in order with the rows around it.

// ddlBroker starts kfake with one single-partition topic per name.
func ddlBroker(t *testing.T, topics ...string) (string, sarama.SyncProducer) {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, topics...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	addr := c.ListenAddrs()[0]
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V2_1_0_0
	cfg.Producer.Return.Successes = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	p, err := sarama.NewSyncProducer([]string{addr}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return addr, p
}

func produce(t *testing.T, p sarama.SyncProducer, topic string, values ...string) {
	t.Helper()
	for _, v := range values {
		if _, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: topic, Value: sarama.StringEncoder(v)}); err != nil {
			t.Fatal(err)
		}
	}
}

func ddlConn(t *testing.T, srv *testserver.Server) *pgx.Conn {
	t.Helper()
	return testclient.Connect(t, srv.URL("streamsql", "dev"), nil)
}

// ddlEventually polls q until its rows, printed one a line, equal want.
func ddlEventually(t *testing.T, conn *pgx.Conn, q, want string) {
	t.Helper()
	var got string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		// The query may name a column the DDL has not brought yet.
		rows, err := conn.Query(context.Background(), q)
		if err != nil {
			got = err.Error()
			continue
		}
		var lines []string
		for rows.Next() {
			vals, err := rows.Values()
			if err != nil {
				t.Fatal(err)
			}
			var cells []string
			for _, v := range vals {
				if b, ok := v.([]byte); ok {
					v = string(b) // bytea: the rejects' raw message
				}
				cells = append(cells, fmt.Sprint(v))
			}
			lines = append(lines, strings.Join(cells, " "))
		}
		rows.Close()
		if got = strings.Join(lines, "\n"); rows.Err() != nil {
			got = rows.Err().Error()
		} else if got == want {
			return
		}
	}
	var rejects []string
	if rows, err := conn.Query(context.Background(), `SELECT relation, "offset", error FROM rejects`); err == nil {
		for rows.Next() {
			vals, _ := rows.Values()
			rejects = append(rejects, fmt.Sprint(vals...))
		}
		rows.Close()
	}
	t.Fatalf("%s:\ngot\n%s\nwant\n%s\nrejects:\n%s", q, got, want, strings.Join(rejects, "\n"))
}

// columnsOf lists a table's columns as psql's \d would.
const columnsOf = `SELECT column_name, data_type FROM information_schema.columns WHERE table_name = '%s' ORDER BY ordinal_position`

func canal(typ, data string) string {
	return fmt.Sprintf(`{"data": [%s], "database": "shop", "table": "products", "isDdl": false, "type": "%s", "old": null}`, data, typ)
}

func canalUpdate(data, old string) string {
	return fmt.Sprintf(`{"data": [%s], "database": "shop", "table": "products", "isDdl": false, "type": "UPDATE", "old": [%s]}`, data, old)
}

func canalDDL(sql string) string {
	return fmt.Sprintf(`{"data": null, "database": "shop", "table": "products", "isDdl": true, "type": "ALTER", "sql": %q}`, sql)
}

// TestSchemaChangeCanal: with auto.schema.change, an added column
// reaches the table (earlier rows read its constant DEFAULT, as upstream),
// a renamed column keeps its
// values, a dropped column goes; rows before each DDL event have the old
// shape, rows after it the new one. A view that does not use the changed
// columns keeps running; dropping a column a view uses is refused and
// kept as a reject. The same events on a table without the option are
// rejects.
func TestSchemaChangeCanal(t *testing.T) {
	addr, p := ddlBroker(t, "products")
	srv := testserver.Start(t, engine.Options{StateMemory: -1})
	conn := ddlConn(t, srv)
	execAll(t, conn, fmt.Sprintf(`CREATE TABLE products (id int PRIMARY KEY, name text, price numeric(10,2))
		WITH (connector = 'kafka', topic = 'products', properties.bootstrap.server = '%s', auto.schema.change = 'true')
		FORMAT CANAL ENCODE JSON`, addr),
		fmt.Sprintf(`CREATE TABLE products_plain (id int PRIMARY KEY, name text, price numeric(10,2))
		WITH (connector = 'kafka', topic = 'products', properties.bootstrap.server = '%s')
		FORMAT CANAL ENCODE JSON`, addr),
		"CREATE MATERIALIZED VIEW stock_value AS SELECT count(id) AS n, sum(price) AS total FROM products")

	produce(t, p, "products",
		canal("INSERT", `{"id": "1", "name": "pen", "price": "1.50"}, {"id": "2", "name": "ink", "price": "7.00"}`),
		canalDDL("ALTER TABLE `products` ADD COLUMN `stock` int(11) NOT NULL DEFAULT 0"),
		canal("INSERT", `{"id": "3", "name": "pad", "price": "3.00", "stock": "7"}`),
		canalUpdate(`{"id": "1", "name": "pen", "price": "1.50", "stock": "5"}`, `{"stock": null}`),
		canalDDL("ALTER TABLE products RENAME COLUMN stock TO qty"),
		canal("INSERT", `{"id": "4", "name": "cap", "price": "0.50", "qty": "2"}`),
		canalDDL("ALTER TABLE products DROP COLUMN price"),
		canalDDL("ALTER TABLE products DROP COLUMN name"),
		canal("INSERT", `{"id": "5", "price": "2.00", "qty": "9"}`),
	)
	ddlEventually(t, conn, "SELECT id, price::text, qty FROM products ORDER BY id",
		"1 1.50 5\n2 7.00 0\n3 3.00 7\n4 0.50 2\n5 2.00 9")
	ddlEventually(t, conn, fmt.Sprintf(columnsOf, "products"), "id integer\nprice numeric\nqty integer")
	// The view over id and price kept running through every change.
	ddlEventually(t, conn, "SELECT n, total::text FROM stock_value", "5 14.00")
	// Dropping price, which the view reads, was refused and kept.
	ddlEventually(t, conn, `SELECT relation, "offset", raw, error FROM rejects WHERE relation = 'products'`,
		"products 6 ALTER TABLE products DROP COLUMN price 2BP01: upstream schema change not applied: drop column products.price: "+
			"cannot drop column price of table products because other objects depend on it (materialized view stock_value depends on column price of table products)")

	// Without the option each change is a reject and the table keeps its
	// shape.
	ddlEventually(t, conn, "SELECT id, name FROM products_plain ORDER BY id", "1 pen\n2 ink\n3 pad\n4 cap\n5 <nil>")
	ddlEventually(t, conn, `SELECT "offset", error FROM rejects WHERE relation = 'products_plain' ORDER BY "offset"`,
		"1 0A000: upstream schema change not applied: add column products.stock integer\n"+
			"4 0A000: upstream schema change not applied: rename column products.stock to qty\n"+
			"6 0A000: upstream schema change not applied: drop column products.price\n"+
			"7 0A000: upstream schema change not applied: drop column products.name")
	ddlEventually(t, conn, fmt.Sprintf(columnsOf, "products_plain"), "id integer\nname text\nprice numeric")

	// The option needs an envelope that carries DDL.
	_, err := conn.Exec(context.Background(), fmt.Sprintf(`CREATE TABLE t_plain (id int PRIMARY KEY)
		WITH (connector = 'kafka', topic = 'products', properties.bootstrap.server = '%s', auto.schema.change = 'true')
		FORMAT PLAIN ENCODE JSON`, addr))
	if sqlState(err) != "22023" || !strings.Contains(err.Error(), "needs FORMAT DEBEZIUM, CANAL or MAXWELL") {
		t.Fatalf("auto.schema.change on FORMAT PLAIN: %v", err)
	}
}

// TestSchemaChangeMaxwell: one table-alter event that adds, drops and
// renames columns at once, between rows of both shapes.
func TestSchemaChangeMaxwell(t *testing.T) {
	addr, p := ddlBroker(t, "authors")
	srv := testserver.Start(t, engine.Options{StateMemory: -1})
	conn := ddlConn(t, srv)
	execAll(t, conn, fmt.Sprintf(`CREATE TABLE authors (id int PRIMARY KEY, daemon text, born date)
		WITH (connector = 'kafka', topic = 'authors', properties.bootstrap.server = '%s', auto.schema.change = 'true')
		FORMAT MAXWELL ENCODE JSON`, addr),
		"CREATE MATERIALIZED VIEW author_count AS SELECT count(id) AS n FROM authors")
	produce(t, p, "authors",
		`{"database": "test", "table": "authors", "type": "insert", "data": {"id": 1, "daemon": "Stanislaw Lem", "born": "1921-09-12"}}`,
		`{"database": "test", "table": "authors", "type": "table-alter", "sql": "alter table authors add column bio text, drop column born, rename column daemon to name"}`,
		`{"database": "test", "table": "authors", "type": "insert", "data": {"id": 2, "name": "Ursula K. Le Guin", "bio": "Earthsea"}}`,
		`{"database": "test", "table": "authors", "type": "update", "data": {"id": 1, "name": "Stanisław Lem", "bio": "Solaris"}, "old": {"name": "Stanislaw Lem", "bio": null}}`,
	)
	ddlEventually(t, conn, "SELECT id, name, bio FROM authors ORDER BY id", "1 Stanisław Lem Solaris\n2 Ursula K. Le Guin Earthsea")
	ddlEventually(t, conn, fmt.Sprintf(columnsOf, "authors"), "id integer\nname text\nbio text")
	ddlEventually(t, conn, "SELECT n FROM author_count", "2")
	ddlEventually(t, conn, "SELECT count(*) FROM rejects", "0")
}

// TestSchemaChangeDebezium: the schema history records of Debezium's
// MySQL connector (a "ddl" field, no "op") between change events.
func TestSchemaChangeDebezium(t *testing.T) {
	addr, p := ddlBroker(t, "orders")
	srv := testserver.Start(t, engine.Options{StateMemory: -1})
	conn := ddlConn(t, srv)
	execAll(t, conn, fmt.Sprintf(`CREATE TABLE orders (id int PRIMARY KEY, item text, note text)
		WITH (connector = 'kafka', topic = 'orders', properties.bootstrap.server = '%s', auto.schema.change = 'true')
		FORMAT DEBEZIUM ENCODE JSON`, addr),
		"CREATE MATERIALIZED VIEW items AS SELECT item, count(*) AS n FROM orders GROUP BY item")
	ev := func(op, before, after string) string {
		return fmt.Sprintf(`{"before": %s, "after": %s, "source": {"connector": "mysql", "db": "shop", "table": "orders"}, "op": "%s"}`, before, after, op)
	}
	ddl := func(sql string) string {
		return fmt.Sprintf(`{"source": {"server": "shop"}, "databaseName": "shop", "ddl": %q, "tableChanges": []}`, sql)
	}
	produce(t, p, "orders",
		ev("c", "null", `{"id": 1, "item": "tea", "note": "x"}`),
		ddl("ALTER TABLE orders ADD COLUMN qty SMALLINT UNSIGNED, DROP COLUMN note"),
		ev("c", "null", `{"id": 2, "item": "tea", "qty": 3}`),
		ddl("ALTER TABLE orders CHANGE COLUMN qty amount SMALLINT UNSIGNED"),
		ev("u", `{"id": 1, "item": "tea", "amount": null}`, `{"id": 1, "item": "coffee", "amount": 1}`),
		ev("c", "null", `{"id": 3, "item": "tea", "amount": 4}`),
	)
	ddlEventually(t, conn, "SELECT id, item, amount FROM orders ORDER BY id", "1 coffee 1\n2 tea 3\n3 tea 4")
	ddlEventually(t, conn, fmt.Sprintf(columnsOf, "orders"), "id integer\nitem text\namount integer")
	ddlEventually(t, conn, "SELECT item, n FROM items ORDER BY item", "coffee 1\ntea 2")
	ddlEventually(t, conn, "SELECT count(*) FROM rejects", "0")
}

// TestSchemaChangeRestart: after a restart the table resumes after the
// DDL it applied (nothing is applied twice, and the rows produced while
// it was down arrive in the new shape), and a DDL event read again (the
// position committed before it) is recognised as applied.
func TestSchemaChangeRestart(t *testing.T) {
	addr, p := ddlBroker(t, "products")
	dir := t.TempDir()
	create := fmt.Sprintf(`CREATE TABLE products (id int PRIMARY KEY, name text)
		WITH (connector = 'kafka', topic = 'products', properties.bootstrap.server = '%s', auto.schema.change = 'true')
		FORMAT CANAL ENCODE JSON`, addr)
	produce(t, p, "products",
		canal("INSERT", `{"id": "1", "name": "pen"}`),
		canalDDL("ALTER TABLE products ADD COLUMN stock int"),
		canal("INSERT", `{"id": "2", "name": "ink", "stock": "3"}`))
	t.Run("first", func(t *testing.T) {
		srv := testserver.Start(t, engine.Options{StateMemory: -1, DataDir: dir})
		conn := ddlConn(t, srv)
		execAll(t, conn, create)
		ddlEventually(t, conn, "SELECT id, name, stock FROM products ORDER BY id", "1 pen <nil>\n2 ink 3")
	})
	produce(t, p, "products",
		canalDDL("ALTER TABLE products RENAME COLUMN stock TO qty"),
		canal("INSERT", `{"id": "3", "name": "pad", "qty": "5"}`))
	t.Run("second", func(t *testing.T) {
		srv := testserver.Start(t, engine.Options{StateMemory: -1, DataDir: dir})
		conn := ddlConn(t, srv)
		ddlEventually(t, conn, "SELECT id, name, qty FROM products ORDER BY id", "1 pen <nil>\n2 ink 3\n3 pad 5")
		ddlEventually(t, conn, fmt.Sprintf(columnsOf, "products"), "id integer\nname text\nqty integer")
	})
	// The table's position goes back to the rename event, as a crash
	// between the rename's catalog commit and the commit of the position
	// after it leaves it: the event is read again by the changed table and
	// skipped, and the row after it applies again over itself.
	t.Run("replay", func(t *testing.T) {
		srv := testserver.Start(t, engine.Options{StateMemory: -1, DataDir: dir})
		conn := ddlConn(t, srv)
		ddlEventually(t, conn, "SELECT count(*) FROM products", "3")
		if err := srv.Engine.RewindKafkaIngest("products", 3); err != nil {
			t.Fatal(err)
		}
		produce(t, p, "products", canal("INSERT", `{"id": "4", "name": "cap", "qty": "1"}`))
		ddlEventually(t, conn, "SELECT id, name, qty FROM products ORDER BY id", "1 pen <nil>\n2 ink 3\n3 pad 5\n4 cap 1")
		ddlEventually(t, conn, fmt.Sprintf(columnsOf, "products"), "id integer\nname text\nqty integer")
		ddlEventually(t, conn, "SELECT count(*) FROM rejects", "0")
	})
}

// TestSchemaChangeDocExample runs the auto.schema.change example of
// docs/connectors/kafka.md: its records go into the topic, its statements
// run with the broker's address for localhost:9092, and its query must
// return the rows below it, with no reject.
func TestSchemaChangeDocExample(t *testing.T) {
	const page = "docs/connectors/kafka.md"
	produceBlock := doctest.Block(t, page, "(?s)<!-- schema-change: produce topic=(\\S+) -->\n```json\n(.*?)```")
	run := doctest.Block(t, page, "(?s)<!-- schema-change: run -->\n```sql\n(.*?)```")
	expect := doctest.Block(t, page, "(?s)<!-- schema-change: expect -->\n```sql\n(.*?)```\n```text\n(.*?)```")
	topic := string(produceBlock[1])
	addr, p := ddlBroker(t, topic)
	produce(t, p, topic, strings.Split(strings.TrimSpace(string(produceBlock[2])), "\n")...)
	srv := testserver.Start(t, engine.Options{StateMemory: -1})
	conn := ddlConn(t, srv)
	for _, stmt := range strings.Split(string(run[1]), ";\n") {
		if stmt = strings.TrimSpace(stmt); stmt != "" {
			execAll(t, conn, strings.ReplaceAll(stmt, "localhost:9092", addr))
		}
	}
	ddlEventually(t, conn, strings.TrimSuffix(strings.TrimSpace(string(expect[1])), ";"), strings.TrimSpace(string(expect[2])))
	ddlEventually(t, conn, "SELECT n FROM product_count", "3")
	ddlEventually(t, conn, "SELECT count(*) FROM rejects", "0")
}
