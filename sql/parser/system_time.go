package parser

import (
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"

	"streamsql/sql/sqlerr"
)

// FOR SYSTEM_TIME AS OF PROCTIME()
//
// A table reference in FROM may carry `FOR SYSTEM_TIME AS OF PROCTIME()`
// (as in Flink and RisingWave): the right side of a processing-time lookup
// join. PostgreSQL's grammar has no such clause, so it is cut out at the
// token level, wherever the grammar is handed text (pgText.parse), and
// attached to the RangeVar it follows by setting the RangeVar's
// relpersistence to procTimeMark. In a FROM clause PostgreSQL only ever
// sets relpersistence to 'p', and its deparser ignores it there; Deparse
// writes the clause back, so a stored definition parses to the same tree.

// procTimeMark is the relpersistence of a RangeVar read FOR SYSTEM_TIME AS
// OF PROCTIME().
const procTimeMark = "s"

// IsProcTimeLookup reports whether rv was written with FOR SYSTEM_TIME AS
// OF PROCTIME().
func IsProcTimeLookup(rv *pg_query.RangeVar) bool {
	return rv != nil && rv.Relpersistence == procTimeMark
}

// systemTimeClause is one FOR SYSTEM_TIME AS OF PROCTIME() found in a
// text: pos is the byte offset of FOR in the whole input.
type systemTimeClause struct{ pos int }

// hasSystemTime is a cheap test that the text may hold the clause.
func hasSystemTime(buf []byte) bool {
	return containsFold(buf, "system_time")
}

// cutSystemTime blanks every FOR SYSTEM_TIME AS OF PROCTIME() of the text
// and returns where they were. Any other AS OF expression is refused.
func (t *pgText) cutSystemTime() ([]systemTimeClause, error) {
	if !hasSystemTime(t.buf) {
		return nil, nil
	}
	text := string(t.buf)
	toks, err := scanTokens(text, 0)
	if err != nil {
		return nil, nil // the grammar reports it
	}
	word := func(i int) string {
		if i < 0 || i >= len(toks) {
			return ""
		}
		return toks[i].word(text)
	}
	at := func(i int) int { // character position in src of token i
		if i >= len(toks) {
			return charPos(t.src, t.base+len(text))
		}
		return charPos(t.src, t.base+toks[i].start)
	}
	var out []systemTimeClause
	for i := 0; i+3 < len(toks); i++ {
		if word(i) != "for" || word(i+1) != "system_time" {
			continue
		}
		if word(i+2) != "as" || word(i+3) != "of" {
			return nil, sqlerr.New(sqlerr.SyntaxError, "syntax error at or near %q", toks[min(i+2, len(toks)-1)].text(text)).
				WithPosition(at(i + 2))
		}
		if word(i+4) != "proctime" || i+6 >= len(toks) || !toks[i+5].isPunct('(') || !toks[i+6].isPunct(')') {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported,
				"FOR SYSTEM_TIME AS OF supports only PROCTIME(): a lookup join reads the table as it is when each row is processed").
				WithPosition(at(i + 4))
		}
		if i == 0 {
			return nil, sqlerr.New(sqlerr.SyntaxError, "syntax error at or near \"FOR\"").WithPosition(at(i))
		}
		if prev := toks[i-1]; prev.kind != pg_query.Token_IDENT && prev.kw == pg_query.KeywordKind_NO_KEYWORD ||
			prev.kw == pg_query.KeywordKind_RESERVED_KEYWORD {
			return nil, sqlerr.New(sqlerr.SyntaxError, "FOR SYSTEM_TIME AS OF PROCTIME() must follow a table name in FROM").
				WithPosition(at(i))
		}
		out = append(out, systemTimeClause{pos: t.base + toks[i].start})
		t.blank(t.base+toks[i].start, t.base+toks[i+6].end)
		i += 6
	}
	return out, nil
}

