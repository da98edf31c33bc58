package engine_test

import (
	"fmt"
	"testing"
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
			benchDatagenView(b, s, "fn_"+c.name, rows, rows, func(src string) []string {
				return []string{fmt.Sprintf(`CREATE SOURCE %s (v bigint) WITH (connector = 'datagen',
					fields.v.min = '0', fields.v.max = '1000000', datagen.rows.limit = '%d')`, src, rows)}
			}, func(src string) string {
				return fmt.Sprintf("SELECT count(*) AS n, sum(%s) AS s FROM %s", c.expr, src)
			})
		})
	}
}
