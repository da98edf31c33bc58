package parser

import (
	"bytes"
	"strings"
	"unicode/utf8"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	pgparser "github.com/pganalyze/pg_query_go/v6/parser"

	"streamsql/sql/sqlerr"
)

// token is one lexeme of PostgreSQL's own scanner; start and end are byte
// offsets into the whole input.
type token struct {
	kind       pg_query.Token
	kw         pg_query.KeywordKind
	start, end int
}

// namedatalen mirrors PostgreSQL's NAMEDATALEN: identifiers longer than
// namedatalen-1 bytes are truncated.
const namedatalen = 64

// scan runs PostgreSQL's scanner over src and returns its tokens without
// comments. A lexical error (unterminated literal or comment, bad escape)
// comes back as 42601 positioned in src.
func scan(src string) ([]token, error) {
	toks, err := scanTokens(src, 0)
	if err != nil {
		return nil, pgError(err, src, 0, src)
	}
	return toks, nil
}

// scanTokens runs PostgreSQL's scanner over text and returns its tokens
// without comments, their offsets moved by base. The cutters of the
// clauses PostgreSQL's grammar lacks (ASOF, MATCH_RECOGNIZE, FOR
// SYSTEM_TIME) ignore its error: the grammar then reports it.
func scanTokens(text string, base int) ([]token, error) {
	res, err := pg_query.Scan(text)
	if err != nil {
		return nil, err
	}
	toks := make([]token, 0, len(res.Tokens))
	for _, tk := range res.Tokens {
		if tk.Token == pg_query.Token_SQL_COMMENT || tk.Token == pg_query.Token_C_COMMENT {
			continue
		}
		toks = append(toks, token{kind: tk.Token, kw: tk.KeywordKind, start: base + int(tk.Start), end: base + int(tk.End)})
	}
	return toks, nil
}

// containsFold is a cheap test that buf holds w (lower case) in any case.
func containsFold(buf []byte, w string) bool {
	for i := 0; i+len(w) <= len(buf); i++ {
		if buf[i]|0x20 == w[0] && bytes.EqualFold(buf[i:i+len(w)], []byte(w)) {
			return true
		}
	}
	return false
}

// validateText rejects what PostgreSQL never lets reach its parser: a NUL
// byte or a byte sequence that is not UTF-8.
func validateText(src string) error {
	for i := 0; i < len(src); {
		r, n := utf8.DecodeRuneInString(src[i:])
		if r == 0 || (r == utf8.RuneError && n == 1) {
			return sqlerr.New(sqlerr.CharacterNotInRepertoire,
				"invalid byte sequence for encoding \"UTF8\": 0x%02x", src[i]).
				WithPosition(charPos(src, i))
		}
		i += n
	}
	return nil
}

// charPos converts a byte offset in src to PostgreSQL's 1-based character
// position.
func charPos(src string, off int) int {
	if off > len(src) {
		off = len(src)
	}
	if off < 0 {
		off = 0
	}
	return utf8.RuneCountInString(src[:off]) + 1
}

// CharPosition converts a byte offset in the whole input (as carried by the
// Location fields of parsed nodes and the Pos fields of this package) into
// the 1-based character position that PostgreSQL errors report.
func CharPosition(sql string, byteOffset int) int { return charPos(sql, byteOffset) }

// byteOffset converts a 0-based character index in s to a byte offset.
func byteOffset(s string, chars int) int {
	off := 0
	for i := 0; i < chars && off < len(s); i++ {
		_, n := utf8.DecodeRuneInString(s[off:])
		off += n
	}
	return off
}

// pgError converts an error of pg_query that arose on text (a rewritten
// copy of src starting at byte base of src) into a 42601 *sqlerr.Error
// positioned in src.
func pgError(err error, text string, base int, src string) error {
	pe, ok := err.(*pgparser.Error)
	if !ok {
		if strings.Contains(err.Error(), "exceeded maximum recursion depth") {
			// Go's protobuf refuses the tree: deeper than the measure
			// of limits.go foresaw, but still too deep.
			return tooComplex("The statement's parse tree is more than 10000 levels deep.").
				WithHint("Simplify the statement or split it into several statements.").
				WithPosition(charPos(src, base))
		}
		return sqlerr.Wrap(err, sqlerr.SyntaxError)
	}
	e := sqlerr.New(sqlerr.SyntaxError, "%s", pe.Message)
	if pe.Cursorpos > 0 {
		off := byteOffset(text, pe.Cursorpos-1)
		e.Position = charPos(src, base+off)
	}
	return e
}

func (t token) text(src string) string { return src[t.start:t.end] }

// isPunct reports whether t is the single-character token c.
func (t token) isPunct(c byte) bool { return t.kind == pg_query.Token(c) }

// word returns the lower-cased text of a keyword or unquoted identifier,
// and "" for anything else.
func (t token) word(src string) string {
	switch {
	case t.kw != pg_query.KeywordKind_NO_KEYWORD:
		return lowerASCII(t.text(src))
	case t.kind == pg_query.Token_IDENT && src[t.start] != '"':
		return lowerASCII(t.text(src))
	}
	return ""
}

// colID returns the identifier t names if t may serve as a column or
// relation name (PostgreSQL's ColId: an identifier, or an unreserved or
// column-name keyword).
func (t token) colID(src string) (string, bool) {
	switch {
	case t.kind == pg_query.Token_IDENT:
		return NormalizeIdent(t.text(src)), true
	case t.kw == pg_query.KeywordKind_UNRESERVED_KEYWORD || t.kw == pg_query.KeywordKind_COL_NAME_KEYWORD:
		return lowerASCII(t.text(src)), true
	}
	return "", false
}

// NormalizeIdent returns the name an identifier as written denotes:
// a double-quoted identifier loses its quotes (and "" becomes "), an
// unquoted one is lower-cased (ASCII only, as PostgreSQL does for UTF-8).
// Names longer than 63 bytes are truncated like PostgreSQL does.
func NormalizeIdent(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = strings.ReplaceAll(s[1:len(s)-1], `""`, `"`)
	} else {
		s = lowerASCII(s)
	}
	return truncateIdent(s)
}

func truncateIdent(s string) string {
	if len(s) < namedatalen {
		return s
	}
	n := namedatalen - 1
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// stringConst decodes a string literal token. Plain '...' literals are
// decoded here; escape, Unicode and dollar-quoted forms and literals
// continued across lines are handed to PostgreSQL's grammar, which knows
// every rule.
func stringConst(lit string) (string, error) {
	if len(lit) >= 2 && lit[0] == '\'' && lit[len(lit)-1] == '\'' {
		inner := lit[1 : len(lit)-1]
		simple := true
		for i := 0; i < len(inner); i++ {
			if inner[i] == '\'' {
				if i+1 < len(inner) && inner[i+1] == '\'' {
					i++
					continue
				}
				simple = false
				break
			}
		}
		if simple {
			return strings.ReplaceAll(inner, "''", "'"), nil
		}
	}
	res, err := pg_query.Parse("SELECT " + lit)
	if err != nil {
		return "", err
	}
	if len(res.Stmts) == 1 {
		if sel := res.Stmts[0].Stmt.GetSelectStmt(); sel != nil && len(sel.TargetList) == 1 {
			if c := sel.TargetList[0].GetResTarget().GetVal().GetAConst(); c != nil && c.GetSval() != nil {
				return c.GetSval().Sval, nil
			}
		}
	}
	return "", sqlerr.New(sqlerr.SyntaxError, "invalid string literal %s", lit)
}
