package engine_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"streamsql/internal/cputime"
)

// BenchmarkScalarFunctionView reports rows per CPU-second of a
// materialized view over a 10-million-row datagen source that applies a
// scalar function to every row, a JavaScript function next to the same
// logic as a built-in expression, in one run: SELECT count(*),
// sum(f(v)) with f(v) = v * 2 + 1. One iteration is the whole run, from
// CREATE MATERIALIZED VIEW until the view has counted every row, so the
// figure covers the source, the projection, the aggregate and the
// commits, and the built-in's is the ceiling. CPU time is the whole
// process's (getrusage).
func BenchmarkScalarFunctionView(b *testing.B) {
	const rows = 10_000_000
	s := sharedStack(b)
	s.execAll(b, `CREATE OR REPLACE FUNCTION js_lin(v bigint) RETURNS bigint LANGUAGE javascript AS $$ return v * 2 + 1; $$`)
	for _, c := range []struct{ name, expr string }{{"javascript", "js_lin(v)"}, {"builtin", "v * 2 + 1"}} {
		b.Run(c.name, func(b *testing.B) {
			conn := s.connect(b)
			defer conn.Close(context.Background())
			ctx := context.Background()
			var cpu, wall time.Duration
			for i := 0; i < b.N; i++ {
				src, mv := fmt.Sprintf("fn_src_%s_%d", c.name, i), fmt.Sprintf("fn_mv_%s_%d", c.name, i)
				execAll(b, conn, fmt.Sprintf(`CREATE SOURCE %s (v bigint) WITH (connector = 'datagen',
					fields.v.min = '0', fields.v.max = '1000000', datagen.rows.limit = '%d')`, src, rows))
				start, cpu0 := time.Now(), cputime.Used()
				if _, err := conn.Exec(ctx, fmt.Sprintf("CREATE MATERIALIZED VIEW %s AS SELECT count(*) AS n, sum(%s) AS s FROM %s", mv, c.expr, src)); err != nil {
					b.Fatal(err)
				}
				awaitRows(b, conn, "SELECT coalesce(sum(n), 0)::bigint FROM "+mv, rows, 20*time.Millisecond)
				wall += time.Since(start)
				cpu += cputime.Used() - cpu0
				execAll(b, conn, "DROP MATERIALIZED VIEW "+mv, "DROP SOURCE "+src)
			}
			b.ReportMetric(float64(b.N)*rows/wall.Seconds(), "rows/s")
			b.ReportMetric(float64(b.N)*rows/cpu.Seconds(), "rows/cpu-s")
		})
	}
}
