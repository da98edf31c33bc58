package parser

import (
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"streamsql/sql/sqlerr"
)

// showKinds are the object lists SHOW can name; any other SHOW is a
// PostgreSQL run-time parameter.
var showKinds = map[string]bool{
	"sources": true, "tables": true, "views": true, "sinks": true,
	"functions": true, "jobs": true, "schemas": true, "subscriptions": true,
}

// isExtension classifies a statement (its tokens, ';' included) by its
// leading tokens.
func (p *parser) isExtension(toks []token) bool {
	c := &cursor{src: p.src, toks: toks}
	switch c.wordAt(0) {
	case "create":
		switch {
		case c.isWords("create", "source"), c.isWords("create", "sink"), c.isWords("create", "subscription"):
			return true
		case c.isWords("create", "materialized", "view"):
			return c.emitTail() >= 0
		}
		if c.usingBase64() >= 0 || c.aggregateReturns() >= 0 {
			return true
		}
		return c.tableExt() != nil
	case "drop", "alter":
		w := c.wordAt(1)
		if c.isWords("alter", "materialized", "view") {
			// ALTER MATERIALIZED VIEW name RESUME; the other forms are
			// PostgreSQL's.
			return c.end() > 3 && c.toks[c.end()-1].word(c.src) == "resume"
		}
		return w == "source" || w == "sink" || w == "subscription"
	case "flush":
		return true
	case "subscribe":
		return true
	case "declare":
		return c.wordAt(2) == "subscription" || c.declareSubscribeAt() > 0
	case "fetch":
		return c.fetchWithAt() > 0
	case "copy":
		return c.tok(1) != nil && c.tok(1).isPunct('(') && c.wordAt(2) == "subscribe"
	case "show":
		w := c.wordAt(1)
		return showKinds[w] || (w == "materialized" && c.wordAt(2) == "views") || w == "create"
	case "explain":
		c.i = 1
		if _, err := c.explainOptions(); err != nil {
			return false
		}
		return p.isExtension(toks[c.i:])
	}
	return false
}

// parseExtension parses one extension statement.
func (p *parser) parseExtension(r stmtRange) (Statement, error) {
	toks := p.toks[r.lo:r.hi]
	body := r.body(p.toks)
	st := Statement{Pos: body[0].start, SQL: p.src[body[0].start:body[len(body)-1].end]}
	c := &cursor{src: p.src, toks: toks}
	var err error
	switch c.wordAt(0) {
	case "create":
		switch c.wordAt(1) {
		case "aggregate", "or":
			if c.aggregateReturns() >= 0 {
				var ca *CreateAggregate
				st.AST, ca, err = c.createAggregateReturns()
				st.Ext = ca
				break
			}
			st.AST, err = c.createFunctionUsing()
		case "source":
			st.Ext, err = c.createSource()
		case "sink":
			st.Ext, err = c.createSink()
		case "subscription":
			st.Ext, err = c.createSubscription()
		case "materialized":
			st.AST, st.Ext, err = c.createMatView()
		case "function":
			st.AST, err = c.createFunctionUsing()
		default:
			st.AST, st.Ext, err = c.createTable()
		}
	case "drop":
		st.Ext, err = c.drop()
	case "alter":
		switch c.wordAt(1) {
		case "subscription":
			st.Ext, err = c.alterSubscription()
		case "materialized":
			st.Ext, err = c.alterMatViewResume()
		default:
			st.Ext, err = c.alterRename()
		}
	case "flush":
		c.i = 1
		st.Ext, err = &Flush{}, c.expectEnd()
	case "subscribe", "declare":
		st.Ext, err = c.subscribe()
	case "copy":
		st.Ext, err = c.copySubscribe()
	case "fetch":
		st.Ext, err = c.fetchWith()
	case "show":
		st.Ext, err = c.show()
	case "explain":
		st.Ext, err = p.explain(c, r)
	default:
		err = c.errHere()
	}
	if err != nil {
		return Statement{}, err
	}
	return st, nil
}

// watermark reads `WATERMARK FOR col AS expr`, the expression running to
// token index end (exclusive).
func (c *cursor) watermark(end int) (Watermark, error) {
	w := Watermark{Pos: c.toks[c.i].start}
	if err := c.expect("watermark", "for"); err != nil {
		return w, err
	}
	if t := c.tok(0); t != nil {
		w.ColumnPos = t.start
	}
	col, err := c.ident()
	if err != nil {
		return w, err
	}
	w.Column = col
	if err := c.expect("as"); err != nil {
		return w, err
	}
	if c.i >= end {
		return w, c.errHere()
	}
	from, to := c.toks[c.i].start, c.toks[end-1].end
	var next *token
	if end < len(c.toks) {
		next = &c.toks[end]
	}
	w.Expr, err = c.expression(c.i, end, next)
	if err != nil {
		return w, err
	}
	w.ExprSQL = c.src[from:to]
	c.i = end
	return w, nil
}

