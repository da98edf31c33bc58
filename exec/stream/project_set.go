package stream

import (
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/exec"
	"streamsql/exec/batch"
	"streamsql/exec/expr"
	"streamsql/sql/types"
)

// ProjectSetSpec expands each row through set-returning functions of the
// select list (unnest, generate_series, ...), as batch.ProjectSet does: the
// functions run in lockstep and shorter results are padded with NULLs.
// Each input row becomes n output rows carrying its op, so a delete
// retracts exactly the rows its insert produced (the functions are
// immutable). Updates are split: an UpdateDelete row expands to Deletes
// and an UpdateInsert row to Inserts, since the two sides of an update may
// expand to different numbers of rows.
//
// Output: the input columns, one column per function, then the ordinal of
// the row within its input row's expansion (bigint, from 0). The stream
// key is the input's key plus that ordinal. Watermarks on input columns
// pass through unchanged.
//
// With Outer (LEFT JOIN LATERAL f(...) ON true) an input row for which
// the functions return no rows gives one row with NULL in the functions'
// columns and ordinal -1, as PostgreSQL's left join does; it is retracted
// the same way. With On as well (LEFT JOIN LATERAL f(...) ON cond) only
// the function's rows for which On is true join, and a row none of whose
// function rows pass On gives the NULL row. On reads the output columns
// (the input's, the functions', the ordinal).
//
// State: none.
type ProjectSetSpec struct {
	Funcs []batch.SetFunc
	Outer bool
	On    expr.Expr
}

func (s *ProjectSetSpec) Explain() string {
	parts := make([]string, len(s.Funcs))
	for i, f := range s.Funcs {
		parts[i] = f.String()
	}
	if s.Outer && s.On != nil {
		return "StreamProjectSet outer " + strings.Join(parts, ", ") + " on " + s.On.String()
	}
	if s.Outer {
		return "StreamProjectSet outer " + strings.Join(parts, ", ")
	}
	return "StreamProjectSet " + strings.Join(parts, ", ")
}

func (s *ProjectSetSpec) Build(b *BuildCtx, out Output) (Operator, error) {
	p := &projectSet{env: b.Env, exp: batch.NewSetExpander(s.Funcs), out: out, outer: s.Outer, on: s.On}
	for _, f := range s.Funcs {
		p.fnTypes = append(p.fnTypes, f.T.ArrowType())
		for _, t := range f.More {
			p.fnTypes = append(p.fnTypes, t.ArrowType())
		}
	}
	return p, nil
}

type projectSet struct {
	env     *Env
	exp     *batch.SetExpander
	out     Output
	outer   bool
	on      expr.Expr
	fnTypes []arrow.DataType
}

func (p *projectSet) Chunk(_ int, c *Chunk) error {
	defer c.Release()
	ctx := p.env.Ctx
	if err := p.exp.Reset(ctx, c.Batch()); err != nil {
		return err
	}
	defer p.exp.Close()
	last := int32(-1) // the last input row that gave a row
	for {
		res, err := p.exp.Next(ctx, exec.BatchSize)
		if err != nil {
			return err
		}
		if res.N == 0 {
			if p.outer && int(last)+1 < c.N {
				_, err := p.emitOuter(c, res, last, int32(c.N))
				return err
			}
			return nil
		}
		if p.outer {
			end := res.Parents[res.N-1]
			if p.on != nil {
				if res, err = p.joining(c, res); err != nil {
					return err
				}
			}
			got, err := p.emitOuter(c, res, last, end)
			if err != nil {
				return err
			}
			// Every row before end is done; end itself only when one of
			// its rows joined (more of its rows may follow).
			last = max(got, end-1)
			continue
		}
		cols := make([]arrow.Array, 0, len(c.Cols)+len(res.Cols)+1)
		cols = append(cols, TakeRows(c.Cols, res.Parents, c.N)...)
		cols = append(cols, res.Cols...)
		cols = append(cols, ordinalColumn(res.Ordinals))
		if err := p.out.Chunk(&Chunk{Cols: cols, Ops: expandedOps(c, res.Parents), N: res.N}); err != nil {
			return err
		}
	}
}

