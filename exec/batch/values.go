package batch

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

	"streamsql/exec"
	"streamsql/exec/expr"
	"streamsql/sql/types"
)

// Values produces literal rows (VALUES lists, and the single empty row of
// a SELECT without FROM). Each row's expressions are evaluated at Open, so
// they may read parameters and subqueries.
type Values struct {
	rows [][]expr.Expr
	ts   []types.T

	out tableReader
}

// NewValues returns an operator producing rows, of column types ts.
func NewValues(rows [][]expr.Expr, ts []types.T) exec.Operator {
	return &Values{rows: rows, ts: ts}
}

func (v *Values) Open(ctx *exec.Ctx) error {
	v.out.release()
	cols := make([]arrow.Array, len(v.ts))
	for j, t := range v.ts {
		b := types.NewBuilder(t)
		b.Reserve(len(v.rows))
		for _, row := range v.rows {
			if len(row) != len(v.ts) {
				b.Release()
				releaseAll(cols)
				return fmt.Errorf("VALUES row has %d columns, want %d", len(row), len(v.ts))
			}
			d, err := valueOf(ctx, row[j])
			if err != nil {
				b.Release()
				releaseAll(cols)
				return err
			}
			types.AppendDatum(b, d)
		}
		cols[j] = b.NewArray()
		b.Release()
	}
	v.out.set(&table{cols: cols, n: len(v.rows)})
	return nil
}

func (v *Values) Next(ctx *exec.Ctx) (*exec.Batch, error) {
	return v.out.next(), nil
}

func (v *Values) Close() { v.out.release() }

func (v *Values) Types() []types.T { return v.ts }
func (v *Values) Explain() string {
	return fmt.Sprintf("Values %d rows x %d cols", len(v.rows), len(v.ts))
}
func (v *Values) Children() []exec.Operator { return nil }

// valueOf evaluates one VALUES entry. Parameters and constants, all of
// an INSERT's or COPY's rows, are read directly instead of through a
// one-row column each.
func valueOf(ctx *exec.Ctx, e expr.Expr) (types.Datum, error) {
	switch e := e.(type) {
	case *expr.Param:
		if e.T.Kind != types.Unknown && e.Idx >= 0 && e.Idx < len(ctx.Params) {
			return ctx.Params[e.Idx], nil
		}
	case *expr.Const:
		if e.T.Kind != types.Unknown {
			return e.Value, nil
		}
	}
	return evalConst(ctx, e)
}
