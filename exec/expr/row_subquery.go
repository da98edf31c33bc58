package expr

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/exec"
	"streamsql/sql/plan"
	"streamsql/sql/types"
	"streamsql/udf"
)

// Row comparisons with a subquery: (a, b) IN (SELECT x, y ...) and
// (a, b) <> ALL (SELECT ...). Each subquery row is compared column by
// column; for "=" the row matches when every pair is equal (AND with SQL
// NULL logic), for "<>" when any pair differs (OR), for an ordering
// (<, <=, >, >=) at the first pair that is not equal, as PostgreSQL
// compares rows: a1 < b1 OR (a1 = b1 AND (a2 < b2 OR ...)). The per-row results
// then combine as for a single column: ANY is TRUE on a TRUE row, ALL is
// FALSE on a FALSE row, and otherwise a NULL row makes the result NULL.

// rowQuantified is the uncorrelated case: one result for the whole batch.
func (e *Subquery) rowQuantified(ctx *exec.Ctx, b *exec.Batch, res *subResult) (arrow.Array, error) {
	lefts, err := evalAll(ctx, b, e.Lefts)
	if err != nil {
		return nil, err
	}
	defer releaseAll(lefts)
	return e.rowCompare(ctx, lefts, b.N, res)
}

// rowCorrelated runs the plan once per row of b.
func (e *Subquery) rowCorrelated(ctx *exec.Ctx, b *exec.Batch) (arrow.Array, error) {
	lefts, err := evalAll(ctx, b, e.Lefts)
	if err != nil {
		return nil, err
	}
	defer releaseAll(lefts)
	one := make([]arrow.Array, len(lefts))
	bld := types.NewBuilder(types.TBool)
	defer bld.Release()
	for i := 0; i < b.N; i++ {
		ctx.Outer = append(ctx.Outer, exec.OuterRow{Batch: b, Row: i, Types: e.OuterTypes})
		res, err := e.run(ctx, 0)
		ctx.Outer = ctx.Outer[:len(ctx.Outer)-1]
		if err != nil {
			return nil, err
		}
		for k, l := range lefts {
			one[k] = array.NewSlice(l, int64(i), int64(i+1))
		}
		v, err := e.rowCompare(ctx, one, 1, res)
		releaseAll(one)
		res.release()
		if err != nil {
			return nil, err
		}
		types.AppendDatum(bld, types.GetDatum(v, 0, types.TBool))
		v.Release()
	}
	return bld.NewArray(), nil
}

// rowCompare computes (lefts) op ANY/ALL (rows of res) for n rows.
func (e *Subquery) rowCompare(ctx *exec.Ctx, lefts []arrow.Array, n int, res *subResult) (arrow.Array, error) {
	if e.RowEqs != nil {
		return e.rowOrderCompare(ctx, lefts, n, res)
	}
	isAll := e.Kind == plan.AllSubquery
	// anyPair: "<>" rows match on any differing pair, "=" rows fail on one.
	anyPair := e.Ops[0].Name == "<>"
	decided := make([]bool, n)
	null := make([]bool, n)
	hit := make([]bool, n)      // a pair decided the row (TRUE for <>, FALSE for =)
	pairNull := make([]bool, n) // a pair was NULL
	ts := e.Plan.Types()
	argTs := make([]types.T, 2)
	for j := 0; j < res.rows; j++ {
		clear(hit)
		clear(pairNull)
		for k, left := range lefts {
			rt := ts[k]
			d := types.GetDatum(res.cols[k], j, rt)
			right := broadcast(rt, d, n)
			argTs[0], argTs[1] = e.Lefts[k].Type(), rt
			cmp, err := e.Ops[k].Call(&ctx.Env, argTs, []arrow.Array{left, right}, n)
			right.Release()
			if err != nil {
				return nil, err
			}
			bc, _ := cmp.(*array.Boolean)
			for i := 0; i < n; i++ {
				switch {
				case bc == nil || bc.IsNull(i):
					pairNull[i] = true
				case bc.Value(i) == anyPair:
					hit[i] = true
				}
			}
			cmp.Release()
		}
		for i := 0; i < n; i++ {
			var rowTrue bool
			switch {
			case hit[i]:
				rowTrue = anyPair
			case pairNull[i]:
				null[i] = true
				continue
			default:
				rowTrue = !anyPair
			}
			if rowTrue != isAll {
				decided[i] = true
			}
		}
	}
	return anyResult(decided, null, isAll), nil
}

// Three-valued booleans of rowOrderCompare.
const (
	triFalse int8 = iota
	triTrue
	triNull
)

// rowOrderCompare is rowCompare for an ordering (e.RowEqs set): each
// subquery row is compared left to right, the first pair that is not
// equal deciding, with SQL's three-valued AND and OR.
func (e *Subquery) rowOrderCompare(ctx *exec.Ctx, lefts []arrow.Array, n int, res *subResult) (arrow.Array, error) {
	isAll := e.Kind == plan.AllSubquery
	decided := make([]bool, n)
	null := make([]bool, n)
	ts := e.Plan.Types()
	last := len(lefts) - 1
	cmp := make([][]int8, len(lefts)) // the column's ordering (strict but the last)
	eq := make([][]int8, len(lefts))
	for k := range lefts {
		cmp[k], eq[k] = make([]int8, n), make([]int8, n)
	}
	call := func(fn *udf.Scalar, k int, right arrow.Array, out []int8) error {
		argTs := []types.T{e.Lefts[k].Type(), ts[k]}
		v, err := fn.Call(&ctx.Env, argTs, []arrow.Array{lefts[k], right}, n)
		if err != nil {
			return err
		}
		defer v.Release()
		bc, _ := v.(*array.Boolean)
		for i := range n {
			switch {
			case bc == nil || bc.IsNull(i):
				out[i] = triNull
			case bc.Value(i):
				out[i] = triTrue
			default:
				out[i] = triFalse
			}
		}
		return nil
	}
	for j := 0; j < res.rows; j++ {
		for k := range lefts {
			right := broadcast(ts[k], types.GetDatum(res.cols[k], j, ts[k]), n)
			err := call(e.Ops[k], k, right, cmp[k])
			if err == nil && k < last {
				err = call(e.RowEqs[k], k, right, eq[k])
			}
			right.Release()
			if err != nil {
				return nil, err
			}
		}
		for i := range n {
			acc := cmp[last][i]
			for k := last - 1; k >= 0; k-- {
				acc = triOr(cmp[k][i], triAnd(eq[k][i], acc))
			}
			switch {
			case acc == triNull:
				null[i] = true
			case (acc == triTrue) != isAll:
				decided[i] = true
			}
		}
	}
	return anyResult(decided, null, isAll), nil
}

func triAnd(a, b int8) int8 {
	switch {
	case a == triFalse || b == triFalse:
		return triFalse
	case a == triNull || b == triNull:
		return triNull
	}
	return triTrue
}

func triOr(a, b int8) int8 {
	switch {
	case a == triTrue || b == triTrue:
		return triTrue
	case a == triNull || b == triNull:
		return triNull
	}
	return triFalse
}
