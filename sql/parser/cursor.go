package parser

import (
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"streamsql/sql/sqlerr"
)

// cursor walks the tokens of one extension statement. toks includes the
// terminating ';' when there is one, so that errors at the end read
// `syntax error at or near ";"` exactly as PostgreSQL's.
type cursor struct {
	src  string
	toks []token
	i    int
}

// end is the index one past the statement's last token (before any ';').
func (c *cursor) end() int {
	if n := len(c.toks); n > 0 && c.toks[n-1].isPunct(';') {
		return n - 1
	}
	return len(c.toks)
}

func (c *cursor) atEnd() bool { return c.i >= c.end() }

// tok returns the token i places ahead, or nil past the statement's end.
func (c *cursor) tok(ahead int) *token {
	if j := c.i + ahead; j < c.end() {
		return &c.toks[j]
	}
	return nil
}

// wordAt returns the word i places ahead ("" when none).
func (c *cursor) wordAt(ahead int) string {
	if t := c.tok(ahead); t != nil {
		return t.word(c.src)
	}
	return ""
}

// isWords reports whether the next tokens are the words ws.
func (c *cursor) isWords(ws ...string) bool {
	for k, w := range ws {
		if c.wordAt(k) != w {
			return false
		}
	}
	return true
}

// accept consumes the words ws if they come next.
func (c *cursor) accept(ws ...string) bool {
	if !c.isWords(ws...) {
		return false
	}
	c.i += len(ws)
	return true
}

// expect consumes the words ws or fails at the first that differs.
func (c *cursor) expect(ws ...string) error {
	for _, w := range ws {
		if c.wordAt(0) != w {
			return c.errHere()
		}
		c.i++
	}
	return nil
}

func (c *cursor) isPunct(ch byte) bool {
	t := c.tok(0)
	return t != nil && t.isPunct(ch)
}

func (c *cursor) acceptPunct(ch byte) bool {
	if c.isPunct(ch) {
		c.i++
		return true
	}
	return false
}

func (c *cursor) expectPunct(ch byte) error {
	if !c.acceptPunct(ch) {
		return c.errHere()
	}
	return nil
}

// expectEnd fails unless the statement is complete.
func (c *cursor) expectEnd() error {
	if !c.atEnd() {
		return c.errHere()
	}
	return nil
}

// errHere is PostgreSQL's syntax error at the current token.
func (c *cursor) errHere() error { return c.errAt(c.i) }

func (c *cursor) errAt(i int) error {
	if i < len(c.toks) {
		t := c.toks[i]
		return sqlerr.New(sqlerr.SyntaxError, "syntax error at or near \"%s\"", t.text(c.src)).
			WithPosition(charPos(c.src, t.start))
	}
	return sqlerr.New(sqlerr.SyntaxError, "syntax error at end of input").
		WithPosition(charPos(c.src, len(c.src)))
}

// errorf is an error of code at token i with a message of its own.
func (c *cursor) errorf(i int, code, format string, args ...any) error {
	e := sqlerr.New(code, format, args...)
	if i < len(c.toks) {
		e.Position = charPos(c.src, c.toks[i].start)
	} else {
		e.Position = charPos(c.src, len(c.src))
	}
	return e
}

// matching returns the index of the ')' that closes the '(' at index i, or
// -1.
func (c *cursor) matching(i int) int {
	depth := 0
	for j := i; j < c.end(); j++ {
		switch {
		case c.toks[j].isPunct('('):
			depth++
		case c.toks[j].isPunct(')'):
			depth--
			if depth == 0 {
				return j
			}
		}
	}
	return -1
}

// name reads a possibly qualified ColId name.
func (c *cursor) name() (ObjectName, error) {
	var parts []string
	start := c.i
	for {
		t := c.tok(0)
		if t == nil {
			return ObjectName{}, c.errHere()
		}
		id, ok := t.colID(c.src)
		if !ok {
			return ObjectName{}, c.errHere()
		}
		parts = append(parts, id)
		c.i++
		if !c.isPunct('.') {
			break
		}
		c.i++
	}
	n := ObjectName{Pos: c.toks[start].start}
	switch len(parts) {
	case 1:
		n.Name = parts[0]
	case 2:
		n.Schema, n.Name = parts[0], parts[1]
	case 3:
		n.Catalog, n.Schema, n.Name = parts[0], parts[1], parts[2]
	default:
		return ObjectName{}, c.errorf(start, sqlerr.SyntaxError,
			"improper qualified name (too many dotted names): %s", strings.Join(parts, "."))
	}
	return n, nil
}

// ident reads one ColId.
func (c *cursor) ident() (string, error) {
	t := c.tok(0)
	if t == nil {
		return "", c.errHere()
	}
	id, ok := t.colID(c.src)
	if !ok {
		return "", c.errHere()
	}
	c.i++
	return id, nil
}

