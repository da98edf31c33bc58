package engine_test

import (
	"context"
	"fmt"
	"math/rand"
	"testing"
	"time"

	"streamsql/internal/testserver"
)

// TestMatchRecognizeKill9 kills streamsqld (a subprocess) with SIGKILL
// while MATCH_RECOGNIZE views match a stream of rows arriving out of
// event-time order, with partial matches open and rows waiting for the
// watermark, and starts it again each time. At the end every view holds
// exactly the matches of the ad-hoc query over the same rows: none lost,
// none doubled.
func TestMatchRecognizeKill9(t *testing.T) {
	srv := testserver.StartBuilt(t, "warn")
	r := rand.New(rand.NewSource(mrSeed(t) + 9))
	conn := srv.Dial(t)
	execAll(t, conn, "SET streaming_parallelism = 2",
		"CREATE TABLE ev (k int, ts timestamp, v int, WATERMARK FOR ts AS ts - INTERVAL '5' SECOND) APPEND ONLY")
	// Three rising values within 10 seconds, and random patterns.
	rising := &refQuery{vars: []string{"a", "b", "c"}, used: map[int]bool{0: true, 1: true, 2: true}, within: 10,
		pat:   &refPat{kind: 's', items: []*refPat{{kind: 'v', v: 0}, {kind: 'v', v: 1}, {kind: 'v', v: 2}}},
		conds: []*refCond{nil, {kind: 0, other: 0}, {kind: 0, other: 1}}}
	qs := []*refQuery{rising}
	qs = withRandQueries(r, qs, 4)
	for i, q := range qs {
		execAll(t, conn, fmt.Sprintf("CREATE MATERIALIZED VIEW mr%d AS %s", i, q.sql("ev")))
	}
	conn.Close(context.Background())
	stream := mrStreamOrder(r, randRows(r, 6, 60))
	const kills = 4
	per := len(stream)/kills + 1
	for round := 0; round < kills; round++ {
		conn := srv.Dial(t)
		part := stream[min(round*per, len(stream)):min((round+1)*per, len(stream))]
		for lo := 0; lo < len(part); {
			hi := min(lo+1+r.Intn(8), len(part))
			mrInsert(t, conn, "ev", part[lo:hi])
			lo = hi
			time.Sleep(time.Duration(r.Intn(15)) * time.Millisecond)
		}
		conn.Close(context.Background())
		// Kill while the views are still catching up, or a little later.
		time.Sleep(time.Duration(r.Intn(250)) * time.Millisecond)
		srv = srv.Restart(t)
	}
	conn = srv.Dial(t)
	defer conn.Close(context.Background())
	execAll(t, conn, "INSERT INTO ev VALUES (99, timestamp '1970-01-02 00:00:00', 0)", "FLUSH")
	matched := checkMatchViews(t, conn, qs, func(q *refQuery) ([]string, error) {
		return mrSelect(conn, q, "("+q.sql("ev")+") x WHERE k <> 99")
	})
	t.Logf("%d rows, %d kills, %d views, %d matches", len(stream), kills, len(qs), matched)
}
