package engine_test

import (
	"context"
	"testing"

	"streamsql/engine"
)

// A foreign key holds across concurrent transactions: a child cannot
// commit against a parent that a concurrent transaction deleted after the
// child's check, and a parent delete cannot commit against a child that a
// concurrent transaction inserted after the delete's check.
func TestForeignKeyConcurrentCommit(t *testing.T) {
	s := openStack(t, engine.Options{})
	ctx := context.Background()
	s.execAll(t,
		"CREATE TABLE p (x int PRIMARY KEY)",
		"CREATE TABLE c (id int PRIMARY KEY, px int REFERENCES p)",
		"INSERT INTO p VALUES (1), (2)")
	a, b := s.connect(t), s.connect(t)

	// The child's check passes, then the parent goes away and commits.
	execAll(t, a, "BEGIN")
	execAll(t, a, "INSERT INTO c VALUES (10, 1)")
	execAll(t, b, "DELETE FROM p WHERE x = 1")
	if _, err := a.Exec(ctx, "COMMIT"); sqlState(err) != "23503" {
		t.Fatalf("child commit after its parent's delete: %v, want 23503", err)
	}
	var n int
	if err := b.QueryRow(ctx, "SELECT count(*) FROM c").Scan(&n); err != nil || n != 0 {
		t.Fatalf("children after the failed commit: %d (%v), want 0", n, err)
	}

	// The parent's delete finds no child, then a child commits.
	execAll(t, a, "BEGIN")
	execAll(t, a, "DELETE FROM p WHERE x = 2")
	execAll(t, b, "INSERT INTO c VALUES (11, 2)")
	if _, err := a.Exec(ctx, "COMMIT"); sqlState(err) != "23503" {
		t.Fatalf("parent delete commit after a new child: %v, want 23503", err)
	}
	if err := b.QueryRow(ctx, "SELECT count(*) FROM p WHERE x = 2").Scan(&n); err != nil || n != 1 {
		t.Fatalf("parent rows after the failed delete: %d (%v), want 1", n, err)
	}

	// Without a concurrent commit in between, both commit.
	execAll(t, a, "BEGIN")
	execAll(t, a, "INSERT INTO c VALUES (12, 2)")
	execAll(t, a, "COMMIT")
}

// Writes rolled back to a savepoint never reach a materialized view over
// the table; the writes around them do.
func TestSavepointRollbackSkipsViews(t *testing.T) {
	s := openStack(t, engine.Options{})
	ctx := context.Background()
	s.execAll(t,
		"CREATE TABLE t (id int PRIMARY KEY, v int)",
		"CREATE MATERIALIZED VIEW totals AS SELECT count(*) AS n, sum(v) AS s FROM t",
		"BEGIN",
		"INSERT INTO t VALUES (1, 10)",
		"SAVEPOINT a",
		"INSERT INTO t VALUES (2, 20)",
		"UPDATE t SET v = 100 WHERE id = 1",
		"DELETE FROM t WHERE id = 1",
		"ROLLBACK TO SAVEPOINT a",
		"INSERT INTO t VALUES (3, 30)",
		"SAVEPOINT b",
		"INSERT INTO t VALUES (4, 40)",
		"ROLLBACK TO b",
		"COMMIT",
		"FLUSH")
	conn := s.connect(t)
	var n, sum int64
	if err := conn.QueryRow(ctx, "SELECT n, s FROM totals").Scan(&n, &sum); err != nil {
		t.Fatal(err)
	}
	if n != 2 || sum != 40 {
		t.Fatalf("view after savepoint rollbacks: n=%d s=%d, want 2 and 40", n, sum)
	}
	var tn, ts int64
	if err := conn.QueryRow(ctx, "SELECT count(*), sum(v) FROM t").Scan(&tn, &ts); err != nil {
		t.Fatal(err)
	}
	if tn != n || ts != sum {
		t.Fatalf("table n=%d s=%d differs from its view n=%d s=%d", tn, ts, n, sum)
	}
}
