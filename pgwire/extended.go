package pgwire

import (
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/jackc/pgx/v5/pgproto3"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// prepared is a statement made by a Parse message. stmt is nil for an empty
// query string.
type prepared struct {
	name   string
	stmt   Statement
	params []types.T
	cols   []Column
}

// portal is a bound statement, executed (possibly in several steps) by
// Execute messages.
type portal struct {
	name    string
	stmt    *prepared
	args    []types.Datum
	formats []int16 // per result column; nil for all text

	res     Result
	encs    []colEncoder
	hasRows bool              // the result has columns (possibly zero of them)
	rec     arrow.RecordBatch // batch being sent, nil between batches
	row     int               // next row of rec
	started bool
	done    bool
	resumed bool // an Execute continued after PortalSuspended
	tag     string
	// lastCount is the number of rows the last Execute sent; a SELECT that
	// was suspended reports that count in its tag, as PostgreSQL does.
	lastCount int
}

// close releases the portal's result.
func (p *portal) close() {
	if p.res != nil {
		p.res.Close()
		p.res = nil
	}
	p.rec = nil
}

func (c *conn) dropPortal(p *portal) {
	p.close()
	if c.portals[p.name] == p {
		delete(c.portals, p.name)
	}
}

func (c *conn) closePortals() {
	for _, p := range c.portals {
		p.close()
	}
	clear(c.portals)
}

// extended handles the messages of the extended query protocol. An error
// is sent to the client and makes the connection skip messages until Sync.
func (c *conn) extended(f frame) error {
	var err, bad error
	switch f.typ {
	case 'P':
		bad, err = decodeMsg(f, "Parse", c.parseMsg)
	case 'B':
		bad, err = decodeMsg(f, "Bind", c.bindMsg)
	case 'D':
		bad, err = decodeMsg(f, "Describe", c.describeMsg)
	case 'E':
		bad, err = decodeMsg(f, "Execute", c.executeMsg)
	case 'C':
		bad, err = decodeMsg(f, "Close", c.closeMsg)
	case 'H':
		if c.w.flush() != nil {
			return errConnGone
		}
		return nil
	case 'S':
		c.ignoreTillSync = false
		// Outside a transaction block, Sync ends the implicit transaction
		// and with it every portal.
		if c.sess.TxStatus() == 'I' {
			c.closePortals()
		}
		c.readyForQuery()
		return c.w.flush()
	}
	if bad != nil {
		return bad
	}
	if err != nil {
		if isFatal(err) {
			return err
		}
		c.sendError(err)
		c.ignoreTillSync = true
	}
	return nil
}

// decodeMsg decodes the body of f into a new message M and hands it to
// handle, returning what handle does; a body that does not decode is
// returned as bad (a protocol violation) and handle is not called.
func decodeMsg[M any, P interface {
	*M
	Decode([]byte) error
}](f frame, name string, handle func(P) error) (bad, err error) {
	var m M
	if derr := P(&m).Decode(f.body); derr != nil {
		return malformed(name, derr), nil
	}
	return nil, handle(&m)
}

func (c *conn) parseMsg(m *pgproto3.Parse) error {
	if m.Name != "" {
		if _, ok := c.stmts[m.Name]; ok {
			return sqlerr.New(sqlerr.DuplicatePreparedStatement, "prepared statement %q already exists", m.Name)
		}
	}
	if err := types.CheckUTF8String(m.Name); err != nil {
		return err
	}
	if err := types.CheckUTF8String(m.Query); err != nil {
		return err
	}
	stmts, err := c.sess.Parse(m.Query)
	if err != nil {
		return err
	}
	if len(stmts) > 1 {
		return sqlerr.New(sqlerr.SyntaxError, "cannot insert multiple commands into a prepared statement")
	}
	ps := &prepared{name: m.Name}
	if len(stmts) == 1 {
		ps.stmt = stmts[0]
		ps.params, ps.cols, err = ps.stmt.Prepare(c.ctx, m.ParameterOIDs)
		c.collectParams()
		if err != nil {
			return err
		}
	}
	c.stmts[m.Name] = ps
	c.w.send(&pgproto3.ParseComplete{})
	return nil
}

func (c *conn) lookupStmt(name string) (*prepared, error) {
	ps, ok := c.stmts[name]
	if !ok {
		if name == "" {
			return nil, sqlerr.New(sqlerr.InvalidSQLStatementName, "unnamed prepared statement does not exist")
		}
		return nil, sqlerr.New(sqlerr.InvalidSQLStatementName, "prepared statement %q does not exist", name)
	}
	return ps, nil
}

func (c *conn) lookupPortal(name string) (*portal, error) {
	p, ok := c.portals[name]
	if !ok {
		return nil, sqlerr.New(sqlerr.InvalidCursorName, "portal %q does not exist", name)
	}
	return p, nil
}

func (c *conn) bindMsg(m *pgproto3.Bind) error {
	if err := types.CheckUTF8String(m.DestinationPortal); err != nil {
		return err
	}
	ps, err := c.lookupStmt(m.PreparedStatement)
	if err != nil {
		return err
	}
	if old, ok := c.portals[m.DestinationPortal]; ok {
		if m.DestinationPortal != "" {
			return sqlerr.New(sqlerr.DuplicateCursor, "cursor %q already exists", m.DestinationPortal)
		}
		c.dropPortal(old)
	}
	nf, np := len(m.ParameterFormatCodes), len(m.Parameters)
	if nf > 1 && nf != np {
		return sqlerr.New(sqlerr.ProtocolViolation, "bind message has %d parameter formats but %d parameters", nf, np)
	}
	if np != len(ps.params) {
		return sqlerr.New(sqlerr.ProtocolViolation, "bind message supplies %d parameters, but prepared statement %q requires %d", np, ps.name, len(ps.params))
	}
	args := make([]types.Datum, np)
	for i, raw := range m.Parameters {
		if raw == nil {
			continue
		}
		var format int16
		if nf == 1 {
			format = m.ParameterFormatCodes[0]
		} else if nf > 1 {
			format = m.ParameterFormatCodes[i]
		}
		t := ps.params[i]
		switch format {
		case 0:
			// Every text-format value is text from the client, whatever
			// its type: PostgreSQL checks its encoding first.
			if err := types.CheckUTF8(raw); err != nil {
				return err
			}
			d, err := types.ParseText(string(raw), t, c.loc)
			if err != nil {
				return sqlerr.Wrap(err, sqlerr.InvalidTextRepresentation)
			}
			args[i] = d
		case 1:
			d, err := types.ParseBinary(raw, t)
			if err != nil {
				if _, ok := err.(*sqlerr.Error); ok {
					return err
				}
				return sqlerr.New(sqlerr.InvalidBinaryRepresentation, "incorrect binary data format in bind parameter %d", i+1).WithDetail("%v", err)
			}
			args[i] = d
		default:
			return sqlerr.New(sqlerr.ProtocolViolation, "unsupported format code: %d", format)
		}
	}
	ncols := len(ps.cols)
	var formats []int16
	switch len(m.ResultFormatCodes) {
	case 0:
	case 1:
		formats = make([]int16, ncols)
		for i := range formats {
			formats[i] = m.ResultFormatCodes[0]
		}
	default:
		if len(m.ResultFormatCodes) != ncols {
			return sqlerr.New(sqlerr.ProtocolViolation, "bind message has %d result formats but query has %d columns", len(m.ResultFormatCodes), ncols)
		}
		formats = append([]int16(nil), m.ResultFormatCodes...)
	}
	for _, f := range formats {
		if f != 0 && f != 1 {
			return sqlerr.New(sqlerr.ProtocolViolation, "unsupported format code: %d", f)
		}
	}
	c.portals[m.DestinationPortal] = &portal{name: m.DestinationPortal, stmt: ps, args: args, formats: formats}
	c.w.send(&pgproto3.BindComplete{})
	return nil
}

func (c *conn) describeMsg(m *pgproto3.Describe) error {
	switch m.ObjectType {
	case 'S':
		ps, err := c.lookupStmt(m.Name)
		if err != nil {
			return err
		}
		oids := make([]uint32, len(ps.params))
		for i, t := range ps.params {
			oids[i] = t.OID()
		}
		c.w.send(&pgproto3.ParameterDescription{ParameterOIDs: oids})
		if ps.cols == nil {
			c.w.send(&pgproto3.NoData{})
		} else {
			c.w.send(rowDescription(ps.cols, nil))
		}
	case 'P':
		p, err := c.lookupPortal(m.Name)
		if err != nil {
			return err
		}
		if p.stmt.cols == nil {
			c.w.send(&pgproto3.NoData{})
		} else {
			c.w.send(rowDescription(p.stmt.cols, p.formats))
		}
	default:
		return sqlerr.New(sqlerr.ProtocolViolation, "invalid DESCRIBE message subtype %d", m.ObjectType)
	}
	return nil
}

func (c *conn) closeMsg(m *pgproto3.Close) error {
	switch m.ObjectType {
	case 'S':
		delete(c.stmts, m.Name)
	case 'P':
		if p, ok := c.portals[m.Name]; ok {
			c.dropPortal(p)
		}
	default:
		return sqlerr.New(sqlerr.ProtocolViolation, "invalid CLOSE message subtype %d", m.ObjectType)
	}
	c.w.send(&pgproto3.CloseComplete{})
	return nil
}

func (c *conn) executeMsg(m *pgproto3.Execute) error {
	p, err := c.lookupPortal(m.Portal)
	if err != nil {
		return err
	}
	if p.stmt.stmt == nil {
		c.w.send(&pgproto3.EmptyQueryResponse{})
		return nil
	}
	if p.done {
		// Running a finished portal again yields nothing more.
		c.w.send(&pgproto3.CommandComplete{CommandTag: []byte(rerunTag(p.tag))})
		return nil
	}
	c.active = p
	defer func() { c.active = nil }()
	if p.started {
		p.resumed = true
	}
	err = c.runPortal(p, int(m.MaxRows), true)
	if err != nil {
		c.dropPortal(p)
	}
	return err
}

// runPortal executes p (or continues a suspended p) and sends its output.
// In the extended protocol the RowDescription is left to Describe; the
// simple protocol sends it here. Errors are for the client, except those
// for which isFatal holds.
func (c *conn) runPortal(p *portal, maxRows int, extended bool) error {
	if !p.started {
		p.started = true
		res, err := p.stmt.stmt.Execute(c.ctx, p.args)
		c.collectParams()
		if err != nil {
			return err
		}
		if res == nil {
			return sqlerr.New(sqlerr.InternalError, "statement returned no result")
		}
		p.res = res
		switch r := res.(type) {
		case CopyInResult:
			err := c.copyIn(r)
			c.finishPortal(p, "")
			return err
		case CopyOutResult:
			err := c.copyOut(r)
			c.finishPortal(p, "")
			return err
		}
		cols := res.Columns()
		if cols != nil && !extended {
			if br, ok := res.(BinaryResult); ok && br.Binary() {
				p.formats = make([]int16, len(cols))
				for i := range p.formats {
					p.formats[i] = 1
				}
			}
			c.w.send(rowDescription(cols, p.formats))
		}
		if p.formats != nil && len(p.formats) != len(cols) {
			return sqlerr.New(sqlerr.InternalError, "result has %d columns, statement described %d", len(cols), len(p.formats))
		}
		reg, _ := c.sess.(RegFormatter)
		p.encs = newEncoders(cols, p.formats, reg)
		p.hasRows = cols != nil
	}
	if p.hasRows {
		suspended, err := c.sendRows(p, maxRows)
		if err != nil {
			return err
		}
		if suspended {
			c.w.send(&pgproto3.PortalSuspended{})
			return nil
		}
	} else {
		// A statement without rows still runs to its end.
		for {
			rec, err := p.res.Next(c.ctx)
			if err != nil {
				return err
			}
			if rec == nil {
				break
			}
		}
	}
	tag := p.res.Tag()
	if p.resumed && strings.HasPrefix(tag, "SELECT ") {
		tag = "SELECT " + strconv.Itoa(p.lastCount)
	}
	if nr, ok := p.res.(NoticeResult); ok {
		for _, n := range nr.Notices() {
			sev := n.Severity
			if sev == "" {
				sev = "NOTICE"
			}
			c.w.send(&pgproto3.NoticeResponse{Severity: sev, SeverityUnlocalized: sev,
				Code: n.Code, Message: n.Message, Detail: n.Detail, Hint: n.Hint})
		}
	}
	c.finishPortal(p, tag)
	c.w.send(&pgproto3.CommandComplete{CommandTag: []byte(tag)})
	c.collectParams()
	return nil
}

// finishPortal marks p as run to completion and releases its result.
func (c *conn) finishPortal(p *portal, tag string) {
	if tag == "" && p.res != nil {
		tag = p.res.Tag()
	}
	p.tag = tag
	p.done = true
	p.close()
}

// rerunTag is the tag of an Execute on a portal that already finished.
func rerunTag(tag string) string {
	if strings.HasPrefix(tag, "SELECT ") {
		return "SELECT 0"
	}
	return tag
}
