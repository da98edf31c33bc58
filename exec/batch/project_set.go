package batch

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/exec"
	"streamsql/exec/expr"
	"streamsql/sql/types"
	"streamsql/udf"
)

// ProjectSet evaluates set-returning functions of a select list
// (SELECT unnest(a), generate_series(1, n) FROM t). Each input row becomes
// as many output rows as its longest function result; the functions run in
// lockstep and the shorter results are padded with NULLs, so a row whose
// functions all return nothing disappears (PostgreSQL 10 semantics). The
// output is the input columns followed by one column per function.
//
// Nested calls (generate_series(1, unnest(a))) are planned as a stack of
// ProjectSets, the inner call one level lower.
type ProjectSet struct {
	in  exec.Operator
	exp *SetExpander
	ts  []types.T

	cur *exec.Batch // the input batch being expanded
}

// NewProjectSet returns a ProjectSet of in through funcs.
func NewProjectSet(in exec.Operator, funcs []SetFunc) exec.Operator {
	ts := append([]types.T(nil), in.Types()...)
	for _, f := range funcs {
		ts = append(ts, f.colTypes()...)
	}
	return &ProjectSet{in: in, exp: NewSetExpander(funcs), ts: ts}
}

func (p *ProjectSet) Open(ctx *exec.Ctx) error {
	p.reset()
	return p.in.Open(ctx)
}

func (p *ProjectSet) reset() {
	p.exp.Close()
	if p.cur != nil {
		p.cur.Release()
		p.cur = nil
	}
}

func (p *ProjectSet) Next(ctx *exec.Ctx) (*exec.Batch, error) {
	for {
		if err := checkCtx(ctx); err != nil {
			return nil, err
		}
		if p.cur == nil {
			b, err := p.in.Next(ctx)
			if err != nil || b == nil {
				return nil, err
			}
			if err := p.exp.Reset(ctx, b); err != nil {
				b.Release()
				return nil, err
			}
			p.cur = b
		}
		out, err := p.exp.Next(ctx, exec.BatchSize)
		if err != nil {
			return nil, err
		}
		if out.N == 0 {
			p.cur.Release()
			p.cur = nil
			continue
		}
		cols := make([]arrow.Array, 0, len(p.ts))
		cols = append(cols, gatherRows(p.cur.Cols, out.Parents, p.cur.N)...)
		cols = append(cols, out.Cols...)
		return exec.NewBatch(cols, out.N), nil
	}
}

func (p *ProjectSet) Close() {
	p.reset()
	p.in.Close()
}

func (p *ProjectSet) Types() []types.T { return p.ts }
func (p *ProjectSet) Explain() string {
	parts := make([]string, len(p.exp.funcs))
	for i, f := range p.exp.funcs {
		parts[i] = f.String()
	}
	return "ProjectSet " + strings.Join(parts, ", ")
}
func (p *ProjectSet) Children() []exec.Operator { return []exec.Operator{p.in} }

// gatherRows returns rows parents of cols; when parents is exactly every
// row in order (each row gave one output row), the columns are shared.
func gatherRows(cols []arrow.Array, parents []int32, n int) []arrow.Array {
	same := len(parents) == n
	for i := 0; same && i < len(parents); i++ {
		same = parents[i] == int32(i)
	}
	out := make([]arrow.Array, len(cols))
	for j, c := range cols {
		if same {
			c.Retain()
			out[j] = c
		} else {
			out[j] = takeColumn(c, parents)
		}
	}
	return out
}

// SetFunc is one set-returning function call of a ProjectSet: Fn(Args),
// with one output column of type T.
type SetFunc struct {
	Fn       *udf.TableFunc
	Args     []expr.Expr
	ArgTypes []types.T
	T        types.T
	// More are the types of the function's columns after the first, for
	// a table function of several columns joined laterally in FROM; the
	// output has a column for each, after the first.
	More []types.T
}

// colTypes returns the types of f's output columns.
func (f SetFunc) colTypes() []types.T { return append([]types.T{f.T}, f.More...) }

func (f SetFunc) String() string { return f.Fn.Name + "(" + exprList(f.Args) + ")" }

// SetOutput is one piece of a SetExpander's output: N rows, the input row
// each came from (Parents), its position among that row's results
// (Ordinals, from 0) and one column per function.
type SetOutput struct {
	N        int
	Parents  []int32
	Ordinals []int64
	Cols     []arrow.Array
}

// SetExpander runs set-returning functions over the rows of a batch in
// lockstep. It is shared by the batch and the streaming ProjectSet. The
// arguments are evaluated once per batch (vectorized); each row's
// functions then yield their values a piece at a time, so a row with a
// huge result never has to fit in memory at once.
type SetExpander struct {
	funcs []SetFunc
	first []int     // per function, its first output column
	colTs []types.T // the output columns' types

	in    *exec.Batch
	args  [][]arrow.Array // per function, its evaluated arguments
	row   int             // the row being expanded (or next to open)
	iters []udf.RowIter   // the current row's open iterators; nil once done
	open  bool            // the current row's iterators are open
	ord   int64           // next ordinal within the current row

	vals    []types.Datum
	got     []int
	pieces  [][]arrow.Array
	parents []int32
	ords    []int64
}

// NewSetExpander returns an expander of funcs.
func NewSetExpander(funcs []SetFunc) *SetExpander {
	e := &SetExpander{funcs: funcs, iters: make([]udf.RowIter, len(funcs))}
	for _, f := range funcs {
		e.first = append(e.first, len(e.colTs))
		e.colTs = append(e.colTs, f.colTypes()...)
	}
	e.pieces = make([][]arrow.Array, len(e.colTs))
	return e
}

