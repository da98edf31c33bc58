package engine_test

import (
	"context"
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"
	"time"

	"streamsql/internal/testserver"
)

// TestAsofJoinKill9 kills streamsqld (a subprocess, with a state memory
// budget small enough that the ASOF joins evict their join keys and read
// them back) with SIGKILL while ASOF join views follow trades and quotes
// arriving slightly out of time order, with watermarks cleaning the
// joins' state, and starts it again each time. At the end every view
// holds exactly what a plain SQL reference (a LATERAL subquery taking the
// nearest quote) gives over the same rows: nothing lost, nothing
// doubled, no stale pairing.
func TestAsofJoinKill9(t *testing.T) {
	srv := testserver.StartBuilt(t, "warn", "-state-memory", "4KB")
	ctx := context.Background()
	conn := srv.Dial(t)
	execAll(t, conn, "SET streaming_parallelism = 2",
		"CREATE TABLE trades (id int PRIMARY KEY, sym text, ts timestamp, qty int, WATERMARK FOR ts AS ts - INTERVAL '5' SECOND) APPEND ONLY",
		"CREATE TABLE quotes (id int PRIMARY KEY, sym text, ts timestamp, bid int, WATERMARK FOR ts AS ts - INTERVAL '5' SECOND) APPEND ONLY")
	views := map[string]string{
		"asof_ge": `SELECT t.id, t.sym, q.id AS qid, q.bid FROM trades t ASOF JOIN quotes q MATCH_CONDITION (t.ts >= q.ts) ON t.sym = q.sym`,
		"asof_le": `SELECT t.id, q.id AS qid FROM trades t ASOF LEFT JOIN quotes q MATCH_CONDITION (q.ts >= t.ts) ON q.sym = t.sym`,
		"asof_gt": `SELECT t.id, q.id AS qid FROM trades t ASOF LEFT JOIN quotes q MATCH_CONDITION (t.ts > q.ts) ON t.sym = q.sym`,
	}
	refs := map[string]string{
		"asof_ge": `SELECT t.id, t.sym, q.id, q.bid FROM trades t JOIN LATERAL (SELECT * FROM quotes q WHERE q.sym = t.sym AND q.ts <= t.ts ORDER BY q.ts DESC LIMIT 1) q ON true`,
		"asof_le": `SELECT t.id, q.id FROM trades t LEFT JOIN LATERAL (SELECT * FROM quotes q WHERE q.sym = t.sym AND q.ts >= t.ts ORDER BY q.ts LIMIT 1) q ON true`,
		"asof_gt": `SELECT t.id, q.id FROM trades t LEFT JOIN LATERAL (SELECT * FROM quotes q WHERE q.sym = t.sym AND q.ts < t.ts ORDER BY q.ts DESC LIMIT 1) q ON true`,
	}
	for name, q := range views {
		execAll(t, conn, "CREATE MATERIALIZED VIEW "+name+" AS "+q)
	}
	conn.Close(ctx)

	r := rand.New(rand.NewSource(2121))
	// Times move on by up to two seconds a row with two seconds of
	// disorder, within the five seconds of the watermarks: no row is
	// late. Quote times are distinct per symbol (the id in milliseconds),
	// so the nearest quote is unique.
	var base [2]int
	ts := func(side, id int) string {
		base[side] += r.Intn(2000)
		ms := base[side] + r.Intn(4000) - 2000
		if side == 1 {
			ms = ms - ms%1000 + id%1000
		}
		return fmt.Sprintf("timestamp '2026-01-02 10:00:00' + interval '%d milliseconds'", max(ms, 0)+10_000)
	}
	var syms []string
	for i := range 40 {
		syms = append(syms, fmt.Sprintf("'S%02d'", i))
	}
	nextTrade, nextQuote := 1, 1
	const kills = 4
	evicted := int64(0)
	for round := 0; round < kills; round++ {
		conn := srv.Dial(t)
		for k := 0; k < 30; k++ {
			var vals []string
			table := "trades"
			if r.Intn(2) == 0 {
				table = "quotes"
				for n := 1 + r.Intn(10); n > 0; n-- {
					vals = append(vals, fmt.Sprintf("(%d, %s, %s, %d)", nextQuote, syms[r.Intn(len(syms))], ts(1, nextQuote), r.Intn(1000)))
					nextQuote++
				}
			} else {
				for n := 1 + r.Intn(10); n > 0; n-- {
					vals = append(vals, fmt.Sprintf("(%d, %s, %s, %d)", nextTrade, syms[r.Intn(len(syms))], ts(0, nextTrade), r.Intn(100)))
					nextTrade++
				}
			}
			execAll(t, conn, "INSERT INTO "+table+" VALUES "+strings.Join(vals, ", "))
			time.Sleep(time.Duration(r.Intn(15)) * time.Millisecond)
		}
		if round == kills-1 {
			// Before the last kill: the joins have evicted keys.
			execAll(t, conn, "FLUSH", "FLUSH")
			evicted = queryInt(t, conn, "SELECT coalesce(sum(state_evicted), 0) FROM streamsql_operator_stats WHERE operator LIKE 'AsofJoin%'")
		}
		conn.Close(ctx)
		// Kill while the views are still catching up, or a little later.
		time.Sleep(time.Duration(r.Intn(250)) * time.Millisecond)
		srv = srv.Restart(t)
	}
	if evicted == 0 {
		t.Fatal("the ASOF joins evicted nothing under the budget")
	}
	conn = srv.Dial(t)
	defer conn.Close(ctx)
	execAll(t, conn, "FLUSH")
	pairs := 0
	for name := range views {
		got := queryStrings(t, conn, "SELECT * FROM "+name)
		want := queryStrings(t, conn, refs[name])
		slices.Sort(got)
		slices.Sort(want)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("view %s after %d kills:\ngot  %d rows\nwant %d rows\nfirst difference: %s", name, kills, len(got), len(want), firstDiff(got, want))
		}
		pairs += len(want)
	}
	t.Logf("%d trades, %d quotes, %d view rows, %d join keys evicted before the last kill", nextTrade-1, nextQuote-1, pairs, evicted)
}

// firstDiff describes the first row where two sorted row lists differ.
func firstDiff(got, want []string) string {
	for i := 0; i < max(len(got), len(want)); i++ {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			return fmt.Sprintf("row %d: got %q, want %q", i, g, w)
		}
	}
	return "none"
}
