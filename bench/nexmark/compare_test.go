package nexmark

import (
	"math/big"
	"testing"
)

// A double next to a rounding tie compares equal to the exact decimal it
// stands for, as DuckDB's avg (a DOUBLE) and the engine's avg (a NUMERIC)
// of the same integers must.
func TestCanonicalFloatMeetsExactDecimal(t *testing.T) {
	for _, c := range []struct {
		f     float64
		exact string
	}{{7316441.4525, "7316441.4525"}, {5895649.0675, "5895649.0675"}, {0.1, "0.1"}, {-2.0005, "-2.0005"}, {1e20, "100000000000000000000"}} {
		r, _ := new(big.Rat).SetString(c.exact)
		fl, err := appendCanonical(nil, c.f)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := string(fl), string(appendRat(nil, r)); got != want {
			t.Errorf("%v canonical %s, the exact decimal %s", c.f, got, want)
		}
	}
}
