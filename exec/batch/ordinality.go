package batch

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/exec"
	"streamsql/sql/types"
)

// Ordinality numbers the rows of its input in a trailing bigint column,
// from 1, restarting whenever it is opened again (WITH ORDINALITY, once
// per outer row of a LATERAL call).
type Ordinality struct {
	in   exec.Operator
	next int64
	buf  []int64
}

// NewOrdinality numbers the rows of in.
func NewOrdinality(in exec.Operator) exec.Operator { return &Ordinality{in: in} }

func (o *Ordinality) Open(ctx *exec.Ctx) error {
	o.next = 1
	return o.in.Open(ctx)
}

func (o *Ordinality) Next(ctx *exec.Ctx) (*exec.Batch, error) {
	b, err := o.in.Next(ctx)
	if err != nil || b == nil {
		return b, err
	}
	o.buf = o.buf[:0]
	for i := 0; i < b.N; i++ {
		o.buf = append(o.buf, o.next+int64(i))
	}
	o.next += int64(b.N)
	bld := array.NewInt64Builder(types.Mem)
	bld.AppendValues(o.buf, nil)
	ord := bld.NewArray()
	bld.Release()
	cols := append(append(make([]arrow.Array, 0, len(b.Cols)+1), b.Cols...), ord)
	return exec.NewBatch(cols, b.N), nil
}

func (o *Ordinality) Close() { o.in.Close() }
func (o *Ordinality) Types() []types.T {
	return append(append([]types.T{}, o.in.Types()...), types.TInt8)
}
func (o *Ordinality) Explain() string           { return "Ordinality" }
func (o *Ordinality) Children() []exec.Operator { return []exec.Operator{o.in} }
