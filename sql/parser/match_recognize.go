package parser

import (
	"strconv"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"streamsql/sql/sqlerr"
)

// MATCH_RECOGNIZE
//
// A table reference in FROM may be followed by a row pattern recognition
// clause (SQL:2016, in Flink's subset and spelling):
//
//	FROM t MATCH_RECOGNIZE (
//	    PARTITION BY k ORDER BY ts
//	    MEASURES FIRST(A.price) AS start_price, LAST(B.price) AS low
//	    ONE ROW PER MATCH
//	    AFTER MATCH SKIP PAST LAST ROW
//	    PATTERN (A B+ C) WITHIN INTERVAL '10' SECOND
//	    DEFINE B AS B.price < PREV(B.price), C AS C.price > PREV(C.price)
//	) AS m
//
// PostgreSQL's grammar has no such clause. As FOR SYSTEM_TIME AS OF
// PROCTIME() (system_time.go), it is cut out at the token level wherever
// the grammar is handed text (pgText.parse), checked here, and attached to
// the RangeVar it follows: the RangeVar's relpersistence (only ever 'p' in
// a FROM clause) becomes matchRecognizeMark, the clause's byte offset in
// the input and the clause as written. The planner reads it back with
// MatchRecognizeOf; Deparse writes it back after the relation's name, so a
// stored view definition parses to the same tree.

// matchRecognizeMark starts the relpersistence of a RangeVar followed by
// MATCH_RECOGNIZE: "M<offset>:<clause text>".
const matchRecognizeMark = "M"

// MatchRecognize is a parsed MATCH_RECOGNIZE clause. Expressions are
// PostgreSQL nodes whose Locations are byte offsets in the text the
// clause was read from (the input, when MatchRecognizeOf found it there).
type MatchRecognize struct {
	PartitionBy []*pg_query.Node
	OrderBy     []*pg_query.Node
	Measures    []MRMeasure
	Skip        MRSkip
	SkipVar     string
	SkipPos     int
	Pattern     *PatternNode
	// Within is the interval expression of WITHIN, nil without one.
	Within  *pg_query.Node
	Defines []MRDefine
	Pos     int // the MATCH_RECOGNIZE keyword
}

// MRMeasure is one `expr AS name` of MEASURES.
type MRMeasure struct {
	Expr *pg_query.Node
	Name string
	Pos  int
}

// MRDefine is one `var AS condition` of DEFINE.
type MRDefine struct {
	Var  string
	Expr *pg_query.Node
	Pos  int
}

// MRSkip is the AFTER MATCH SKIP option.
type MRSkip int

const (
	SkipPastLastRow MRSkip = iota // the default
	SkipToNextRow
	SkipToFirst
	SkipToLast
)

// String renders the option as written.
func (s MRSkip) String() string {
	switch s {
	case SkipToNextRow:
		return "SKIP TO NEXT ROW"
	case SkipToFirst:
		return "SKIP TO FIRST"
	case SkipToLast:
		return "SKIP TO LAST"
	}
	return "SKIP PAST LAST ROW"
}

// PatternKind is the kind of a PatternNode.
type PatternKind int

const (
	PatVar    PatternKind = iota // one row classified as Var
	PatConcat                    // Items in sequence
	PatAlt                       // one of Items, the first preferred
	PatQuant                     // Items[0] repeated Min to Max times
)

// PatternNode is a node of a PATTERN's regular expression.
type PatternNode struct {
	Kind  PatternKind
	Var   string
	Items []*PatternNode
	// Min and Max bound a quantifier's repetitions; Max < 0 is unbounded.
	Min, Max int
	// Reluctant quantifiers prefer fewer repetitions.
	Reluctant bool
	Pos       int // byte offset in the clause's text source
}

