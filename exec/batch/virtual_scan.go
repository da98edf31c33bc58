package batch

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

	"streamsql/exec"
	"streamsql/sql/types"
)

// VirtualScan produces the rows of a table computed when the statement
// runs (pg_catalog, information_schema). The rows are computed once per
// execution and kept in the execution's cache, so a correlated subquery
// that reopens the scan for every outer row does not recompute them.
type VirtualScan struct {
	name string
	ts   []types.T
	// idx selects the output columns from the computed rows.
	idx  []int
	rows func(ctx *exec.Ctx) ([][]types.Datum, error)

	out tableReader
}

// virtualKey keys a virtual table's rows in exec.Ctx.Cache.
type virtualKey string

// NewVirtualScan returns a scan of the virtual table name whose rows (all
// columns) rows computes; it outputs the columns idx, of types ts.
func NewVirtualScan(name string, ts []types.T, idx []int, rows func(ctx *exec.Ctx) ([][]types.Datum, error)) exec.Operator {
	return &VirtualScan{name: name, ts: ts, idx: idx, rows: rows}
}

func (v *VirtualScan) Open(ctx *exec.Ctx) error {
	v.out.release()
	var rows [][]types.Datum
	if c, ok := ctx.Cache[virtualKey(v.name)].([][]types.Datum); ok {
		rows = c
	} else {
		var err error
		if rows, err = v.rows(ctx); err != nil {
			return fmt.Errorf("%s: %w", v.name, err)
		}
		if ctx.Cache != nil {
			ctx.Cache[virtualKey(v.name)] = rows
		}
	}
	cols := make([]arrow.Array, len(v.ts))
	for j, t := range v.ts {
		b := types.NewBuilder(t)
		b.Reserve(len(rows))
		for _, r := range rows {
			types.AppendDatum(b, r[v.idx[j]])
		}
		cols[j] = b.NewArray()
		b.Release()
	}
	v.out.set(&table{cols: cols, n: len(rows)})
	return nil
}

func (v *VirtualScan) Next(ctx *exec.Ctx) (*exec.Batch, error) {
	return v.out.next(), nil
}

func (v *VirtualScan) Close() { v.out.release() }

func (v *VirtualScan) Types() []types.T          { return v.ts }
func (v *VirtualScan) Explain() string           { return "VirtualScan " + v.name }
func (v *VirtualScan) Children() []exec.Operator { return nil }
