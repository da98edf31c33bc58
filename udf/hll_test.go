package udf

import (
	"math"
	"testing"

	"streamsql/sql/types"
)

// TestHLLErrorBound checks the documented error of approx_count_distinct:
// within 2.5% (about three standard errors) over a range of set sizes,
// and exact for small sets.
func TestHLLErrorBound(t *testing.T) {
	for _, n := range []int{1, 10, 100, 300, 1000, 10_000, 50_000, 200_000, 1_000_000} {
		var s HLLSketch
		for i := range n {
			// each value twice: duplicates must not count
			s.Add(HLLHashInt(int64(i) * 2654435761))
			s.Add(HLLHashInt(int64(i) * 2654435761))
		}
		est := s.Estimate()
		rel := math.Abs(float64(est)-float64(n)) / float64(n)
		if n <= 100 && est != int64(n) {
			t.Errorf("n=%d: estimate %d, want exact", n, est)
		}
		if rel > 0.025 {
			t.Errorf("n=%d: estimate %d is %.2f%% off", n, est, rel*100)
		}
	}
}

// TestHLLHashEqualValues: values that are equal in SQL hash equally.
func TestHLLHashEqualValues(t *testing.T) {
	one, _ := types.ParseText("1.0", types.TNumeric, nil)
	one2, _ := types.ParseText("1.000", types.TNumeric, nil)
	if HLLHash(one, types.TNumeric) != HLLHash(one2, types.TNumeric) {
		t.Error("1.0 and 1.000 hash differently")
	}
	if HLLHash(0.0, types.TFloat8) != HLLHash(math.Copysign(0, -1), types.TFloat8) {
		t.Error("0 and -0 hash differently")
	}
	if HLLHash(int64(7), types.TInt4) != HLLHashInt(7) {
		t.Error("the integer paths differ")
	}
}
