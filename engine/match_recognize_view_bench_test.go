package engine_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"streamsql/engine"
	"streamsql/internal/cputime"
)

// BenchmarkMatchRecognizeViewBids maintains, in a materialized view, three
// rising bids per auction within 10 seconds over the Nexmark bid stream
// (a bounded nexmark source of 200,000 events, 184,000 of them bids, a
// millisecond of event time apart; watermark 4 s behind). Each iteration
// creates a source and view and waits until the view's job has read every
// bid and a checkpoint after it committed. It reports bids per CPU-second
// of the whole process (source generation, watermark filter, matching,
// view writes and commits included).
func BenchmarkMatchRecognizeViewBids(b *testing.B) {
	s := openStack(b, engine.Options{})
	conn := s.connect(b)
	defer conn.Close(context.Background())
	const events = 200_000
	const bids = events / 50 * 46 // event n is a bid unless n%50 < 4
	var cpu time.Duration
	var matches int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		src, view := fmt.Sprintf("bid%d", i), fmt.Sprintf("rising%d", i)
		b.StartTimer()
		cpu0 := cputime.Used()
		execAll(b, conn, fmt.Sprintf(`CREATE SOURCE %s (auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR,
			date_time TIMESTAMP, extra VARCHAR, WATERMARK FOR date_time AS date_time - INTERVAL '4' SECOND)
			WITH (connector = 'nexmark', nexmark.table.type = 'bid', nexmark.event.num = '%d', nexmark.event.rate = '1000')`, src, events),
			fmt.Sprintf(`CREATE MATERIALIZED VIEW %s AS SELECT * FROM %s MATCH_RECOGNIZE (
				PARTITION BY auction ORDER BY date_time
				MEASURES a.bidder AS first_bidder, LAST(c.price) AS top, LAST(c.date_time) AS at
				PATTERN (a b c) WITHIN INTERVAL '10' SECOND
				DEFINE b AS b.price > a.price, c AS c.price > b.price) m`, view, src))
		deadline := time.Now().Add(5 * time.Minute)
		for {
			var in int64
			for _, j := range s.Engine.Jobs() {
				if j.Name == view {
					in = j.RowsIn
					if j.Err != nil {
						b.Fatal(j.Err)
					}
				}
			}
			if in >= bids {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("the view read %d of %d bids", in, bids)
			}
			time.Sleep(5 * time.Millisecond)
		}
		execAll(b, conn, "FLUSH")
		cpu += cputime.Used() - cpu0
		b.StopTimer()
		matches = queryInt(b, conn, "SELECT count(*) FROM "+view)
		execAll(b, conn, "DROP MATERIALIZED VIEW "+view, "DROP SOURCE "+src)
		b.StartTimer()
	}
	b.StopTimer()
	if matches == 0 {
		b.Fatal("no matches")
	}
	reportRowRates(b, float64(bids)*float64(b.N), cpu)
	b.ReportMetric(float64(matches), "matches")
}
