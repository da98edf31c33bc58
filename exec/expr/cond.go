package expr

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/exec"
	"streamsql/sql/types"
	"streamsql/udf"
)

// Conditional expressions. CASE and COALESCE evaluate each branch only on
// the rows that reach it (a sub-batch taken from the input), then assemble
// the pieces into one column in row order.

// assembler collects result pieces for subsets of a batch's rows.
type assembler struct {
	n      int
	t      types.T
	pieces []arrow.Array
	rows   [][]int // rows[p][j]: the batch row that pieces[p][pos[p][j]] fills
	pos    [][]int // nil: j itself
}

// add records that row rows[j] takes arr[pos[j]] (arr[j] when pos is nil);
// rows nil means every row in order. add takes ownership of arr.
func (a *assembler) add(arr arrow.Array, rows, pos []int) {
	if arr.DataType().ID() == arrow.NULL && a.t.Kind != types.Unknown {
		arr.Release()
		arr = types.ConstArray(a.t, nil, 1)
		pos = make([]int, len(rows))
		if rows == nil {
			pos = make([]int, a.n)
		}
	}
	a.pieces = append(a.pieces, arr)
	a.rows = append(a.rows, rows)
	a.pos = append(a.pos, pos)
}

func (a *assembler) release() {
	releaseAll(a.pieces)
	a.pieces = nil
}

// finish returns the assembled column; rows no piece filled are NULL.
func (a *assembler) finish() (arrow.Array, error) {
	if len(a.pieces) == 1 && a.rows[0] == nil && a.pos[0] == nil {
		out := a.pieces[0]
		a.pieces = nil
		return out, nil
	}
	defer a.release()
	parts := append([]arrow.Array(nil), a.pieces...)
	nullPiece := types.ConstArray(a.nullType(), nil, 1)
	defer nullPiece.Release()
	parts = append(parts, nullPiece)
	all, err := array.Concatenate(parts, types.Mem)
	if err != nil {
		return nil, err
	}
	defer all.Release()
	idx := make([]int, a.n)
	nullAt := all.Len() - 1
	for i := range idx {
		idx[i] = nullAt
	}
	base := 0
	for p, arr := range a.pieces {
		rows, pos := a.rows[p], a.pos[p]
		if rows == nil {
			for j := 0; j < a.n; j++ {
				if pos != nil {
					idx[j] = base + pos[j]
				} else {
					idx[j] = base + j
				}
			}
		} else {
			for j, r := range rows {
				if pos != nil {
					idx[r] = base + pos[j]
				} else {
					idx[r] = base + j
				}
			}
		}
		base += arr.Len()
	}
	return TakeArray(all, idx), nil
}

func (a *assembler) nullType() types.T {
	if a.t.Kind == types.Unknown {
		return types.TText
	}
	return a.t
}

// subRows maps positions sel of a sub-batch (whose rows are rows, nil =
// identity) to rows of the original batch.
func subRows(rows, sel []int) []int {
	out := make([]int, len(sel))
	for j, s := range sel {
		if rows == nil {
			out[j] = s
		} else {
			out[j] = rows[s]
		}
	}
	return out
}

// narrowing is the batch on which a conditional (CASE, COALESCE, AND,
// OR) evaluates its next argument: the rows of the original batch that
// the arguments before left undecided, so that an argument never sees a
// row an earlier one settled ("x <> 0 AND 10 / x > 1" never divides by
// zero).
type narrowing struct {
	cur *exec.Batch
	// rows[j] is the row of the original batch at position j of cur;
	// nil: the identity.
	rows  []int
	owned bool
}

// row returns the row of the original batch at position j of cur.
func (n *narrowing) row(j int) int {
	if n.rows == nil {
		return j
	}
	return n.rows[j]
}

// to narrows the batch to positions keep of the current one.
func (n *narrowing) to(keep []int) {
	next := Take(n.cur, keep)
	n.rows = subRows(n.rows, keep)
	n.release()
	n.cur, n.owned = next, true
}

// release frees the current batch when narrowing made it.
func (n *narrowing) release() {
	if n.owned {
		n.cur.Release()
		n.owned = false
	}
}

