package kafka_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"streamsql/engine"
	"streamsql/internal/sqltest"
	"streamsql/internal/testserver"
)

// TestKafkaSinkRejects: the rejects of a sink's job (a sink reading a
// Kafka source) are kept like a view's: in the rejects relation under the
// sink's name, counted in SHOW JOBS, and across a restart neither lost
// nor repeated.
func TestKafkaSinkRejects(t *testing.T) {
	_, addr := brokerTopics(t, 1, "sinkin")
	p := producer(t, addr, nil)
	send(t, p, "sinkin", 0, "", `{"v": 1}`)
	send(t, p, "sinkin", 0, "", `{"v": "one"}`)
	send(t, p, "sinkin", 0, "", `{"v": 3}`)
	dir := t.TempDir()
	const q = `SELECT job, relation, partition, "offset", left(error, 5) FROM rejects`
	t.Run("before", func(t *testing.T) {
		srv := testserver.Start(t, engine.Options{StateMemory: -1, DataDir: dir})
		conn := connect(t, srv)
		sqltest.Exec(t, conn,
			fmt.Sprintf(`CREATE SOURCE sinkin (v int) WITH (connector = 'kafka', topic = 'sinkin', properties.bootstrap.server = '%s')
				FORMAT PLAIN ENCODE JSON`, addr),
			"CREATE SINK out AS SELECT v FROM sinkin WITH (connector = 'blackhole')")
		eventuallyJob(t, conn, "out", "Rows in", "2")
		sqltest.Exec(t, conn, "FLUSH")
		sqltest.Eventually(t, conn, q, "out sinkin 0 1 22P02")
	})
	send(t, p, "sinkin", 0, "", `{"v": [4]}`)
	srv := testserver.Start(t, engine.Options{StateMemory: -1, DataDir: dir})
	conn := connect(t, srv)
	sqltest.Exec(t, conn, "FLUSH")
	sqltest.Eventually(t, conn, q+` ORDER BY "offset"`, "out sinkin 0 1 22P02\nout sinkin 0 3 42804")
	eventuallyJob(t, conn, "out", "Rejects", "2")
}

// jobColumn is column col of job name's row in SHOW JOBS, printed.
func jobColumn(t testing.TB, conn *pgx.Conn, name, col string) string {
	t.Helper()
	if v, ok := sqltest.JobColumns(t, conn, name)[col]; ok {
		return fmt.Sprint(v)
	}
	return ""
}

// eventuallyJob polls SHOW JOBS until job name's column col is want.
func eventuallyJob(t testing.TB, conn *pgx.Conn, name, col, want string) {
	t.Helper()
	got := ""
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if got = jobColumn(t, conn, name, col); got == want {
			return
		}
	}
	t.Fatalf("SHOW JOBS %s %q: got %q, want %q", name, col, got, want)
}