// markSystemTime attaches each clause to the RangeVar it follows: the
// last one that starts before it, which must be an item of a FROM list or
// a join.
func (t *pgText) markSystemTime(stmts []*pg_query.RawStmt, clauses []systemTimeClause) error {
	last := lastRangeVars(stmts)
	for _, c := range clauses {
		rv, inFrom := last(c.pos)
		if rv == nil || !inFrom {
			return sqlerr.New(sqlerr.SyntaxError, "FOR SYSTEM_TIME AS OF PROCTIME() must follow a table name in FROM").
				WithPosition(charPos(t.src, c.pos))
		}
		rv.Relpersistence = procTimeMark
	}
	return nil
}

// lastRangeVars finds the RangeVar a clause cut from the text follows:
// the returned function gives, for the clause's offset, the last RangeVar
// of stmts that starts before it (nil when none does) and whether it is an
// item of a FROM list or of a join.
func lastRangeVars(stmts []*pg_query.RawStmt) func(pos int) (*pg_query.RangeVar, bool) {
	type found struct {
		rv     *pg_query.RangeVar
		inFrom bool
	}
	var rvs []found
	for _, s := range stmts {
		walkRangeVars(s.ProtoReflect(), false, func(rv *pg_query.RangeVar, inFrom bool) {
			rvs = append(rvs, found{rv, inFrom})
		})
	}
	return func(pos int) (*pg_query.RangeVar, bool) {
		var best *found
		for k := range rvs {
			if loc := int(rvs[k].rv.Location); loc >= 0 && loc < pos && (best == nil || loc > int(best.rv.Location)) {
				best = &rvs[k]
			}
		}
		if best == nil {
			return nil, false
		}
		return best.rv, best.inFrom
	}
}

// walkRangeVars calls f on every RangeVar beneath m, saying whether it is
// an item of a FROM list (or of a join in one).
func walkRangeVars(m protoreflect.Message, inFrom bool, f func(rv *pg_query.RangeVar, inFrom bool)) {
	if rv, ok := m.Interface().(*pg_query.RangeVar); ok {
		f(rv, inFrom)
		return
	}
	_, isNode := m.Interface().(*pg_query.Node)
	_, isJoin := m.Interface().(*pg_query.JoinExpr)
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Kind() != protoreflect.MessageKind {
			return true
		}
		name := string(fd.Name())
		child := false
		switch {
		case isNode:
			child = inFrom // a Node is a wrapper: its one field is the item
		case name == "from_clause" || name == "using_clause":
			child = true
		case isJoin && (name == "larg" || name == "rarg"):
			child = true
		}
		if fd.IsList() {
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				walkRangeVars(l.Get(i).Message(), child, f)
			}
		} else {
			walkRangeVars(v.Message(), child, f)
		}
		return true
	})
}

// procTimePlaceholder names a marked relation while PostgreSQL's deparser
// runs; it needs no quoting and no user writes it.
const procTimePlaceholder = "streamsql_proctime_lookup_"

// deparseSystemTime deparses node with every marked RangeVar written back
// with its FOR SYSTEM_TIME AS OF PROCTIME().
func deparseSystemTime(node *pg_query.Node, deparse func() (string, error)) (string, error) {
	var marked []*pg_query.RangeVar
	walkRangeVars(node.ProtoReflect(), false, func(rv *pg_query.RangeVar, _ bool) {
		if IsProcTimeLookup(rv) {
			marked = append(marked, rv)
		}
	})
	if len(marked) == 0 {
		return deparse()
	}
	names := make([]string, len(marked))
	for i, rv := range marked {
		names[i] = rv.Relname
		rv.Relname = procTimePlaceholder + string(rune('a'+i%26)) + strings.Repeat("z", i/26) + "_"
	}
	s, err := deparse()
	for i, rv := range marked {
		placeholder := rv.Relname
		rv.Relname = names[i]
		s = strings.Replace(s, placeholder, quoteIdent(names[i])+" FOR SYSTEM_TIME AS OF PROCTIME()", 1)
	}
	return s, err
}

// quoteIdent quotes name when PostgreSQL's scanner would not read it back
// as the same identifier.
func quoteIdent(name string) string {
	if name != "" && NormalizeIdent(name) == name {
		if res, err := pg_query.Scan(name); err == nil && len(res.Tokens) == 1 &&
			res.Tokens[0].Token == pg_query.Token_IDENT && int(res.Tokens[0].End) == len(name) {
			return name
		}
	}
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}
