package batch

import (
	"bytes"
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/exec"
	"streamsql/exec/expr"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// Limit skips the first OFFSET rows and passes at most LIMIT rows, then
// stops pulling its input. Both counts are evaluated once at Open; a NULL
// LIMIT means no limit and a NULL OFFSET means zero, as in PostgreSQL.
//
// With ties (FETCH FIRST n ROWS WITH TIES) the input is sorted and the
// rows after the n-th that equal it on the tie columns (the ORDER BY
// keys, NULL equal to NULL) pass too; the limit stops pulling at the
// first row that differs.
type Limit struct {
	in            exec.Operator
	limit, offset expr.Expr
	ties          []int // the tie columns; nil: no WITH TIES

	remaining int64 // rows still to pass; -1 = unlimited
	skip      int64 // rows still to skip

	tieKey  []byte // the key of the last counted row, once the count is reached
	done    bool   // a row past the ties was seen
	keys    rowKeys
	tieTs   []types.T
	tieCols []arrow.Array
}

// NewLimit returns in limited by limit and offset (nil = absent).
func NewLimit(in exec.Operator, limit, offset expr.Expr) exec.Operator {
	return &Limit{in: in, limit: limit, offset: offset}
}

// NewLimitWithTies returns in (sorted) limited by limit and offset, with
// the rows that tie with the last one on the columns ties.
func NewLimitWithTies(in exec.Operator, limit, offset expr.Expr, ties []int) exec.Operator {
	ts := in.Types()
	l := &Limit{in: in, limit: limit, offset: offset, ties: ties}
	for _, c := range ties {
		l.tieTs = append(l.tieTs, ts[c])
	}
	return l
}

// evalLimits evaluates LIMIT and OFFSET: limit -1 means none.
func evalLimits(ctx *exec.Ctx, limit, offset expr.Expr) (lim, off int64, err error) {
	if lim, err = evalRowCount(ctx, limit, -1, sqlerr.InvalidRowCountInLimit, "LIMIT"); err != nil {
		return 0, 0, err
	}
	if off, err = evalRowCount(ctx, offset, 0, sqlerr.InvalidRowCountInOffset, "OFFSET"); err != nil {
		return 0, 0, err
	}
	return lim, off, nil
}

// evalRowCount evaluates the row count e of the clause named clause: def
// when it is absent or NULL, an error with code when it is negative.
func evalRowCount(ctx *exec.Ctx, e expr.Expr, def int64, code, clause string) (int64, error) {
	if e == nil {
		return def, nil
	}
	d, err := evalConst(ctx, e)
	if err != nil || d == nil {
		return def, err
	}
	v, err := rowCount(d)
	if err != nil {
		return 0, err
	}
	if v < 0 {
		return 0, sqlerr.New(code, "%s must not be negative", clause)
	}
	return v, nil
}

// rowCount converts a LIMIT/OFFSET value (bigint after the planner's cast).
func rowCount(d types.Datum) (int64, error) {
	switch v := d.(type) {
	case int64:
		return v, nil
	case float64:
		if v != v || v > math.MaxInt64 || v < math.MinInt64 {
			return 0, sqlerr.New(sqlerr.NumericValueOutOfRange, "bigint out of range")
		}
		return int64(math.RoundToEven(v)), nil
	case *types.Decimal:
		i, err := v.Int64()
		if err != nil {
			return 0, sqlerr.New(sqlerr.NumericValueOutOfRange, "bigint out of range")
		}
		return i, nil
	}
	return 0, fmt.Errorf("LIMIT/OFFSET value of Go type %T", d)
}

func (l *Limit) Open(ctx *exec.Ctx) error {
	lim, off, err := evalLimits(ctx, l.limit, l.offset)
	if err != nil {
		return err
	}
	if l.ties != nil && lim < 0 {
		if d, err := evalConst(ctx, l.limit); err != nil || d == nil {
			if err == nil {
				err = sqlerr.New(sqlerr.InvalidRowCountInLimit, "row count cannot be null in FETCH FIRST ... WITH TIES clause")
			}
			return err
		}
	}
	l.remaining, l.skip = lim, off
	l.tieKey, l.done = nil, false
	return l.in.Open(ctx)
}

func (l *Limit) Next(ctx *exec.Ctx) (*exec.Batch, error) {
	for {
		if l.remaining == 0 && (l.tieKey == nil || l.done) {
			return nil, nil
		}
		b, err := next(ctx, l.in)
		if err != nil || b == nil {
			return nil, err
		}
		lo, hi := int64(0), int64(b.N)
		if l.skip > 0 {
			s := min(l.skip, hi)
			l.skip -= s
			lo = s
		}
		if l.remaining >= 0 && hi-lo > l.remaining {
			hi = lo + l.remaining
		}
		if l.ties != nil && hi > lo || l.tieKey != nil {
			hi = l.extendTies(b, lo, hi)
		}
		if hi <= lo {
			b.Release()
			continue
		}
		if l.remaining > 0 {
			l.remaining -= min(hi-lo, l.remaining)
		}
		if lo == 0 && hi == int64(b.N) {
			return b, nil
		}
		out := sliceBatch(b, lo, hi)
		b.Release()
		return out, nil
	}
}

// extendTies returns the end of the rows of b to pass, [lo, hi) counted
// by the limit, extended by the rows that tie with the last counted row;
// it records that row's key when the count is reached.
func (l *Limit) extendTies(b *exec.Batch, lo, hi int64) int64 {
	if l.remaining < 0 || hi-lo < l.remaining && l.tieKey == nil {
		return hi // the count is not reached in this batch
	}
	l.tieCols = l.tieCols[:0]
	for _, c := range l.ties {
		l.tieCols = append(l.tieCols, b.Cols[c])
	}
	l.keys.encode(l.tieCols, l.tieTs, b.N)
	if l.tieKey == nil {
		// Row hi-1 is the last one counted.
		l.tieKey = append([]byte(nil), l.keys.keys[hi-1]...)
	}
	for hi < int64(b.N) && bytes.Equal(l.keys.keys[hi], l.tieKey) {
		hi++
	}
	if hi < int64(b.N) {
		l.done = true
	}
	return hi
}

// sliceBatch returns rows [lo, hi) of b as a new batch sharing buffers.
func sliceBatch(b *exec.Batch, lo, hi int64) *exec.Batch {
	cols := make([]arrow.Array, len(b.Cols))
	for j, c := range b.Cols {
		cols[j] = array.NewSlice(c, lo, hi)
	}
	return exec.NewBatch(cols, int(hi-lo))
}

func (l *Limit) Close()           { l.in.Close() }
func (l *Limit) Types() []types.T { return l.in.Types() }
func (l *Limit) Explain() string {
	s := "Limit"
	if l.limit != nil {
		s += " " + l.limit.String()
	}
	if l.ties != nil {
		s += " with ties on " + ColList(l.ties)
	}
	if l.offset != nil {
		s += " offset " + l.offset.String()
	}
	return s
}
func (l *Limit) Children() []exec.Operator { return []exec.Operator{l.in} }
