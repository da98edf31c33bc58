package batch

import (
	"github.com/apache/arrow-go/v18/arrow"

	"streamsql/exec"
	"streamsql/sql/types"
)

// Distinct passes the first row of each distinct key, in input order:
// SELECT DISTINCT (the key is every column) and SELECT DISTINCT ON (the
// key is the ON columns; the planner sorts the input first). NULLs are
// equal to each other.
//
// State: the set of keys seen so far (a groupTable), dropped at Open.
type Distinct struct {
	in     exec.Operator
	onCols []int // nil: all columns
	keyTs  []types.T

	groups  *groupTable
	ids     []uint32
	newRows []int32
	kcols   []arrow.Array
}

// NewDistinct returns the distinct rows of in.
func NewDistinct(in exec.Operator) exec.Operator {
	return &Distinct{in: in, keyTs: in.Types()}
}

// NewDistinctOn returns the first row of in per distinct value of onCols.
func NewDistinctOn(in exec.Operator, onCols []int) exec.Operator {
	ts := in.Types()
	keyTs := make([]types.T, len(onCols))
	for i, c := range onCols {
		keyTs[i] = ts[c]
	}
	return &Distinct{in: in, onCols: onCols, keyTs: keyTs}
}

func (d *Distinct) Open(ctx *exec.Ctx) error {
	d.groups.release()
	d.groups = accountedGroupTable(d.keyTs, ctx.Mem, "Distinct")
	return d.in.Open(ctx)
}

func (d *Distinct) Next(ctx *exec.Ctx) (*exec.Batch, error) {
	for {
		b, err := next(ctx, d.in)
		if err != nil || b == nil {
			return nil, err
		}
		out, err := d.firsts(b)
		b.Release()
		if err != nil || out != nil {
			return out, err
		}
	}
}

// firsts returns the rows of b whose key was not seen before, or nil.
func (d *Distinct) firsts(b *exec.Batch) (*exec.Batch, error) {
	if b.N == 0 {
		return nil, nil
	}
	if cap(d.ids) < b.N {
		d.ids = make([]uint32, b.N)
	}
	d.kcols = d.kcols[:0]
	if d.onCols == nil {
		d.kcols = append(d.kcols, b.Cols...)
	} else {
		for _, c := range d.onCols {
			d.kcols = append(d.kcols, b.Cols[c])
		}
	}
	d.newRows = d.groups.assign(d.kcols, b.N, d.ids[:b.N], d.newRows[:0])
	if err := d.groups.charge(d.newRows); err != nil {
		return nil, err
	}
	if len(d.newRows) == 0 {
		return nil, nil
	}
	return takeCols(b.Cols, d.newRows), nil
}

func (d *Distinct) Close() {
	d.groups.release()
	d.groups = nil
	d.in.Close()
}

func (d *Distinct) Types() []types.T { return d.in.Types() }
func (d *Distinct) Explain() string {
	if d.onCols != nil {
		return "DistinctOn " + ColList(d.onCols)
	}
	return "Distinct"
}
func (d *Distinct) Children() []exec.Operator { return []exec.Operator{d.in} }
