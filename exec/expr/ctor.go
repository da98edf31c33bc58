package expr

import (
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/exec"
	"streamsql/sql/types"
	"streamsql/udf"
)

// Expressions that make values of their own: ARRAY[...] and the stream
// plan's proctime().

// ProcTime is proctime() in a stream plan: the wall-clock time at which
// each chunk passes.
type ProcTime struct{}

func (a *ArrayCtor) Type() types.T { return a.T }
func (ProcTime) Type() types.T     { return types.TTimestampTZ }

func (a *ArrayCtor) Eval(ctx *exec.Ctx, bt *exec.Batch) (arrow.Array, error) {
	cols, err := evalAll(ctx, bt, a.Elems)
	if err != nil {
		return nil, err
	}
	defer releaseAll(cols)
	bld := array.NewStringBuilder(types.Mem)
	defer bld.Release()
	bld.Reserve(bt.N)
	et := *a.T.Elem
	texts := make([]string, len(cols))
	nulls := make([]bool, len(cols))
	loc := ctx.Location
	if loc == nil {
		loc = time.UTC
	}
	var buf []byte
	for r := 0; r < bt.N; r++ {
		for j, c := range cols {
			nulls[j] = c.IsNull(r)
			texts[j] = ""
			if !nulls[j] {
				buf = types.AppendText(buf[:0], types.GetDatum(c, r, et), et, loc)
				texts[j] = string(buf)
			}
		}
		bld.Append(udf.FormatArrayText(texts, nulls))
	}
	return bld.NewArray(), nil
}

func (ProcTime) Eval(_ *exec.Ctx, b *exec.Batch) (arrow.Array, error) {
	return types.ConstArray(types.TTimestampTZ, types.TimeToTimestamp(time.Now()), b.N), nil
}
