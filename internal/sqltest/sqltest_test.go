package sqltest

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"streamsql/engine"
	"streamsql/internal/testserver"
)

// Against a real server: statements run, rows print one per line, and
// Eventually sees a result that a streaming view reaches only later.
func TestRowsAndEventually(t *testing.T) {
	srv := testserver.Start(t, engine.Options{})
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, srv.URL("u", "d"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	Exec(t, conn, "CREATE TABLE t (a int PRIMARY KEY, b text)", "INSERT INTO t VALUES (1, 'x'), (2, NULL)")
	if got, want := Rows(t, conn, "SELECT a, b FROM t ORDER BY a"), "1 x\n2 <nil>"; got != want {
		t.Fatalf("Rows = %q, want %q", got, want)
	}
	Exec(t, conn, "CREATE MATERIALIZED VIEW n AS SELECT count(*) AS n FROM t")
	go func() {
		time.Sleep(200 * time.Millisecond)
		c, err := pgx.Connect(ctx, srv.URL("u", "d"))
		if err != nil {
			return
		}
		defer c.Close(ctx)
		c.Exec(ctx, "INSERT INTO t VALUES (3, 'y')")
	}()
	Eventually(t, conn, "SELECT n FROM n", "3")
}
