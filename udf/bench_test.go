package udf

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"streamsql/sql/types"
)

func BenchmarkSumGrouped(b *testing.B) {
	const n = 4096
	vals := make([]types.Datum, n)
	groups := make([]uint32, n)
	for i := range vals {
		vals[i] = int64(i)
		groups[i] = uint32(i % 100)
	}
	col := types.ArrayFromDatums(types.TInt8, vals)
	defer col.Release()
	a, casts, _ := LookupAggregate("sum", []types.T{types.TInt8})
	acc := a.New(casts)
	defer acc.Release()
	args := []arrow.Array{col}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := acc.Update(groups, 100, args, n); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*n/b.Elapsed().Seconds()/1e6, "Mrows/s")
}
