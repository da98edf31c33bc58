package engine_test

import (
	"fmt"
	"testing"
)

// BenchmarkSkewedGroupBy measures a parallel GROUP BY whose key is
// skewed, with two-phase aggregation off and on: a datagen source of 4
// million rows feeds a view of count and sum per key at
// streaming_parallelism 2, where 90% of the rows have key 0 and the rest
// spread over 1,000 keys. One iteration is the whole run, from CREATE
// MATERIALIZED VIEW until the view has counted every row. Figures: rows
// per second and rows per CPU-second of the whole process.
func BenchmarkSkewedGroupBy(b *testing.B) {
	const rows = 4_000_000
	s := sharedStack(b)
	for _, mode := range []string{"off", "on"} {
		b.Run("two_phase="+mode, func(b *testing.B) {
			benchDatagenView(b, s, "skew_"+mode, rows, rows, func(src string) []string {
				return []string{
					"SET streaming_parallelism = 2",
					"SET streaming_two_phase_agg = " + mode,
					fmt.Sprintf(`CREATE SOURCE %s (k int, v bigint) WITH (connector = 'datagen',
						fields.k.min = '1', fields.k.max = '1000', fields.v.min = '0', fields.v.max = '1000000',
						datagen.rows.limit = '%d')`, src, rows)}
			}, func(src string) string {
				return "SELECT CASE WHEN v % 10 < 9 THEN 0 ELSE k END AS key, count(*) AS n, sum(v) AS s FROM " + src + " GROUP BY 1"
			})
		})
	}
}