// String renders the pattern in PATTERN syntax.
func (n *PatternNode) String() string {
	switch n.Kind {
	case PatVar:
		return n.Var
	case PatConcat:
		parts := make([]string, len(n.Items))
		for i, it := range n.Items {
			parts[i] = it.String()
		}
		return strings.Join(parts, " ")
	case PatAlt:
		parts := make([]string, len(n.Items))
		for i, it := range n.Items {
			parts[i] = it.String()
		}
		return "(" + strings.Join(parts, " | ") + ")"
	}
	in := n.Items[0].String()
	if k := n.Items[0].Kind; k == PatConcat || k == PatQuant {
		in = "(" + in + ")"
	}
	var q string
	switch {
	case n.Min == 0 && n.Max < 0:
		q = "*"
	case n.Min == 1 && n.Max < 0:
		q = "+"
	case n.Min == 0 && n.Max == 1:
		q = "?"
	case n.Max < 0:
		q = "{" + strconv.Itoa(n.Min) + ",}"
	case n.Min == n.Max:
		q = "{" + strconv.Itoa(n.Min) + "}"
	default:
		q = "{" + strconv.Itoa(n.Min) + "," + strconv.Itoa(n.Max) + "}"
	}
	if n.Reluctant {
		q += "?"
	}
	return in + q
}

// Vars lists the pattern's variables in order of first appearance.
func (n *PatternNode) Vars() []string {
	var out []string
	seen := map[string]bool{}
	var walk func(*PatternNode)
	walk = func(p *PatternNode) {
		if p.Kind == PatVar {
			if !seen[p.Var] {
				seen[p.Var] = true
				out = append(out, p.Var)
			}
			return
		}
		for _, it := range p.Items {
			walk(it)
		}
	}
	walk(n)
	return out
}

// IsMatchRecognize reports whether rv is followed by MATCH_RECOGNIZE.
func IsMatchRecognize(rv *pg_query.RangeVar) bool {
	return rv != nil && strings.HasPrefix(rv.Relpersistence, matchRecognizeMark)
}

// markText splits a RangeVar's mark into the clause's offset and text.
func markText(rv *pg_query.RangeVar) (int, string) {
	s := strings.TrimPrefix(rv.Relpersistence, matchRecognizeMark)
	colon := strings.IndexByte(s, ':')
	if colon < 0 {
		return -1, ""
	}
	off, err := strconv.Atoi(s[:colon])
	if err != nil {
		off = -1
	}
	return off, s[colon+1:]
}

// MatchRecognizeOf parses the MATCH_RECOGNIZE clause that follows rv. sql
// is the statement's whole input: when the clause is found there at its
// recorded offset, Locations and error positions are in sql; otherwise
// (a definition deparsed and stored) they are in the clause's own text.
// It returns nil when rv has no clause.
func MatchRecognizeOf(rv *pg_query.RangeVar, sql string) (*MatchRecognize, error) {
	if !IsMatchRecognize(rv) {
		return nil, nil
	}
	off, text := markText(rv)
	src := text
	if off >= 0 && off+len(text) <= len(sql) && sql[off:off+len(text)] == text {
		src, text = sql, ""
	} else {
		off = 0
	}
	toks, err := scan(src)
	if err != nil {
		return nil, err
	}
	lo := 0
	for lo < len(toks) && toks[lo].start < off {
		lo++
	}
	c := &cursor{src: src, toks: toks, i: lo}
	return c.matchRecognize()
}

// matchRecognizeClause is one clause cut from a text: its byte offset in
// the whole input and its text.
type matchRecognizeClause struct {
	pos  int
	text string
}

// hasMatchRecognize is a cheap test that the text may hold the clause.
func hasMatchRecognize(buf []byte) bool {
	return containsFold(buf, "match_recognize")
}

