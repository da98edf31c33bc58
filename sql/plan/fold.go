package plan

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"

	"streamsql/sql/types"
	"streamsql/udf"
)

// Constant folding: an immutable function of constants has one value,
// which the planner can compute once (to narrow a scan by a key computed
// from parameters, k = $1 % 100).

// FoldCall computes an immutable function of constant arguments. ok is
// false when fn is not immutable or the call fails: the error is then
// raised, if ever, when the query runs.
func FoldCall(fn *udf.Scalar, args []*Const, t types.T) (v types.Datum, ok bool) {
	if fn == nil || fn.Volatility != udf.Immutable {
		return nil, false
	}
	defer func() {
		if recover() != nil {
			v, ok = nil, false
		}
	}()
	cols := make([]arrow.Array, len(args))
	ts := make([]types.T, len(args))
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	for i, a := range args {
		if a.Value == nil && fn.Strict {
			return nil, true
		}
		at := a.T
		if at.Kind == types.Unknown {
			at = types.TText
		}
		cols[i], ts[i] = udf.ConstColumn(at, a.Value, 1), a.T
	}
	out, err := fn.Call(&udf.Env{Context: context.Background()}, ts, cols, 1)
	if err != nil {
		return nil, false
	}
	defer out.Release()
	return types.GetDatum(out, 0, t), true
}