// trueRows splits positions into those where cond is TRUE and the rest.
func trueRows(cond arrow.Array, n int) (sel, rest []int) {
	bc, _ := cond.(*array.Boolean)
	for i := 0; i < n; i++ {
		if bc != nil && bc.IsValid(i) && bc.Value(i) {
			sel = append(sel, i)
		} else {
			rest = append(rest, i)
		}
	}
	return sel, rest
}

func (e *Case) Eval(ctx *exec.Ctx, b *exec.Batch) (arrow.Array, error) {
	asm := &assembler{n: b.N, t: e.T}
	nw := &narrowing{cur: b}
	defer nw.release()
	var opT types.T
	if e.Operand != nil {
		// The operand is evaluated once and carried as an extra column.
		op, err := e.Operand.Eval(ctx, b)
		if err != nil {
			return nil, err
		}
		opT = e.Operand.Type()
		nw.cur = &exec.Batch{Cols: append(b.Cols[:len(b.Cols):len(b.Cols)], op), N: b.N}
		defer op.Release()
	}
	for k, w := range e.Whens {
		cur := nw.cur
		if cur.N == 0 {
			break
		}
		cond, err := w.Eval(ctx, cur)
		if err != nil {
			asm.release()
			return nil, err
		}
		if e.Operand != nil {
			opCol := cur.Cols[len(cur.Cols)-1]
			eq, err := e.Eq[k].Call(&ctx.Env, []types.T{opT, w.Type()}, []arrow.Array{opCol, cond}, cur.N)
			if err != nil {
				cond.Release()
				asm.release()
				return nil, err
			}
			masked := udf.WithValidity(eq, udf.Validity(cur.N, opCol, cond))
			eq.Release()
			cond.Release()
			cond = masked
		}
		sel, rest := trueRows(cond, cur.N)
		cond.Release()
		if len(sel) == 0 {
			continue
		}
		sub := cur
		if len(sel) < cur.N {
			sub = Take(cur, sel)
		}
		v, err := e.Thens[k].Eval(ctx, sub)
		if sub != cur {
			sub.Release()
		}
		if err != nil {
			asm.release()
			return nil, err
		}
		if nw.rows == nil && len(sel) == cur.N {
			asm.add(v, nil, nil)
		} else {
			asm.add(v, subRows(nw.rows, sel), nil)
		}
		nw.to(rest)
	}
	if nw.cur.N > 0 && e.Else != nil {
		v, err := e.Else.Eval(ctx, nw.cur)
		if err != nil {
			asm.release()
			return nil, err
		}
		asm.add(v, nw.rows, nil)
	}
	return asm.finish()
}

func (e *Case) Type() types.T { return e.T }

func (e *Coalesce) Eval(ctx *exec.Ctx, b *exec.Batch) (arrow.Array, error) {
	asm := &assembler{n: b.N, t: e.T}
	nw := &narrowing{cur: b}
	defer nw.release()
	for _, a := range e.Args {
		cur := nw.cur
		if cur.N == 0 {
			break
		}
		v, err := a.Eval(ctx, cur)
		if err != nil {
			asm.release()
			return nil, err
		}
		if v.NullN() == 0 {
			asm.add(v, nw.rows, nil)
			return asm.finish()
		}
		var sel, rest []int
		for i := 0; i < cur.N; i++ {
			if v.IsValid(i) {
				sel = append(sel, i)
			} else {
				rest = append(rest, i)
			}
		}
		if len(sel) > 0 {
			asm.add(v, subRows(nw.rows, sel), sel)
		} else {
			v.Release()
		}
		if len(rest) == 0 {
			break
		}
		nw.to(rest)
	}
	return asm.finish()
}

func (e *Coalesce) Type() types.T { return e.T }

func (e *NullIf) Eval(ctx *exec.Ctx, b *exec.Batch) (arrow.Array, error) {
	l, r, err := evalPair(ctx, b, e.Left, e.Right)
	if err != nil {
		return nil, err
	}
	defer releaseBoth(l, r)
	eq, err := e.Eq.Call(&ctx.Env, []types.T{e.Left.Type(), e.Right.Type()}, []arrow.Array{l, r}, b.N)
	if err != nil {
		return nil, err
	}
	defer eq.Release()
	bc, _ := eq.(*array.Boolean)
	valid := make([]byte, (b.N+7)/8)
	for i := 0; i < b.N; i++ {
		same := bc != nil && l.IsValid(i) && r.IsValid(i) && bc.IsValid(i) && bc.Value(i)
		if !same {
			valid[i/8] |= 1 << (i % 8)
		}
	}
	return udf.WithValidity(l, valid), nil
}

