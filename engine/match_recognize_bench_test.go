package engine_test

import (
	"context"
	"testing"

	"streamsql/engine"
	"streamsql/internal/cputime"
)

// BenchmarkMatchRecognizeBids matches three rising bids per auction within
// ten seconds over a Nexmark-shaped bid table (100 auctions, a bid every
// 10 ms, prices from a fixed pseudo-random sequence) in an ad-hoc query.
// It reports input rows per second of the query (insert not timed).
func BenchmarkMatchRecognizeBids(b *testing.B) {
	_, conn := startConn(b, engine.Options{})
	const rows = 200_000
	execAll(b, conn,
		"CREATE TABLE bid (auction int8, bidder int8, price int8, date_time timestamp)",
		`INSERT INTO bid SELECT i % 100, i % 7919, (i * 7907) % 10007, timestamp '2024-01-01' + i * interval '10 milliseconds'
		 FROM generate_series(1, 200000) AS g(i)`)
	q := `SELECT count(*), sum(n) FROM bid MATCH_RECOGNIZE (
		PARTITION BY auction ORDER BY date_time
		MEASURES count(*) AS n, LAST(c.price) AS top
		PATTERN (a b c) WITHIN INTERVAL '10' SECOND
		DEFINE b AS b.price > a.price, c AS c.price > b.price) m`
	var matches, n int64
	cpu0 := cputime.Used()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := conn.QueryRow(context.Background(), q).Scan(&matches, &n); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	cpu := cputime.Used() - cpu0
	if matches == 0 {
		b.Fatal("no matches")
	}
	reportRowRates(b, float64(rows)*float64(b.N), cpu)
	b.ReportMetric(float64(matches), "matches")
}
