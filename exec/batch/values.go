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

// Rows evaluates the rows into datums exactly as Open and the columns
// it makes would yield them (exec.Batch.Row), for a writer that stores
// rows: a datum of a column type whose datums pass through an Arrow column
// unchanged is taken as is, any other goes through a column of one. The
// entries are evaluated in Open's order (column by column), so the first
// error is Open's. ok is false, with nothing evaluated, when a column is
// of a type a column changes (float4, numeric, interval, ...): the
// caller then reads the columns.
func (v *Values) Rows(ctx *exec.Ctx) (rows [][]types.Datum, ok bool, err error) {
	for _, t := range v.ts {
		if !rowKind(t.Kind) {
			return nil, false, nil
		}
	}
	for _, row := range v.rows {
		if len(row) != len(v.ts) {
			return nil, true, fmt.Errorf("VALUES row has %d columns, want %d", len(row), len(v.ts))
		}
	}
	rows = make([][]types.Datum, len(v.rows))
	cells := make([]types.Datum, len(v.rows)*len(v.ts))
	for i := range rows {
		rows[i] = cells[i*len(v.ts) : (i+1)*len(v.ts) : (i+1)*len(v.ts)]
	}
	for j, t := range v.ts {
		for i, row := range v.rows {
			d, err := valueOf(ctx, row[j])
			if err != nil {
				return nil, true, err
			}
			if d != nil && !rowDatum(t.Kind, d) {
				a := types.ArrayFromDatums(t, []types.Datum{d})
				d = types.GetDatum(a, 0, t)
				a.Release()
			}
			rows[i][j] = d
		}
	}
	return rows, true, nil
}

// rowKind says whether a column of kind k holds its datums unchanged:
// types.AppendDatum and types.GetDatum give back the datum put in when it
// is of the kind's Go type (rowDatum).
func rowKind(k types.Kind) bool {
	switch k {
	case types.Bool, types.Int2, types.Int4, types.Int8, types.Float8, types.Text, types.Varchar, types.Char,
		types.Bytea, types.DateKind, types.Time, types.TimestampKind, types.TimestampTZ:
		return true
	}
	return false
}

// rowDatum says whether d is of the Go type that columns of kind k (a
// rowKind) hold.
func rowDatum(k types.Kind, d types.Datum) bool {
	switch k {
	case types.Bool:
		_, ok := d.(bool)
		return ok
	case types.Int8:
		_, ok := d.(int64)
		return ok
	case types.Int4:
		v, ok := d.(int64)
		return ok && v == int64(int32(v))
	case types.Int2:
		v, ok := d.(int64)
		return ok && v == int64(int16(v))
	case types.Float8:
		_, ok := d.(float64)
		return ok
	case types.Text, types.Varchar, types.Char:
		_, ok := d.(string)
		return ok
	case types.Bytea:
		_, ok := d.([]byte)
		return ok
	case types.DateKind:
		_, ok := d.(types.Date)
		return ok
	case types.Time:
		_, ok := d.(types.TimeOfDay)
		return ok
	case types.TimestampKind, types.TimestampTZ:
		_, ok := d.(types.Timestamp)
		return ok
	}
	return false
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
