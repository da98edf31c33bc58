package engine_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"streamsql/engine"
)

// recursiveViewCases are WITH RECURSIVE views over a graph (edges, which
// may have cycles), a DAG (dag: src < dst, so UNION ALL ends) and an org
// chart (emp: a boss has a smaller id), each compared with its query run
// ad hoc.
var recursiveViewCases = []viewFormCase{
	// Transitive closure, UNION: cycles end at rows already seen.
	{"rv_closure", "WITH RECURSIVE tc(src, dst) AS (SELECT src, dst FROM edges UNION SELECT tc.src, e.dst FROM tc JOIN edges e ON e.src = tc.dst) SELECT * FROM tc"},
	// Reachability from one node with a filter in the term.
	{"rv_reach", "WITH RECURSIVE r(n) AS (SELECT 1 UNION SELECT e.dst FROM r, edges e WHERE e.src = r.n AND e.dst <> 5) SELECT n FROM r"},
	// Paths with multiplicity over a DAG, UNION ALL: every path once.
	{"rv_paths", "WITH RECURSIVE p(src, dst, len) AS (SELECT src, dst, 1 FROM dag UNION ALL SELECT p.src, d.dst, p.len + 1 FROM p JOIN dag d ON d.src = p.dst) SELECT * FROM p"},
	// The org chart: everyone under the top bosses, with depth and path.
	{"rv_org", "WITH RECURSIVE chain(id, depth, path) AS (SELECT id, 1, name FROM emp WHERE boss IS NULL UNION ALL SELECT e.id, c.depth + 1, c.path || '/' || e.name FROM emp e JOIN chain c ON e.boss = c.id) SELECT * FROM chain"},
	// An aggregate over the result, and a count per source.
	{"rv_fanout", "WITH RECURSIVE tc(src, dst) AS (SELECT src, dst FROM edges UNION SELECT tc.src, e.dst FROM tc JOIN edges e ON e.src = tc.dst) SELECT src, count(*) AS n FROM tc GROUP BY src"},
	// An anti join in the term (not multilinear): recomputed on change.
	{"rv_unblocked", "WITH RECURSIVE r(n) AS (SELECT src FROM edges WHERE src < 2 UNION SELECT e.dst FROM r JOIN edges e ON e.src = r.n WHERE NOT EXISTS (SELECT 1 FROM dag d WHERE d.dst = e.dst AND d.src = 0)) SELECT n FROM r"},
}

// TestRecursiveViewsDifferential applies random inserts, updates and
// deletes to a graph, a DAG and an org chart and, after every epoch,
// compares each recursive view with its query run ad hoc; the server
// restarts every few epochs.
func TestRecursiveViewsDifferential(t *testing.T) {
	s := openStack(t, engine.Options{})
	s.execAll(t,
		"CREATE TABLE edges (id int PRIMARY KEY, src int, dst int)",
		"CREATE TABLE dag (id int PRIMARY KEY, src int, dst int)",
		"CREATE TABLE emp (id int PRIMARY KEY, boss int, name text)",
	)
	r := rand.New(rand.NewPCG(18, 2))
	// A row's values after its id, and the same as SET assignments.
	g := newRowChanges(r, func(tbl string, id int) (string, string) {
		switch tbl {
		case "edges":
			a, b := r.IntN(8), r.IntN(8)
			return fmt.Sprintf("%d, %d", a, b), fmt.Sprintf("src = %d, dst = %d", a, b)
		case "dag":
			a, b := r.IntN(7), r.IntN(7)
			if a > b {
				a, b = b, a
			}
			return fmt.Sprintf("%d, %d", a, b+1), fmt.Sprintf("src = %d, dst = %d", a, b+1)
		}
		boss := "NULL"
		if id > 1 && r.IntN(5) > 0 {
			boss = fmt.Sprint(1 + r.IntN(id-1))
		}
		name := fmt.Sprintf("'e%d_%d'", id, r.IntN(3))
		return boss + ", " + name, "boss = " + boss + ", name = " + name
	})
	tables := []string{"edges", "dag", "emp"}
	var setup []string
	for range 6 {
		for _, tbl := range tables {
			setup = append(setup, g.change(tbl))
		}
	}
	s.execAll(t, setup...)
	checkViewsOverEpochs(t, s, recursiveViewCases, 12, 4, func() []string {
		var qs []string
		for range 3 + r.IntN(10) {
			qs = append(qs, g.change(tables[r.IntN(len(tables))]))
		}
		return qs
	})
}

// TestRecursiveViewIterationGuard: a UNION ALL over a cycle never ends;
// the view fails with SQLSTATE 54001 as the query does ad hoc, and the
// server goes on. Views take the limit from the server's settings.
func TestRecursiveViewIterationGuard(t *testing.T) {
	s := openStack(t, engine.Options{Settings: map[string]string{"max_recursive_iterations": "50"}})
	conn := s.connect(t)
	defer conn.Close(context.Background())
	const query = "WITH RECURSIVE p(n) AS (SELECT dst FROM ring WHERE src = 1 UNION ALL SELECT r.dst FROM p JOIN ring r ON r.src = p.n) SELECT n FROM p"
	execAll(t, conn,
		"CREATE TABLE ring (src int, dst int)",
		"INSERT INTO ring VALUES (1, 2), (2, 3)",
		"CREATE MATERIALIZED VIEW rv_ring AS "+query)
	checkViewOn(t, conn, "before the cycle", "rv_ring", query, 2)
	// The edge that closes the cycle.
	execAll(t, conn, "INSERT INTO ring VALUES (3, 1)")
	_, adhoc := conn.Exec(context.Background(), query)
	var pe *pgconn.PgError
	if !errors.As(adhoc, &pe) || pe.Code != "54001" {
		t.Fatalf("the query ad hoc over the cycle: %v, want SQLSTATE 54001", adhoc)
	}
	conn.Exec(context.Background(), "FLUSH")
	st := waitJobStatus(t, conn, "rv_ring", "failed")
	if !strings.HasPrefix(st, "failed") || !strings.Contains(st, "exceeded 50 iterations") {
		t.Fatalf("rv_ring over a cycle: status %q, want failed with the iteration limit", st)
	}
	execAll(t, conn, "SELECT 1")
}
