package pgwire

import (
	"encoding/binary"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/jackc/pgx/v5/pgproto3"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// rowDescription describes cols with the given per-column format codes
// (nil means all text).
func rowDescription(cols []Column, formats []int16) *pgproto3.RowDescription {
	fields := make([]pgproto3.FieldDescription, len(cols))
	for i, col := range cols {
		var f int16
		if formats != nil {
			f = formats[i]
		}
		fields[i] = pgproto3.FieldDescription{
			Name:                 []byte(col.Name),
			TableOID:             col.TableOID,
			TableAttributeNumber: uint16(col.ColumnNo),
			DataTypeOID:          col.Type.OID(),
			DataTypeSize:         col.Type.TypLen(),
			TypeModifier:         col.Type.TypMod(),
			Format:               f,
		}
	}
	return &pgproto3.RowDescription{Fields: fields}
}

// encKind picks how one column's values are written.
type encKind uint8

const (
	encText   encKind = iota // types.AppendText
	encBinary                // types.AppendBinary
	encInt16                 // decimal text straight from the typed slice
	encInt32
	encInt64
	encString // text-like: the bytes as stored
	encBool
)

// colEncoder writes one column of a batch. The typed views are set per
// batch so that the row loop does no type switches on Arrow arrays.
type colEncoder struct {
	kind encKind
	t    types.T

	arr arrow.Array
	// valid is the validity bitmap (nil when the batch has no NULLs) and
	// off the array's offset into it; allNull marks an arrow.Null column.
	valid   []byte
	off     int
	allNull bool
	i16     []int16
	i32     []int32
	i64     []int64
	str     *array.String
	bol     *array.Boolean
	// regOut prints a reg* value (regclass, regtype...) by name.
	regOut func(regType, oid uint32) string
}

// RegFormatter is implemented by sessions that print reg* values
// (regclass, regtype, regproc, regnamespace) by name in text results, as
// PostgreSQL's output functions do; without it they print as numbers.
type RegFormatter interface {
	FormatReg(regType, oid uint32) string
}

// newEncoders chooses an encoder for each column under the format codes;
// reg (may be nil) names reg* values in text columns.
func newEncoders(cols []Column, formats []int16, reg RegFormatter) []colEncoder {
	encs := make([]colEncoder, len(cols))
	for i, col := range cols {
		e := colEncoder{t: col.Type, kind: encText}
		if formats != nil && formats[i] == 1 {
			e.kind = encBinary
		} else {
			switch col.Type.Kind {
			case types.Int2:
				e.kind = encInt16
			case types.Int4:
				e.kind = encInt32
			case types.Int8:
				e.kind = encInt64
			case types.Oid:
				if col.Type.OIDOverride == 0 {
					e.kind = encInt64
				} else if reg != nil && types.IsRegType(col.Type.OIDOverride) {
					e.regOut = reg.FormatReg
				}
			case types.Text, types.Varchar:
				e.kind = encString
			case types.Bool:
				e.kind = encBool
			}
		}
		encs[i] = e
	}
	return encs
}

// bind points the encoders at a batch's columns. A column whose Arrow type
// is not the expected one falls back to the generic path.
func bindBatch(encs []colEncoder, rec arrow.RecordBatch) {
	for j := range encs {
		e := &encs[j]
		e.arr = rec.Column(j)
		e.i16, e.i32, e.i64, e.str, e.bol = nil, nil, nil, nil, nil
		e.valid, e.off, e.allNull = nil, e.arr.Data().Offset(), false
		if _, ok := e.arr.(*array.Null); ok {
			e.allNull = true
		} else if e.arr.NullN() > 0 {
			e.valid = e.arr.NullBitmapBytes()
		}
		switch e.kind {
		case encInt16:
			if a, ok := e.arr.(*array.Int16); ok {
				e.i16 = a.Int16Values()
			}
		case encInt32:
			if a, ok := e.arr.(*array.Int32); ok {
				e.i32 = a.Int32Values()
			}
		case encInt64:
			if a, ok := e.arr.(*array.Int64); ok {
				e.i64 = a.Int64Values()
			}
		case encString:
			e.str, _ = e.arr.(*array.String)
		case encBool:
			e.bol, _ = e.arr.(*array.Boolean)
		}
	}
}

// appendDataRow appends the DataRow message for row i of the bound batch.
func appendDataRow(buf []byte, encs []colEncoder, i int, loc *time.Location) ([]byte, error) {
	start := len(buf)
	buf = append(buf, 'D', 0, 0, 0, 0)
	buf = binary.BigEndian.AppendUint16(buf, uint16(len(encs)))
	for j := range encs {
		e := &encs[j]
		if e.allNull || (e.valid != nil && !bitutil.BitIsSet(e.valid, e.off+i)) {
			buf = append(buf, 0xff, 0xff, 0xff, 0xff)
			continue
		}
		at := len(buf)
		buf = append(buf, 0, 0, 0, 0)
		switch {
		case e.i16 != nil:
			buf = strconv.AppendInt(buf, int64(e.i16[i]), 10)
		case e.i32 != nil:
			buf = strconv.AppendInt(buf, int64(e.i32[i]), 10)
		case e.i64 != nil:
			buf = strconv.AppendInt(buf, e.i64[i], 10)
		case e.str != nil:
			buf = append(buf, e.str.Value(i)...)
		case e.bol != nil:
			if e.bol.Value(i) {
				buf = append(buf, 't')
			} else {
				buf = append(buf, 'f')
			}
		case e.regOut != nil:
			if v, ok := types.GetDatum(e.arr, i, e.t).(int64); ok {
				buf = append(buf, e.regOut(e.t.OIDOverride, uint32(v))...)
			} else {
				buf = types.AppendText(buf, types.GetDatum(e.arr, i, e.t), e.t, loc)
			}
		case e.kind == encBinary:
			var err error
			buf, err = types.AppendBinary(buf, types.GetDatum(e.arr, i, e.t), e.t)
			if err != nil {
				return buf[:start], sqlerr.Wrap(err, sqlerr.InternalError)
			}
		default:
			buf = types.AppendText(buf, types.GetDatum(e.arr, i, e.t), e.t, loc)
		}
		binary.BigEndian.PutUint32(buf[at:], uint32(len(buf)-at-4))
	}
	binary.BigEndian.PutUint32(buf[start+1:], uint32(len(buf)-start-1))
	return buf, nil
}

// sendRows streams rows of p's result, at most maxRows of them when
// maxRows > 0. It reports whether the portal was suspended (the limit was
// reached before the end of the rows).
func (c *conn) sendRows(p *portal, maxRows int) (suspended bool, err error) {
	sent := 0
	for {
		if p.rec == nil {
			if maxRows > 0 && sent >= maxRows {
				p.lastCount = sent
				return true, nil
			}
			// A streaming result may block in Next: let the client see
			// what it has so far (BindComplete included). Other results
			// are flushed when the buffer grows large or the statement
			// ends.
			if b, ok := p.res.(BlockingResult); ok && b.Blocking() {
				if c.w.flush() != nil {
					return false, errConnGone
				}
			}
			rec, err := p.res.Next(c.ctx)
			if err != nil {
				return false, err
			}
			if rec == nil {
				p.lastCount = sent
				return false, nil
			}
			if int(rec.NumCols()) != len(p.encs) {
				return false, sqlerr.New(sqlerr.InternalError, "result batch has %d columns, expected %d", rec.NumCols(), len(p.encs))
			}
			p.rec, p.row = rec, 0
			bindBatch(p.encs, rec)
		}
		n := int(p.rec.NumRows())
		for p.row < n {
			if maxRows > 0 && sent >= maxRows {
				p.lastCount = sent
				return true, nil
			}
			c.w.partial = len(c.w.buf)
			c.w.buf, err = appendDataRow(c.w.buf, p.encs, p.row, c.loc)
			c.w.partial = -1
			if err != nil {
				return false, err
			}
			p.row++
			sent++
			if c.w.flushIfLarge() != nil {
				return false, errConnGone
			}
		}
		p.rec = nil
	}
}
