package pgwire

import (
	"errors"

	"github.com/jackc/pgx/v5/pgproto3"

	"streamsql/sql/sqlerr"
)

func copyFormatCodes(format int8, columns int) []uint16 {
	codes := make([]uint16, columns)
	for i := range codes {
		codes[i] = uint16(format)
	}
	return codes
}

// copyIn runs COPY ... FROM STDIN: it feeds the client's CopyData to r until
// CopyDone or CopyFail. After an error, the client's remaining copy messages
// are skipped by the caller (simple protocol) or until Sync (extended).
func (c *conn) copyIn(r CopyInResult) error {
	format, columns := r.CopyFormat()
	c.w.send(&pgproto3.CopyInResponse{OverallFormat: byte(format), ColumnFormatCodes: copyFormatCodes(format, columns)})
	for {
		f, ok := c.next(false)
		if !ok {
			r.Abort("connection closed")
			return errConnGone
		}
		if f.err != nil {
			r.Abort("connection lost during COPY")
			if errors.Is(f.err, errConnGone) {
				return errConnGone
			}
			return fatalError{f.err}
		}
		switch f.typ {
		case 'd':
			// CopyData is the raw body; no decoding needed.
			if err := r.Write(c.ctx, f.body); err != nil {
				return err
			}
		case 'c':
			tag, err := r.Finish(c.ctx)
			if err != nil {
				return err
			}
			c.w.send(&pgproto3.CommandComplete{CommandTag: []byte(tag)})
			return nil
		case 'f':
			var m pgproto3.CopyFail
			if err := m.Decode(f.body); err != nil {
				r.Abort("malformed CopyFail")
				return fatalError{malformed("CopyFail", err)}
			}
			r.Abort(m.Message)
			return sqlerr.New(sqlerr.QueryCanceled, "COPY from stdin failed: %s", m.Message)
		case 'H', 'S':
			// Ignored during copy-in, as the protocol says.
		case 'X':
			r.Abort("client terminated the connection")
			return errConnGone
		default:
			r.Abort("unexpected message")
			return sqlerr.New(sqlerr.ProtocolViolation, "unexpected message type 0x%02X during COPY from stdin", f.typ)
		}
	}
}

// copyOut runs COPY ... TO STDOUT.
func (c *conn) copyOut(r CopyOutResult) error {
	format, columns := r.CopyFormat()
	c.w.send(&pgproto3.CopyOutResponse{OverallFormat: byte(format), ColumnFormatCodes: copyFormatCodes(format, columns)})
	blocking := false
	if b, ok := r.(BlockingResult); ok {
		blocking = b.Blocking()
	}
	for {
		// Rows of a streaming COPY (SUBSCRIBE) may be long in coming: let
		// the client see what it has so far.
		if blocking && c.w.flush() != nil {
			return errConnGone
		}
		data, err := r.NextData(c.ctx)
		if err != nil {
			return err
		}
		if data == nil {
			break
		}
		c.w.send(&pgproto3.CopyData{Data: data})
		if c.w.flushIfLarge() != nil {
			return errConnGone
		}
	}
	c.w.send(&pgproto3.CopyDone{})
	c.w.send(&pgproto3.CommandComplete{CommandTag: []byte(r.Tag())})
	return nil
}
