package udf

import (
	"bytes"
	"cmp"
	"math"
	"math/big"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/sql/types"
)

// Comparison operators = <> < <= > >= for every ordered type, and the
// cross-width integer and float comparisons. Other mixed comparisons
// (integer with numeric, date with timestamp) resolve through implicit
// casts, as in PostgreSQL.

// cmpOp is one of the six comparison operators.
type cmpOp int

const (
	opEq cmpOp = iota
	opNe
	opLt
	opLe
	opGt
	opGe
)

var cmpOps = []struct {
	sym string
	op  cmpOp
}{{"=", opEq}, {"<>", opNe}, {"<", opLt}, {"<=", opLe}, {">", opGt}, {">=", opGe}}

// test reports whether a comparison result c (-1, 0, 1) satisfies op.
func (op cmpOp) test(c int) bool {
	switch op {
	case opEq:
		return c == 0
	case opNe:
		return c != 0
	case opLt:
		return c < 0
	case opLe:
		return c <= 0
	case opGt:
		return c > 0
	}
	return c >= 0
}

func (r *registry) addComparison() {
	for _, c := range cmpOps {
		c := c
		for _, l := range intKinds {
			for _, rt := range intKinds {
				r.op(&Scalar{Name: c.sym, Args: ts(l, rt), Ret: types.TBool, Strict: true, Eval: intCompare(c.op)})
			}
		}
		for _, l := range []types.T{types.TFloat4, types.TFloat8} {
			for _, rt := range []types.T{types.TFloat4, types.TFloat8} {
				r.op(&Scalar{Name: c.sym, Args: ts(l, rt), Ret: types.TBool, Strict: true, Eval: floatCompare(c.op)})
			}
		}
		r.op(&Scalar{Name: c.sym, Args: ts(types.TNumeric, types.TNumeric), Ret: types.TBool, Strict: true, Eval: nullSafe(types.TBool, numericVecCompare(c.op))})
		for _, t := range []types.T{types.TText, {Kind: types.Char}, types.TName, types.TBool, types.TBytea,
			types.TDate, types.TTime, types.TTimestamp, types.TTimestampTZ, types.TInterval, types.TJSONB, types.TOid} {
			r.op(&Scalar{Name: c.sym, Args: ts(t, t), Ret: types.TBool, Strict: true, Eval: genericCompare(c.op, t)})
		}
	}
}

// orderedCompare is the typed comparison loop, one loop per operator.
func orderedCompare[T cmp.Ordered](op cmpOp, x, y []T, out []bool) {
	x, y = x[:len(out)], y[:len(out)]
	switch op {
	case opEq:
		for i := range out {
			out[i] = x[i] == y[i]
		}
	case opNe:
		for i := range out {
			out[i] = x[i] != y[i]
		}
	case opLt:
		for i := range out {
			out[i] = x[i] < y[i]
		}
	case opLe:
		for i := range out {
			out[i] = x[i] <= y[i]
		}
	case opGt:
		for i := range out {
			out[i] = x[i] > y[i]
		}
	case opGe:
		for i := range out {
			out[i] = x[i] >= y[i]
		}
	}
}

func intCompare(op cmpOp) ScalarFunc {
	return func(_ *Env, args []arrow.Array, n int) (arrow.Array, error) {
		out := make([]bool, n)
		a, b := args[0], args[1]
		switch {
		case a.DataType().ID() == arrow.INT64 && b.DataType().ID() == arrow.INT64:
			orderedCompare(op, ints[int64](a), ints[int64](b), out)
		case a.DataType().ID() == arrow.INT32 && b.DataType().ID() == arrow.INT32:
			orderedCompare(op, ints[int32](a), ints[int32](b), out)
		case a.DataType().ID() == arrow.INT64 && b.DataType().ID() == arrow.INT32:
			mixedIntCompare(op, ints[int64](a), ints[int32](b), out)
		case a.DataType().ID() == arrow.INT32 && b.DataType().ID() == arrow.INT64:
			mixedIntCompare(op, ints[int32](a), ints[int64](b), out)
		default:
			orderedCompare(op, asInt64s(a), asInt64s(b), out)
		}
		return makeBool(out, validity(n, a, b)), nil
	}
}

// mixedIntCompare compares integer columns of different widths without
// widening either into a new slice (bigint = 0 compares with an int4
// constant).
func mixedIntCompare[A, B intT](op cmpOp, x []A, y []B, out []bool) {
	x, y = x[:len(out)], y[:len(out)]
	switch op {
	case opEq:
		for i := range out {
			out[i] = int64(x[i]) == int64(y[i])
		}
	case opNe:
		for i := range out {
			out[i] = int64(x[i]) != int64(y[i])
		}
	case opLt:
		for i := range out {
			out[i] = int64(x[i]) < int64(y[i])
		}
	case opLe:
		for i := range out {
			out[i] = int64(x[i]) <= int64(y[i])
		}
	case opGt:
		for i := range out {
			out[i] = int64(x[i]) > int64(y[i])
		}
	case opGe:
		for i := range out {
			out[i] = int64(x[i]) >= int64(y[i])
		}
	}
}

