package kafka_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/IBM/sarama"
	"github.com/jackc/pgx/v5"

	"streamsql/engine"
	"streamsql/internal/sqltest"
	"streamsql/internal/testserver"
)

// tsRecord is a JSON record at 2024-01-02 00:00:sec.
func tsRecord(id, sec int) string {
	return fmt.Sprintf(`{"id": %d, "ts": "2024-01-02 00:%02d:%02d"}`, id, sec/60, sec%60)
}

// windowsOf is the query of the closed windows of view name_w.
func windowsOf(name string) string {
	return fmt.Sprintf("SELECT to_char(window_start, 'MI:SS'), n FROM %s_w ORDER BY window_start", name)
}

// sendSkewed sends five records to partition 0 of topic, a minute ahead
// of the five it then sends to partition 1 (seconds 0 to 8), and waits
// after each five until count, a count of the records read, has them.
func sendSkewed(t *testing.T, conn *pgx.Conn, p sarama.SyncProducer, topic, count string) {
	t.Helper()
	for i := 0; i < 5; i++ {
		send(t, p, topic, 0, "", tsRecord(i, 60+i))
	}
	sqltest.Eventually(t, conn, count, "5")
	for i := 0; i < 5; i++ {
		send(t, p, topic, 1, "", tsRecord(10+i, 2*i))
	}
	sqltest.Eventually(t, conn, count, "10")
}

// idlePartition creates with create (name, topic, further options) a
// relation "held" over topic and one "idle" with an idle timeout of
// 300ms, each with its windows name_w, sends records of seconds 1, 5 and
// 25 to partition 0 of topic and none to partition 1, and waits until
// idle has closed its first window and held has read the three records
// (heldCount counts them).
func idlePartition(t *testing.T, conn *pgx.Conn, p sarama.SyncProducer, topic string, create func(name, topic, extra string), heldCount string) {
	t.Helper()
	create("held", topic, "")
	create("idle", topic, ", watermark.idle.timeout = '300ms'")
	for i, sec := range []int{1, 5, 25} {
		send(t, p, topic, 0, "", tsRecord(i, sec))
	}
	sqltest.Eventually(t, conn, windowsOf("idle"), "00:00 2")
	sqltest.Eventually(t, conn, heldCount, "3")
}

