// Package crashtest kills streamsqld with SIGKILL while a client writes
// and checks, after every restart, that materialized views hold exactly
// what the acknowledged writes imply: nothing lost, nothing counted twice.
package crashtest

import (
	"context"
	"fmt"
	"math/rand"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"streamsql/internal/testserver"
)

// views are the materialized views under test, each with the batch query
// it must equal.
var views = []struct{ name, def string }{
	{"by_k", "SELECT k, count(*) AS n, sum(v) AS s, min(v) AS lo, max(v) AS hi FROM t GROUP BY k"},
	{"total", "SELECT count(*) AS n, sum(v) AS s FROM t"},
	{"evens", "SELECT id, v FROM t WHERE v % 2 = 0"},
	{"by_k_total", "SELECT sum(n) AS n, sum(s) AS s FROM by_k"},
	{"joined", "SELECT a.id, a.k, b.v FROM t a LEFT JOIN t b ON a.v = b.id"},
}

func TestCrashRecovery(t *testing.T) {
	srv := testserver.StartBuilt(t, "warn")
	ctx := context.Background()
	c := srv.Dial(t)
	for _, q := range []string{
		"CREATE TABLE t (id bigint PRIMARY KEY, k int, v bigint)",
		"INSERT INTO t SELECT i, i % 10, i FROM generate_series(1, 1000) i",
	} {
		if _, err := c.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	for _, v := range views {
		if _, err := c.Exec(ctx, "CREATE MATERIALIZED VIEW "+v.name+" AS "+v.def); err != nil {
			t.Fatal(err)
		}
	}
	c.Close(ctx)

	acked := map[int64]bool{}
	for i := int64(1); i <= 1000; i++ {
		acked[i] = true
	}
	attempted := map[int64]bool{}
	next := int64(1001)
	rng := rand.New(rand.NewSource(1))
	const rounds = 20
	for round := 0; round < rounds; round++ {
		// Write until the kill: inserts of 1 to 20 rows each, every one
		// recorded as attempted before it is sent and as acknowledged when
		// the server answers.
		var mu sync.Mutex
		done := make(chan struct{})
		go func() {
			defer close(done)
			wc, err := pgx.Connect(ctx, srv.URL())
			if err != nil {
				return
			}
			defer wc.Close(ctx)
			for {
				mu.Lock()
				id := next
				n := int64(1 + rng.Intn(20))
				next += n
				for i := id; i < id+n; i++ {
					attempted[i] = true
				}
				mu.Unlock()
				_, err := wc.Exec(ctx, "INSERT INTO t SELECT i, i % 10, i FROM generate_series($1::bigint, $2::bigint) i", id, id+n-1)
				if err != nil {
					return
				}
				mu.Lock()
				for i := id; i < id+n; i++ {
					acked[i] = true
				}
				mu.Unlock()
			}
		}()
		time.Sleep(time.Duration(50+rng.Intn(400)) * time.Millisecond)
		srv.Kill()
		<-done

		srv = srv.Restart(t)
		c := srv.Dial(t)
		if _, err := c.Exec(ctx, "FLUSH"); err != nil {
			t.Fatalf("round %d: FLUSH: %v", round, err)
		}
		// The table holds every acknowledged row and nothing never sent.
		rows, err := c.Query(ctx, "SELECT id FROM t")
		if err != nil {
			t.Fatal(err)
		}
		present := map[int64]bool{}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			present[id] = true
		}
		if rows.Err() != nil {
			t.Fatal(rows.Err())
		}
		for id := range acked {
			if !present[id] {
				t.Fatalf("round %d: acknowledged row %d lost", round, id)
			}
		}
		for id := range present {
			if !acked[id] && !attempted[id] {
				t.Fatalf("round %d: row %d was never written", round, id)
			}
			acked[id] = true // committed before the kill, reply lost
		}
		// Every view equals its query recomputed over the table.
		for _, v := range views {
			q := fmt.Sprintf("SELECT count(*) FROM ((SELECT * FROM %s EXCEPT ALL %s) UNION ALL (%s EXCEPT ALL SELECT * FROM %s)) d", v.name, v.def, v.def, v.name)
			var diff int64
			if err := c.QueryRow(ctx, q).Scan(&diff); err != nil {
				t.Fatalf("round %d: %s: %v", round, v.name, err)
			}
			if diff != 0 {
				t.Fatalf("round %d: view %s differs from its query in %d rows", round, v.name, diff)
			}
		}
		// The counted column: each committed row counted exactly once.
		var n, s int64
		if err := c.QueryRow(ctx, "SELECT n, s FROM total").Scan(&n, &s); err != nil {
			t.Fatal(err)
		}
		var wantS int64
		for id := range acked {
			wantS += id
		}
		if n != int64(len(acked)) || s != wantS {
			t.Fatalf("round %d: total view has n=%d s=%d, committed rows give n=%d s=%d", round, n, s, len(acked), wantS)
		}
		c.Close(ctx)
		t.Logf("round %d: %d rows committed, views consistent", round, len(acked))
	}
}