func (e *NullIf) Type() types.T { return e.T }

func (e *MinMax) Eval(ctx *exec.Ctx, b *exec.Batch) (arrow.Array, error) {
	args, err := evalAll(ctx, b, e.Args)
	if err != nil {
		return nil, err
	}
	defer releaseAll(args)
	switch e.T.Kind {
	case types.Int8:
		return minMaxTyped(args, b.N, e.Least, func(a arrow.Array) []int64 { return a.(*array.Int64).Int64Values() },
			func(v []int64, valid []byte) arrow.Array { return intColumn(v, types.Int8, valid) })
	case types.Int4:
		return minMaxTyped(args, b.N, e.Least, func(a arrow.Array) []int32 { return a.(*array.Int32).Int32Values() },
			func(v []int32, valid []byte) arrow.Array {
				return fixedArray(arrow.PrimitiveTypes.Int32, len(v), bufOrNil(valid), -1, arrow.Int32Traits.CastToBytes(v))
			})
	}
	bld := types.NewBuilder(e.T)
	defer bld.Release()
	for i := 0; i < b.N; i++ {
		var best types.Datum
		for _, a := range args {
			d := types.GetDatum(a, i, e.T)
			if d == nil {
				continue
			}
			if best == nil {
				best = d
				continue
			}
			c := types.Compare(d, best, e.T)
			if (e.Least && c < 0) || (!e.Least && c > 0) {
				best = d
			}
		}
		types.AppendDatum(bld, best)
	}
	return bld.NewArray(), nil
}

func (e *MinMax) Type() types.T { return e.T }

func minMaxTyped[T int32 | int64](args []arrow.Array, n int, least bool, vals func(arrow.Array) []T, mk func([]T, []byte) arrow.Array) (arrow.Array, error) {
	out := make([]T, n)
	has := make([]bool, n)
	for _, a := range args {
		v := vals(a)
		for i := 0; i < n; i++ {
			if a.IsNull(i) {
				continue
			}
			if !has[i] || (least && v[i] < out[i]) || (!least && v[i] > out[i]) {
				out[i], has[i] = v[i], true
			}
		}
	}
	var valid []byte
	for i, h := range has {
		if !h {
			if valid == nil {
				valid = make([]byte, (n+7)/8)
				for j := range valid {
					valid[j] = 0xff
				}
			}
			valid[i/8] &^= 1 << (i % 8)
		}
	}
	return mk(out, valid), nil
}

func (e *InList) Eval(ctx *exec.Ctx, b *exec.Batch) (arrow.Array, error) {
	in, err := e.Input.Eval(ctx, b)
	if err != nil {
		return nil, err
	}
	defer in.Release()
	found := make([]bool, b.N)
	null := make([]bool, b.N)
	for i := range null {
		null[i] = in.IsNull(i)
	}
	for _, item := range e.List {
		v, err := item.Eval(ctx, b)
		if err != nil {
			return nil, err
		}
		eq, err := e.Eq.Call(&ctx.Env, []types.T{e.Input.Type(), item.Type()}, []arrow.Array{in, v}, b.N)
		if err != nil {
			v.Release()
			return nil, err
		}
		bc, _ := eq.(*array.Boolean)
		for i := 0; i < b.N; i++ {
			switch {
			case v.IsNull(i) || in.IsNull(i) || bc == nil || bc.IsNull(i):
				null[i] = true
			case bc.Value(i):
				found[i] = true
			}
		}
		eq.Release()
		v.Release()
	}
	return anyResult(found, null, e.Negate), nil
}

func (e *InList) Type() types.T { return types.TBool }

// anyResult turns per-row "some comparison was true" and "some was NULL"
// into the SQL result of x IN (...) (or NOT IN when negate).
func anyResult(found, null []bool, negate bool) arrow.Array {
	vals := make([]bool, len(found))
	nulls := make([]bool, len(found))
	for i := range vals {
		if found[i] {
			vals[i] = !negate
		} else if null[i] {
			nulls[i] = true
		} else {
			vals[i] = negate
		}
	}
	return triArray(vals, nulls)
}
