package stream

import (
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/exec"
	"streamsql/exec/expr"
	"streamsql/sql/types"
)

// ProjectSpec computes one output column per expression; ops pass through.
// Watermarks on a column that an output column copies (a bare column
// reference) are forwarded on that output column; others are dropped.
//
// State: none.
type ProjectSpec struct {
	Exprs []expr.Expr
}

func (s *ProjectSpec) Explain() string {
	parts := make([]string, len(s.Exprs))
	for i, e := range s.Exprs {
		parts[i] = e.String()
	}
	return "StreamProject " + strings.Join(parts, ", ")
}

func (s *ProjectSpec) Build(b *BuildCtx, out Output) (Operator, error) {
	p := &project{env: b.Env, exprs: s.Exprs, out: out}
	for i, e := range s.Exprs {
		if c, ok := e.(*expr.ColRef); ok {
			p.wmMap = append(p.wmMap, [2]int{c.Idx, i})
		}
	}
	return p, nil
}

type project struct {
	env   *Env
	exprs []expr.Expr
	out   Output
	wmMap [][2]int // input col -> output col
}

func (p *project) Chunk(_ int, c *Chunk) error {
	cols, err := evalColumns(p.env.Ctx, p.exprs, c.Batch())
	if err != nil {
		c.Release()
		return err
	}
	ops := c.Ops
	c.Release()
	return p.out.Chunk(&Chunk{Cols: cols, Ops: ops, N: len(ops)})
}

func (p *project) Watermark(_ int, w Watermark) error {
	for _, m := range p.wmMap {
		if m[0] == w.Col {
			if err := p.out.Watermark(Watermark{Col: m[1], Val: w.Val}); err != nil {
				return err
			}
		}
	}
	return nil
}

func (p *project) Barrier(b *Barrier) error { return p.out.Barrier(b) }

// evalColumns evaluates exprs over b; bare column references share the
// input column.
func evalColumns(ctx *exec.Ctx, exprs []expr.Expr, b *exec.Batch) ([]arrow.Array, error) {
	cols := make([]arrow.Array, len(exprs))
	for i, e := range exprs {
		if c, ok := e.(*expr.ColRef); ok && c.Idx < len(b.Cols) {
			cols[i] = b.Cols[c.Idx]
			cols[i].Retain()
			continue
		}
		a, err := e.Eval(ctx, b)
		if err != nil {
			for _, c := range cols[:i] {
				c.Release()
			}
			return nil, err
		}
		cols[i] = a
	}
	return cols, nil
}

// KeyExpr encodes columns Cols (of types Types) of each row into one
// bytea value with the order-preserving key encoding, prefixed by Tag. It
// gives every branch of a UNION ALL one stream key column of one type.
type KeyExpr struct {
	Tag byte
	// Untagged leaves the tag out: the key is then exactly the storage
	// key of a materialized view row.
	Untagged bool
	Cols     []int
	Types    []types.T
}

func (k *KeyExpr) Type() types.T { return types.TBytea }

func (k *KeyExpr) String() string {
	parts := make([]string, len(k.Cols))
	for i, c := range k.Cols {
		parts[i] = "#" + strconv.Itoa(c)
	}
	return "key" + strconv.Itoa(int(k.Tag)) + "(" + strings.Join(parts, ", ") + ")"
}

func (k *KeyExpr) Eval(_ *exec.Ctx, b *exec.Batch) (arrow.Array, error) {
	bld := array.NewBinaryBuilder(types.Mem, arrow.BinaryTypes.Binary)
	defer bld.Release()
	bld.Reserve(b.N)
	var buf []byte
	for i := 0; i < b.N; i++ {
		buf = k.appendRow(buf[:0], b.Cols, i)
		bld.Append(buf)
	}
	return bld.NewArray(), nil
}

// appendRow appends the key of row i of cols to buf.
func (k *KeyExpr) appendRow(buf []byte, cols []arrow.Array, i int) []byte {
	if !k.Untagged {
		buf = append(buf, k.Tag)
	}
	for j, c := range k.Cols {
		buf = types.AppendKey(buf, types.GetDatum(cols[c], i, k.Types[j]), k.Types[j], false)
	}
	return buf
}