func floatCompare(op cmpOp) ScalarFunc {
	return func(_ *Env, args []arrow.Array, n int) (arrow.Array, error) {
		out := make([]bool, n)
		x, y := asFloat64s(args[0]), asFloat64s(args[1])
		hasNaN := false
		for i := 0; i < n; i++ {
			if math.IsNaN(x[i]) || math.IsNaN(y[i]) {
				hasNaN = true
				break
			}
		}
		if !hasNaN {
			orderedCompare(op, x, y, out)
		} else {
			for i := range out {
				out[i] = op.test(types.CompareFloat(x[i], y[i]))
			}
		}
		return makeBool(out, validity(n, args[0], args[1])), nil
	}
}

// genericCompare compares two columns of type t.
func genericCompare(op cmpOp, t types.T) ScalarFunc {
	return func(_ *Env, args []arrow.Array, n int) (arrow.Array, error) {
		out := make([]bool, n)
		a, b := args[0], args[1]
		valid := validity(n, a, b)
		vb := validBits(valid)
		switch t.Kind {
		case types.Text, types.Name, types.JSONB:
			x, y := a.(*array.String), b.(*array.String)
			for i := range out {
				out[i] = op.test(strings.Compare(x.Value(i), y.Value(i)))
			}
		case types.Char:
			x, y := a.(*array.String), b.(*array.String)
			for i := range out {
				out[i] = op.test(strings.Compare(strings.TrimRight(x.Value(i), " "), strings.TrimRight(y.Value(i), " ")))
			}
		case types.Numeric:
			x, y := a.(*array.String), b.(*array.String)
			for i := range out {
				if !rowValid(vb, i) {
					continue
				}
				if x.Value(i) == y.Value(i) {
					out[i] = op.test(0)
					continue
				}
				dx, dy, err := decimalsAt(x, y, i)
				if err != nil {
					return nil, err
				}
				out[i] = op.test(types.CompareDecimal(dx, dy))
			}
		case types.Bool:
			x, y := a.(*array.Boolean), b.(*array.Boolean)
			for i := range out {
				out[i] = op.test(types.CompareBool(x.Value(i), y.Value(i)))
			}
		case types.Bytea:
			x, y := a.(*array.Binary), b.(*array.Binary)
			for i := range out {
				out[i] = op.test(bytes.Compare(x.Value(i), y.Value(i)))
			}
		case types.DateKind:
			orderedCompare(op, a.(*array.Date32).Date32Values(), b.(*array.Date32).Date32Values(), out)
		case types.Time:
			orderedCompare(op, a.(*array.Time64).Time64Values(), b.(*array.Time64).Time64Values(), out)
		case types.TimestampKind, types.TimestampTZ:
			orderedCompare(op, a.(*array.Timestamp).TimestampValues(), b.(*array.Timestamp).TimestampValues(), out)
		case types.Interval:
			x := a.(*array.MonthDayNanoInterval).MonthDayNanoIntervalValues()
			y := b.(*array.MonthDayNanoInterval).MonthDayNanoIntervalValues()
			for i := range out {
				out[i] = op.test(CompareInterval(ivOf(x[i]), ivOf(y[i])))
			}
		case types.Oid:
			orderedCompare(op, asInt64s(a), asInt64s(b), out)
		}
		return makeBool(out, valid), nil
	}
}

func ivOf(v arrow.MonthDayNanoInterval) types.IntervalValue {
	return types.IntervalValue{Months: v.Months, Days: v.Days, Micros: v.Nanoseconds / 1000}
}

func arrowIv(v types.IntervalValue) arrow.MonthDayNanoInterval {
	return arrow.MonthDayNanoInterval{Months: v.Months, Days: v.Days, Nanoseconds: v.Micros * 1000}
}

// CompareInterval orders intervals as PostgreSQL does: by their span with
// a month counted as 30 days and a day as 24 hours, so '1 month' equals
// '30 days'.
func CompareInterval(a, b types.IntervalValue) int {
	da := int64(a.Months)*30 + int64(a.Days)
	db := int64(b.Months)*30 + int64(b.Days)
	const lim = math.MaxInt64/types.MicrosPerDay - 1
	if da < lim && da > -lim && db < lim && db > -lim {
		sa, oka := addNoOverflow(da*types.MicrosPerDay, a.Micros)
		sb, okb := addNoOverflow(db*types.MicrosPerDay, b.Micros)
		if oka && okb {
			return cmp.Compare(sa, sb)
		}
	}
	ba := new(big.Int).Mul(big.NewInt(da), big.NewInt(types.MicrosPerDay))
	ba.Add(ba, big.NewInt(a.Micros))
	bb := new(big.Int).Mul(big.NewInt(db), big.NewInt(types.MicrosPerDay))
	bb.Add(bb, big.NewInt(b.Micros))
	return ba.Cmp(bb)
}

func addNoOverflow(a, b int64) (int64, bool) {
	r := a + b
	return r, ((a ^ r) & (b ^ r)) >= 0
}
