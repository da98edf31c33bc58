package stream

import (
	"fmt"
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
// reference) are forwarded on that output column. An output column whose
// expression never decreases when its one input column grows (the
// planner lists them in Derived: ts + interval, date_trunc('hour', ts),
// widening casts) gets the expression's value at the input's watermark:
// every later row has the input column at least at the watermark, so the
// output column at least at that value. Other watermarks are dropped.
//
// State: none.
type ProjectSpec struct {
	Exprs   []expr.Expr
	Derived []DerivedWatermark
}

// DerivedWatermark is an output column Out whose expression is
// monotonically non-decreasing in input column In.
type DerivedWatermark struct {
	In, Out int
}

func (s *ProjectSpec) Explain() string {
	parts := make([]string, len(s.Exprs))
	for i, e := range s.Exprs {
		parts[i] = e.String()
	}
	e := "StreamProject " + strings.Join(parts, ", ")
	for _, d := range s.Derived {
		e += ", watermark #" + strconv.Itoa(d.Out) + " = " + s.Exprs[d.Out].String() + " of wm(#" + strconv.Itoa(d.In) + ")"
	}
	return e
}

func (s *ProjectSpec) Build(b *BuildCtx, out Output) (Operator, error) {
	p := &project{env: b.Env, exprs: s.Exprs, out: out, derived: s.Derived}
	for i, e := range s.Exprs {
		if c, ok := e.(*expr.ColRef); ok {
			p.wmMap = append(p.wmMap, [2]int{c.Idx, i})
		}
	}
	if len(s.Derived) > 0 {
		if len(b.Inputs) == 0 {
			return nil, fmt.Errorf("project: derived watermarks without input types")
		}
		p.inTypes = b.Inputs[0].Types
		p.sent = make([]types.Datum, len(s.Derived))
		p.sentEmit = make([]types.Datum, len(s.Derived))
	}
	return p, nil
}

type project struct {
	env   *Env
	exprs []expr.Expr
	out   Output
	wmMap [][2]int // input col -> output col
	// derived are the watermarks computed from an input's; sent the last
	// value sent of each (sentEmit of its Emit); inTypes the input's
	// column types.
	derived  []DerivedWatermark
	sent     []types.Datum
	sentEmit []types.Datum
	inTypes  []types.T
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
			if err := p.out.Watermark(Watermark{Col: m[1], Val: w.Val, Idle: w.Idle, Emit: w.Emit}); err != nil {
				return err
			}
		}
	}
	for i, d := range p.derived {
		if d.In != w.Col || w.Val == nil {
			continue
		}
		v, err := p.derive(d, w.Val)
		if err != nil {
			return fmt.Errorf("watermark of %s: %w", p.exprs[d.Out], err)
		}
		t := p.exprs[d.Out].Type()
		var emit types.Datum
		if w.Emit != nil {
			if emit, err = p.derive(d, w.Emit); err != nil {
				return fmt.Errorf("watermark of %s: %w", p.exprs[d.Out], err)
			}
		}
		moved := v != nil && (p.sent[i] == nil || types.Compare(v, p.sent[i], t) > 0)
		emitMoved := emit != nil && (p.sentEmit[i] == nil || types.Compare(emit, p.sentEmit[i], t) > 0)
		if !moved && !emitMoved {
			continue
		}
		if moved {
			p.sent[i] = v
		}
		if emitMoved {
			p.sentEmit[i] = emit
		}
		if p.sent[i] == nil {
			continue // a watermark without a value is an idle mark
		}
		if err := p.out.Watermark(Watermark{Col: d.Out, Val: p.sent[i], Idle: w.Idle, Emit: p.sentEmit[i]}); err != nil {
			return err
		}
	}
	return nil
}

// derive evaluates d's expression over one row whose input column d.In
// holds the watermark val (the expression reads no other column).
func (p *project) derive(d DerivedWatermark, val types.Datum) (types.Datum, error) {
	cols := make([]arrow.Array, len(p.inTypes))
	for j, t := range p.inTypes {
		var v types.Datum
		if j == d.In {
			v = val
		}
		cols[j] = types.ArrayFromDatums(t, []types.Datum{v})
	}
	b := &exec.Batch{Cols: cols, N: 1}
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	a, err := p.exprs[d.Out].Eval(p.env.Ctx, b)
	if err != nil {
		return nil, err
	}
	defer a.Release()
	return types.GetDatum(a, 0, p.exprs[d.Out].Type()), nil
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

// TakesIdleMarks: idle marks pass through (see Output.Watermark).
func (p *project) TakesIdleMarks() bool { return true }