// Funcs returns the expander's functions.
func (e *SetExpander) Funcs() []SetFunc { return e.funcs }

// Reset starts the expansion of in (which the caller keeps and releases
// after the last Next).
func (e *SetExpander) Reset(ctx *exec.Ctx, in *exec.Batch) error {
	e.Close()
	e.in, e.row, e.open = in, 0, false
	if cap(e.args) < len(e.funcs) {
		e.args = make([][]arrow.Array, len(e.funcs))
	}
	e.args = e.args[:len(e.funcs)]
	for k, f := range e.funcs {
		cols := make([]arrow.Array, len(f.Args))
		for i, a := range f.Args {
			c, err := a.Eval(ctx, in)
			if err != nil {
				releaseAll(cols)
				e.args[k] = nil
				e.Close()
				return err
			}
			cols[i] = c
		}
		e.args[k] = cols
	}
	return nil
}

// Close releases the evaluated arguments and any open iterators.
func (e *SetExpander) Close() {
	for k, it := range e.iters {
		if it != nil {
			it.Close()
			e.iters[k] = nil
		}
	}
	for k, cols := range e.args {
		releaseAll(cols)
		e.args[k] = nil
	}
	for k := range e.pieces {
		releaseAll(e.pieces[k])
		e.pieces[k] = e.pieces[k][:0]
	}
	e.open = false
	e.in = nil
}

// Next returns up to max further output rows of the batch (N == 0 once
// every row is expanded). The returned slices are valid until the next
// call; the columns belong to the caller.
func (e *SetExpander) Next(ctx *exec.Ctx, limit int) (SetOutput, error) {
	e.parents, e.ords = e.parents[:0], e.ords[:0]
	for k := range e.pieces {
		e.pieces[k] = e.pieces[k][:0]
	}
	n := 0
	for e.in != nil && n < limit {
		if !e.open {
			if e.row >= e.in.N {
				break
			}
			if err := e.openRow(ctx); err != nil {
				return SetOutput{}, e.fail(err)
			}
			if !e.open {
				continue
			}
		}
		// Pull the next stretch of every live function; the longest sets
		// how many rows this stretch has.
		want := limit - n
		got := e.got[:0]
		for range e.funcs {
			got = append(got, 0)
		}
		e.got = got
		longest := 0
		for k, it := range e.iters {
			if it == nil {
				continue
			}
			for got[k] < want {
				cols, c, err := it.Next(want - got[k])
				if err != nil {
					releaseAll(cols)
					return SetOutput{}, e.fail(err)
				}
				if c == 0 {
					releaseAll(cols)
					it.Close()
					e.iters[k] = nil
					break
				}
				w := 1 + len(e.funcs[k].More)
				if len(cols) < w {
					releaseAll(cols)
					return SetOutput{}, e.fail(fmt.Errorf("%s returned %d columns, not %d", e.funcs[k].Fn.Name, len(cols), w))
				}
				for j := range w {
					e.pieces[e.first[k]+j] = append(e.pieces[e.first[k]+j], cols[j])
				}
				releaseAll(cols[w:])
				got[k] += c
			}
			longest = max(longest, got[k])
		}
		for k, f := range e.funcs {
			if pad := longest - got[k]; pad > 0 {
				for j, t := range f.colTypes() {
					e.pieces[e.first[k]+j] = append(e.pieces[e.first[k]+j], nullColumn(t, pad))
				}
			}
		}
		for i := 0; i < longest; i++ {
			e.parents = append(e.parents, int32(e.row))
			e.ords = append(e.ords, e.ord)
			e.ord++
		}
		n += longest
		if e.done() {
			e.open = false
			e.row++
		}
	}
	out := SetOutput{N: n, Parents: e.parents, Ordinals: e.ords}
	if n == 0 {
		return out, nil
	}
	out.Cols = make([]arrow.Array, len(e.colTs))
	for k := range e.colTs {
		col, err := concatPieces(e.pieces[k])
		if err != nil {
			releaseAll(out.Cols[:k])
			return SetOutput{}, e.fail(err)
		}
		out.Cols[k] = col
		e.pieces[k] = e.pieces[k][:0]
	}
	return out, nil
}

// openRow starts the functions of row e.row.
func (e *SetExpander) openRow(ctx *exec.Ctx) error {
	for k, f := range e.funcs {
		e.vals = e.vals[:0]
		for i, a := range e.args[k] {
			e.vals = append(e.vals, types.GetDatum(a, e.row, f.ArgTypes[i]))
		}
		it, err := f.Fn.Eval(&ctx.Env, e.vals, f.ArgTypes)
		if err != nil {
			return err
		}
		e.iters[k] = it
	}
	e.open, e.ord = true, 0
	if e.done() {
		// Every function is empty for this row: it gives no rows.
		e.open = false
		e.row++
	}
	return nil
}

func (e *SetExpander) done() bool {
	for _, it := range e.iters {
		if it != nil {
			return false
		}
	}
	return true
}

// fail releases what the current call gathered and returns err.
func (e *SetExpander) fail(err error) error {
	for k := range e.pieces {
		releaseAll(e.pieces[k])
		e.pieces[k] = e.pieces[k][:0]
	}
	return err
}

// concatPieces joins pieces into one array (taking ownership of them).
func concatPieces(pieces []arrow.Array) (arrow.Array, error) {
	if len(pieces) == 1 {
		return pieces[0], nil
	}
	out, err := array.Concatenate(pieces, types.Mem)
	releaseAll(pieces)
	if err != nil {
		return nil, fmt.Errorf("set-returning function output: %w", err)
	}
	return out, nil
}
