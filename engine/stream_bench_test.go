package engine_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"streamsql/internal/cputime"
)

// awaitRows polls q, a query of one count, every poll until it returns
// want.
func awaitRows(b *testing.B, conn *pgx.Conn, q string, want int64, poll time.Duration) {
	b.Helper()
	for {
		var n int64
		if err := conn.QueryRow(context.Background(), q).Scan(&n); err != nil {
			b.Fatal(err)
		}
		if n == want {
			return
		}
		time.Sleep(poll)
	}
}

// reportRowRates reports rows (over all b.N iterations) per second of
// the benchmark's time and per CPU-second cpu of the whole process.
func reportRowRates(b *testing.B, rows float64, cpu time.Duration) {
	b.ReportMetric(rows/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(rows/cpu.Seconds(), "rows/cpu-s")
}

// benchDatagenView runs b.N times, on one connection to s: the
// statements setup returns (which create the datagen source src), then
// CREATE MATERIALIZED VIEW mv AS the query view returns, timed until the
// sum of mv's column n reaches counted; then it drops both. It reports
// rows (the source's, per run) per second and per CPU-second of the
// whole process over the timed spans.
func benchDatagenView(b *testing.B, s *benchStack, name string, rows, counted int64, setup func(src string) []string, view func(src string) string) {
	conn := s.connect(b)
	defer conn.Close(context.Background())
	var cpu, wall time.Duration
	for i := 0; i < b.N; i++ {
		src, mv := fmt.Sprintf("%s_src_%d", name, i), fmt.Sprintf("%s_mv_%d", name, i)
		execAll(b, conn, setup(src)...)
		start, cpu0 := time.Now(), cputime.Used()
		if _, err := conn.Exec(context.Background(), "CREATE MATERIALIZED VIEW "+mv+" AS "+view(src)); err != nil {
			b.Fatal(err)
		}
		awaitRows(b, conn, "SELECT coalesce(sum(n), 0)::bigint FROM "+mv, counted, 20*time.Millisecond)
		wall += time.Since(start)
		cpu += cputime.Used() - cpu0
		execAll(b, conn, "DROP MATERIALIZED VIEW "+mv, "DROP SOURCE "+src)
	}
	b.ReportMetric(float64(b.N)*float64(rows)/wall.Seconds(), "rows/s")
	b.ReportMetric(float64(b.N)*float64(rows)/cpu.Seconds(), "rows/cpu-s")
}

// BenchmarkStreamGroupBy measures a streaming GROUP BY end to end: a
// datagen source of 2 million rows with 1,000 keys feeds a materialized
// view of count and sum per key, at streaming_parallelism 1 and 2. One
// iteration is the whole run, from CREATE MATERIALIZED VIEW until the
// view has counted every row; the figure is rows per second.
func BenchmarkStreamGroupBy(b *testing.B) {
	const rows = 20_000_000
	s := sharedStack(b)
	for _, par := range []int{1, 2} {
		b.Run(fmt.Sprintf("parallelism=%d", par), func(b *testing.B) {
			conn := s.connect(b)
			defer conn.Close(context.Background())
			ctx := context.Background()
			for i := 0; i < b.N; i++ {
				src, mv := fmt.Sprintf("gsrc_%d_%d", par, i), fmt.Sprintf("gmv_%d_%d", par, i)
				execAll(b, conn,
					fmt.Sprintf("SET streaming_parallelism = %d", par),
					fmt.Sprintf(`CREATE SOURCE %s (k int, v bigint) WITH (connector = 'datagen',
						fields.k.min = '1', fields.k.max = '1000', fields.v.min = '0', fields.v.max = '1000000',
						datagen.rows.limit = '%d')`, src, rows))
				start := time.Now()
				if _, err := conn.Exec(ctx, fmt.Sprintf("CREATE MATERIALIZED VIEW %s AS SELECT k, count(*) AS n, sum(v) AS s FROM %s GROUP BY k", mv, src)); err != nil {
					b.Fatal(err)
				}
				awaitRows(b, conn, "SELECT coalesce(sum(n), 0)::bigint FROM "+mv, rows, 50*time.Millisecond)
				el := time.Since(start)
				b.ReportMetric(float64(rows)/el.Seconds(), "rows/s")
				execAll(b, conn, "DROP MATERIALIZED VIEW "+mv, "DROP SOURCE "+src)
			}
		})
	}
}

// BenchmarkStreamPassThrough measures a view that keeps every row of a
// datagen source (1 million rows): the cost of materializing.
func BenchmarkStreamPassThrough(b *testing.B) {
	const rows = 1_000_000
	s := sharedStack(b)
	conn := s.connect(b)
	defer conn.Close(context.Background())
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		src, mv := fmt.Sprintf("psrc_%d", i), fmt.Sprintf("pmv_%d", i)
		if _, err := conn.Exec(ctx, fmt.Sprintf(`CREATE SOURCE %s (id bigint, v bigint, name varchar) WITH (connector = 'datagen',
			fields.id.kind = 'sequence', fields.id.start = '1', fields.v.max = '1000000', datagen.rows.limit = '%d')`, src, rows)); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if _, err := conn.Exec(ctx, fmt.Sprintf("CREATE MATERIALIZED VIEW %s AS SELECT id, v, name FROM %s", mv, src)); err != nil {
			b.Fatal(err)
		}
		for {
			var n int64
			if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+mv).Scan(&n); err != nil {
				b.Fatal(err)
			}
			if n == rows {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		b.ReportMetric(float64(rows)/time.Since(start).Seconds(), "rows/s")
		execAll(b, conn, "DROP MATERIALIZED VIEW "+mv, "DROP SOURCE "+src)
	}
}