// expression parses tokens [lo, hi) as one scalar expression.
func (c *cursor) expression(lo, hi int, next *token) (*pg_query.Node, error) {
	node, err := c.fragment("SELECT", lo, hi, next)
	if err != nil {
		return nil, err
	}
	sel := node.GetSelectStmt()
	if sel == nil || len(sel.TargetList) != 1 || sel.FromClause != nil || sel.WhereClause != nil ||
		sel.GroupClause != nil || sel.HavingClause != nil || sel.WindowClause != nil ||
		sel.SortClause != nil || sel.LimitCount != nil || sel.LimitOffset != nil ||
		sel.LockingClause != nil || sel.IntoClause != nil || sel.DistinctClause != nil ||
		sel.Op != pg_query.SetOperation_SETOP_NONE || sel.GetTargetList()[0].GetResTarget().GetName() != "" {
		// Something beyond an expression: report the first token past it.
		for i := lo; i < hi; i++ {
			switch c.toks[i].word(c.src) {
			case "from", "where", "group", "having", "window", "order", "limit", "offset",
				"fetch", "for", "union", "intersect", "except", "into", "as":
				return nil, c.errAt(i)
			}
		}
		return nil, c.errAt(hi - 1)
	}
	return sel.TargetList[0].GetResTarget().GetVal(), nil
}

// fragment parses tokens [lo, hi) after prefix as one statement.
func (c *cursor) fragment(prefix string, lo, hi int, next *token) (*pg_query.Node, error) {
	stmts, err := parseFragment(c.src, prefix, c.toks[lo].start, c.toks[hi-1].end, next)
	if err != nil {
		return nil, err
	}
	switch len(stmts) {
	case 1:
		return stmts[0].Stmt, nil
	case 0:
		return nil, c.errAt(lo)
	}
	// A ';' inside parentheses ended the first statement: PostgreSQL
	// rejects it there.
	semi := int(stmts[0].StmtLocation + stmts[0].StmtLen)
	for i := lo; i < hi; i++ {
		if c.toks[i].start >= semi {
			return nil, c.errAt(i)
		}
	}
	return nil, c.errAt(lo)
}

// query parses tokens [lo, hi) as a query (a SelectStmt, VALUES included).
func (c *cursor) query(lo, hi int) (*pg_query.Node, string, error) {
	if lo >= hi {
		return nil, "", c.errAt(lo)
	}
	var next *token
	if hi < len(c.toks) {
		next = &c.toks[hi]
	}
	node, err := c.fragment("", lo, hi, next)
	if err != nil {
		return nil, "", err
	}
	if node.GetSelectStmt() == nil {
		return nil, "", c.errAt(lo)
	}
	return node, c.src[c.toks[lo].start:c.toks[hi-1].end], nil
}

// columnList splits the parenthesized element list that opens at token
// index open into its elements (token index ranges) and reads the
// WATERMARK elements. It returns the index of the closing ')' and the byte
// ranges that must be blanked for PostgreSQL's CREATE TABLE to read the
// rest.
func (c *cursor) columnList(open int) (closeIdx int, wms []Watermark, blanks [][2]int, err error) {
	closeIdx = c.matching(open)
	if closeIdx < 0 {
		c.i = c.end()
		return 0, nil, nil, c.errHere()
	}
	type elem struct{ lo, hi int }
	var elems []elem
	var commas []int
	lo := open + 1
	c.scanNested(open+1, closeIdx, func(j, depth int) bool {
		if depth == 0 && c.toks[j].isPunct(',') {
			elems = append(elems, elem{lo, j})
			commas = append(commas, j)
			lo = j + 1
		}
		return false
	})
	elems = append(elems, elem{lo, closeIdx})
	kept := make([]bool, len(elems))
	for k, e := range elems {
		c.i = e.lo
		if e.lo < e.hi && c.isWords("watermark", "for") {
			w, err := c.watermark(e.hi)
			if err != nil {
				return 0, nil, nil, err
			}
			wms = append(wms, w)
			blanks = append(blanks, [2]int{c.toks[e.lo].start, c.toks[e.hi-1].end})
			continue
		}
		kept[k] = true
	}
	// Keep only the commas that still separate two kept elements.
	seenKept := false
	for k, comma := range commas {
		seenKept = seenKept || kept[k]
		if !(seenKept && kept[k+1]) {
			blanks = append(blanks, [2]int{c.toks[comma].start, c.toks[comma].end})
		}
	}
	return closeIdx, wms, blanks, nil
}

// createdName reads the [IF NOT EXISTS] name after CREATE SOURCE or
// CREATE SINK.
func (c *cursor) createdName() (name ObjectName, ifNotExists bool, err error) {
	c.i = 2
	ifNotExists = c.accept("if", "not", "exists")
	name, err = c.name()
	return name, ifNotExists, err
}

