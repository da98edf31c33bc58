package engine_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"streamsql/engine"
)

// sqlState returns the SQLSTATE of a server error, "" for none.
func explain(t testing.TB, conn *pgx.Conn, q string) string {
	t.Helper()
	return strings.Join(queryStrings(t, conn, "EXPLAIN "+q), "\n")
}

// Indexes and UNIQUE constraints are in the catalog and in storage after a
// restart: they are listed, enforced and used.
func TestIndexesSurviveRestart(t *testing.T) {
	s := openStack(t, engine.Options{})
	s.execAll(t,
		"CREATE TABLE users (id int PRIMARY KEY, email text UNIQUE, city text)",
		"CREATE INDEX users_city ON users (city)",
		"INSERT INTO users SELECT g, 'u' || g || '@x', CASE WHEN g % 2 = 0 THEN 'oslo' ELSE 'rome' END FROM generate_series(1, 100) AS g")
	s.restart(t)
	defer s.stop()
	conn := s.connect(t)
	ctx := context.Background()
	got := queryStrings(t, conn, "SELECT indexname FROM pg_indexes WHERE tablename = 'users' ORDER BY 1")
	if want := []string{"users_city", "users_email_key", "users_pkey"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("indexes after restart: %v, want %v", got, want)
	}
	_, err := conn.Exec(ctx, "INSERT INTO users VALUES (101, 'u7@x', 'oslo')")
	if sqlState(err) != "23505" || !strings.Contains(err.Error(), "users_email_key") {
		t.Errorf("duplicate email after restart: %v, want 23505 on users_email_key", err)
	}
	if plan := explain(t, conn, "SELECT id FROM users WHERE city = 'oslo'"); !strings.Contains(plan, "Index Scan using users_city on users") {
		t.Errorf("plan does not use the index after restart:\n%s", plan)
	}
	if got := queryStrings(t, conn, "SELECT count(*), sum(id) FROM users WHERE city = 'oslo'"); got[0] != "50 2550" {
		t.Errorf("count and sum through the index: %v, want 50 2550", got)
	}
	if got := queryStrings(t, conn, "SELECT id FROM users WHERE email = 'u42@x'"); fmt.Sprint(got) != "[42]" {
		t.Errorf("lookup by email: %v", got)
	}
}

// Two transactions that insert the same unique value (under different
// primary keys): each sees no duplicate while it runs, and exactly one
// commits; the other fails at COMMIT with 23505.
func TestUniqueAcrossConcurrentTransactions(t *testing.T) {
	s := openStack(t, engine.Options{})
	defer s.stop()
	s.execAll(t, "CREATE TABLE tickets (id int PRIMARY KEY, seat text UNIQUE)")
	ctx := context.Background()
	a, b := s.connect(t), s.connect(t)
	for _, c := range []*pgx.Conn{a, b} {
		execAll(t, c, "BEGIN")
	}
	execAll(t, a, "INSERT INTO tickets VALUES (1, '12A')")
	execAll(t, b, "INSERT INTO tickets VALUES (2, '12A')")
	if _, err := a.Exec(ctx, "COMMIT"); err != nil {
		t.Fatalf("first commit: %v", err)
	}
	_, err := b.Exec(ctx, "COMMIT")
	if sqlState(err) != "23505" || !strings.Contains(err.Error(), `"tickets_seat_key"`) {
		t.Fatalf("second commit: %v, want 23505 on tickets_seat_key", err)
	}
	if got := queryStrings(t, a, "SELECT id FROM tickets WHERE seat = '12A'"); fmt.Sprint(got) != "[1]" {
		t.Errorf("rows with seat 12A: %v, want [1]", got)
	}

	// Many autocommit inserts racing for one value: one wins.
	const racers = 8
	var wg sync.WaitGroup
	errs := make([]error, racers)
	conns := make([]*pgx.Conn, racers)
	for i := range conns {
		conns[i] = s.connect(t)
	}
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = conns[i].Exec(ctx, "INSERT INTO tickets VALUES ($1, '14C')", 100+i)
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case sqlState(err) != "23505":
			t.Errorf("racing insert: %v", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d racing inserts committed, want 1", ok)
	}
	if got := queryStrings(t, a, "SELECT count(*) FROM tickets WHERE seat = '14C'"); got[0] != "1" {
		t.Errorf("rows with seat 14C: %v, want 1", got)
	}
}

