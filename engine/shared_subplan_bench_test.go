package engine_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"streamsql/internal/cputime"
)

// BenchmarkSharedAggregation measures a view that reads one aggregation
// twice (a count per key joined with itself, the shape of Nexmark q5),
// planned once and fanned out to both readers ("shared"), against the
// same view with the second aggregation spelled count(1), which is not
// the same plan and runs twice ("twice"): a datagen source of 2 million
// rows over 1,000 keys (so that the aggregation, not the join over its
// changes, does most of the work), at streaming_parallelism 1 and 2. One
// iteration is the whole run, from CREATE MATERIALIZED VIEW until the
// view has counted every row. Figures: rows per second and rows per
// CPU-second of the whole process.
func BenchmarkSharedAggregation(b *testing.B) {
	const rows = 2_000_000
	s := sharedStack(b)
	for _, par := range []int{1, 2} {
		for _, mode := range []string{"shared", "twice"} {
			b.Run(fmt.Sprintf("parallelism=%d/%s", par, mode), func(b *testing.B) {
				conn := s.connect(b)
				defer conn.Close(context.Background())
				ctx := context.Background()
				second := "count(*)"
				if mode == "twice" {
					second = "count(1)"
				}
				var cpu, wall time.Duration
				for i := 0; i < b.N; i++ {
					src, mv := fmt.Sprintf("sh_src_%d_%s_%d", par, mode, i), fmt.Sprintf("sh_mv_%d_%s_%d", par, mode, i)
					execAll(b, conn,
						fmt.Sprintf("SET streaming_parallelism = %d", par),
						fmt.Sprintf(`CREATE SOURCE %s (k int, v bigint) WITH (connector = 'datagen',
							fields.k.min = '1', fields.k.max = '1000', fields.v.min = '0', fields.v.max = '1000000',
							datagen.rows.limit = '%d')`, src, rows))
					start, cpu0 := time.Now(), cputime.Used()
					if _, err := conn.Exec(ctx, fmt.Sprintf(`CREATE MATERIALIZED VIEW %s AS
						SELECT a.k, a.n, b.m FROM (SELECT k, count(*) AS n FROM %s GROUP BY k) a
						JOIN (SELECT k, %s AS m FROM %s GROUP BY k) b ON a.k = b.k`, mv, src, second, src)); err != nil {
						b.Fatal(err)
					}
					awaitRows(b, conn, "SELECT coalesce(sum(n) + sum(m), 0)::bigint FROM "+mv, 2*rows, 20*time.Millisecond)
					wall += time.Since(start)
					cpu += cputime.Used() - cpu0
					execAll(b, conn, "DROP MATERIALIZED VIEW "+mv, "DROP SOURCE "+src)
				}
				b.ReportMetric(float64(b.N)*rows/wall.Seconds(), "rows/s")
				b.ReportMetric(float64(b.N)*rows/cpu.Seconds(), "rows/cpu-s")
			})
		}
	}
}