// cutMatchRecognize checks and blanks every MATCH_RECOGNIZE (...) of the
// text and returns them.
func (t *pgText) cutMatchRecognize() ([]matchRecognizeClause, error) {
	if !hasMatchRecognize(t.buf) {
		return nil, nil
	}
	text := string(t.buf)
	// Offsets in the whole input, for the clause's own parser.
	toks, err := scanTokens(text, t.base)
	if err != nil {
		return nil, nil // the grammar reports it
	}
	// A cursor over the whole input's text (the blanked copy for the
	// bytes of this text, which hold nothing else of use).
	src := t.src
	var out []matchRecognizeClause
	for i := 0; i < len(toks); i++ {
		if toks[i].word(src) != "match_recognize" || i+1 >= len(toks) || !toks[i+1].isPunct('(') {
			continue
		}
		c := &cursor{src: src, toks: toks, i: i}
		if i == 0 {
			return nil, c.errAt(i)
		}
		if prev := toks[i-1]; prev.kind != pg_query.Token_IDENT && prev.kw != pg_query.KeywordKind_UNRESERVED_KEYWORD &&
			prev.kw != pg_query.KeywordKind_COL_NAME_KEYWORD {
			if prev.isPunct(')') {
				return nil, c.errorf(i, sqlerr.FeatureNotSupported,
					"MATCH_RECOGNIZE must follow a table, source or view name: a subquery or function as its input is not supported")
			}
			return nil, c.errAt(i)
		}
		if _, err := c.matchRecognize(); err != nil {
			return nil, err
		}
		end := toks[c.i-1].end
		out = append(out, matchRecognizeClause{pos: toks[i].start, text: src[toks[i].start:end]})
		t.blank(toks[i].start, end)
		i = c.i - 1
	}
	return out, nil
}

// markMatchRecognize attaches each clause to the RangeVar it follows.
func (t *pgText) markMatchRecognize(stmts []*pg_query.RawStmt, clauses []matchRecognizeClause) error {
	last := lastRangeVars(stmts)
	for _, c := range clauses {
		rv, inFrom := last(c.pos)
		if rv == nil || !inFrom || rv.Relpersistence != "p" {
			return sqlerr.New(sqlerr.SyntaxError, "MATCH_RECOGNIZE must follow a table name in FROM").
				WithPosition(charPos(t.src, c.pos))
		}
		rv.Relpersistence = matchRecognizeMark + strconv.Itoa(c.pos) + ":" + c.text
	}
	return nil
}

// mrClauseWords end the item lists of the clause.
var mrClauseWords = map[string]bool{
	"partition": true, "order": true, "measures": true, "one": true, "all": true,
	"after": true, "pattern": true, "within": true, "define": true, "subset": true,
}

// listEnd returns the index of the first token from i at parenthesis
// depth zero that is ')' closing the clause or one of the clause words.
func (c *cursor) listEnd(i, limit int) int {
	end := limit
	c.eachAtDepthZero(i, limit, func(j int) bool {
		if mrClauseWords[c.toks[j].word(c.src)] {
			end = j
			return false
		}
		return true
	})
	return end
}

// eachAtDepthZero calls f on each token of [lo, hi) outside parentheses
// (the parentheses themselves excluded) until f returns false.
func (c *cursor) eachAtDepthZero(lo, hi int, f func(j int) bool) {
	c.scanNested(lo, hi, func(j, depth int) bool {
		return depth == 0 && !c.toks[j].isPunct(')') && !f(j)
	})
}

// splitCommas splits tokens [lo, hi) at commas of depth zero.
func (c *cursor) splitCommas(lo, hi int) [][2]int {
	var out [][2]int
	depth, start := 0, lo
	for j := lo; j < hi; j++ {
		t := c.toks[j]
		switch {
		case t.isPunct('('), t.isPunct('['):
			depth++
		case t.isPunct(')'), t.isPunct(']'):
			depth--
		case depth == 0 && t.isPunct(','):
			out = append(out, [2]int{start, j})
			start = j + 1
		}
	}
	return append(out, [2]int{start, hi})
}