// createSource reads CREATE SOURCE [IF NOT EXISTS] name [(elements)]
// [APPEND ONLY] [WITH (options)] [FORMAT ... ENCODE ...].
func (c *cursor) createSource() (*CreateSource, error) {
	cs := &CreateSource{}
	stmtStart := c.toks[0].start
	sourceTok := c.toks[1]
	name, ifNotExists, err := c.createdName()
	if err != nil {
		return nil, err
	}
	cs.Name, cs.IfNotExists = name, ifNotExists
	var text *pgText
	if c.isPunct('(') {
		closeIdx, wms, blanks, err := c.columnList(c.i)
		if err != nil {
			return nil, err
		}
		cs.Watermarks = wms
		text = newPGText(c.src, stmtStart, c.toks[closeIdx].end)
		for _, b := range blanks {
			text.blank(b[0], b[1])
		}
		c.i = closeIdx + 1
	} else {
		text = newPGText(c.src, stmtStart, c.toks[c.i-1].end)
		text.buf = append(text.buf, " ()"...)
	}
	// SOURCE and "TABLE " have the same length, so offsets stay put.
	text.put(sourceTok.start, "TABLE ")
	raws, err := text.parse()
	if err != nil {
		return nil, err
	}
	if len(raws) != 1 || raws[0].Stmt.GetCreateStmt() == nil {
		return nil, c.errAt(0)
	}
	cs.Table = raws[0].Stmt.GetCreateStmt()
	for c.isWords("include") {
		inc, err := c.include()
		if err != nil {
			return nil, err
		}
		cs.Includes = append(cs.Includes, inc)
	}
	cs.AppendOnly = c.accept("append", "only")
	if cs.Options, cs.FormatSpec, err = c.optionsAndFormat(); err != nil {
		return nil, err
	}
	return cs, c.expectEnd()
}

// optionsAndFormat reads the [WITH (options)] [FORMAT ... ENCODE ...]
// that end CREATE SOURCE and CREATE SINK.
func (c *cursor) optionsAndFormat() (opts []Option, fs FormatSpec, err error) {
	if c.accept("with") {
		if opts, err = c.options(); err != nil {
			return nil, fs, err
		}
	}
	if c.isWords("format") {
		if fs, err = c.formatSpec(); err != nil {
			return nil, fs, err
		}
	}
	return opts, fs, nil
}

// include reads `INCLUDE partition | offset | timestamp | key | header
// 'name' [AS column]`. Without AS the column is named
// _rw_kafka_<what> as in RisingWave (header: _rw_kafka_header_<name>).
func (c *cursor) include() (Include, error) {
	inc := Include{Pos: c.toks[c.i].start}
	c.i++
	t := c.tok(0)
	if t == nil {
		return inc, c.errHere()
	}
	w := t.word(c.src)
	switch w {
	case "partition", "offset", "timestamp", "key", "header":
	default:
		return inc, c.errHere()
	}
	inc.What = w
	c.i++
	if w == "header" {
		t := c.tok(0)
		if t == nil || (t.kind != pg_query.Token_SCONST && t.kind != pg_query.Token_USCONST) {
			return inc, c.errHere()
		}
		s, err := c.stringConst(t)
		if err != nil {
			return inc, err
		}
		c.i++
		inc.Header = s
	}
	if c.accept("as") {
		col, err := c.ident()
		if err != nil {
			return inc, err
		}
		inc.Column = col
	} else if w == "header" {
		inc.Column = "_rw_kafka_header_" + inc.Header
	} else {
		inc.Column = "_rw_kafka_" + w
	}
	return inc, nil
}

// tableExtParts locates the streaming parts of a CREATE TABLE.
type tableExtParts struct {
	open, close int // the column list's parentheses
	withIdx     int // WITH ( connector ... ), -1 if none
	appendIdx   int // APPEND ONLY, -1 if none
	formatIdx   int // FORMAT ... ENCODE, -1 if none
	watermark   bool
}

// tableExt finds the streaming parts of CREATE [...] TABLE name (...) ...,
// or returns nil when it has none (a plain PostgreSQL CREATE TABLE).
func (c *cursor) tableExt() *tableExtParts {
	ti := -1
	for j := 1; j < 5 && j < c.end(); j++ {
		w := c.toks[j].word(c.src)
		if w == "table" {
			ti = j
			break
		}
		if w != "global" && w != "local" && w != "temp" && w != "temporary" && w != "unlogged" {
			return nil
		}
	}
	if ti < 0 {
		return nil
	}
	open := -1
	for j := ti + 1; j < c.end(); j++ {
		if c.toks[j].isPunct('(') {
			open = j
			break
		}
		if w := c.toks[j].word(c.src); w == "as" || w == "of" || w == "partition" {
			return nil
		}
	}
	if open < 0 {
		return nil
	}
	x := &tableExtParts{open: open, withIdx: -1, appendIdx: -1, formatIdx: -1}
	x.close = c.matching(open)
	if x.close < 0 {
		return nil
	}
	x.watermark = c.scanNested(open+1, x.close, func(j, depth int) bool {
		return depth == 0 && c.toks[j].word(c.src) == "watermark" && j+1 < x.close && c.toks[j+1].word(c.src) == "for" &&
			(c.toks[j-1].isPunct(',') || j == open+1)
	}) >= 0
	for j := x.close + 1; j < c.end(); j++ {
		t := c.toks[j]
		switch {
		case t.isPunct('('):
			if k := c.matching(j); k > 0 {
				j = k
			}
		case t.word(c.src) == "append" && j+1 < c.end() && c.toks[j+1].word(c.src) == "only":
			x.appendIdx = j
		case t.word(c.src) == "with" && j+1 < c.end() && c.toks[j+1].isPunct('('):
			if k := c.matching(j + 1); k > 0 {
				for m := j + 2; m+1 < k; m++ {
					if c.toks[m].word(c.src) == "connector" && c.toks[m+1].isPunct('=') {
						x.withIdx = j
					}
				}
				j = k
			}
		case c.isFormatAt(j):
			x.formatIdx = j
			j = c.end()
		}
	}
	if !x.watermark && x.withIdx < 0 && x.appendIdx < 0 && x.formatIdx < 0 {
		return nil
	}
	return x
}

