package engine_test

import (
	"fmt"
	"math/rand"
	"testing"

	"streamsql/engine"
)

// ASOF join views against the same query run once, on random inserts,
// updates and deletes of both sides, with restarts in between (the
// views reload their state); and the query run once against a reference
// written in plain SQL (a LATERAL subquery taking the nearest quote by
// ORDER BY ... LIMIT 1). Quote times are distinct within a symbol, so the
// nearest quote is unique.
func TestAsofJoinDifferential(t *testing.T) {
	s := openStack(t, engine.Options{})
	views := map[string]string{
		"asof_ge": `SELECT t.id, t.sym, q.id AS qid, q.bid FROM trades t ASOF JOIN quotes q MATCH_CONDITION (t.ts >= q.ts) ON t.sym = q.sym`,
		"asof_gt": `SELECT t.id, q.id AS qid FROM trades t ASOF LEFT JOIN quotes q MATCH_CONDITION (t.ts > q.ts) ON t.sym = q.sym`,
		"asof_le": `SELECT t.id, q.id AS qid FROM trades t ASOF LEFT JOIN quotes q MATCH_CONDITION (q.ts >= t.ts) ON q.sym = t.sym`,
		"asof_lt": `SELECT t.id, q.id AS qid, q.bid FROM trades t ASOF JOIN quotes q MATCH_CONDITION (t.ts < q.ts) ON t.sym = q.sym`,
	}
	// The reference of each view, in plain SQL.
	refs := map[string]string{
		"asof_ge": `SELECT t.id, t.sym, q.id, q.bid FROM trades t JOIN LATERAL (SELECT * FROM quotes q WHERE q.sym = t.sym AND q.ts <= t.ts ORDER BY q.ts DESC LIMIT 1) q ON true`,
		"asof_gt": `SELECT t.id, q.id FROM trades t LEFT JOIN LATERAL (SELECT * FROM quotes q WHERE q.sym = t.sym AND q.ts < t.ts ORDER BY q.ts DESC LIMIT 1) q ON true`,
		"asof_le": `SELECT t.id, q.id FROM trades t LEFT JOIN LATERAL (SELECT * FROM quotes q WHERE q.sym = t.sym AND q.ts >= t.ts ORDER BY q.ts LIMIT 1) q ON true`,
		"asof_lt": `SELECT t.id, q.id, q.bid FROM trades t JOIN LATERAL (SELECT * FROM quotes q WHERE q.sym = t.sym AND q.ts > t.ts ORDER BY q.ts LIMIT 1) q ON true`,
	}
	s.execAll(t, "SET streaming_parallelism = 2",
		"CREATE TABLE trades (id int PRIMARY KEY, sym text, ts timestamp, qty int)",
		"CREATE TABLE quotes (id int PRIMARY KEY, sym text, ts timestamp, bid int)")
	for name, q := range views {
		s.execAll(t, "CREATE MATERIALIZED VIEW "+name+" AS "+q)
	}
	rng := rand.New(rand.NewSource(21))
	syms := []string{"'A'", "'B'", "'C'", "NULL"}
	// Quote times are distinct per symbol: a random second plus the
	// quote id in milliseconds.
	quoteTS := func(id int) string {
		return fmt.Sprintf("timestamp '2026-01-02 10:00:00' + interval '%d seconds' + interval '%d milliseconds'", rng.Intn(600), id)
	}
	tradeTS := func() string {
		return fmt.Sprintf("timestamp '2026-01-02 10:00:00' + interval '%d seconds'", rng.Intn(600))
	}
	nextQuote, nextTrade := 1, 1
	round := func() []string {
		var out []string
		for k := 0; k < 40; k++ {
			switch rng.Intn(6) {
			case 0, 1:
				out = append(out, fmt.Sprintf("INSERT INTO quotes VALUES (%d, %s, %s, %d)", nextQuote, syms[rng.Intn(4)], quoteTS(nextQuote), rng.Intn(1000)))
				nextQuote++
			case 2, 3:
				out = append(out, fmt.Sprintf("INSERT INTO trades VALUES (%d, %s, %s, %d)", nextTrade, syms[rng.Intn(4)], tradeTS(), rng.Intn(100)))
				nextTrade++
			case 4:
				id := 1 + rng.Intn(nextQuote)
				if rng.Intn(2) == 0 {
					out = append(out, fmt.Sprintf("DELETE FROM quotes WHERE id = %d", id))
				} else {
					out = append(out, fmt.Sprintf("UPDATE quotes SET ts = %s, sym = %s WHERE id = %d", quoteTS(id), syms[rng.Intn(3)], id))
				}
			case 5:
				id := 1 + rng.Intn(nextTrade)
				if rng.Intn(2) == 0 {
					out = append(out, fmt.Sprintf("DELETE FROM trades WHERE id = %d", id))
				} else {
					out = append(out, fmt.Sprintf("UPDATE trades SET ts = %s WHERE id = %d", tradeTS(), id))
				}
			}
		}
		return append(out, "FLUSH")
	}
	check := func(when string) {
		for name, q := range views {
			checkView(t, s, when+" ("+name+")", name, q, 0)
		}
	}
	for r := 0; r < 8; r++ {
		s.execAll(t, round()...)
		check(fmt.Sprintf("round %d", r))
		if r%3 == 2 {
			s.restart(t)
			s.execAll(t, "FLUSH")
			check(fmt.Sprintf("after the restart in round %d", r))
		}
	}
	// The query run once agrees with the reference.
	for name, q := range views {
		ref := refs[name]
		checkView(t, s, "reference of "+name, "("+q+") v", ref, 0)
	}
	conn := s.connect(t)
	defer conn.Close(t.Context())
	n := queryInt(t, conn, "SELECT count(*) FROM asof_ge")
	m := queryInt(t, conn, "SELECT count(*) FROM asof_le WHERE qid IS NOT NULL")
	if n < 20 || m < 20 {
		t.Fatalf("too few matches to mean anything: %d and %d", n, m)
	}
}
