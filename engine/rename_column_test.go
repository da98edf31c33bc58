package engine_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"streamsql/engine"
)

// ALTER TABLE ... RENAME COLUMN rewrites the definitions of the views,
// materialized views and sinks that read the column: they keep their
// output column names, keep running, and plan again after a restart.
// References to a same-named column of another table stay as they were.
func TestRenameColumnRewritesDependents(t *testing.T) {
	s := openStack(t, engine.Options{})
	ctx := context.Background()
	s.execAll(t,
		"CREATE TABLE orders (id int PRIMARY KEY, cust int, amount bigint)",
		"CREATE TABLE custs (id int PRIMARY KEY, amount bigint)",
		"INSERT INTO orders VALUES (1, 1, 10), (2, 1, 20), (3, 2, 5)",
		"INSERT INTO custs VALUES (1, 100), (2, 7)",
		"CREATE MATERIALIZED VIEW totals AS SELECT cust, sum(amount) AS s, count(*) AS n FROM orders GROUP BY cust",
		"CREATE MATERIALIZED VIEW joined AS SELECT o.id, o.amount, c.amount AS cap FROM orders o JOIN custs c ON c.id = o.cust WHERE o.amount < c.amount",
		"CREATE VIEW big AS SELECT id, amount FROM orders WHERE amount > (SELECT min(amount) FROM custs)",
		"CREATE SINK out AS SELECT id, amount FROM orders WHERE amount > 15 WITH (connector = 'blackhole')",
		"ALTER TABLE orders RENAME COLUMN amount TO total",
		"INSERT INTO orders VALUES (4, 2, 1)",
		"FLUSH")
	conn := s.connect(t)
	check := func(when string) {
		t.Helper()
		rows, err := conn.Query(ctx, "SELECT * FROM big ORDER BY id")
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		if f := rows.FieldDescriptions(); len(f) != 2 || f[1].Name != "amount" {
			t.Errorf("%s: columns of big: %v", when, f)
		}
		var got []string
		for rows.Next() {
			var id, amt int64
			if err := rows.Scan(&id, &amt); err != nil {
				t.Fatal(err)
			}
			got = append(got, strconv.FormatInt(id, 10)+":"+strconv.FormatInt(amt, 10))
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		if g := strings.Join(got, ","); g != "1:10,2:20" {
			t.Errorf("%s: big = %s, want 1:10,2:20", when, g)
		}
		var sum, n int64
		if err := conn.QueryRow(ctx, "SELECT s, n FROM totals WHERE cust = 2").Scan(&sum, &n); err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		if sum != 6 || n != 2 {
			t.Errorf("%s: totals for cust 2: s=%d n=%d, want 6 and 2", when, sum, n)
		}
		var cnt int64
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM joined WHERE amount < cap").Scan(&cnt); err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		if cnt != 4 {
			t.Errorf("%s: joined has %d rows, want 4", when, cnt)
		}
	}
	check("after rename")
	var def string
	if err := conn.QueryRow(ctx, "SELECT pg_get_viewdef('big'::regclass)").Scan(&def); err != nil {
		t.Fatal(err)
	}
	t.Logf("definition of big: %s", def)
	if !strings.Contains(def, "orders.total AS amount") || !strings.Contains(def, "min(custs.amount)") {
		t.Errorf("definition of big after rename: %s", def)
	}
	conn.Close(ctx)
	s.restart(t)
	s.execAll(t, "INSERT INTO orders VALUES (5, 2, 2)", "DELETE FROM orders WHERE id = 5", "FLUSH")
	conn = s.connect(t)
	check("after restart")
	if jobs := runningJobs(t, conn); jobs != 3 {
		t.Errorf("%d jobs after restart, want 3", jobs)
	}
}

// A rename that a dependent's definition cannot follow (a join USING the
// column) is refused and changes nothing.
func TestRenameColumnUsingRefused(t *testing.T) {
	s, err := startStack()
	if err != nil {
		t.Fatal(err)
	}
	s.execAll(t,
		"CREATE TABLE a (id int PRIMARY KEY, k int)",
		"CREATE TABLE b (id int PRIMARY KEY, k int)",
		"CREATE VIEW ab AS SELECT a.id, b.id AS bid FROM a JOIN b USING (k)")
	conn := s.connect(t)
	ctx := context.Background()
	_, err = conn.Exec(ctx, "ALTER TABLE a RENAME COLUMN k TO kk")
	if err == nil || !strings.Contains(err.Error(), "0A000") {
		t.Fatalf("rename under USING: %v, want 0A000", err)
	}
	if _, err := conn.Exec(ctx, "SELECT k FROM a"); err != nil {
		t.Errorf("column k after the refused rename: %v", err)
	}
	if _, err := conn.Exec(ctx, "SELECT * FROM ab"); err != nil {
		t.Errorf("view after the refused rename: %v", err)
	}
}