// createTable reads a CREATE TABLE with streaming parts: the PostgreSQL
// grammar reads the statement with those parts blanked out.
func (c *cursor) createTable() (*pg_query.Node, Ext, error) {
	x := c.tableExt()
	if x == nil {
		return nil, nil, c.errAt(0)
	}
	ext := &CreateTableExt{}
	_, wms, blanks, err := c.columnList(x.open)
	if err != nil {
		return nil, nil, err
	}
	ext.Watermarks = wms
	if x.appendIdx >= 0 {
		ext.AppendOnly = true
		blanks = append(blanks, [2]int{c.toks[x.appendIdx].start, c.toks[x.appendIdx+1].end})
	}
	if x.withIdx >= 0 {
		c.i = x.withIdx + 1
		if ext.Options, err = c.options(); err != nil {
			return nil, nil, err
		}
		blanks = append(blanks, [2]int{c.toks[x.withIdx].start, c.toks[c.i-1].end})
	}
	end := c.end()
	if x.formatIdx >= 0 {
		c.i = x.formatIdx
		if ext.FormatSpec, err = c.formatSpec(); err != nil {
			return nil, nil, err
		}
		if err := c.expectEnd(); err != nil {
			return nil, nil, err
		}
		end = x.formatIdx
	}
	text := newPGText(c.src, c.toks[0].start, c.toks[c.end()-1].end)
	for _, b := range blanks {
		text.blank(b[0], b[1])
	}
	if end < c.end() {
		text.blank(c.toks[end].start, c.toks[c.end()-1].end)
	}
	if c.end() < len(c.toks) {
		text.next = &c.toks[c.end()]
	}
	raws, err := text.parse()
	if err != nil {
		return nil, nil, err
	}
	if len(raws) != 1 {
		return nil, nil, c.errAt(0)
	}
	return raws[0].Stmt, ext, nil
}

// emitTail returns the index of EMIT in a trailing EMIT ON WINDOW CLOSE,
// or -1.
func (c *cursor) emitTail() int {
	e := c.end() - 4
	if e < 0 {
		return -1
	}
	save := c.i
	c.i = e
	ok := c.isWords("emit", "on", "window", "close")
	c.i = save
	if !ok {
		return -1
	}
	return e
}

// createMatView reads CREATE MATERIALIZED VIEW ... AS query EMIT ON WINDOW
// CLOSE; the grammar reads it without the EMIT clause.
func (c *cursor) createMatView() (*pg_query.Node, Ext, error) {
	e := c.emitTail()
	if e < 0 {
		return nil, nil, c.errAt(0)
	}
	text := newPGText(c.src, c.toks[0].start, c.toks[e-1].end)
	text.next = &c.toks[e]
	raws, err := text.parse()
	if err != nil {
		return nil, nil, err
	}
	if len(raws) != 1 || raws[0].Stmt.GetCreateTableAsStmt() == nil {
		return nil, nil, c.errAt(e)
	}
	ext := &MatViewExt{EmitOnWindowClose: true}
	// The query starts after the first top-level AS.
	if j := c.scanNested(3, e, func(j, depth int) bool {
		return depth == 0 && c.toks[j].word(c.src) == "as" && j+1 < e
	}); j >= 0 {
		hi := e
		// WITH [NO] DATA belongs to the statement, not the query.
		if hi-2 > j && c.toks[hi-1].word(c.src) == "data" {
			if c.toks[hi-2].word(c.src) == "with" {
				hi -= 2
			} else if hi-3 > j && c.toks[hi-2].word(c.src) == "no" && c.toks[hi-3].word(c.src) == "with" {
				hi -= 3
			}
		}
		ext.QueryPos = c.toks[j+1].start
		ext.QuerySQL = c.src[c.toks[j+1].start:c.toks[hi-1].end]
		return raws[0].Stmt, ext, nil
	}
	return raws[0].Stmt, ext, nil
}

// queryEnd returns the index where a query that starts at lo ends: at a
// top-level WITH ( or FORMAT ... ENCODE, or the statement's end.
func (c *cursor) queryEnd(lo int) int {
	j := c.scanNested(lo, c.end(), func(j, depth int) bool {
		if depth != 0 {
			return false
		}
		return (j > lo && c.toks[j].word(c.src) == "with" && j+1 < c.end() && c.toks[j+1].isPunct('(')) ||
			c.isFormatAt(j)
	})
	if j < 0 {
		return c.end()
	}
	return j
}

