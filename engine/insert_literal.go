package engine

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/pgwire"
	"streamsql/sql/parser"
	"streamsql/sql/types"
	"streamsql/storage"
)

// A multi-row INSERT of literal values (parser.ScanLiteralInsert) runs as
// the same INSERT with parameters: its rows go in chunks of the sizes COPY
// uses, each through a plan of "INSERT ... VALUES ($1, ...), ..." from
// the engine's plan cache, with every value converted to its parameter's
// type the way the grammar's literal would be. The grammar and the
// planner never see the thousands of values, which were most of such a
// statement's cost.
//
// Whatever such a plan cannot show exactly as the grammar would (a
// planning error, a value that is not its column's kind of literal, a
// value its type's input refuses) sends the statement down the ordinary
// path before anything is written, so errors and results are the
// ordinary path's.

// literalInsertMinRows is the fewest rows run this way; fewer are cheap
// to parse.
const literalInsertMinRows = 16

// insertNode is the syntax tree literal inserts show to what asks what
// kind of statement they are (an INSERT); they are planned from their
// text.
var insertNode = &pg.Node{Node: &pg.Node_InsertStmt{InsertStmt: &pg.InsertStmt{}}}

// literalInsertStatement returns the statement sql as a literal insert, or
// nil.
func (s *Session) literalInsertStatement(sql string) *statement {
	li := parser.ScanLiteralInsert(sql, literalInsertMinRows)
	if li == nil {
		return nil
	}
	return &statement{s: s, st: parser.Statement{SQL: strings.TrimSpace(strings.TrimRight(strings.TrimSpace(sql), ";")), AST: insertNode}, whole: sql, lit: li}
}

// planLiteralInsert is the plan of a literal insert: it reads the plans
// of its chunks when it runs.
func (s *Session) planLiteralInsert(st *statement) *prepared {
	return &prepared{run: func(ctx context.Context, x *execution) (pgwire.Result, error) {
		return x.s.runLiteralInsert(ctx, x, st)
	}}
}

// literalChunk is one chunk of a literal insert: its plan and arguments.
type literalChunk struct {
	cp   *cachedPlan
	done func()
	args []types.Datum
}

func (s *Session) runLiteralInsert(ctx context.Context, x *execution, st *statement) (pgwire.Result, error) {
	li := st.lit
	rows := li.Rows()
	batch := max(1, min(copyBatchRows, 65535/li.Width))
	var chunks []literalChunk
	release := func() {
		for _, c := range chunks {
			c.done()
		}
		chunks = nil
	}
	defer release()
	for r := 0; r < rows; {
		n := batch
		if rows-r < n {
			n = 1
			for n*2 <= rows-r {
				n *= 2
			}
		}
		cp, done, err := s.literalChunkPlan(ctx, li, n, x)
		if err != nil {
			release()
			return s.runOrdinary(ctx, x, st)
		}
		c := literalChunk{cp: cp, done: done, args: make([]types.Datum, n*li.Width)}
		chunks = append(chunks, c)
		vals := li.Values[r*li.Width : (r+n)*li.Width]
		for i, v := range vals {
			d, ok := literalDatum(v, cp.p.params[i], s.location())
			if !ok {
				release()
				return s.runOrdinary(ctx, x, st)
			}
			c.args[i] = d
		}
		r += n
	}
	for _, c := range chunks {
		cx := *x
		cx.args = c.args
		res, err := c.cp.p.run(ctx, &cx)
		if err != nil {
			return nil, err
		}
		res.Close()
	}
	// Without ON CONFLICT an INSERT writes every row or fails.
	return tagResult(fmt.Sprintf("INSERT 0 %d", rows)), nil
}

// runOrdinary runs a literal insert through the grammar and the planner
// like any statement.
func (s *Session) runOrdinary(ctx context.Context, x *execution, st *statement) (pgwire.Result, error) {
	stmts, err := parser.Parse(st.whole)
	if err != nil {
		return nil, err
	}
	if len(stmts) != 1 {
		return nil, fmt.Errorf("literal insert: %d statements", len(stmts))
	}
	ord := &statement{s: s, st: stmts[0], whole: st.whole}
	p, err := s.plan(ctx, ord, nil, nil, func() storage.Reader { return x.reader })
	if err != nil {
		return nil, err
	}
	return p.run(ctx, x)
}

// literalChunkPlan returns the plan of the insert of n rows of li, with
// its reader pointed at x's, and the function that gives it back.
func (s *Session) literalChunkPlan(ctx context.Context, li *parser.LiteralInsert, n int, x *execution) (*cachedPlan, func(), error) {
	key := s.planKey(&statement{whole: "\x00literal insert", st: parser.Statement{SQL: li.Target}}, nil)
	key.stmt = strconv.Itoa(n) + "\x00" + strconv.Itoa(li.Width) + "\x00" + key.stmt
	return s.takeOrPlan(key, x.reader, func(cp *cachedPlan) error {
		var sb strings.Builder
		sb.WriteString(li.Target)
		sb.WriteString(" VALUES ")
		appendParamRows(&sb, n, li.Width)
		sql := sb.String()
		stmts, err := parser.Parse(sql)
		if err != nil {
			return err
		}
		pp, err := s.plan(ctx, &statement{s: s, st: stmts[0], whole: sql}, nil, nil, cp.read)
		if err != nil {
			return err
		}
		if len(pp.params) != n*li.Width {
			return fmt.Errorf("literal insert: %d parameters planned, want %d", len(pp.params), n*li.Width)
		}
		cp.p = pp
		return nil
	})
}

// literalDatum converts a literal to the type of the parameter that takes
// its place, as the grammar's literal would convert to its column: a
// string through the type's input, a number only to a numeric type (an
// integer also to an integer type), TRUE and FALSE only to boolean. It
// reports false for anything else, and for a value the input refuses.
func literalDatum(l parser.Literal, t types.T, loc *time.Location) (types.Datum, bool) {
	switch l.Kind {
	case parser.LitNull:
		return nil, true
	case parser.LitString:
	case parser.LitTrue, parser.LitFalse:
		if t.Kind != types.Bool {
			return nil, false
		}
	case parser.LitInteger:
		switch t.Kind {
		case types.Int2, types.Int4, types.Int8, types.Float4, types.Float8, types.Numeric:
		default:
			return nil, false
		}
	case parser.LitDecimal:
		switch t.Kind {
		case types.Float4, types.Float8, types.Numeric:
		default:
			return nil, false
		}
	}
	text := l.Text
	switch l.Kind {
	case parser.LitTrue:
		text = "t"
	case parser.LitFalse:
		text = "f"
	}
	d, err := types.ParseText(text, t, loc)
	if err != nil {
		return nil, false
	}
	// The grammar negates the number, which has no negative zero, and
	// converts after: -0.0 is 0 in a float column too (a string is the
	// float's own input, which keeps the sign).
	if l.Kind == parser.LitString {
		return d, true
	}
	switch f := d.(type) {
	case float64:
		if f == 0 {
			d = float64(0)
		}
	case float32:
		if f == 0 {
			d = float32(0)
		}
	}
	return d, true
}
