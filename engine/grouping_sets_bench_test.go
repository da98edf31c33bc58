package engine_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"streamsql/internal/cputime"
)

// BenchmarkCubeView measures a view grouped by CUBE of 3 and of 4
// columns: a datagen source of 500,000 rows (10 values per column) feeds
// count and sum per grouping set, at streaming_parallelism 1. One
// iteration is the whole run, from CREATE MATERIALIZED VIEW until every
// grouping set has counted every row. Figures: input rows per second and
// per CPU-second of the whole process.
func BenchmarkCubeView(b *testing.B) {
	const rows = 500_000
	s := sharedStack(b)
	for _, n := range []int{3, 4} {
		b.Run(fmt.Sprintf("cube=%d", n), func(b *testing.B) {
			conn := s.connect(b)
			defer conn.Close(context.Background())
			ctx := context.Background()
			cols := []string{"a", "b", "c", "d"}[:n]
			var cpu, wall time.Duration
			for i := 0; i < b.N; i++ {
				src, mv := fmt.Sprintf("cube_src_%d_%d", n, i), fmt.Sprintf("cube_mv_%d_%d", n, i)
				execAll(b, conn,
					"SET streaming_parallelism = 1",
					fmt.Sprintf(`CREATE SOURCE %s (a int, b int, c int, d int, v bigint) WITH (connector = 'datagen',
						fields.a.min = '1', fields.a.max = '10', fields.b.min = '1', fields.b.max = '10',
						fields.c.min = '1', fields.c.max = '10', fields.d.min = '1', fields.d.max = '10',
						fields.v.min = '0', fields.v.max = '1000000', datagen.rows.limit = '%d')`, src, rows))
				start, cpu0 := time.Now(), cputime.Used()
				list := strings.Join(cols, ", ")
				if _, err := conn.Exec(ctx, fmt.Sprintf(`CREATE MATERIALIZED VIEW %s AS
					SELECT %s, count(*) AS n, sum(v) AS s, GROUPING(%s) AS g FROM %s GROUP BY CUBE (%s)`, mv, list, list, src, list)); err != nil {
					b.Fatal(err)
				}
				// Every row is counted once per grouping set: 2^n sets.
				awaitRows(b, conn, "SELECT coalesce(sum(n), 0)::bigint FROM "+mv, int64(rows)<<n, 20*time.Millisecond)
				wall += time.Since(start)
				cpu += cputime.Used() - cpu0
				execAll(b, conn, "DROP MATERIALIZED VIEW "+mv, "DROP SOURCE "+src)
			}
			b.ReportMetric(float64(b.N)*rows/wall.Seconds(), "rows/s")
			b.ReportMetric(float64(b.N)*rows/cpu.Seconds(), "rows/cpu-s")
		})
	}
}