// scanNested walks the tokens from lo to hi keeping the depth of
// parentheses (counted after a parenthesis itself, so an opening one is
// at depth 1) and returns the first index at which stop says so, or -1.
func (c *cursor) scanNested(lo, hi int, stop func(j, depth int) bool) int {
	depth := 0
	for j := lo; j < hi; j++ {
		switch t := c.toks[j]; {
		case t.isPunct('('):
			depth++
		case t.isPunct(')'):
			depth--
		}
		if stop(j, depth) {
			return j
		}
	}
	return -1
}

// createSink reads CREATE SINK [IF NOT EXISTS] name FROM relation | AS
// query [WITH (options)] [FORMAT ... ENCODE ...].
func (c *cursor) createSink() (*CreateSink, error) {
	cs := &CreateSink{}
	name, ifNotExists, err := c.createdName()
	if err != nil {
		return nil, err
	}
	cs.Name, cs.IfNotExists = name, ifNotExists
	switch {
	case c.accept("from"):
		from, err := c.name()
		if err != nil {
			return nil, err
		}
		cs.From = &from
	case c.accept("as"):
		hi := c.queryEnd(c.i)
		if cs.Query, cs.QuerySQL, err = c.query(c.i, hi); err != nil {
			return nil, err
		}
		cs.QueryPos = c.toks[c.i].start
		c.i = hi
	default:
		return nil, c.errHere()
	}
	if cs.Options, cs.FormatSpec, err = c.optionsAndFormat(); err != nil {
		return nil, err
	}
	return cs, c.expectEnd()
}

// drop reads DROP SOURCE | SINK [IF EXISTS] name [, ...] [CASCADE | RESTRICT].
func (c *cursor) drop() (*DropObjects, error) {
	d := &DropObjects{Kind: c.wordAt(1)}
	c.i = 2
	d.IfExists = c.accept("if", "exists")
	for {
		n, err := c.name()
		if err != nil {
			return nil, err
		}
		d.Names = append(d.Names, n)
		if !c.acceptPunct(',') {
			break
		}
	}
	if c.accept("cascade") {
		d.Cascade = true
	} else {
		c.accept("restrict")
	}
	return d, c.expectEnd()
}

// alterRename reads ALTER SOURCE | SINK name RENAME TO new_name, and
// ALTER SINK name RESUME.
func (c *cursor) alterRename() (Ext, error) {
	a := &AlterRename{Kind: c.wordAt(1)}
	c.i = 2
	n, err := c.name()
	if err != nil {
		return nil, err
	}
	a.Name = n
	if a.Kind == "sink" && c.accept("resume") {
		return &AlterSinkResume{Name: n}, c.expectEnd()
	}
	if err := c.expect("rename", "to"); err != nil {
		return nil, err
	}
	if a.NewName, err = c.ident(); err != nil {
		return nil, err
	}
	return a, c.expectEnd()
}

// alterMatViewResume reads ALTER MATERIALIZED VIEW name RESUME.
func (c *cursor) alterMatViewResume() (*AlterMatViewResume, error) {
	c.i = 3
	n, err := c.name()
	if err != nil {
		return nil, err
	}
	if err := c.expect("resume"); err != nil {
		return nil, err
	}
	return &AlterMatViewResume{Name: n}, c.expectEnd()
}

// alterSubscription reads ALTER SUBSCRIPTION name RENAME TO new_name |
// SET (options).
func (c *cursor) alterSubscription() (*AlterSubscription, error) {
	a := &AlterSubscription{}
	c.i = 2
	var err error
	if a.Name, err = c.name(); err != nil {
		return nil, err
	}
	switch {
	case c.accept("rename", "to"):
		if a.NewName, err = c.ident(); err != nil {
			return nil, err
		}
	case c.accept("set"):
		if a.Options, err = c.options(); err != nil {
			return nil, err
		}
	default:
		return nil, c.errHere()
	}
	return a, c.expectEnd()
}

// declareSubscribeAt returns the index of SUBSCRIBE in DECLARE name
// [options] CURSOR [WITH[OUT] HOLD] FOR SUBSCRIBE ..., or -1.
func (c *cursor) declareSubscribeAt() int {
	for j := 2; j < c.end(); j++ {
		if c.toks[j].word(c.src) == "for" {
			if j+1 < c.end() && c.toks[j+1].word(c.src) == "subscribe" {
				return j + 1
			}
			return -1
		}
	}
	return -1
}

