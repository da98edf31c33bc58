// Package parser turns SQL text into statements: PostgreSQL's own grammar
// (through pg_query_go) for everything PostgreSQL knows, plus StreamSQL's
// streaming extensions (CREATE SOURCE, CREATE SINK, WATERMARK, EMIT ON
// WINDOW CLOSE, FLUSH, SUBSCRIBE, SHOW SOURCES, ...).
//
// The extensions are cut out at the token level. PostgreSQL's scanner
// tokenizes the whole input once; the token stream is split into
// statements at top-level semicolons (respecting parentheses and the
// BEGIN ATOMIC bodies of SQL functions, like psql); each statement is
// classified by its leading tokens. Plain statements go to the PostgreSQL
// grammar whole, consecutive ones in a single call. Extension statements
// are read by a small recursive-descent parser over the tokens; the parts
// of them that are ordinary SQL (column lists, expressions, queries) go to
// the PostgreSQL grammar, on a copy of the text with the extension clauses
// blanked out, so that every Location in every node is a byte offset in
// the whole input and every error carries PostgreSQL's message and
// position.
package parser

import (
	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// Statement is one statement of the input.
type Statement struct {
	SQL string // the statement's text, without surrounding space, comments and ';'
	Pos int    // byte offset of SQL in the whole input
	// AST is the PostgreSQL statement (RawStmt.Stmt), nil for
	// extension-only statements. Its Location fields are byte offsets in
	// the whole input, not in SQL.
	AST *pg_query.Node
	Ext Ext // nil for plain PostgreSQL statements
}

// Parse parses every statement of sql. Empty or comment-only input gives
// no statements. Errors are *sqlerr.Error, 42601 for syntax errors, with
// the 1-based character position in sql.
//
// Statements whose size or shape exceeds DefaultLimits are refused with
// 54001 before PostgreSQL's grammar sees them (see Limits).
func Parse(sql string) ([]Statement, error) {
	return ParseWithLimits(sql, DefaultLimits())
}

// ParseWithLimits is Parse with other limits.
func ParseWithLimits(sql string, lim Limits) ([]Statement, error) {
	if err := lim.checkSize(sql); err != nil {
		return nil, err
	}
	if err := validateText(sql); err != nil {
		return nil, err
	}
	toks, err := scan(sql)
	if err != nil {
		return nil, err
	}
	if err := lim.checkTokens(sql, toks); err != nil {
		return nil, err
	}
	depth, err := lim.checkShape(sql, toks)
	if err != nil {
		return nil, err
	}
	p := &parser{src: sql, toks: toks, shallow: depth <= shallowDepth && len(toks) <= shallowTokens}
	return p.parseAll()
}

// SplitStatements returns the text of each statement of sql (as
// Statement.SQL) and its byte offset, without parsing them.
func SplitStatements(sql string) ([]string, []int, error) {
	if err := validateText(sql); err != nil {
		return nil, nil, err
	}
	toks, err := scan(sql)
	if err != nil {
		return nil, nil, err
	}
	var texts []string
	var offs []int
	for _, r := range splitTokens(sql, toks) {
		body := r.body(toks)
		texts = append(texts, sql[body[0].start:body[len(body)-1].end])
		offs = append(offs, body[0].start)
	}
	return texts, offs, nil
}

// stmtRange is one statement's tokens toks[lo:hi]; semi says whether
// toks[hi-1] is its terminating ';'.
type stmtRange struct {
	lo, hi int
	semi   bool
}

// body is the statement's tokens without the terminating ';'.
func (r stmtRange) body(toks []token) []token {
	if r.semi {
		return toks[r.lo : r.hi-1]
	}
	return toks[r.lo:r.hi]
}

// splitTokens splits at semicolons outside parentheses and outside the
// BEGIN ... END body of CREATE FUNCTION/PROCEDURE (psql's heuristic).
// Empty statements are dropped.
func splitTokens(src string, toks []token) []stmtRange {
	var out []stmtRange
	lo, depth, beginDepth, words := 0, 0, 0, 0
	var lead [4]byte // first letters of leading CREATE [OR REPLACE] FUNCTION|PROCEDURE
	for i, t := range toks {
		switch {
		case t.isPunct('('):
			depth++
		case t.isPunct(')'):
			if depth > 0 {
				depth--
			}
		case t.isPunct(';'):
			if depth == 0 && beginDepth == 0 {
				if i > lo {
					out = append(out, stmtRange{lo: lo, hi: i + 1, semi: true})
				}
				lo, words, beginDepth = i+1, 0, 0
				lead = [4]byte{}
			}
		default:
			w := t.word(src)
			if w == "" {
				break
			}
			switch w {
			case "create", "function", "procedure", "or", "replace":
				if words < len(lead) {
					lead[words] = w[0]
				}
			}
			words++
			inRoutine := lead[0] == 'c' && (lead[1] == 'f' || lead[1] == 'p' ||
				(lead[1] == 'o' && lead[2] == 'r' && (lead[3] == 'f' || lead[3] == 'p')))
			if inRoutine && depth == 0 {
				switch w {
				case "begin":
					beginDepth++
				case "case":
					if beginDepth > 0 {
						beginDepth++
					}
				case "end":
					if beginDepth > 0 {
						beginDepth--
					}
				}
			}
		}
	}
	if lo < len(toks) {
		out = append(out, stmtRange{lo: lo, hi: len(toks)})
	}
	return out
}

// parser holds the state of one Parse call.
type parser struct {
	src  string
	toks []token
	// shallow says that the grammar may run on the caller's thread (see
	// cstack.go).
	shallow bool
}

func (p *parser) parseAll() ([]Statement, error) {
	ranges := splitTokens(p.src, p.toks)
	var out []Statement
	// pending is a run of consecutive plain statements, parsed together.
	var pending []stmtRange
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		stmts, err := p.parsePlainRun(pending)
		if err != nil {
			return err
		}
		out = append(out, stmts...)
		pending = pending[:0]
		return nil
	}
	for _, r := range ranges {
		if !p.isExtension(p.toks[r.lo:r.hi]) {
			pending = append(pending, r)
			continue
		}
		if err := flush(); err != nil {
			return nil, err
		}
		st, err := p.parseExtension(r)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}

// parsePlainRun parses consecutive plain statements with one call of the
// PostgreSQL grammar. The text runs from the end of the statement before
// (so a lone statement at the start is parsed from offset 0) to the
// terminating ';' of the last one, or to the end of the input, so that
// errors at the end match PostgreSQL's.
func (p *parser) parsePlainRun(run []stmtRange) ([]Statement, error) {
	first, last := run[0], run[len(run)-1]
	from := 0
	if first.lo > 0 {
		from = p.toks[first.lo-1].end
	}
	to := len(p.src)
	if last.semi {
		to = p.toks[last.hi-1].end
	}
	text := newPGText(p.src, from, to)
	text.shallow = p.shallow
	raws, err := text.parse()
	if err != nil {
		return nil, err
	}
	toks := p.toks[first.lo:last.hi]
	out := make([]Statement, 0, len(raws))
	for _, rs := range raws {
		lo := int(rs.StmtLocation)
		hi := to
		if rs.StmtLen > 0 {
			hi = lo + int(rs.StmtLen)
		}
		st := Statement{AST: rs.Stmt, Pos: lo}
		// The grammar's statements come in order: consume their tokens.
		for len(toks) > 0 && toks[0].start < lo {
			toks = toks[1:]
		}
		n := 0
		for n < len(toks) && toks[n].end <= hi {
			n++
		}
		body := toks[:n]
		if n > 0 && body[n-1].isPunct(';') {
			body = body[:n-1]
		}
		if len(body) > 0 {
			st.Pos = body[0].start
			st.SQL = p.src[body[0].start:body[len(body)-1].end]
		}
		toks = toks[n:]
		out = append(out, st)
	}
	return out, nil
}