// TestKafkaWatermarkPerPartition: each partition has its own watermark
// and the source's is their minimum. A silent partition holds windows
// open until watermark.idle.timeout says it is idle; a partition behind
// the others does not make its rows late; a partition added while the
// job runs holds the watermark too.
func TestKafkaWatermarkPerPartition(t *testing.T) {
	c, addr := brokerTopics(t, 2, "silent", "skew")
	if err := c.CreateTopic("grow", 1, nil); err != nil {
		t.Fatal(err)
	}
	p := producer(t, addr, nil)
	_, conn := startServer(t)
	source := func(name, topic, extra string) {
		sqltest.Exec(t, conn,
			fmt.Sprintf(`CREATE SOURCE %s (id bigint, ts timestamp, WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
				WITH (connector = 'kafka', topic = '%s', properties.bootstrap.server = '%s',
				      partition.discovery.interval = '100ms'%s)
				FORMAT PLAIN ENCODE JSON`, name, topic, addr, extra),
			fmt.Sprintf("CREATE MATERIALIZED VIEW %s_n AS SELECT count(*) AS n FROM %s", name, name),
			fmt.Sprintf(`CREATE MATERIALIZED VIEW %s_w AS SELECT window_start, count(*) AS n
				FROM TUMBLE(%s, ts, INTERVAL '10' SECOND) GROUP BY window_start EMIT ON WINDOW CLOSE`, name, name))
	}

	// Partition 1 of "silent" has no records. Without an idle timeout it
	// holds every window open; with one, it stops doing so.
	idlePartition(t, conn, p, "silent", source, "SELECT n FROM held_n")
	// Each view is a job with its own readers: what is waited for is
	// what the job under test has read (SHOW JOBS' Rows in), never what
	// another view over the same source shows. "held" has read the three
	// records, and partition 1 holds its watermark back: a record of
	// second 8 is not late for it, so the first window counts it.
	eventuallyJob(t, conn, "held_w", "Rows in", "3")
	send(t, p, "silent", 0, "", tsRecord(3, 8))
	eventuallyJob(t, conn, "held_w", "Rows in", "4")
	// A record in partition 1 lets "held" move to min(25, 27) - 1.
	send(t, p, "silent", 1, "", tsRecord(4, 27))
	sqltest.Eventually(t, conn, windowsOf("held"), "00:00 3")

	// Partition 0 of "skew" runs a minute ahead of partition 1; the rows
	// of partition 1 are not late, and windows close as partition 1
	// moves on.
	source("skew", "skew", "")
	sendSkewed(t, conn, p, "skew", "SELECT n FROM skew_n")
	send(t, p, "skew", 1, "", tsRecord(20, 21))
	sqltest.Eventually(t, conn, windowsOf("skew"), "00:00 5")

	// "grow" starts with one partition; a second one added while the
	// job runs is read and holds the watermark like the first.
	source("grow", "grow", "")
	send(t, p, "grow", 0, "", tsRecord(0, 5))
	send(t, p, "grow", 0, "", tsRecord(1, 25))
	sqltest.Eventually(t, conn, windowsOf("grow"), "00:00 1")
	addPartitions(t, addr, "grow", 2)
	p2 := producer(t, addr, nil) // knows the new partition
	send(t, p2, "grow", 1, "", tsRecord(2, 26))
	// grow_w's own source has found partition 1 and read its record
	// (grow_n's discovers partitions on its own clock).
	eventuallyJob(t, conn, "grow_w", "Rows in", "3")
	send(t, p2, "grow", 0, "", tsRecord(3, 45))
	eventuallyJob(t, conn, "grow_w", "Rows in", "4")
	// Partition 1 holds the watermark at 25: a record of second 27 in it
	// is not late, though partition 0 is at 45; then partition 1 moves
	// to 41 and the window [00:20, 00:30) closes with all three.
	send(t, p2, "grow", 1, "", tsRecord(4, 27))
	send(t, p2, "grow", 1, "", tsRecord(5, 41))
	sqltest.Eventually(t, conn, windowsOf("grow"), strings.Join([]string{"00:00 1", "00:20 3"}, "\n"))
	sqltest.Eventually(t, conn, "SELECT n FROM grow_n", "6")
}

// TestKafkaWatermarkRestart restarts the server under a source with
// per-partition watermarks: the partitions resume at their committed
// offsets (every record counted once), the closed window is not emitted
// again, and the partitions' watermarks, derived afresh from the records
// after the restart, close the next windows only once both partitions
// have passed them.
func TestKafkaWatermarkRestart(t *testing.T) {
	_, addr := brokerTopics(t, 2, "restart")
	p := producer(t, addr, nil)
	dir := t.TempDir()
	const windows = "SELECT to_char(window_start, 'MI:SS'), n FROM w ORDER BY window_start"
	send(t, p, "restart", 0, "", tsRecord(0, 5))
	send(t, p, "restart", 0, "", tsRecord(1, 25))
	send(t, p, "restart", 1, "", tsRecord(2, 12))
	t.Run("before", func(t *testing.T) {
		srv := testserver.Start(t, engine.Options{StateMemory: -1, DataDir: dir})
		conn := connect(t, srv)
		sqltest.Exec(t, conn,
			fmt.Sprintf(`CREATE SOURCE s (id bigint, ts timestamp, WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
				WITH (connector = 'kafka', topic = 'restart', properties.bootstrap.server = '%s')
				FORMAT PLAIN ENCODE JSON`, addr),
			"CREATE MATERIALIZED VIEW n AS SELECT count(*) AS n, count(DISTINCT id) AS ids FROM s",
			`CREATE MATERIALIZED VIEW w AS SELECT window_start, count(*) AS n
				FROM TUMBLE(s, ts, INTERVAL '10' SECOND) GROUP BY window_start EMIT ON WINDOW CLOSE`)
		sqltest.Eventually(t, conn, windows, "00:00 1")
		sqltest.Eventually(t, conn, "SELECT n, ids FROM n", "3 3")
		sqltest.Exec(t, conn, "FLUSH")
	})
	send(t, p, "restart", 0, "", tsRecord(3, 35))
	srv := testserver.Start(t, engine.Options{StateMemory: -1, DataDir: dir})
	conn := connect(t, srv)
	sqltest.Eventually(t, conn, "SELECT n, ids FROM n", "4 4")
	// Partition 1 has no record since the restart: it holds the
	// watermark, so a record of second 13 in it is not late, though
	// partition 0 is at 35 (a probe instead of waiting to see that no
	// window closes).
	send(t, p, "restart", 1, "", tsRecord(4, 13))
	send(t, p, "restart", 1, "", tsRecord(5, 31))
	sqltest.Eventually(t, conn, windows, "00:00 1\n00:10 2\n00:20 1")
	sqltest.Eventually(t, conn, "SELECT n, ids FROM n", "6 6")
}