// subscribe reads SUBSCRIBE ..., DECLARE name CURSOR FOR SUBSCRIBE ... and
// DECLARE cursor SUBSCRIPTION CURSOR FOR relation | (query) [WITH (...)].
func (c *cursor) subscribe() (*Subscribe, error) {
	s := &Subscribe{}
	if c.accept("declare") {
		name, err := c.ident()
		if err != nil {
			return nil, err
		}
		if c.accept("subscription") {
			s.Cursor = name
			if err := c.expect("cursor", "for"); err != nil {
				return nil, err
			}
			return s, c.subscriptionCursor(s)
		}
		s.Declare = name
		// DECLARE's options, as PostgreSQL's grammar takes them.
		for {
			switch {
			case c.accept("binary"):
				s.Binary = true
				continue
			case c.accept("insensitive"), c.accept("asensitive"), c.accept("scroll"):
				continue
			case c.accept("no", "scroll"):
				continue
			}
			break
		}
		if err := c.expect("cursor"); err != nil {
			return nil, err
		}
		if c.accept("with", "hold") {
			s.Hold = true
		} else {
			c.accept("without", "hold")
		}
		if err := c.expect("for", "subscribe"); err != nil {
			return nil, err
		}
		c.accept("to")
		return s, c.subscribeBody(s)
	}
	c.i = 1
	c.accept("to")
	return s, c.subscribeBody(s)
}

// subscriptionCursor reads the rest of DECLARE cursor SUBSCRIPTION CURSOR
// FOR subscription [SINCE now() | proctime() | begin() | unix_ms |
// 'position' | FULL].
func (c *cursor) subscriptionCursor(s *Subscribe) error {
	n, err := c.name()
	if err != nil {
		return err
	}
	s.Relation = &n
	if c.accept("full") {
		s.Full = true
		return c.expectEnd()
	}
	if !c.accept("since") {
		return c.expectEnd()
	}
	if t := c.tok(0); t != nil && t.kind == pg_query.Token_SCONST {
		p, err := c.stringConst(t)
		if err != nil {
			return err
		}
		if p == "" {
			return c.errHere()
		}
		s.SincePosition = p
		c.i++
		return c.expectEnd()
	}
	switch w := c.wordAt(0); w {
	case "now", "proctime", "begin":
		c.i++
		if t := c.tok(0); t == nil || !t.isPunct('(') {
			return c.errHere()
		}
		c.i++
		if t := c.tok(0); t == nil || !t.isPunct(')') {
			return c.errHere()
		}
		c.i++
		s.Since = w
		if w == "proctime" {
			s.Since = "now"
		}
	default:
		t := c.tok(0)
		// A unix time in milliseconds overflows int4: the scanner calls it
		// FCONST.
		if t == nil || (t.kind != pg_query.Token_ICONST && t.kind != pg_query.Token_FCONST) ||
			strings.Trim(t.text(c.src), "0123456789") != "" {
			return c.errHere()
		}
		s.Since = t.text(c.src)
		c.i++
	}
	return c.expectEnd()
}

// createSubscription reads CREATE SUBSCRIPTION name FROM relation [WITH
// (options)].
func (c *cursor) createSubscription() (*CreateSubscription, error) {
	cs := &CreateSubscription{}
	c.i = 2
	var err error
	if cs.Name, err = c.name(); err != nil {
		return nil, err
	}
	if err := c.expect("from"); err != nil {
		return nil, err
	}
	if cs.From, err = c.name(); err != nil {
		return nil, err
	}
	if c.accept("with") {
		if cs.Options, err = c.options(); err != nil {
			return nil, err
		}
	}
	return cs, c.expectEnd()
}

// fetchWithAt returns the index of WITH in FETCH ... WITH (...), or -1.
func (c *cursor) fetchWithAt() int {
	for j := 1; j < c.end(); j++ {
		if c.toks[j].word(c.src) == "with" {
			return j
		}
	}
	return -1
}

// fetchWith reads FETCH ... WITH (options): the part before WITH is
// PostgreSQL's FETCH.
func (c *cursor) fetchWith() (*FetchWith, error) {
	at := c.fetchWithAt()
	node, err := c.fragment("", 0, at, &c.toks[at])
	if err != nil {
		return nil, err
	}
	f := &FetchWith{Fetch: node.GetFetchStmt()}
	if f.Fetch == nil || f.Fetch.Ismove {
		return nil, c.errAt(at)
	}
	c.i = at + 1
	if f.Options, err = c.options(); err != nil {
		return nil, err
	}
	return f, c.expectEnd()
}

// copySubscribe reads COPY (SUBSCRIBE ...) TO STDOUT [[WITH] (options)].
func (c *cursor) copySubscribe() (*Subscribe, error) {
	closeIdx := c.matching(1)
	if closeIdx < 0 {
		c.i = c.end()
		return nil, c.errHere()
	}
	inner := &cursor{src: c.src, toks: c.toks[:closeIdx], i: 3}
	s := &Subscribe{}
	inner.accept("to")
	if err := inner.subscribeBody(s); err != nil {
		return nil, err
	}
	c.i = closeIdx + 1
	if err := c.expect("to"); err != nil {
		return nil, err
	}
	if c.wordAt(0) != "stdout" {
		return nil, c.errorf(c.i, sqlerr.FeatureNotSupported, "COPY (SUBSCRIBE ...) can only write TO STDOUT")
	}
	c.i++
	copyStmt := &pg_query.CopyStmt{}
	if !c.atEnd() {
		var next *token
		if c.end() < len(c.toks) {
			next = &c.toks[c.end()]
		}
		node, err := c.fragment("COPY x TO STDOUT", c.i, c.end(), next)
		if err != nil {
			return nil, err
		}
		if node.GetCopyStmt() == nil {
			return nil, c.errHere()
		}
		copyStmt = node.GetCopyStmt()
		c.i = c.end()
	}
	s.Copy = copyStmt
	return s, nil
}

