package engine_test

import (
	"context"
	"fmt"
	"math/rand"
	"testing"

	"streamsql/engine"
)

// TestMatchRecognizeViewBudget maintains MATCH_RECOGNIZE views over many
// partitions whose state is many times the state memory budget: each
// partition key comes back in bursts far apart in time, so between its
// bursts it leaves memory, idle or with partial matches open, and its next
// burst, or the watermark that ends its partial matches (WITHIN), reads
// it back (with the rows PREV reads from and those its partial matches
// hold). With restarts in between (which under the budget load only the
// keys of the partitions without buffered rows), every view equals the
// ad-hoc query over the same rows, and each view's job evicted partitions
// and read them back.
func TestMatchRecognizeViewBudget(t *testing.T) {
	s := openStack(t, engine.Options{StateMemory: stateBudget})
	r := rand.New(rand.NewSource(mrSeed(t)))
	s.execAll(t, "CREATE TABLE ev (k int, ts timestamp, v int, WATERMARK FOR ts AS ts - INTERVAL '5' SECOND) APPEND ONLY",
		"CREATE TABLE evh (k int, ts timestamp, v int)")
	// PREV in DEFINE keeps a row of every idle partition, which the first
	// row of its next burst reads (a row greater than the one before it);
	// the second view's partial matches have no WITHIN. In the third every
	// partition has a partial match open from its first even value until
	// the final row (WITHIN is longer than the test's hour), so its
	// partitions leave memory only with partial matches and come back only
	// for their next burst or the final watermark. In the fourth the
	// partial matches of a burst end ten minutes after its first even
	// value, often while the partition is out of memory. Two random
	// patterns besides.
	qs := []*refQuery{
		{vars: []string{"a", "b"}, pat: &refPat{kind: 's', items: []*refPat{{kind: 'v', v: 0}, {kind: 'q', min: 1, max: -1, items: []*refPat{{kind: 'v', v: 1}}}}},
			conds: []*refCond{{kind: 0}, {kind: 1}}, within: 8, used: map[int]bool{0: true, 1: true}},
		{vars: []string{"a", "b"}, pat: &refPat{kind: 's', items: []*refPat{{kind: 'v', v: 0}, {kind: 'v', v: 1}}},
			conds: []*refCond{{kind: 4}, {kind: 2, c: 6}}, used: map[int]bool{0: true, 1: true}},
		{vars: []string{"a", "b"}, pat: &refPat{kind: 's', items: []*refPat{{kind: 'v', v: 0}, {kind: 'q', min: 0, max: -1, items: []*refPat{{kind: 'v', v: 1}}}}},
			conds: []*refCond{{kind: 4}, nil}, within: 7200, used: map[int]bool{0: true, 1: true}},
		{vars: []string{"a", "b", "c"}, pat: &refPat{kind: 's', items: []*refPat{{kind: 'v', v: 0}, {kind: 'q', min: 0, max: -1, items: []*refPat{{kind: 'v', v: 1}}}, {kind: 'v', v: 2}}},
			conds: []*refCond{{kind: 4}, nil, {kind: 2, c: 7}}, within: 600, used: map[int]bool{0: true, 1: true, 2: true}},
	}
	qs = withRandQueries(r, qs, 6)
	for i, q := range qs {
		s.execAll(t, fmt.Sprintf("CREATE MATERIALIZED VIEW mr%d AS %s", i, q.sql("ev")))
	}
	// 600 keys (100 to 699: 99 is the key of the row that moves the
	// watermark at the end), each in three bursts of 4-8 rows minutes apart over about
	// an hour: at any time few keys are active. A key's times are distinct.
	var rows []refRow
	for k := 100; k < 700; k++ {
		ts := r.Intn(1200)
		for range 3 {
			for n := 4 + r.Intn(5); n > 0; n-- {
				ts += 1 + r.Intn(3)
				rows = append(rows, refRow{k: k, ts: ts, v: r.Intn(10)})
			}
			ts += 120 + r.Intn(900)
		}
	}
	conn := s.connect(t)
	for lo := 0; lo < len(rows); lo += 500 {
		mrInsert(t, conn, "evh", rows[lo:min(lo+500, len(rows))])
	}
	conn.Close(context.Background())
	stream := mrStreamOrder(r, rows)
	for i, lo := 0, 0; lo < len(stream); i++ {
		hi := min(lo+200+r.Intn(200), len(stream))
		s.execAll(t, mrInsertSQL("ev", stream[lo:hi]))
		s.execAll(t, "FLUSH")
		lo = hi
		if i%15 == 14 {
			s.restart(t)
		}
	}
	s.execAll(t, "INSERT INTO ev VALUES (99, timestamp '1970-01-02 00:00:00', 0)", "FLUSH")
	conn = s.connect(t)
	defer conn.Close(context.Background())
	matched := checkMatchViews(t, conn, qs, func(q *refQuery) ([]string, error) { return mrOutput(conn, q, "evh") })
	for i := range qs {
		b, evicted, reads := jobState(t, s, fmt.Sprintf("mr%d", i))
		t.Logf("mr%d: %d bytes in memory, %d partitions evicted, %d read back", i, b, evicted, reads)
		if evicted == 0 || reads == 0 {
			t.Fatalf("mr%d: evicted %d, read back %d: the budget was not enforced", i, evicted, reads)
		}
		// mr2's 600 partitions keep a partial match open until the final
		// row, and its watermark reads back each that is out of memory
		// then: most of them, as the budget holds few.
		if i == 2 && reads < 300 {
			t.Fatalf("mr2: read back %d partitions: those with partial matches open did not leave memory", reads)
		}
	}
	t.Logf("%d matches", matched)
}
