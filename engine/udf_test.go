package engine_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"streamsql/engine"
)

// JavaScript functions that loop forever, allocate without bound or
// throw: an ad-hoc call fails with 38000 and the function's message, the
// server keeps serving; in a materialized view the failing rows get NULL
// and go to rejects while the view keeps following its table. Functions,
// the view and the rejects survive a restart.
func TestUDFJavaScriptRunawaysAndRestart(t *testing.T) {
	s := openStack(t, engine.Options{Settings: map[string]string{"udf_timeout": "3s", "udf_memory_limit": "16MB"}})
	ctx := context.Background()
	s.execAll(t,
		"CREATE TABLE trades (id int PRIMARY KEY, qty int)",
		`CREATE FUNCTION risk(q int) RETURNS int LANGUAGE javascript AS $$
		   if (q === 13) while (true) {}
		   if (q === 14) { const xs = []; while (true) xs.push('x'.repeat(1 << 20) + xs.length); }
		   if (q === 15) throw new Error('bad quantity ' + q);
		   return q * 2;
		 $$`,
		"INSERT INTO trades VALUES (1, 1), (2, 2)",
		"CREATE MATERIALIZED VIEW scored AS SELECT id, risk(qty) AS r FROM trades")

	conn := s.connect(t)
	for q, want := range map[int]string{13: "timed out after 3s", 14: "exceeded the memory limit of 16MB", 15: "Error: bad quantity 15"} {
		var r *int32
		err := conn.QueryRow(ctx, "SELECT risk($1)", q).Scan(&r)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "38000" || !strings.Contains(pe.Message, want) {
			t.Errorf("risk(%d): got %v, want 38000 %q", q, err, want)
		}
		var one int
		if err := conn.QueryRow(ctx, "SELECT risk(21)").Scan(&one); err != nil || one != 42 {
			t.Fatalf("after risk(%d) the server answers %d, %v", q, one, err)
		}
	}
	conn.Close(ctx)

	s.execAll(t, "INSERT INTO trades VALUES (13, 13), (14, 14), (15, 15), (16, 16)", "FLUSH")
	checkScored(t, s, map[int]*int{1: ptr(2), 2: ptr(4), 13: nil, 14: nil, 15: nil, 16: ptr(32)})
	checkRejects(t, s, 3)
	// The job goes on.
	s.execAll(t, "INSERT INTO trades VALUES (17, 17)", "UPDATE trades SET qty = 3 WHERE id = 15", "FLUSH")
	checkScored(t, s, map[int]*int{1: ptr(2), 2: ptr(4), 13: nil, 14: nil, 15: ptr(6), 16: ptr(32), 17: ptr(34)})

	s.restart(t)
	s.execAll(t, "INSERT INTO trades VALUES (18, 18), (19, 15)", "DELETE FROM trades WHERE id = 1", "FLUSH")
	checkScored(t, s, map[int]*int{2: ptr(4), 13: nil, 14: nil, 15: ptr(6), 16: ptr(32), 17: ptr(34), 18: ptr(36), 19: nil})
	// The update of row 15 retracted its old row, which failed again:
	// the retraction carries the same NULL the insert did.
	checkRejects(t, s, 5)
	conn = s.connect(t)
	defer conn.Close(ctx)
	var r int
	if err := conn.QueryRow(ctx, "SELECT risk(5)").Scan(&r); err != nil || r != 10 {
		t.Fatalf("risk(5) after restart: %d, %v", r, err)
	}
}

func ptr(v int) *int { return &v }

func checkScored(t *testing.T, s *benchStack, want map[int]*int) {
	t.Helper()
	conn := s.connect(t)
	defer conn.Close(context.Background())
	rows, err := conn.Query(context.Background(), "SELECT id, r FROM scored")
	if err != nil {
		t.Fatal(err)
	}
	got := map[int]*int{}
	for rows.Next() {
		var id int
		var r *int
		if err := rows.Scan(&id, &r); err != nil {
			t.Fatal(err)
		}
		got[id] = r
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("scored has %d rows, want %d: %v", len(got), len(want), got)
	}
	for id, w := range want {
		g, ok := got[id]
		if !ok || (g == nil) != (w == nil) || g != nil && *g != *w {
			t.Errorf("scored row %d: got %v, want %v", id, deref(g), deref(w))
		}
	}
}

func deref(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

func checkRejects(t *testing.T, s *benchStack, want int) {
	t.Helper()
	conn := s.connect(t)
	defer conn.Close(context.Background())
	var n int
	var errs string
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := conn.QueryRow(context.Background(),
			"SELECT count(*), string_agg(error, ' | ' ORDER BY error) FROM rejects WHERE job = 'scored' AND partition = 'function risk(integer)'").Scan(&n, &errs)
		if err != nil {
			t.Fatal(err)
		}
		if n >= want || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n != want {
		t.Fatalf("rejects of scored: %d, want %d (%s)", n, want, errs)
	}
	for _, w := range []string{"timed out after 3s", "exceeded the memory limit of 16MB", "Error: bad quantity 15"} {
		if !strings.Contains(errs, w) {
			t.Errorf("rejects %q lack %q", errs, w)
		}
	}
}