// subscribeBody reads relation | (query) [ENVELOPE UPSERT (KEY (cols))]
// [WITH (options)] [AS OF epoch] to the statement's end.
func (c *cursor) subscribeBody(s *Subscribe) error {
	var err error
	if c.isPunct('(') {
		closeIdx := c.matching(c.i)
		if closeIdx < 0 {
			c.i = c.end()
			return c.errHere()
		}
		if s.Query, s.QuerySQL, err = c.query(c.i+1, closeIdx); err != nil {
			return err
		}
		s.QueryPos = c.toks[c.i+1].start
		c.i = closeIdx + 1
	} else {
		n, err := c.name()
		if err != nil {
			return err
		}
		s.Relation = &n
	}
	seenWith := false
	for !c.atEnd() {
		switch {
		case s.Cursor == "" && !s.Upsert && c.accept("envelope"):
			if err := c.expect("upsert"); err != nil {
				return err
			}
			s.Upsert = true
			if err := c.expectPunct('('); err != nil {
				return err
			}
			if err := c.expect("key"); err != nil {
				return err
			}
			if err := c.expectPunct('('); err != nil {
				return err
			}
			for {
				id, err := c.ident()
				if err != nil {
					return err
				}
				s.UpsertKey = append(s.UpsertKey, id)
				if !c.acceptPunct(',') {
					break
				}
			}
			if err := c.expectPunct(')'); err != nil {
				return err
			}
			if err := c.expectPunct(')'); err != nil {
				return err
			}
		case !seenWith && c.accept("with"):
			seenWith = true
			if s.Options, err = c.options(); err != nil {
				return err
			}
		case s.Cursor == "" && s.AsOf == "" && c.accept("as", "of"):
			t := c.tok(0)
			if t == nil || t.kind != pg_query.Token_ICONST {
				return c.errHere()
			}
			s.AsOf, s.AsOfPos = t.text(c.src), t.start
			c.i++
		default:
			return c.errHere()
		}
	}
	return nil
}

// show reads SHOW kind [FROM | IN schema].
func (c *cursor) show() (Ext, error) {
	if c.wordAt(1) == "create" {
		return c.showCreate()
	}
	s := &ShowObjects{What: c.wordAt(1)}
	c.i = 2
	if s.What == "materialized" {
		s.What = "materialized views"
		c.i = 3
	}
	if s.What != "schemas" && (c.accept("from") || c.accept("in")) {
		var err error
		if s.Schema, err = c.ident(); err != nil {
			return nil, err
		}
	}
	return s, c.expectEnd()
}

// showCreate reads SHOW CREATE SOURCE | TABLE | SINK | VIEW |
// MATERIALIZED VIEW | FUNCTION | AGGREGATE name.
func (c *cursor) showCreate() (*ShowCreate, error) {
	s := &ShowCreate{}
	c.i = 2
	switch w := c.wordAt(0); w {
	case "source", "table", "sink", "view", "function", "aggregate":
		s.Kind = w
		c.i++
	case "materialized":
		c.i++
		if err := c.expect("view"); err != nil {
			return nil, err
		}
		s.Kind = "materialized view"
	default:
		return nil, c.errHere()
	}
	name, err := c.name()
	if err != nil {
		return nil, err
	}
	s.Name = name
	return s, c.expectEnd()
}

// explainOptions reads EXPLAIN's options: a parenthesized list or the
// legacy ANALYZE / VERBOSE words, the cursor after EXPLAIN.
func (c *cursor) explainOptions() ([]string, error) {
	var opts []string
	if !c.isPunct('(') {
		for _, w := range []string{"analyze", "analyse", "verbose"} {
			if c.accept(w) {
				if w == "analyse" {
					w = "analyze"
				}
				opts = append(opts, w)
			}
		}
		return opts, nil
	}
	c.i++
	for {
		t := c.tok(0)
		if t == nil || t.word(c.src) == "" {
			return nil, c.errHere()
		}
		opt := t.word(c.src)
		c.i++
		if t := c.tok(0); t != nil && !t.isPunct(',') && !t.isPunct(')') {
			v := t.word(c.src)
			if v == "" {
				v = t.text(c.src)
				if t.kind == pg_query.Token_SCONST {
					s, err := c.stringConst(t)
					if err != nil {
						return nil, err
					}
					v = s
				}
			}
			opt += " " + v
			c.i++
		}
		opts = append(opts, opt)
		if c.acceptPunct(',') {
			continue
		}
		if err := c.expectPunct(')'); err != nil {
			return nil, err
		}
		return opts, nil
	}
}

// explain reads EXPLAIN [options] extension-statement.
func (p *parser) explain(c *cursor, r stmtRange) (*Explain, error) {
	c.i = 1
	opts, err := c.explainOptions()
	if err != nil {
		return nil, err
	}
	if c.atEnd() {
		return nil, c.errHere()
	}
	inner, err := p.parseExtension(stmtRange{lo: r.lo + c.i, hi: r.hi, semi: r.semi})
	if err != nil {
		return nil, err
	}
	return &Explain{Options: opts, Stmt: inner}, nil
}

