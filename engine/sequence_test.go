package engine_test

import (
	"context"
	"fmt"
	"math/rand"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"streamsql/engine"
	"streamsql/internal/testserver"
)

// Many sessions draw from one sequence at once, through nextval() and a
// serial column's default: every value is handed out exactly once, and
// with nothing lost to a restart they are exactly 1..n.
func TestSequenceConcurrentNextval(t *testing.T) {
	srv := testserver.Start(t, engine.Options{})
	ctx := context.Background()
	setup := connect(t, srv, nil)
	execAll(t, setup, "CREATE SEQUENCE conc_s", "CREATE TABLE conc_t (id bigserial PRIMARY KEY, client int)")
	const clients, each = 12, 150
	vals := make([][]int64, clients)
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			conn, err := pgx.Connect(ctx, srv.URL("test", "streamsql"))
			if err != nil {
				errs <- err
				return
			}
			defer conn.Close(ctx)
			for i := 0; i < each; i++ {
				var v int64
				if err := conn.QueryRow(ctx, "SELECT nextval('conc_s')").Scan(&v); err != nil {
					errs <- err
					return
				}
				vals[c] = append(vals[c], v)
				if _, err := conn.Exec(ctx, "INSERT INTO conc_t (client) VALUES ($1)", c); err != nil {
					errs <- err
					return
				}
			}
		}(c)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	seen := map[int64]bool{}
	for _, vs := range vals {
		prev := int64(0)
		for _, v := range vs {
			if seen[v] {
				t.Fatalf("nextval handed out %d twice", v)
			}
			if v <= prev {
				t.Fatalf("one session got %d after %d", v, prev)
			}
			seen[v], prev = true, v
		}
	}
	for v := int64(1); v <= clients*each; v++ {
		if !seen[v] {
			t.Fatalf("value %d was never handed out (got %d values)", v, len(seen))
		}
	}
	var n, distinct, lo, hi int64
	if err := setup.QueryRow(ctx, "SELECT count(*), count(DISTINCT id), min(id), max(id) FROM conc_t").Scan(&n, &distinct, &lo, &hi); err != nil {
		t.Fatal(err)
	}
	if n != clients*each || distinct != n || lo != 1 || hi != n {
		t.Fatalf("serial ids: %d rows, %d distinct, %d..%d; want 1..%d", n, distinct, lo, hi, clients*each)
	}
}

// Sequences survive a clean restart with their parameters and values:
// currval is the session's and starts undefined again, the next value
// follows every value handed out before.
func TestSequenceRestart(t *testing.T) {
	s := openStack(t, engine.Options{})
	ctx := context.Background()
	s.execAll(t, "CREATE SEQUENCE rs INCREMENT BY 3 START 10", "CREATE TABLE rt (id serial, v text)",
		"INSERT INTO rt (v) VALUES ('a'), ('b')")
	conn := s.connect(t)
	if got := queryInt(t, conn, "SELECT max(nextval('rs')) FROM generate_series(1, 5)"); got != 22 {
		t.Fatalf("fifth value %d, want 22", got)
	}
	conn.Close(ctx)
	s.restart(t)
	conn = s.connect(t)
	defer conn.Close(ctx)
	_, err := conn.Exec(ctx, "SELECT currval('rs')")
	wantPgErr(t, err, "55000", `currval of sequence "rs" is not yet defined in this session`)
	if got := queryInt(t, conn, "SELECT nextval('rs')"); got <= 22 || (got-10)%3 != 0 {
		t.Fatalf("after restart nextval = %d, want a step of 3 above 22", got)
	}
	execAll(t, conn, "INSERT INTO rt (v) VALUES ('c')")
	if got := queryInt(t, conn, "SELECT id FROM rt WHERE v = 'c'"); got <= 2 {
		t.Fatalf("serial id after restart %d, want above 2", got)
	}
}

// TestSequenceKill9 kills streamsqld (a subprocess) with SIGKILL while
// sessions call nextval and insert into a serial column, and restarts it:
// every value after the restart is above every value handed out before,
// and the serial column never repeats an id.
func TestSequenceKill9(t *testing.T) {
	srv := testserver.StartBuilt(t, "warn")
	ctx := context.Background()
	conn := srv.Dial(t)
	execAll(t, conn, "CREATE SEQUENCE ks", "CREATE TABLE kt (id serial PRIMARY KEY, round int)")
	conn.Close(ctx)
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	var maxSeen int64
	for round := 0; round < 4; round++ {
		before := maxSeen
		var mu sync.Mutex
		var wg sync.WaitGroup
		stop := time.Now().Add(time.Duration(150+rng.Intn(300)) * time.Millisecond)
		for c := 0; c < 4; c++ {
			cn := srv.Dial(t)
			wg.Add(1)
			go func(cn *pgx.Conn) {
				defer wg.Done()
				for time.Now().Before(stop) {
					var v int64
					if err := cn.QueryRow(ctx, "SELECT nextval('ks')").Scan(&v); err != nil {
						t.Error(err)
						return
					}
					if v <= before {
						t.Errorf("round %d: nextval %d not above an earlier round's values (%d)", round, v, before)
						return
					}
					mu.Lock()
					maxSeen = max(maxSeen, v)
					mu.Unlock()
					if _, err := cn.Exec(ctx, "INSERT INTO kt (round) VALUES ($1)", round); err != nil {
						t.Error(err)
						return
					}
				}
			}(cn)
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		mu.Lock()
		roundMax := maxSeen
		mu.Unlock()
		srv = srv.Restart(t)
		c := srv.Dial(t)
		var v int64
		if err := c.QueryRow(ctx, "SELECT nextval('ks')").Scan(&v); err != nil {
			t.Fatal(err)
		}
		if v <= roundMax {
			t.Fatalf("after kill -9 nextval = %d, but %d was handed out before", v, roundMax)
		}
		maxSeen = v
		c.Close(ctx)
	}
	c := srv.Dial(t)
	defer c.Close(ctx)
	var n, distinct int64
	if err := c.QueryRow(ctx, "SELECT count(*), count(DISTINCT id) FROM kt").Scan(&n, &distinct); err != nil {
		t.Fatal(err)
	}
	if n == 0 || n != distinct {
		t.Fatalf("serial column: %d rows, %d distinct ids", n, distinct)
	}
	// Ids are increasing across rounds: a later round never reuses an
	// earlier round's range.
	rows := queryStrings(t, c, "SELECT round::text || ':' || min(id)::text || '-' || max(id)::text FROM kt GROUP BY round ORDER BY round")
	var prevHi int64
	for _, r := range rows {
		var rd, lo, hi int64
		if _, err := fmt.Sscanf(r, "%d:%d-%d", &rd, &lo, &hi); err != nil {
			t.Fatal(err)
		}
		if lo <= prevHi {
			t.Fatalf("round %d ids %d..%d overlap an earlier round's (up to %d)", rd, lo, hi, prevHi)
		}
		prevHi = hi
	}
}