// After a random mix of inserts, updates and deletes (some rolled back),
// queries on indexed columns return what they return once the indexes are
// dropped and the same queries read the whole table.
func TestIndexResultsMatchFullScan(t *testing.T) {
	s := openStack(t, engine.Options{})
	defer s.stop()
	s.execAll(t,
		"CREATE TABLE m (id int PRIMARY KEY, k int, tag text, x int)",
		"CREATE INDEX m_k ON m (k)",
		"CREATE INDEX m_tag_x ON m (tag, x DESC)",
		"CREATE TABLE n (k int, v int)",
		"CREATE INDEX n_k ON n (k)")
	conn := s.connect(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 9))
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := conn.Exec(ctx, q, args...); err != nil {
			t.Fatalf("%s %v: %v", q, args, err)
		}
	}
	exec("INSERT INTO m SELECT g, g % 37, 'tag' || (g % 5), g % 101 FROM generate_series(1, 3000) AS g")
	exec("INSERT INTO n SELECT g % 53, g FROM generate_series(1, 2000) AS g")
	for i := 0; i < 150; i++ {
		id := rng.IntN(3500)
		switch rng.IntN(6) {
		case 0:
			exec("INSERT INTO m VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO UPDATE SET k = excluded.k, x = excluded.x", id, rng.IntN(40), fmt.Sprintf("tag%d", rng.IntN(6)), rng.IntN(120))
		case 1:
			exec("UPDATE m SET k = $1 WHERE id BETWEEN $2 AND $3", rng.IntN(40), id, id+20)
		case 2:
			exec("DELETE FROM m WHERE k = $1 AND x < $2", rng.IntN(40), rng.IntN(60))
		case 3:
			exec("UPDATE m SET tag = 'tag9', x = x + 1 WHERE id % 97 = $1", rng.IntN(97))
		case 4:
			exec("BEGIN")
			exec("UPDATE m SET k = k + 1 WHERE id < $1", id)
			exec("DELETE FROM n WHERE k = $1", rng.IntN(53))
			exec("ROLLBACK")
		case 5:
			exec("UPDATE n SET k = $1 WHERE v % 50 = $2", rng.IntN(60), rng.IntN(50))
			exec("DELETE FROM n WHERE v = $1", rng.IntN(2000))
		}
	}
	queries := []string{
		"SELECT id, k FROM m WHERE k = 3 ORDER BY id",
		"SELECT count(*), sum(id) FROM m WHERE k = 17",
		"SELECT id FROM m WHERE k BETWEEN 5 AND 9 ORDER BY id",
		"SELECT id FROM m WHERE k > 35 ORDER BY id",
		"SELECT id FROM m WHERE k <= 1 ORDER BY id",
		"SELECT id, x FROM m WHERE tag = 'tag2' ORDER BY id",
		"SELECT id, x FROM m WHERE tag = 'tag3' AND x > 50 ORDER BY id",
		"SELECT id FROM m WHERE tag = 'tag9' AND x BETWEEN 10 AND 60 ORDER BY id",
		"SELECT id FROM m WHERE tag = 'tag1' AND x = 7 ORDER BY id",
		"SELECT count(*) FROM m WHERE k = 12 AND id > 1000",
		"SELECT v FROM n WHERE k = 4 ORDER BY v",
		"SELECT count(*), sum(v) FROM n WHERE k >= 50",
	}
	mustUse := map[int]string{0: "m_k", 5: "m_tag_x", 6: "m_tag_x", 10: "n_k"}
	with := make([][]string, len(queries))
	for i, q := range queries {
		if ix, ok := mustUse[i]; ok {
			if plan := explain(t, conn, q); !strings.Contains(plan, "Index Scan using "+ix) {
				t.Errorf("%s does not use %s:\n%s", q, ix, plan)
			}
		}
		with[i] = queryStrings(t, conn, q)
	}
	exec("DROP INDEX m_k")
	exec("DROP INDEX m_tag_x")
	exec("DROP INDEX n_k")
	for i, q := range queries {
		if plan := explain(t, conn, q); strings.Contains(plan, "Index Scan") {
			t.Fatalf("%s still uses an index:\n%s", q, plan)
		}
		without := queryStrings(t, conn, q)
		if fmt.Sprint(with[i]) != fmt.Sprint(without) {
			t.Errorf("%s\nwith the index:    %v\nwithout the index: %v", q, with[i], without)
		}
	}
	if len(with[0]) == 0 || len(with[5]) == 0 || len(with[10]) == 0 {
		t.Errorf("queries found nothing, the comparison proves little: %v %v %v", with[0], with[5], with[10])
	}
}

// BenchmarkIndexLookup reads one row of a 1M-row table by a secondary
// column per iteration (prepared statement), through a unique index and,
// for comparison, by scanning the same table without one.
func BenchmarkIndexLookup(b *testing.B) {
	const n = 1_000_000
	s := sharedStack(b)
	s.ensureTable(b, "t1m", n)
	s.ensureTable(b, "t1m_ix", n)
	s.mu.Lock()
	if !s.loaded["t1m_ix/index"] {
		start := time.Now()
		s.execAll(b, "CREATE UNIQUE INDEX t1m_ix_v ON t1m_ix (v)")
		b.Logf("built the index of %d rows in %v", n, time.Since(start).Round(time.Millisecond))
		s.loaded["t1m_ix/index"] = true
	}
	s.mu.Unlock()
	for _, bc := range []struct{ name, table string }{{"index", "t1m_ix"}, {"no_index", "t1m"}} {
		b.Run(bc.name, func(b *testing.B) {
			conn := s.connect(b)
			ctx := context.Background()
			if _, err := conn.Prepare(ctx, "lookup", "SELECT id FROM "+bc.table+" WHERE v = $1"); err != nil {
				b.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(3, 4))
			var id int64
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				want := rng.Int64N(n) + 1
				if err := conn.QueryRow(ctx, "lookup", want*7).Scan(&id); err != nil {
					b.Fatal(err)
				}
				if id != want {
					b.Fatalf("v %d: id = %d, want %d", want*7, id, want)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "lookups/s")
		})
	}
}
