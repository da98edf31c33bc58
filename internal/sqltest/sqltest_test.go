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
