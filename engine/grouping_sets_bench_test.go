package engine_test

import (
	"fmt"
	"strings"
	"testing"
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
			list := strings.Join([]string{"a", "b", "c", "d"}[:n], ", ")
			// Every row is counted once per grouping set: 2^n sets.
			benchDatagenView(b, s, fmt.Sprintf("cube_%d", n), rows, int64(rows)<<n, func(src string) []string {
				return []string{
					"SET streaming_parallelism = 1",
					fmt.Sprintf(`CREATE SOURCE %s (a int, b int, c int, d int, v bigint) WITH (connector = 'datagen',
						fields.a.min = '1', fields.a.max = '10', fields.b.min = '1', fields.b.max = '10',
						fields.c.min = '1', fields.c.max = '10', fields.d.min = '1', fields.d.max = '10',
						fields.v.min = '0', fields.v.max = '1000000', datagen.rows.limit = '%d')`, src, rows)}
			}, func(src string) string {
				return fmt.Sprintf("SELECT %s, count(*) AS n, sum(v) AS s, GROUPING(%s) AS g FROM %s GROUP BY CUBE (%s)", list, list, src, list)
			})
		})
	}
}