// usingBase64 finds RisingWave's USING BASE64 'module' in CREATE [OR
// REPLACE] FUNCTION or AGGREGATE and returns the index of USING, or -1.
func (c *cursor) usingBase64() int {
	i := 1
	if c.wordAt(1) == "or" && c.wordAt(2) == "replace" {
		i = 3
	}
	if w := c.wordAt(i); w != "function" && w != "aggregate" {
		return -1
	}
	return c.scanNested(i+1, len(c.toks)-2, func(j, depth int) bool {
		return depth == 0 && c.toks[j].word(c.src) == "using" && c.toks[j+1].word(c.src) == "base64" &&
			(c.toks[j+2].kind == pg_query.Token_SCONST || c.toks[j+2].kind == pg_query.Token_USCONST)
	})
}

// moduleText returns the statement's text with USING BASE64 'module'
// written as AS 'module'.
func (c *cursor) moduleText() (*pgText, error) {
	u := c.usingBase64()
	if u < 0 {
		return nil, c.errAt(0)
	}
	end := len(c.toks)
	if end > 0 && c.toks[end-1].isPunct(';') {
		end--
	}
	text := newPGText(c.src, c.toks[0].start, c.toks[end-1].end)
	using, b64 := c.toks[u], c.toks[u+1]
	text.blank(using.start, using.end)
	text.put(using.start, "as")
	text.blank(b64.start, b64.end)
	return text, nil
}

// createFunctionUsing parses CREATE FUNCTION ... USING BASE64 'module' as
// the PostgreSQL grammar's CREATE FUNCTION ... AS 'module': the module's
// text is the function's body.
func (c *cursor) createFunctionUsing() (*pg_query.Node, error) {
	text, err := c.moduleText()
	if err != nil {
		return nil, err
	}
	raws, err := text.parse()
	if err != nil {
		return nil, err
	}
	if len(raws) != 1 || raws[0].Stmt.GetCreateFunctionStmt() == nil {
		return nil, c.errAt(c.usingBase64())
	}
	return raws[0].Stmt, nil
}

// aggregateReturns finds RisingWave's CREATE [OR REPLACE] AGGREGATE
// name(args) RETURNS type LANGUAGE ... AS ..., an aggregate written in a
// language such as JavaScript, and returns the index of AGGREGATE, or -1
// (PostgreSQL's own CREATE AGGREGATE has a parenthesized definition after
// the arguments).
func (c *cursor) aggregateReturns() int {
	i := 1
	if c.wordAt(1) == "or" && c.wordAt(2) == "replace" {
		i = 3
	}
	if c.wordAt(i) != "aggregate" {
		return -1
	}
	j := c.scanNested(i+1, len(c.toks)-1, func(j, depth int) bool {
		return depth == 0 && c.toks[j].isPunct(')')
	})
	if j < 0 || c.toks[j+1].word(c.src) != "returns" {
		return -1
	}
	return i
}

// createAggregateReturns parses CREATE AGGREGATE ... RETURNS ... as the
// PostgreSQL grammar's CREATE FUNCTION of the same text; the statement's
// Ext (CreateAggregate) says it defines an aggregate. PostgreSQL's
// ordered-set spelling name(direct args ORDER BY aggregated args) is
// read with ORDER BY taken out of the argument list, and the number of
// direct arguments in the Ext.
func (c *cursor) createAggregateReturns() (*pg_query.Node, *CreateAggregate, error) {
	a := c.aggregateReturns()
	end := len(c.toks)
	if end > 0 && c.toks[end-1].isPunct(';') {
		end--
	}
	text := newPGText(c.src, c.toks[0].start, c.toks[end-1].end)
	if c.usingBase64() >= 0 {
		var err error
		if text, err = c.moduleText(); err != nil {
			return nil, nil, err
		}
	}
	ext := &CreateAggregate{}
	direct := 0 // the arguments before ORDER BY
	if j := c.scanNested(a+1, end, func(j, depth int) bool {
		t := c.toks[j]
		if depth == 1 && t.isPunct(',') {
			direct++
		}
		return (depth == 1 && t.word(c.src) == "order" && j+1 < end && c.toks[j+1].word(c.src) == "by") ||
			(depth == 0 && t.isPunct(')'))
	}); j >= 0 && !c.toks[j].isPunct(')') {
		if !c.toks[j-1].isPunct('(') {
			direct++
		}
		ext.OrderedSet, ext.NumDirect = true, direct
		text.blank(c.toks[j].start, c.toks[j+1].end)
		if direct > 0 {
			text.put(c.toks[j].start, ",")
		}
	}
	kw := c.toks[a]
	text.blank(kw.start, kw.end)
	text.put(kw.start, "function")
	raws, err := text.parse()
	if err != nil {
		return nil, nil, err
	}
	if len(raws) != 1 || raws[0].Stmt.GetCreateFunctionStmt() == nil {
		return nil, nil, c.errAt(a)
	}
	return raws[0].Stmt, ext, nil
}