// exprList parses the comma-separated expressions of tokens [lo, hi).
func (c *cursor) exprList(lo, hi int) ([]*pg_query.Node, error) {
	if lo >= hi {
		return nil, c.errAt(lo)
	}
	var out []*pg_query.Node
	for _, r := range c.splitCommas(lo, hi) {
		if r[0] >= r[1] {
			return nil, c.errAt(r[0])
		}
		e, err := c.expression(r[0], r[1], &c.toks[r[1]])
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// lastAs returns the index of the last AS of depth zero in [lo, hi), or -1.
func (c *cursor) lastAs(lo, hi int) int {
	at := -1
	c.eachAtDepthZero(lo, hi, func(j int) bool {
		if c.toks[j].word(c.src) == "as" {
			at = j
		}
		return true
	})
	return at
}

// matchRecognize reads `MATCH_RECOGNIZE ( ... )` from the cursor's token,
// leaving the cursor after the closing parenthesis.
func (c *cursor) matchRecognize() (*MatchRecognize, error) {
	mr := &MatchRecognize{Pos: c.toks[c.i].start}
	if err := c.expect("match_recognize"); err != nil {
		return nil, err
	}
	open := c.i
	if err := c.expectPunct('('); err != nil {
		return nil, err
	}
	close := c.matching(open)
	if close < 0 {
		return nil, c.errAt(len(c.toks))
	}
	if c.accept("partition", "by") {
		hi := c.listEnd(c.i, close)
		var err error
		if mr.PartitionBy, err = c.exprList(c.i, hi); err != nil {
			return nil, err
		}
		c.i = hi
	}
	if !c.isWords("order", "by") {
		return nil, c.errorf(c.i, sqlerr.SyntaxError, "MATCH_RECOGNIZE needs ORDER BY an event time column, at or near \"%s\"", c.toks[c.i].text(c.src))
	}
	c.i += 2
	hi := c.listEnd(c.i, close)
	for _, r := range c.splitCommas(c.i, hi) {
		end := r[1]
		if end > r[0] {
			switch c.toks[end-1].word(c.src) {
			case "asc":
				end--
			case "desc":
				return nil, c.errorf(end-1, sqlerr.FeatureNotSupported, "MATCH_RECOGNIZE orders rows by ascending event time only: DESC is not supported")
			}
		}
		if end <= r[0] {
			return nil, c.errAt(r[0])
		}
		e, err := c.expression(r[0], end, &c.toks[end])
		if err != nil {
			return nil, err
		}
		mr.OrderBy = append(mr.OrderBy, e)
	}
	c.i = hi
	if c.accept("measures") {
		hi := c.listEnd(c.i, close)
		if hi <= c.i {
			return nil, c.errHere()
		}
		for _, r := range c.splitCommas(c.i, hi) {
			as := c.lastAs(r[0], r[1])
			if as < 0 || as+2 != r[1] {
				return nil, c.errorf(min(r[1], len(c.toks)-1), sqlerr.SyntaxError,
					"a measure of MATCH_RECOGNIZE needs a name: expression AS name, at or near \"%s\"", c.toks[min(r[1], len(c.toks)-1)].text(c.src))
			}
			if as <= r[0] {
				return nil, c.errAt(as)
			}
			name, ok := c.toks[as+1].colID(c.src)
			if !ok {
				if c.toks[as+1].kw != pg_query.KeywordKind_NO_KEYWORD {
					name, ok = lowerASCII(c.toks[as+1].text(c.src)), true
				}
			}
			if !ok {
				return nil, c.errAt(as + 1)
			}
			e, err := c.expression(r[0], as, &c.toks[as])
			if err != nil {
				return nil, err
			}
			mr.Measures = append(mr.Measures, MRMeasure{Expr: e, Name: name, Pos: c.toks[r[0]].start})
		}
		c.i = hi
	}
	switch {
	case c.accept("one", "row", "per", "match"):
	case c.isWords("all", "rows", "per", "match"):
		return nil, c.errorf(c.i, sqlerr.FeatureNotSupported, "ALL ROWS PER MATCH is not supported: use ONE ROW PER MATCH")
	}
	if c.accept("after", "match", "skip") {
		mr.SkipPos = c.toks[c.i-1].start
		switch {
		case c.accept("past", "last", "row"):
			mr.Skip = SkipPastLastRow
		case c.accept("to", "next", "row"):
			mr.Skip = SkipToNextRow
		case c.isWords("to", "first"), c.isWords("to", "last"):
			mr.Skip = SkipToFirst
			if c.wordAt(1) == "last" {
				mr.Skip = SkipToLast
			}
			c.i += 2
			v, err := c.patternVarName()
			if err != nil {
				return nil, err
			}
			mr.SkipVar = v
		case c.isWords("to"):
			c.i++
			v, err := c.patternVarName()
			if err != nil {
				return nil, err
			}
			mr.Skip, mr.SkipVar = SkipToLast, v
		default:
			return nil, c.errHere()
		}
	}
	if c.isWords("subset") {
		return nil, c.errorf(c.i, sqlerr.FeatureNotSupported, "SUBSET is not supported in MATCH_RECOGNIZE")
	}
	if !c.isWords("pattern") {
		if c.i < close {
			return nil, c.errHere()
		}
		return nil, c.errorf(c.i, sqlerr.SyntaxError, "MATCH_RECOGNIZE needs a PATTERN, at or near \"%s\"", c.toks[c.i].text(c.src))
	}
	c.i++
	if !c.isPunct('(') {
		return nil, c.errHere()
	}
	pclose := c.matching(c.i)
	if pclose < 0 || pclose > close {
		return nil, c.errAt(close)
	}
	p, err := parsePattern(c.src, c.toks[c.i].end, c.toks[pclose].start)
	if err != nil {
		return nil, err
	}
	mr.Pattern = p
	c.i = pclose + 1
	if c.accept("within") {
		hi := c.listEnd(c.i, close)
		if hi <= c.i {
			return nil, c.errHere()
		}
		if mr.Within, err = c.expression(c.i, hi, &c.toks[hi]); err != nil {
			return nil, err
		}
		c.i = hi
	}
	vars := map[string]bool{}
	for _, v := range mr.Pattern.Vars() {
		vars[v] = true
	}
	if mr.SkipVar != "" && !vars[mr.SkipVar] {
		return nil, sqlerr.New(sqlerr.SyntaxError, "AFTER MATCH SKIP TO names %s, which is not a variable of the PATTERN", mr.SkipVar).
			WithPosition(charPos(c.src, mr.SkipPos))
	}
	if c.accept("define") {
		if c.i >= close {
			return nil, c.errHere()
		}
		seen := map[string]bool{}
		for _, r := range c.splitCommas(c.i, close) {
			if r[0] >= r[1] {
				return nil, c.errAt(r[0])
			}
			c.i = r[0]
			pos := c.toks[r[0]].start
			v, err := c.patternVarName()
			if err != nil {
				return nil, err
			}
			if !vars[v] {
				return nil, sqlerr.New(sqlerr.SyntaxError, "DEFINE names %s, which is not a variable of the PATTERN", v).WithPosition(charPos(c.src, pos))
			}
			if seen[v] {
				return nil, sqlerr.New(sqlerr.SyntaxError, "pattern variable %s is defined more than once", v).WithPosition(charPos(c.src, pos))
			}
			seen[v] = true
			if err := c.expect("as"); err != nil {
				return nil, err
			}
			if c.i >= r[1] {
				return nil, c.errAt(c.i)
			}
			e, err := c.expression(c.i, r[1], &c.toks[r[1]])
			if err != nil {
				return nil, err
			}
			mr.Defines = append(mr.Defines, MRDefine{Var: v, Expr: e, Pos: pos})
		}
		c.i = close
	}
	if c.i != close {
		return nil, c.errHere()
	}
	c.i = close + 1
	return mr, nil
}

// patternVarName reads a pattern variable's name (an identifier, case
// folded like any other).
func (c *cursor) patternVarName() (string, error) {
	t := c.tok(0)
	if t == nil {
		return "", c.errHere()
	}
	if id, ok := t.colID(c.src); ok {
		c.i++
		return id, nil
	}
	return "", c.errHere()
}

// maxPatternRepeat bounds the counts of {n}, {n,} and {n,m}: the matcher
// unrolls them.
const maxPatternRepeat = 1000

// patternParser reads PATTERN's regular expression from the raw text,
// since PostgreSQL's scanner glues quantifiers into operators ("+?", "*?|").
type patternParser struct {
	src string
	i   int
	end int
}

// parsePattern parses src[from:to], the text inside PATTERN ( ).
func parsePattern(src string, from, to int) (*PatternNode, error) {
	p := &patternParser{src: src, i: from, end: to}
	n, err := p.alternation()
	if err != nil {
		return nil, err
	}
	p.space()
	if p.i < p.end {
		return nil, p.errAt(p.i)
	}
	return n, nil
}

func (p *patternParser) errAt(i int) error {
	if i >= p.end {
		return sqlerr.New(sqlerr.SyntaxError, "syntax error at or near \")\"").WithPosition(charPos(p.src, p.end))
	}
	j := i + 1
	for j < p.end && isPatternIdent(p.src[j]) && isPatternIdent(p.src[i]) {
		j++
	}
	return sqlerr.New(sqlerr.SyntaxError, "syntax error at or near \"%s\" in PATTERN", p.src[i:j]).WithPosition(charPos(p.src, i))
}

func isPatternIdent(b byte) bool {
	return b == '_' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b >= 0x80
}

func (p *patternParser) space() {
	for p.i < p.end {
		switch p.src[p.i] {
		case ' ', '\t', '\n', '\r', '\f':
			p.i++
		default:
			return
		}
	}
}

func (p *patternParser) peek() byte {
	p.space()
	if p.i < p.end {
		return p.src[p.i]
	}
	return 0
}

func (p *patternParser) alternation() (*PatternNode, error) {
	pos := p.i
	first, err := p.concat()
	if err != nil {
		return nil, err
	}
	if p.peek() != '|' {
		return first, nil
	}
	alt := &PatternNode{Kind: PatAlt, Items: []*PatternNode{first}, Pos: pos}
	for p.peek() == '|' {
		p.i++
		n, err := p.concat()
		if err != nil {
			return nil, err
		}
		alt.Items = append(alt.Items, n)
	}
	return alt, nil
}

func (p *patternParser) concat() (*PatternNode, error) {
	pos := p.i
	var items []*PatternNode
	for {
		c := p.peek()
		if c == 0 || c == '|' || c == ')' {
			break
		}
		n, err := p.quantified()
		if err != nil {
			return nil, err
		}
		items = append(items, n)
	}
	switch len(items) {
	case 0:
		return nil, p.errAt(p.i)
	case 1:
		return items[0], nil
	}
	return &PatternNode{Kind: PatConcat, Items: items, Pos: pos}, nil
}

func (p *patternParser) quantified() (*PatternNode, error) {
	n, err := p.primary()
	if err != nil {
		return nil, err
	}
	for quantified := false; ; quantified = true {
		pos := p.i
		c := p.peek()
		min, max := 0, 0
		switch c {
		case '*':
			min, max = 0, -1
			p.i++
		case '+':
			min, max = 1, -1
			p.i++
		case '?':
			min, max = 0, 1
			p.i++
		case '{':
			p.i++
			var err error
			if min, max, err = p.braces(); err != nil {
				return nil, err
			}
		default:
			return n, nil
		}
		q := &PatternNode{Kind: PatQuant, Items: []*PatternNode{n}, Min: min, Max: max, Pos: pos}
		if p.i < p.end && p.src[p.i] == '?' {
			q.Reluctant = true
			p.i++
		}
		if quantified {
			return nil, sqlerr.New(sqlerr.SyntaxError, "a quantifier cannot follow another in PATTERN: group the first in parentheses").
				WithPosition(charPos(p.src, pos))
		}
		n = q
	}
}

// braces reads the rest of {n}, {n,}, {,m} or {n,m}.
func (p *patternParser) braces() (int, int, error) {
	start := p.i - 1
	num := func() (int, bool, error) {
		p.space()
		j := p.i
		for p.i < p.end && p.src[p.i] >= '0' && p.src[p.i] <= '9' {
			p.i++
		}
		if j == p.i {
			return 0, false, nil
		}
		v, err := strconv.Atoi(p.src[j:p.i])
		if err != nil || v > maxPatternRepeat {
			return 0, false, sqlerr.New(sqlerr.FeatureNotSupported, "a PATTERN quantifier may count at most %d repetitions", maxPatternRepeat).
				WithPosition(charPos(p.src, j))
		}
		return v, true, nil
	}
	lo, hasLo, err := num()
	if err != nil {
		return 0, 0, err
	}
	if p.peek() == '}' {
		p.i++
		if !hasLo {
			return 0, 0, p.errAt(p.i - 1)
		}
		return lo, lo, nil
	}
	if p.peek() != ',' {
		return 0, 0, p.errAt(p.i)
	}
	p.i++
	hi, hasHi, err := num()
	if err != nil {
		return 0, 0, err
	}
	if p.peek() != '}' {
		return 0, 0, p.errAt(p.i)
	}
	p.i++
	if !hasHi {
		hi = -1
	}
	if hasHi && hi < lo {
		return 0, 0, sqlerr.New(sqlerr.SyntaxError, "the upper bound of a PATTERN quantifier is below its lower bound").
			WithPosition(charPos(p.src, start))
	}
	if hasHi && hi == 0 {
		return 0, 0, sqlerr.New(sqlerr.SyntaxError, "a PATTERN quantifier must allow at least one repetition").
			WithPosition(charPos(p.src, start))
	}
	return lo, hi, nil
}

func (p *patternParser) primary() (*PatternNode, error) {
	c := p.peek()
	pos := p.i
	switch {
	case c == '(':
		p.i++
		n, err := p.alternation()
		if err != nil {
			return nil, err
		}
		if p.peek() != ')' {
			return nil, p.errAt(p.i)
		}
		p.i++
		return n, nil
	case c == '"':
		j := p.i + 1
		for j < p.end && p.src[j] != '"' {
			j++
		}
		if j >= p.end || j == p.i+1 {
			return nil, p.errAt(p.i)
		}
		p.i = j + 1
		return &PatternNode{Kind: PatVar, Var: p.src[pos+1 : j], Pos: pos}, nil
	case c == '^' || c == '$':
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "the anchors ^ and $ are not supported in PATTERN").WithPosition(charPos(p.src, pos))
	case c == '{' && p.i+1 < p.end && p.src[p.i+1] == '-':
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "exclusion {- -} is not supported in PATTERN").WithPosition(charPos(p.src, pos))
	case c != 0 && isPatternIdent(c) && !(c >= '0' && c <= '9'):
		for p.i < p.end && isPatternIdent(p.src[p.i]) {
			p.i++
		}
		name := lowerASCII(p.src[pos:p.i])
		if name == "permute" {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "PERMUTE is not supported in PATTERN").WithPosition(charPos(p.src, pos))
		}
		return &PatternNode{Kind: PatVar, Var: name, Pos: pos}, nil
	}
	return nil, p.errAt(p.i)
}

