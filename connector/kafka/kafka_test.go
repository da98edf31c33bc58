package kafka_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"streamsql/engine"
	"streamsql/internal/loopback"
	"streamsql/internal/sqltest"
	"streamsql/internal/testserver"
	"streamsql/pgwire"
)

// broker starts an in-process Kafka (kfake) with topics of n partitions.
func broker(t testing.TB, n int32, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1), kfake.DefaultNumPartitions(int(n)), kfake.AllowAutoTopicCreation()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// brokerTopics starts a broker (see broker) and creates topics of n
// partitions on it; it returns the broker and its address.
func brokerTopics(t testing.TB, n int32, topics ...string) (*kfake.Cluster, string) {
	t.Helper()
	c := broker(t, n)
	for _, topic := range topics {
		if err := c.CreateTopic(topic, n, nil); err != nil {
			t.Fatal(err)
		}
	}
	return c, c.ListenAddrs()[0]
}

// producer is a sarama producer on the broker.
func producer(t testing.TB, addr string, mod func(*sarama.Config)) sarama.SyncProducer {
	t.Helper()
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V2_1_0_0
	cfg.Producer.Return.Successes = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	if mod != nil {
		mod(cfg)
	}
	p, err := sarama.NewSyncProducer([]string{addr}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// addPartitions grows topic to total partitions through the admin API, as
// an operator adding partitions to a live topic does.
func addPartitions(t testing.TB, addr, topic string, total int32) {
	t.Helper()
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V2_1_0_0
	admin, err := sarama.NewClusterAdmin([]string{addr}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := admin.CreatePartitions(topic, total, nil, false); err != nil {
		t.Fatal(err)
	}
}

// saslPlain makes a producer's configuration sign in with SASL/PLAIN.
func saslPlain(cfg *sarama.Config, user, password string) {
	cfg.Net.SASL.Enable = true
	cfg.Net.SASL.Mechanism = sarama.SASLTypePlaintext
	cfg.Net.SASL.User, cfg.Net.SASL.Password = user, password
}

func send(t testing.TB, p sarama.SyncProducer, topic string, part int32, key, val string, headers ...sarama.RecordHeader) {
	t.Helper()
	m := &sarama.ProducerMessage{Topic: topic, Partition: part, Value: sarama.StringEncoder(val), Headers: headers}
	if key != "" {
		m.Key = sarama.StringEncoder(key)
	}
	if _, _, err := p.SendMessage(m); err != nil {
		t.Fatal(err)
	}
}

// startDurable starts a server with opts (a data directory, so that it
// can be stopped and started again on the same state).
func startDurable(t testing.TB, opts engine.Options) *testserver.Server {
	t.Helper()
	srv, err := loopback.Start(opts, pgwire.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

// startServer starts a server without a data directory or a state
// memory bound and connects to it; the server stops with the test.
func startServer(t testing.TB) (*testserver.Server, *pgx.Conn) {
	t.Helper()
	srv := testserver.Start(t, engine.Options{StateMemory: -1})
	return srv, connect(t, srv)
}

func connect(t testing.TB, srv *testserver.Server) *pgx.Conn {
	t.Helper()
	return sqltest.Connect(t, srv.URL("kafka", "kafka"))
}

// TestKafkaJSONSource reads JSON records from three partitions, with
// their partition and offset as INCLUDE columns, into a view that
// follows the topic; malformed records are counted and skipped; a
// partition added to the topic later is read too.
func TestKafkaJSONSource(t *testing.T) {
	_, addr := brokerTopics(t, 3, "trades")
	p := producer(t, addr, nil)
	for i := 0; i < 30; i++ {
		send(t, p, "trades", int32(i%3), "", fmt.Sprintf(`{"id": %d, "sym": "S%d", "price": %d.5, "ts": "2024-01-02 03:04:%02d"}`, i, i%2, i, i))
	}
	_, conn := startServer(t)
	sqltest.Exec(t, conn, "SET streaming_parallelism = 2",
		fmt.Sprintf(`CREATE SOURCE trades (id bigint, sym varchar, price double precision, ts timestamp)
			INCLUDE partition AS part INCLUDE offset AS off
			WITH (connector = 'kafka', topic = 'trades', properties.bootstrap.server = '%s',
			      scan.startup.mode = 'earliest', partition.discovery.interval = '200ms')
			FORMAT PLAIN ENCODE JSON`, addr),
		"CREATE MATERIALIZED VIEW by_sym AS SELECT sym, count(*) AS n, sum(price) AS total FROM trades GROUP BY sym",
		"CREATE MATERIALIZED VIEW per_part AS SELECT part, count(*) AS n, max(off) AS last FROM trades GROUP BY part")
	sqltest.Eventually(t, conn, "SELECT sym, n, total FROM by_sym ORDER BY sym", "S0 15 217.5\nS1 15 232.5")
	sqltest.Eventually(t, conn, "SELECT part, n, last FROM per_part ORDER BY part", "0 10 9\n1 10 9\n2 10 9")

	// Malformed records: counted, skipped, the job goes on.
	send(t, p, "trades", 0, "", `{"id": 100, "sym": "S0", "price": `)
	send(t, p, "trades", 1, "", `{"id": "not a number", "sym": "S0"}`)
	send(t, p, "trades", 2, "", `{"id": 101, "sym": "S0", "price": 1, "ts": "2024-01-02 03:05:00"}`)
	sqltest.Eventually(t, conn, "SELECT sym, n, total FROM by_sym ORDER BY sym", "S0 16 218.5\nS1 15 232.5")
	if rejects := jobColumn(t, conn, "by_sym", "Rejects"); rejects != "2" {
		t.Fatalf("SHOW JOBS counts %s rejects for by_sym, want 2", rejects)
	}
	sqltest.Exec(t, conn, "FLUSH")
	hexOf := func(s string) string { return `\x` + hex.EncodeToString([]byte(s)) }
	sqltest.Eventually(t, conn, `SELECT relation, partition, "offset", error, raw::text FROM rejects WHERE job = 'by_sym' ORDER BY partition`,
		`trades 0 10 22P02: invalid JSON: expected a value `+hexOf(`{"id": 100, "sym": "S0", "price": `)+"\n"+
			`trades 1 10 22P02: column "id": invalid input syntax for type bigint: "not a number" `+hexOf(`{"id": "not a number", "sym": "S0"}`))

	// A partition added later is discovered and read from its start.
	addPartitions(t, addr, "trades", 4)
	p = producer(t, addr, nil) // a producer that knows the new partition
	send(t, p, "trades", 3, "", `{"id": 200, "sym": "S1", "price": 10, "ts": "2024-01-02 03:06:00"}`)
	sqltest.Eventually(t, conn, "SELECT part, n, last FROM per_part WHERE part = 3", "3 1 0")
	sqltest.Eventually(t, conn, "SELECT sym, n, total FROM by_sym ORDER BY sym", "S0 16 218.5\nS1 16 242.5")
}

// TestKafkaOptions checks the option errors of CREATE SOURCE and that SHOW
// CREATE SOURCE masks the SASL password.
func TestKafkaOptions(t *testing.T) {
	_, conn := startServer(t)
	for _, tc := range []struct{ sql, want string }{
		{`CREATE SOURCE s (a int) WITH (connector = 'kafka', topic = 't') FORMAT PLAIN ENCODE JSON`,
			`kafka connector requires option "properties.bootstrap.server"`},
		{`CREATE SOURCE s (a int) WITH (connector = 'kafka', topic = 't', properties.bootstrap.server = 'h:1', scan.startup.mode = 'first') FORMAT PLAIN ENCODE JSON`,
			`invalid value for kafka option "scan.startup.mode": "first"`},
		{`CREATE SOURCE s (a int) WITH (connector = 'kafka', topic = 't', properties.bootstrap.server = 'h:1', topik = 'x') FORMAT PLAIN ENCODE JSON`,
			`unrecognized kafka option "topik"`},
		{`CREATE SOURCE s (a int) WITH (connector = 'kafka', topic = 't', properties.bootstrap.server = 'h:1')`,
			`kafka connector needs a FORMAT ... ENCODE clause`},
		{`CREATE SOURCE s (a int) WITH (connector = 'kafka', topic = 't', properties.bootstrap.server = 'h:1', scan.startup.mode = 'timestamp') FORMAT PLAIN ENCODE JSON`,
			`kafka option "scan.startup.timestamp.millis" is needed`},
		{`CREATE SOURCE s (a int) WITH (connector = 'kafka', topic = 't', properties.bootstrap.server = 'h:1', properties.sasl.username = 'u') FORMAT PLAIN ENCODE JSON`,
			`kafka SASL options need properties.security.protocol`},
	} {
		_, err := conn.Exec(context.Background(), tc.sql)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "SQLSTATE") {
			t.Errorf("%s:\n got %v\nwant %s", tc.sql, err, tc.want)
		}
	}
	sqltest.Exec(t, conn, `CREATE SOURCE s (a int) WITH (connector = 'kafka', topic = 't', properties.bootstrap.server = 'h:1',
		properties.security.protocol = 'sasl_plaintext', properties.sasl.mechanism = 'scram-sha-256',
		properties.sasl.username = 'u', properties.sasl.password = 'hunter2') FORMAT PLAIN ENCODE JSON`)
	var name, def string
	if err := conn.QueryRow(context.Background(), "SHOW CREATE SOURCE s").Scan(&name, &def); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(def, "hunter2") || !strings.Contains(def, "properties.sasl.password = '********'") {
		t.Fatalf("SHOW CREATE SOURCE: %s", def)
	}
	var opts string
	if err := conn.QueryRow(context.Background(), "SELECT array_to_string(reloptions, ',') FROM pg_class WHERE relname = 's'").Scan(&opts); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(opts, "hunter2") || !strings.Contains(opts, "properties.sasl.password=********") {
		t.Fatalf("reloptions: %s", opts)
	}
}

// TestKafkaSASL reads from a broker that requires SASL, with PLAIN and
// both SCRAM mechanisms; a wrong password fails the job, not the server.
func TestKafkaSASL(t *testing.T) {
	c := broker(t, 1, kfake.EnableSASL(), kfake.Superuser("PLAIN", "admin", "adminpw"),
		kfake.Superuser("SCRAM-SHA-256", "scram256", "pw256"), kfake.Superuser("SCRAM-SHA-512", "scram512", "pw512"))
	addr := c.ListenAddrs()[0]
	p := producer(t, addr, func(cfg *sarama.Config) { saslPlain(cfg, "admin", "adminpw") })
	for i := 1; i <= 5; i++ {
		send(t, p, "secure", 0, "", fmt.Sprintf(`{"v": %d}`, i))
	}
	_, conn := startServer(t)
	for i, m := range []struct{ mech, user, pass string }{
		{"plain", "admin", "adminpw"}, {"scram-sha-256", "scram256", "pw256"}, {"scram-sha-512", "scram512", "pw512"},
	} {
		sqltest.Exec(t, conn, fmt.Sprintf(`CREATE SOURCE s%d (v int) WITH (connector = 'kafka', topic = 'secure', properties.bootstrap.server = '%s',
			properties.security.protocol = 'sasl_plaintext', properties.sasl.mechanism = '%s',
			properties.sasl.username = '%s', properties.sasl.password = '%s') FORMAT PLAIN ENCODE JSON`, i, addr, m.mech, m.user, m.pass),
			fmt.Sprintf("CREATE MATERIALIZED VIEW v%d AS SELECT count(*) AS n, sum(v) AS total FROM s%d", i, i))
		sqltest.Eventually(t, conn, fmt.Sprintf("SELECT n, total FROM v%d", i), "5 15")
	}
}

// TestKafkaMissingTopicOrBroker: a source over a topic the broker does not
// have fails its job with 42704 naming the topic (listing partitions does
// not create the topic, even on a broker that creates topics on demand),
// and an unreachable broker fails it with 08001; the server stays up.
func TestKafkaMissingTopicOrBroker(t *testing.T) {
	c := broker(t, 1)
	addr := c.ListenAddrs()[0]
	_, conn := startServer(t)
	failure := func(view, source, server string) string {
		t.Helper()
		sqltest.Exec(t, conn, fmt.Sprintf(`CREATE SOURCE %s (v int) WITH (connector = 'kafka', topic = 'nope',
			properties.bootstrap.server = '%s') FORMAT PLAIN ENCODE JSON`, source, server))
		_, err := conn.Exec(context.Background(), fmt.Sprintf("CREATE MATERIALIZED VIEW %s AS SELECT count(*) AS n FROM %s", view, source))
		if err != nil {
			return err.Error()
		}
		status := ""
		for start := time.Now(); time.Since(start) < 20*time.Second && !strings.HasPrefix(status, "failed"); {
			time.Sleep(50 * time.Millisecond)
			status = jobColumn(t, conn, view, "Status")
		}
		return status
	}
	got := failure("missing_n", "missing", addr)
	t.Logf("missing topic: %s", got)
	if !strings.Contains(got, `kafka topic "nope" does not exist`) || !strings.Contains(got, "42704") {
		t.Errorf("missing topic: %q", got)
	}
	ts, err := kadm.NewClient(mustKgo(t, addr)).ListTopics(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if ts.Has("nope") {
		t.Errorf("listing partitions created the topic")
	}
	got = failure("refused_n", "refused", "127.0.0.1:1")
	t.Logf("unreachable broker: %s", got)
	if !strings.Contains(got, "could not connect to 127.0.0.1:1") || !strings.Contains(got, "08001") {
		t.Errorf("unreachable broker: %q", got)
	}
	sqltest.Exec(t, conn, "SELECT 1")
}

func mustKgo(t *testing.T, addr string) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}
