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
// State: none.
type ProjectSetSpec struct {
	Funcs []batch.SetFunc
}

func (s *ProjectSetSpec) Explain() string {
	parts := make([]string, len(s.Funcs))
	for i, f := range s.Funcs {
		parts[i] = f.String()
	}
	return "StreamProjectSet " + strings.Join(parts, ", ")
}

func (s *ProjectSetSpec) Build(b *BuildCtx, out Output) (Operator, error) {
	return &projectSet{env: b.Env, exp: batch.NewSetExpander(s.Funcs), out: out}, nil
}

type projectSet struct {
	env *Env
	exp *batch.SetExpander
	out Output
}

func (p *projectSet) Chunk(_ int, c *Chunk) error {
	defer c.Release()
	ctx := p.env.Ctx
	if err := p.exp.Reset(ctx, c.Batch()); err != nil {
		return err
	}
	defer p.exp.Close()
	for {
		res, err := p.exp.Next(ctx, exec.BatchSize)
		if err != nil {
			return err
		}
		if res.N == 0 {
			return nil
		}
		cols := make([]arrow.Array, 0, len(c.Cols)+len(res.Cols)+1)
		cols = append(cols, TakeRows(c.Cols, res.Parents, c.N)...)
		cols = append(cols, res.Cols...)
		cols = append(cols, ordinalColumn(res.Ordinals))
		ops := make([]Op, res.N)
		for i, r := range res.Parents {
			switch op := c.Ops[r]; op {
			case UpdateDelete:
				ops[i] = Delete
			case UpdateInsert:
				ops[i] = Insert
			default:
				ops[i] = op
			}
		}
		if err := p.out.Chunk(&Chunk{Cols: cols, Ops: ops, N: res.N}); err != nil {
			return err
		}
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