// joining returns the rows of res for which the ON condition is true
// (and takes res's columns).
func (p *projectSet) joining(c *Chunk, res batch.SetOutput) (batch.SetOutput, error) {
	cols := append(TakeRows(c.Cols, res.Parents, c.N), res.Cols...)
	ord := ordinalColumn(res.Ordinals)
	cols = append(cols, ord)
	keep, err := expr.EvalBool(p.env.Ctx, p.on, exec.NewBatch(cols, res.N))
	releaseArrays(append(cols[:len(c.Cols)], ord))
	if err != nil {
		releaseArrays(res.Cols)
		return res, err
	}
	var idx []int
	for i, k := range keep {
		if k {
			idx = append(idx, i)
		}
	}
	if len(idx) == res.N {
		return res, nil
	}
	out := batch.SetOutput{N: len(idx), Parents: make([]int32, len(idx)), Ordinals: make([]int64, len(idx))}
	for j, i := range idx {
		out.Parents[j], out.Ordinals[j] = res.Parents[i], res.Ordinals[i]
	}
	for _, a := range res.Cols {
		out.Cols = append(out.Cols, expr.TakeArray(a, idx))
	}
	releaseArrays(res.Cols)
	return out, nil
}

// emitOuter emits the rows of res (which may have none) in input order,
// with a NULL-extended row for every input row after last and before
// end (or among res's parents) that gave no row; it returns the last
// input row that gave a row (last when none did).
func (p *projectSet) emitOuter(c *Chunk, res batch.SetOutput, last, end int32) (int32, error) {
	var parents []int32
	var take []int // row of res, or res.N for the NULL row
	var ords []int64
	empty := func(upto int32) {
		for q := last + 1; q < upto; q++ {
			parents = append(parents, q)
			take = append(take, res.N)
			ords = append(ords, -1)
		}
	}
	for i, r := range res.Parents {
		empty(r)
		parents = append(parents, r)
		take = append(take, i)
		ords = append(ords, res.Ordinals[i])
		last = r
	}
	empty(end)
	got := last
	if res.N > 0 {
		got = res.Parents[res.N-1]
	}
	if len(parents) == 0 {
		return got, nil
	}
	cols := make([]arrow.Array, 0, len(c.Cols)+len(p.fnTypes)+1)
	cols = append(cols, TakeRows(c.Cols, parents, c.N)...)
	for k, dt := range p.fnTypes {
		null := array.MakeArrayOfNull(types.Mem, dt, 1)
		src := null
		if res.N > 0 {
			joined, err := array.Concatenate([]arrow.Array{res.Cols[k], null}, types.Mem)
			null.Release()
			if err != nil {
				releaseArrays(cols)
				return got, err
			}
			src = joined
		}
		cols = append(cols, expr.TakeArray(src, take))
		src.Release()
	}
	releaseArrays(res.Cols)
	cols = append(cols, ordinalColumn(ords))
	return got, p.out.Chunk(&Chunk{Cols: cols, Ops: expandedOps(c, parents), N: len(parents)})
}

// expandedOps returns the ops of rows expanded from the input rows
// parents: an update's halves become a delete and an insert, since the
// two versions of a row may expand to different numbers of rows.
func expandedOps(c *Chunk, parents []int32) []Op {
	ops := make([]Op, len(parents))
	for i, r := range parents {
		switch op := c.Ops[r]; op {
		case UpdateDelete:
			ops[i] = Delete
		case UpdateInsert:
			ops[i] = Insert
		default:
			ops[i] = op
		}
	}
	return ops
}

func releaseArrays(cols []arrow.Array) {
	for _, c := range cols {
		c.Release()
	}
}

func (p *projectSet) Watermark(_ int, w Watermark) error { return p.out.Watermark(w) }

func (p *projectSet) Barrier(b *Barrier) error { return p.out.Barrier(b) }

// TakeRows returns rows idx of cols (shared when idx is every row in order).
func TakeRows(cols []arrow.Array, idx []int32, n int) []arrow.Array {
	out := make([]arrow.Array, len(cols))
	same := len(idx) == n
	for i := 0; same && i < len(idx); i++ {
		same = idx[i] == int32(i)
	}
	if same {
		for j, c := range cols {
			c.Retain()
			out[j] = c
		}
		return out
	}
	wide := make([]int, len(idx))
	for i, r := range idx {
		wide[i] = int(r)
	}
	for j, c := range cols {
		out[j] = expr.TakeArray(c, wide)
	}
	return out
}

func ordinalColumn(ords []int64) arrow.Array {
	b := array.NewInt64Builder(types.Mem)
	defer b.Release()
	b.AppendValues(ords, nil)
	return b.NewArray()
}

// TakesIdleMarks: idle marks pass through (see Output.Watermark).
func (p *projectSet) TakesIdleMarks() bool { return true }