// options reads `( key = value [, ...] )`.
func (c *cursor) options() ([]Option, error) {
	if err := c.expectPunct('('); err != nil {
		return nil, err
	}
	var opts []Option
	if c.acceptPunct(')') {
		return opts, nil
	}
	for {
		o, err := c.option()
		if err != nil {
			return nil, err
		}
		opts = append(opts, o)
		if c.acceptPunct(',') {
			continue
		}
		if err := c.expectPunct(')'); err != nil {
			return nil, err
		}
		return opts, nil
	}
}

func (c *cursor) option() (Option, error) {
	var o Option
	var key []string
	for {
		t := c.tok(0)
		if t == nil {
			return o, c.errHere()
		}
		var part string
		if w := t.word(c.src); w != "" {
			part = w
		} else if t.kind == pg_query.Token_IDENT {
			part = NormalizeIdent(t.text(c.src))
		} else {
			return o, c.errHere()
		}
		if len(key) == 0 {
			o.KeyPos = t.start
		}
		key = append(key, part)
		c.i++
		if !c.acceptPunct('.') {
			break
		}
	}
	o.Key = strings.Join(key, ".")
	if c.isPunct(',') || c.isPunct(')') {
		// A bare key is a boolean flag, as in PostgreSQL's option lists.
		o.Value, o.ValuePos = "true", o.KeyPos
		return o, nil
	}
	if err := c.expectPunct('='); err != nil {
		return o, err
	}
	t := c.tok(0)
	if t == nil {
		return o, c.errHere()
	}
	o.ValuePos = t.start
	sign := ""
	if t.isPunct('-') || t.isPunct('+') {
		if t.isPunct('-') {
			sign = "-"
		}
		c.i++
		if t = c.tok(0); t == nil || (t.kind != pg_query.Token_ICONST && t.kind != pg_query.Token_FCONST) {
			return o, c.errHere()
		}
	}
	switch {
	case t.kind == pg_query.Token_ICONST || t.kind == pg_query.Token_FCONST:
		o.Value = sign + t.text(c.src)
	case sign != "":
		return o, c.errHere()
	case t.kind == pg_query.Token_SCONST || t.kind == pg_query.Token_USCONST:
		v, err := c.stringConst(t)
		if err != nil {
			return o, err
		}
		o.Value, o.Quoted = v, true
	case t.kind == pg_query.Token_IDENT:
		o.Value = NormalizeIdent(t.text(c.src))
	case t.word(c.src) != "":
		o.Value = t.word(c.src)
	default:
		return o, c.errHere()
	}
	c.i++
	return o, nil
}

// stringConst decodes the string literal t; an invalid one is an error at
// t.
func (c *cursor) stringConst(t *token) (string, error) {
	v, err := stringConst(t.text(c.src))
	if err != nil {
		e := sqlerr.From(err)
		return "", sqlerr.New(sqlerr.SyntaxError, "%s", e.Message).WithPosition(charPos(c.src, t.start))
	}
	return v, nil
}

// formatSpec reads `FORMAT f ENCODE e [( options )]`, the cursor on FORMAT.
func (c *cursor) formatSpec() (FormatSpec, error) {
	var f FormatSpec
	f.Pos = c.toks[c.i].start
	if err := c.expect("format"); err != nil {
		return f, err
	}
	fi := c.i
	fw := c.wordAt(0)
	if fw == "" {
		return f, c.errHere()
	}
	switch fw {
	case "plain", "upsert", "debezium", "canal", "maxwell":
	default:
		return f, c.errorf(fi, sqlerr.InvalidParameterValue, "unknown FORMAT \"%s\"", c.toks[fi].text(c.src))
	}
	c.i++
	if err := c.expect("encode"); err != nil {
		return f, err
	}
	ei := c.i
	ew := c.wordAt(0)
	if ew == "" {
		return f, c.errHere()
	}
	switch ew {
	case "json", "csv", "avro", "bytes":
	default:
		return f, c.errorf(ei, sqlerr.InvalidParameterValue, "unknown ENCODE \"%s\"", c.toks[ei].text(c.src))
	}
	c.i++
	f.Format, f.Encode = strings.ToUpper(fw), strings.ToUpper(ew)
	if c.isPunct('(') {
		opts, err := c.options()
		if err != nil {
			return f, err
		}
		f.EncodeOptions = opts
	}
	return f, nil
}

// isFormatAt reports whether a FORMAT clause starts at token index i
// (FORMAT word ENCODE), telling it apart from a column named format.
func (c *cursor) isFormatAt(i int) bool {
	return i+2 < c.end() && c.toks[i].word(c.src) == "format" &&
		c.toks[i+1].word(c.src) != "" && c.toks[i+2].word(c.src) == "encode"
}