// matchRecognizePlaceholder names a marked relation while PostgreSQL's
// deparser runs.
const matchRecognizePlaceholder = "streamsql_match_recognize_"

// deparseMatchRecognize deparses with every marked RangeVar written back
// followed by its MATCH_RECOGNIZE clause.
func deparseMatchRecognize(node *pg_query.Node, deparse func() (string, error)) (string, error) {
	var marked []*pg_query.RangeVar
	walkRangeVars(node.ProtoReflect(), false, func(rv *pg_query.RangeVar, _ bool) {
		if IsMatchRecognize(rv) {
			marked = append(marked, rv)
		}
	})
	if len(marked) == 0 {
		return deparse()
	}
	names := make([]string, len(marked))
	marks := make([]string, len(marked))
	for i, rv := range marked {
		names[i], marks[i] = rv.Relname, rv.Relpersistence
		rv.Relname = matchRecognizePlaceholder + strconv.Itoa(i) + "_"
		rv.Relpersistence = "p"
	}
	s, err := deparse()
	// Replace the longest placeholders first: _1_ is not a prefix of _11_,
	// thanks to the trailing underscore.
	for i, rv := range marked {
		placeholder := rv.Relname
		rv.Relname, rv.Relpersistence = names[i], marks[i]
		_, text := markText(rv)
		s = strings.Replace(s, placeholder, quoteIdent(names[i])+" "+text, 1)
	}
	return s, err
}