// TestKafkaTableWatermarkPerPartition: a table fed by Kafka with a
// WATERMARK takes its watermark per partition, as a source does: the
// minimum over the partitions, so that the rows of a partition behind
// the others are not late for the views over the table, and a partition
// idle for longer than watermark.idle.timeout stops holding it back.
func TestKafkaTableWatermarkPerPartition(t *testing.T) {
	_, addr := brokerTopics(t, 2, "lag", "quiet")
	p := producer(t, addr, nil)
	_, conn := startServer(t)
	table := func(name, topic, extra string) {
		sqltest.Exec(t, conn,
			fmt.Sprintf(`CREATE TABLE %s (id bigint PRIMARY KEY, ts timestamp, WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
				WITH (connector = 'kafka', topic = '%s', properties.bootstrap.server = '%s'%s)
				FORMAT UPSERT ENCODE JSON`, name, topic, addr, extra),
			fmt.Sprintf(`CREATE MATERIALIZED VIEW %s_w AS SELECT window_start, count(*) AS n
				FROM TUMBLE(%s, ts, INTERVAL '10' SECOND) GROUP BY window_start EMIT ON WINDOW CLOSE`, name, name))
	}

	// Partition 0 of "lag" runs a minute ahead of partition 1. One
	// watermark over both partitions would make every row of partition 1
	// late; per partition, they count, and the first window closes once
	// partition 1 passes it.
	table("lagging", "lag", "")
	sendSkewed(t, conn, p, "lag", "SELECT count(*) FROM lagging")
	// A probe instead of waiting to see that no window closes: partition
	// 1's record of second 9 is not late (its partition holds the
	// watermark at 7), so the first window counts it.
	send(t, p, "lag", 1, "", tsRecord(22, 9))
	send(t, p, "lag", 1, "", tsRecord(20, 21))
	sqltest.Eventually(t, conn, windowsOf("lagging"), "00:00 6")
	send(t, p, "lag", 1, "", tsRecord(21, 75))
	sqltest.Eventually(t, conn, windowsOf("lagging"), "00:00 6\n00:20 1")

	// Partition 1 of "quiet" has no records: it holds the watermark
	// until the idle timeout says it is idle.
	idlePartition(t, conn, p, "quiet", table, "SELECT count(*) FROM held")
	// "idle" found partition 1 idle; "held" has no timeout, so partition 1
	// still holds its watermark: a record of second 8 is not late for it
	// (in the table, so the views over it have seen it), and the first
	// window, closed by a record in partition 1, counts it.
	send(t, p, "quiet", 0, "", tsRecord(3, 8))
	sqltest.Eventually(t, conn, "SELECT count(*) FROM held", "4")
	send(t, p, "quiet", 1, "", tsRecord(4, 27))
	sqltest.Eventually(t, conn, windowsOf("held"), "00:00 3")
}

