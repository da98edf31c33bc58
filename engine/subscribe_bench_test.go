package engine_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"streamsql/engine"
)

// BenchmarkSubscribeLatency measures the time from a committed INSERT to
// its row arriving at a SUBSCRIBE client over pgx, with writers at
// SUBSCRIBE_RATE changes per second (100,000) for 5 s and the default
// barrier interval (20 ms). It reports the p50, p99 and max latency; b.N
// is ignored (one run), so run it with -benchtime=1x.
func BenchmarkSubscribeLatency(b *testing.B) {
	const rate = 100_000
	const perStmt = 1_000 // rows per INSERT: 100 statements a second
	const dur = 5 * time.Second
	ts, w := startConn(b, engine.Options{})
	ctx := context.Background()
	execAll(b, w,
		"CREATE TABLE lat (id bigint PRIMARY KEY, batch int)",
		"CREATE MATERIALIZED VIEW latv AS SELECT id, batch FROM lat")
	r := connect(b, ts, nil)
	rows, err := r.Query(ctx, "SUBSCRIBE latv WITH (SNAPSHOT = false, PROGRESS)")
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() { // the first progress row: the subscription is live
		if v, _ := rows.Values(); v[2].(bool) {
			break
		}
	}
	batches := int(dur.Seconds() * rate / perStmt)
	var mu sync.Mutex
	committed := make([]time.Time, batches)
	go func() {
		tick := time.NewTicker(time.Second * perStmt / rate)
		defer tick.Stop()
		for i := 0; i < batches; i++ {
			<-tick.C
			q := fmt.Sprintf("INSERT INTO lat SELECT g, %d FROM generate_series(%d, %d) AS g", i, i*perStmt+1, (i+1)*perStmt)
			if _, err := w.Exec(ctx, q); err != nil {
				b.Error(err)
				return
			}
			mu.Lock()
			committed[i] = time.Now()
			mu.Unlock()
		}
	}()
	b.ResetTimer()
	lat := make([]time.Duration, 0, batches*perStmt)
	start := time.Now()
	for len(lat) < batches*perStmt && rows.Next() {
		vals := rows.RawValues()
		if vals[3] == nil { // a progress row
			continue
		}
		now := time.Now()
		v, _ := rows.Values()
		batch := v[4].(int32)
		mu.Lock()
		c := committed[batch]
		mu.Unlock()
		if c.IsZero() {
			// The row arrived before Exec returned: count it as 0.
			c = now
		}
		lat = append(lat, now.Sub(c))
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if len(lat) < batches*perStmt {
		b.Fatalf("got %d rows of %d: %v", len(lat), batches*perStmt, rows.Err())
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	p := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(p(0.50), "p50-ms")
	b.ReportMetric(p(0.99), "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "rows/s")
}
