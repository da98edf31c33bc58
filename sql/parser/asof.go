package parser

import (
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"

	"streamsql/sql/sqlerr"
)

// ASOF JOIN ... MATCH_CONDITION (...)
//
//	FROM trades t ASOF [LEFT] JOIN quotes q MATCH_CONDITION (t.ts >= q.ts) ON t.sym = q.sym
//
// joins each left row with the one right row that is nearest to it in
// time on the side the match condition names (Snowflake's and DuckDB's
// ASOF join). PostgreSQL's grammar has neither ASOF nor MATCH_CONDITION,
// so both are rewritten at the token level, byte for byte (offsets stay
// those of the input): ASOF is blanked, and `MATCH_CONDITION (cond)`
// becomes `TABLESAMPLE "@"(cond)`, a clause PostgreSQL's grammar accepts
// right after a table reference and keeps as a RangeTableSample around
// the right side's RangeVar with cond as its argument. The method name
// "@" is the mark; AsofJoin recognizes it. Deparse writes the original
// syntax back, so a stored view definition parses to the same tree. The
// right side must therefore be a table, view or source name (not a
// subquery), which is what TABLESAMPLE takes.

// asofMethod is the TABLESAMPLE method name that marks an ASOF join's
// right side; `TABLESAMPLE "@"` is as long as MATCH_CONDITION.
const asofMethod = "@"

// AsofJoin reports whether j was written ASOF JOIN and returns its right
// side's relation and its match condition.
func AsofJoin(j *pg_query.JoinExpr) (rel *pg_query.RangeVar, cond *pg_query.Node, ok bool) {
	if j == nil || j.Rarg == nil {
		return nil, nil, false
	}
	ts := j.Rarg.GetRangeTableSample()
	if ts == nil || len(ts.Method) != 1 || ts.Method[0].GetString_().GetSval() != asofMethod || len(ts.Args) != 1 {
		return nil, nil, false
	}
	rv := ts.Relation.GetRangeVar()
	if rv == nil {
		return nil, nil, false
	}
	return rv, ts.Args[0], true
}

// hasAsof is a cheap test that the text may hold an ASOF join.
func hasAsof(buf []byte) bool {
	return containsFold(buf, "asof") || containsFold(buf, "match_condition")
}

// cutAsof rewrites every ASOF JOIN of the text into the form described
// above.
func (t *pgText) cutAsof() error {
	if !hasAsof(t.buf) {
		return nil
	}
	text := string(t.buf)
	toks, err := scanTokens(text, 0)
	if err != nil {
		return nil // the grammar reports it
	}
	word := func(i int) string {
		if i < 0 || i >= len(toks) {
			return ""
		}
		return toks[i].word(text)
	}
	at := func(i int) int {
		if i >= len(toks) {
			return charPos(t.src, t.base+len(text))
		}
		return charPos(t.src, t.base+toks[i].start)
	}
	for i := 0; i < len(toks); i++ {
		switch word(i) {
		case "asof":
		case "match_condition":
			if toks[i].kind == pg_query.Token_IDENT {
				return sqlerr.New(sqlerr.SyntaxError, "MATCH_CONDITION belongs to an ASOF JOIN: write FROM a ASOF JOIN b MATCH_CONDITION (a.ts >= b.ts) ON a.k = b.k").
					WithPosition(at(i))
			}
			continue
		default:
			continue
		}
		// ASOF is a join only where a table reference has ended before
		// it; elsewhere it is a name.
		if i == 0 || toks[i].kind != pg_query.Token_IDENT {
			continue
		}
		if prev := toks[i-1]; !prev.isPunct(')') && prev.kind != pg_query.Token_IDENT && prev.kw != pg_query.KeywordKind_UNRESERVED_KEYWORD {
			continue
		}
		j := i + 1
		switch word(j) {
		case "join":
		case "left", "inner":
			j++
			if word(j) == "outer" && word(j-1) == "left" {
				j++
			}
			if word(j) != "join" {
				continue
			}
		case "right", "full", "cross", "natural":
			return sqlerr.New(sqlerr.FeatureNotSupported, "ASOF %s JOIN is not supported: an ASOF join is INNER or LEFT", strings.ToUpper(word(j))).
				WithPosition(at(j))
		default:
			continue
		}
		// The right side, then MATCH_CONDITION at the same depth.
		depth, k := 0, j+1
		for ; k < len(toks); k++ {
			tk := toks[k]
			if tk.isPunct('(') {
				depth++
			} else if tk.isPunct(')') {
				if depth == 0 {
					break
				}
				depth--
			} else if depth == 0 && (word(k) == "match_condition" || word(k) == "on" || word(k) == "using" ||
				word(k) == "where" || word(k) == "join" || tk.isPunct(',') || tk.isPunct(';')) {
				break
			}
		}
		if word(k) != "match_condition" {
			return sqlerr.New(sqlerr.SyntaxError, "ASOF JOIN needs MATCH_CONDITION (left_time >= right_time) after its right side").
				WithPosition(at(k))
		}
		paren := false
		for x := j + 1; x < k; x++ {
			paren = paren || toks[x].isPunct('(')
		}
		if k == j+1 || paren {
			return sqlerr.New(sqlerr.FeatureNotSupported, "the right side of an ASOF JOIN must be a table, view or source name, not a subquery or function").
				WithPosition(at(j + 1))
		}
		if k+1 >= len(toks) || !toks[k+1].isPunct('(') {
			return sqlerr.New(sqlerr.SyntaxError, "syntax error at or near %q: MATCH_CONDITION takes a parenthesized comparison", toks[min(k+1, len(toks)-1)].text(text)).
				WithPosition(at(k + 1))
		}
		// The closing parenthesis, then ON.
		depth, e := 0, k+1
		for ; e < len(toks); e++ {
			if toks[e].isPunct('(') {
				depth++
			} else if toks[e].isPunct(')') {
				depth--
				if depth == 0 {
					break
				}
			}
		}
		if word(e+1) != "on" {
			return sqlerr.New(sqlerr.SyntaxError, "ASOF JOIN needs an ON condition after MATCH_CONDITION (write ON TRUE to match rows of any key)").
				WithPosition(at(e + 1))
		}
		t.blank(t.base+toks[i].start, t.base+toks[i].end)
		mc := t.base + toks[k].start
		t.blank(mc, t.base+toks[k].end)
		t.put(mc, `TABLESAMPLE "`+asofMethod+`"`)
		i = k + 1
	}
	return nil
}

