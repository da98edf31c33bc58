package expr

import (
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/exec"
	"streamsql/sql/plan"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// Subqueries in expressions. An uncorrelated subquery runs once per
// execution and its result is cached in ctx.Cache under the node; a
// correlated one runs once per input row with that row pushed on
// ctx.Outer.

// subResult is what one run of a subquery plan produced.
type subResult struct {
	col  arrow.Array // first column of all rows (nil when no rows or no columns)
	rows int
	// cols holds every column for row comparisons (cols[0] is col).
	cols []arrow.Array
}

func (r *subResult) release() {
	if r.col != nil {
		r.col.Release()
	}
	for _, c := range r.cols[min(1, len(r.cols)):] {
		c.Release()
	}
}

// run executes the plan; limit > 0 stops after that many rows. It keeps
// the first column, or for a row comparison the first len(e.Lefts).
func (e *Subquery) run(ctx *exec.Ctx, limit int) (*subResult, error) {
	if err := e.Plan.Open(ctx); err != nil {
		return nil, err
	}
	defer e.Plan.Close()
	nc := max(1, len(e.Lefts))
	parts := make([][]arrow.Array, nc)
	defer func() {
		for _, p := range parts {
			releaseAll(p)
		}
	}()
	res := &subResult{}
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		bt, err := e.Plan.Next(ctx)
		if err != nil {
			return nil, err
		}
		if bt == nil {
			break
		}
		if bt.N > 0 {
			for k := range min(nc, len(bt.Cols)) {
				bt.Cols[k].Retain()
				parts[k] = append(parts[k], bt.Cols[k])
			}
		}
		res.rows += bt.N
		bt.Release()
		if limit > 0 && res.rows >= limit {
			break
		}
	}
	if len(parts[0]) == 0 {
		// No rows, or no columns.
		return res, nil
	}
	cols := make([]arrow.Array, nc)
	for k, p := range parts {
		if len(p) == 1 {
			cols[k], parts[k] = p[0], nil
			continue
		}
		c, err := array.Concatenate(p, types.Mem)
		if err != nil {
			releaseAll(cols[:k])
			return nil, err
		}
		cols[k] = c
	}
	res.col = cols[0]
	if len(e.Lefts) > 0 {
		res.cols = cols
	}
	return res, nil
}

func (e *Subquery) limit() int {
	switch e.Kind {
	case plan.ExistsSubquery:
		return 1
	case plan.ScalarSubquery:
		return 2
	}
	return 0
}

func (e *Subquery) colType() types.T {
	ts := e.Plan.Types()
	if len(ts) == 0 {
		return types.TUnknown
	}
	return ts[0]
}

// scalarValue computes the subquery's value for one run.
func (e *Subquery) scalarValue(res *subResult) (types.Datum, error) {
	switch e.Kind {
	case plan.ExistsSubquery:
		return res.rows > 0, nil
	case plan.ScalarSubquery:
		if res.rows > 1 {
			return nil, sqlerr.New(sqlerr.CardinalityViolation, "more than one row returned by a subquery used as an expression")
		}
		if res.rows == 0 || res.col == nil {
			return nil, nil
		}
		return types.GetDatum(res.col, 0, e.colType()), nil
	case plan.ArraySubquery:
		return formatArray(res, e.colType()), nil
	}
	return nil, nil
}

// formatArray renders a column as PostgreSQL array text ({1,2,NULL}).
func formatArray(res *subResult, t types.T) string {
	var sb strings.Builder
	sb.WriteByte('{')
	for i := 0; i < res.rows && res.col != nil; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		d := types.GetDatum(res.col, i, t)
		if d == nil {
			sb.WriteString("NULL")
			continue
		}
		s := types.FormatText(d, t, nil)
		if s == "" || strings.ContainsAny(s, "{},\"\\ \t\n") || strings.EqualFold(s, "null") {
			sb.WriteByte('"')
			sb.WriteString(strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s))
			sb.WriteByte('"')
		} else {
			sb.WriteString(s)
		}
	}
	sb.WriteByte('}')
	return sb.String()
}