// TestKafkaTableWatermarkRestart restarts the server under a Kafka table
// with a per-partition watermark: the table's stored watermark does not go
// back, so a record behind it after the restart is stored in the table but
// late for the view, and the closed window is not emitted again.
func TestKafkaTableWatermarkRestart(t *testing.T) {
	c := broker(t, 2)
	addr := c.ListenAddrs()[0]
	if err := c.CreateTopic("tr", 2, nil); err != nil {
		t.Fatal(err)
	}
	p := producer(t, addr, nil)
	dir := t.TempDir()
	const windows = "SELECT to_char(window_start, 'MI:SS'), n FROM tr_w ORDER BY window_start"
	for i := 0; i < 3; i++ {
		send(t, p, "tr", 0, "", tsRecord(i, 60+i))
		send(t, p, "tr", 1, "", tsRecord(10+i, 2*i))
	}
	send(t, p, "tr", 1, "", tsRecord(20, 12))
	t.Run("before", func(t *testing.T) {
		srv := testserver.Start(t, engine.Options{StateMemory: -1, DataDir: dir})
		conn := connect(t, srv)
		sqltest.Exec(t, conn,
			fmt.Sprintf(`CREATE TABLE tr (id bigint PRIMARY KEY, ts timestamp, WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
				WITH (connector = 'kafka', topic = 'tr', properties.bootstrap.server = '%s') FORMAT UPSERT ENCODE JSON`, addr),
			`CREATE MATERIALIZED VIEW tr_w AS SELECT window_start, count(*) AS n
				FROM TUMBLE(tr, ts, INTERVAL '10' SECOND) GROUP BY window_start EMIT ON WINDOW CLOSE`)
		sqltest.Eventually(t, conn, windows, "00:00 3")
		sqltest.Exec(t, conn, "FLUSH")
	})
	srv := testserver.Start(t, engine.Options{StateMemory: -1, DataDir: dir})
	conn := connect(t, srv)
	// Behind the stored watermark (00:11): in the table, late for the view.
	send(t, p, "tr", 1, "", tsRecord(30, 4))
	sqltest.Eventually(t, conn, "SELECT count(*) FROM tr", "8")
	// Both partitions move on: the watermark passes 00:20. The late
	// record comes first in its partition: had it counted, the first
	// window would be emitted again with another count.
	send(t, p, "tr", 0, "", tsRecord(31, 90))
	send(t, p, "tr", 1, "", tsRecord(32, 35))
	sqltest.Eventually(t, conn, windows, "00:00 3\n00:10 1")
}

// TestKafkaSourceIdleTimeout: a Kafka source whose every partition stops
// bringing records keeps its last window open, unless the source has an
// idle_timeout: then its watermark moves on with the clock and the
// window closes without new data. A record that then arrives behind the
// watermark is late.
func TestKafkaSourceIdleTimeout(t *testing.T) {
	_, addr := brokerTopics(t, 2, "quiet")
	p := producer(t, addr, nil)
	_, conn := startServer(t)
	for _, s := range []struct{ name, extra string }{{"waits", ""}, {"moves", ", idle_timeout = '200ms'"}} {
		sqltest.Exec(t, conn,
			fmt.Sprintf(`CREATE SOURCE %s (id bigint, ts timestamp, WATERMARK FOR ts AS ts)
				WITH (connector = 'kafka', topic = 'quiet', properties.bootstrap.server = '%s',
				      scan.startup.mode = 'earliest'%s)
				FORMAT PLAIN ENCODE JSON`, s.name, addr, s.extra),
			fmt.Sprintf(`CREATE MATERIALIZED VIEW %s_w AS SELECT window_start, count(*) AS n
				FROM TUMBLE(%s, ts, INTERVAL '10' SECOND) GROUP BY window_start EMIT ON WINDOW CLOSE`, s.name, s.name))
	}
	send(t, p, "quiet", 0, "", tsRecord(1, 1))
	send(t, p, "quiet", 1, "", tsRecord(2, 5))
	send(t, p, "quiet", 0, "", tsRecord(3, 29))
	send(t, p, "quiet", 1, "", tsRecord(4, 29))
	// Both partitions at 29 s: the first window closes in both views.
	sqltest.Eventually(t, conn, "SELECT to_char(window_start, 'MI:SS'), n FROM waits_w ORDER BY 1", "00:00 2")
	// A second of quiet later the idle watermark passes 30 s.
	sqltest.Eventually(t, conn, "SELECT to_char(window_start, 'MI:SS'), n FROM moves_w ORDER BY 1", "00:00 2\n00:20 2")
	sqltest.Eventually(t, conn, "SELECT count(*) FROM late_rows WHERE view_name = 'moves_w'", "0")
	send(t, p, "quiet", 0, "", tsRecord(5, 28))
	sqltest.Eventually(t, conn, "SELECT count(*) FROM late_rows WHERE view_name = 'moves_w'", "1")
	sqltest.Eventually(t, conn, "SELECT to_char(window_start, 'MI:SS'), n FROM waits_w ORDER BY 1", "00:00 2")
}