// asofPlaceholder names an ASOF join's right relation while PostgreSQL's
// deparser runs; it needs no quoting and no user writes it.
const asofPlaceholder = "streamsql_asof_right_"

// deparseAsof deparses node with every ASOF join written back as such.
func deparseAsof(node *pg_query.Node, deparse func() (string, error)) (string, error) {
	type marked struct {
		rv                   *pg_query.RangeVar
		catalog, schema, rel string
	}
	var ms []marked
	walkJoins(node, func(j *pg_query.JoinExpr) {
		if rv, _, ok := AsofJoin(j); ok {
			ms = append(ms, marked{rv: rv, catalog: rv.Catalogname, schema: rv.Schemaname, rel: rv.Relname})
		}
	})
	if len(ms) == 0 {
		return deparse()
	}
	for i, m := range ms {
		m.rv.Catalogname, m.rv.Schemaname = "", ""
		m.rv.Relname = asofPlaceholder + string(rune('a'+i%26)) + strings.Repeat("z", i/26) + "_"
	}
	s, err := deparse()
	for _, m := range ms {
		ph := m.rv.Relname
		m.rv.Catalogname, m.rv.Schemaname, m.rv.Relname = m.catalog, m.schema, m.rel
		if err != nil {
			continue
		}
		name := quoteIdent(m.rel)
		if m.schema != "" {
			name = quoteIdent(m.schema) + "." + name
		}
		if m.catalog != "" {
			name = quoteIdent(m.catalog) + "." + name
		}
		p := strings.Index(s, "JOIN "+ph)
		if p < 0 {
			continue
		}
		if strings.HasSuffix(s[:p], "LEFT ") {
			p -= len("LEFT ")
		}
		s = s[:p] + "ASOF " + strings.Replace(s[p:], ph, name, 1)
		const sample = `TABLESAMPLE "` + asofMethod + `"(`
		if q := strings.Index(s[p:], sample); q >= 0 {
			s = s[:p+q] + "MATCH_CONDITION (" + s[p+q+len(sample):]
		}
	}
	return s, err
}

// walkJoins calls f on every JoinExpr beneath node.
func walkJoins(node *pg_query.Node, f func(j *pg_query.JoinExpr)) {
	walkMessages(node.ProtoReflect(), func(m protoreflect.Message) {
		if j, ok := m.Interface().(*pg_query.JoinExpr); ok {
			f(j)
		}
	})
}

// walkMessages calls f on m and every message beneath it.
func walkMessages(m protoreflect.Message, f func(protoreflect.Message)) {
	f(m)
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.Kind() != protoreflect.MessageKind:
		case fd.IsList():
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				walkMessages(l.Get(i).Message(), f)
			}
		default:
			walkMessages(v.Message(), f)
		}
		return true
	})
}

// WalkFuncCalls calls f with the (unqualified) name of every function
// call beneath node.
func WalkFuncCalls(node *pg_query.Node, f func(name string)) {
	walkMessages(node.ProtoReflect(), func(m protoreflect.Message) {
		if fc, ok := m.Interface().(*pg_query.FuncCall); ok && len(fc.Funcname) > 0 {
			f(fc.Funcname[len(fc.Funcname)-1].GetString_().GetSval())
		}
	})
}

// HasSubquery reports whether a subquery (a SubLink) lies beneath node.
func HasSubquery(node *pg_query.Node) bool {
	found := false
	walkMessages(node.ProtoReflect(), func(m protoreflect.Message) {
		if _, ok := m.Interface().(*pg_query.SubLink); ok {
			found = true
		}
	})
	return found
}
