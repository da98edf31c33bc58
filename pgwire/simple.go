package pgwire

import (
	"github.com/jackc/pgx/v5/pgproto3"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// simpleQuery runs every statement of a Query message in turn, stopping at
// the first error, and ends with ReadyForQuery.
func (c *conn) simpleQuery(sql string) error {
	// A Query message destroys the unnamed statement and portal.
	delete(c.stmts, "")
	if p, ok := c.portals[""]; ok {
		c.dropPortal(p)
	}
	var stmts []Statement
	err := types.CheckUTF8String(sql)
	if err == nil {
		stmts, err = c.sess.Parse(sql)
	}
	switch {
	case err != nil:
		c.sendError(err)
	case len(stmts) == 0:
		c.w.send(&pgproto3.EmptyQueryResponse{})
	default:
		for _, st := range stmts {
			if err := c.simpleStatement(st); err != nil {
				if isFatal(err) {
					return err
				}
				c.sendError(err)
				break
			}
		}
	}
	c.readyForQuery()
	return nil
}

// simpleStatement prepares and runs one statement of a simple query.
func (c *conn) simpleStatement(st Statement) error {
	params, cols, err := st.Prepare(c.ctx, nil)
	if err != nil {
		c.collectParams()
		return err
	}
	if len(params) > 0 {
		return sqlerr.New(sqlerr.UndefinedParameter, "there is no parameter $1")
	}
	p := &portal{stmt: &prepared{stmt: st, cols: cols}}
	c.active = p
	defer func() {
		c.active = nil
		p.close()
	}()
	return c.runPortal(p, 0, false)
}