func (e *Subquery) Eval(ctx *exec.Ctx, b *exec.Batch) (arrow.Array, error) {
	if !e.Correlated {
		res, err := e.cached(ctx)
		if err != nil {
			return nil, err
		}
		if len(e.Lefts) > 0 {
			return e.rowQuantified(ctx, b, res)
		}
		if e.Kind == plan.AnySubquery || e.Kind == plan.AllSubquery {
			left, err := e.Left.Eval(ctx, b)
			if err != nil {
				return nil, err
			}
			defer left.Release()
			return e.quantified(ctx, left, b.N, res)
		}
		d, err := e.scalarValue(res)
		if err != nil {
			return nil, err
		}
		return broadcast(e.Type(), d, b.N), nil
	}
	if len(e.Lefts) > 0 {
		return e.rowCorrelated(ctx, b)
	}
	var left arrow.Array
	if e.Kind == plan.AnySubquery || e.Kind == plan.AllSubquery {
		l, err := e.Left.Eval(ctx, b)
		if err != nil {
			return nil, err
		}
		left = l
		defer left.Release()
	}
	bld := types.NewBuilder(e.Type())
	defer bld.Release()
	for i := 0; i < b.N; i++ {
		ctx.Outer = append(ctx.Outer, exec.OuterRow{Batch: b, Row: i, Types: e.OuterTypes})
		res, err := e.run(ctx, e.limit())
		ctx.Outer = ctx.Outer[:len(ctx.Outer)-1]
		if err != nil {
			return nil, err
		}
		var d types.Datum
		if left != nil {
			l := array.NewSlice(left, int64(i), int64(i+1))
			v, qerr := e.quantified(ctx, l, 1, res)
			l.Release()
			if qerr != nil {
				res.release()
				return nil, qerr
			}
			d = types.GetDatum(v, 0, types.TBool)
			v.Release()
		} else {
			d, err = e.scalarValue(res)
		}
		res.release()
		if err != nil {
			return nil, err
		}
		types.AppendDatum(bld, d)
	}
	return bld.NewArray(), nil
}

func (e *Subquery) Type() types.T { return e.Kind.ResultType(e.T) }

// cached returns the result of an uncorrelated subquery, running it on
// first use in this execution.
func (e *Subquery) cached(ctx *exec.Ctx) (*subResult, error) {
	if ctx.Cache == nil {
		ctx.Cache = map[any]any{}
	}
	if r, ok := ctx.Cache[e]; ok {
		return r.(*subResult), nil
	}
	res, err := e.run(ctx, e.limit())
	if err != nil {
		return nil, err
	}
	ctx.Cache[e] = res
	return res, nil
}

// quantified computes left op ANY/ALL (values) for n rows of left.
func (e *Subquery) quantified(ctx *exec.Ctx, left arrow.Array, n int, res *subResult) (arrow.Array, error) {
	isAll := e.Kind == plan.AllSubquery
	// decided: for ANY a TRUE comparison, for ALL a FALSE one.
	decided := make([]bool, n)
	null := make([]bool, n)
	lt, rt := e.Left.Type(), e.colType()
	for j := 0; j < res.rows && res.col != nil; j++ {
		v := array.NewSlice(res.col, int64(j), int64(j+1))
		d := types.GetDatum(v, 0, rt)
		v.Release()
		right := broadcast(rt, d, n)
		cmp, err := e.Op.Call(&ctx.Env, []types.T{lt, rt}, []arrow.Array{left, right}, n)
		if err != nil {
			right.Release()
			return nil, err
		}
		bc, _ := cmp.(*array.Boolean)
		for i := 0; i < n; i++ {
			switch {
			case d == nil || left.IsNull(i) || bc == nil || bc.IsNull(i):
				null[i] = true
			case bc.Value(i) != isAll:
				decided[i] = true
			}
		}
		cmp.Release()
		right.Release()
	}
	// ANY: decided → TRUE; ALL: decided → FALSE. anyResult with negate
	// gives exactly that for ALL.
	return anyResult(decided, null, isAll), nil
}
