package engine_test

import (
	"context"
	"strings"
	"testing"

	"streamsql/engine"
)

// TestExplainLogical: EXPLAIN (LOGICAL) prints the logical plan after the
// rewrites (here the WHERE conjunct on the left table moved below the
// LEFT JOIN, the one on the null-supplying right table kept above it),
// VERBOSE adds stream properties, plain EXPLAIN still prints executors,
// and the rewritten query returns PostgreSQL's rows.
func TestExplainLogical(t *testing.T) {
	_, conn := startConn(t, engine.Options{},
		"CREATE TABLE orders (id int PRIMARY KEY, region text, amount bigint)",
		"CREATE TABLE refunds (order_id int PRIMARY KEY, reason text)",
		"INSERT INTO orders VALUES (1, 'eu', 10), (2, 'eu', 20), (3, 'us', 30)",
		"INSERT INTO refunds VALUES (1, 'late'), (3, 'late')")
	const q = "SELECT o.id, r.reason FROM orders o LEFT JOIN refunds r ON o.id = r.order_id WHERE o.region = 'eu' AND r.reason IS NULL"
	got := strings.Join(queryStrings(t, conn, "EXPLAIN (LOGICAL) "+q), "\n")
	want := strings.Join([]string{
		"project id, reason [integer, text]",
		"  filter reason IS NULL [integer, text, bigint, integer, text]",
		"    join left key id = order_id [integer, text, bigint, integer, text]",
		"      filter region = 'eu' [integer, text, bigint]",
		"        scan orders [integer, text, bigint]",
		"      scan refunds [integer, text]",
	}, "\n")
	if got != want {
		t.Errorf("EXPLAIN (LOGICAL):\n%s\nwant:\n%s", got, want)
	}
	if rows := strings.Join(queryStrings(t, conn, q+" ORDER BY 1"), ","); rows != "2 <nil>" {
		t.Errorf("%s: %s, want 2 <nil>", q, rows)
	}
	physical := strings.Join(queryStrings(t, conn, "EXPLAIN "+q), "\n")
	if !strings.Contains(physical, "HashJoin left") || strings.Contains(physical, "[integer") {
		t.Errorf("EXPLAIN prints no executors:\n%s", physical)
	}
	if off := strings.Join(queryStrings(t, conn, "EXPLAIN (LOGICAL false) "+q), "\n"); off != physical {
		t.Errorf("EXPLAIN (LOGICAL false):\n%s\nwant the physical plan:\n%s", off, physical)
	}
	verbose := queryStrings(t, conn, "EXPLAIN (LOGICAL, VERBOSE) SELECT DISTINCT k FROM (VALUES (1), (2)) v(k)")
	if len(verbose) == 0 || verbose[0] != "distinct [integer] key=[0] append-only" {
		t.Errorf("EXPLAIN (LOGICAL, VERBOSE): %q", verbose)
	}
	_, err := conn.Exec(context.Background(), "EXPLAIN (LOGICAL maybe) SELECT 1")
	wantPgErr(t, err, "42601", "logical requires a Boolean value")
}
