package engine_test

import (
	"context"
	"fmt"
	"testing"

	"streamsql/engine"
	"streamsql/internal/cputime"
)

// BenchmarkViewReadBySink measures what a sink reading a materialized
// view costs the view while the sink runs: rows of 100,000-row INSERT
// ... SELECT statements go through a view (a projection of the table)
// that no sink reads (sinks=0) or that a blackhole sink reads (sinks=1),
// until FLUSH. The view keeps each epoch's changes for its sinks' view
// log (exec/stream/sink_view_log.go) in case a sink does not commit the
// epoch; rows/cpu-s is of the whole process. Run with
//
//	go test ./engine -run '^$' -bench ViewReadBySink -benchtime 5x
func BenchmarkViewReadBySink(b *testing.B) {
	const rows = 100_000
	for _, sinks := range []int{0, 1} {
		b.Run(fmt.Sprintf("sinks=%d", sinks), func(b *testing.B) {
			s := openStack(b, engine.Options{})
			s.execAll(b, "CREATE TABLE t (id bigint PRIMARY KEY, k int, v bigint, s text)",
				"CREATE MATERIALIZED VIEW tv AS SELECT id, k, v, s FROM t")
			if sinks > 0 {
				s.execAll(b, "CREATE SINK tv_out FROM tv WITH (connector = 'blackhole')")
			}
			conn := s.connect(b)
			defer conn.Close(context.Background())
			next := int64(0)
			cpu0 := cputime.Used()
			b.ResetTimer()
			for range b.N {
				q := fmt.Sprintf("INSERT INTO t SELECT g, g %% 1000, g * 7, 'row ' || g FROM generate_series(%d, %d) g", next, next+rows-1)
				next += rows
				execAll(b, conn, q, "FLUSH")
			}
			reportRowRates(b, float64(b.N*rows), cputime.Used()-cpu0)
		})
	}
}
