package sqltest

import (
	"testing"

	"streamsql/engine"
	"streamsql/internal/testserver"
)

// Against a real server: statements run, rows print one per line (NULL
// as <nil>), and Eventually waits for a view that the write reaches only
// after a barrier.
func TestRowsAndEventually(t *testing.T) {
	conn := Connect(t, testserver.Start(t, engine.Options{}).URL("u", "d"))
	Exec(t, conn, "CREATE TABLE t (a int PRIMARY KEY, b text)", "INSERT INTO t VALUES (1, 'x'), (2, NULL)")
	if got, want := Rows(t, conn, "SELECT a, b FROM t ORDER BY a"), "1 x\n2 <nil>"; got != want {
		t.Fatalf("Rows = %q, want %q", got, want)
	}
	Exec(t, conn, "CREATE MATERIALIZED VIEW n AS SELECT count(*) AS n, max(a) AS m FROM t", "INSERT INTO t VALUES (3, 'y')")
	Eventually(t, conn, "SELECT n, m FROM n", "3 3")
}

// JobRow and JobColumns find a view's job in SHOW JOBS, by position and
// by column name, and nothing for a name without a job.
func TestJobRowAndColumns(t *testing.T) {
	conn := Connect(t, testserver.Start(t, engine.Options{}).URL("u", "d"))
	Exec(t, conn, "CREATE TABLE t (a int PRIMARY KEY)", "CREATE MATERIALIZED VIEW v AS SELECT count(*) AS n FROM t")
	row, cols := JobRow(t, conn, "v"), JobColumns(t, conn, "v")
	if row == nil || row[1] != "v" || cols["Name"] != "v" || cols["Id"] != row[0] || cols["Status"] != row[2] {
		t.Fatalf("JobRow = %v, JobColumns = %v", row, cols)
	}
	if JobRow(t, conn, "nope") != nil || JobColumns(t, conn, "nope") != nil {
		t.Fatal("a name without a job has a row")
	}
}
