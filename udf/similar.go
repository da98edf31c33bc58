package udf

import (
	"strings"
	"unicode/utf8"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// SIMILAR TO. The grammar writes `x SIMILAR TO p [ESCAPE e]` as
// x ~ similar_to_escape(p[, e]): similar_to_escape translates the SQL
// regular expression into a POSIX one and the ordinary regex operator does
// the match. The translation is PostgreSQL's similar_escape_internal:
//
//	%  -> .*        _  -> .        (  -> (?:      (non-capturing)
//	\ . ^ $ are quoted; [...] classes pass through;
//	escape + c -> \c; escape + " separates the parts SUBSTRING returns;
//	the whole pattern is anchored as ^(?: ... )$.

func (r *registry) addSimilar() {
	t := types.TText
	r.strictRow("similar_to_escape", ts(t), t, func(_ *Env, a []types.Datum) (types.Datum, error) {
		return similarToEscape(a[0].(string), "\\", true)
	})
	r.strictRow("similar_to_escape", ts(t, t), t, func(_ *Env, a []types.Datum) (types.Datum, error) {
		return similarToEscape(a[0].(string), a[1].(string), true)
	})
}

// similarToEscape translates SQL regular expression pat with escape
// character esc ("" for none) into a POSIX regular expression.
func similarToEscape(pat, esc string, hasEsc bool) (string, error) {
	var e rune = -1
	if hasEsc && esc != "" {
		if utf8.RuneCountInString(esc) > 1 {
			return "", sqlerr.New(codeInvalidEscapeSequence, "invalid escape string").
				WithHint("Escape string must be empty or one character.")
		}
		e, _ = utf8.DecodeRuneInString(esc)
	}
	var b strings.Builder
	b.Grow(len(pat)*3 + 23)
	b.WriteString("^(?:")
	afterEscape := false
	nquotes := 0
	// classDepth counts open [ brackets; classStart is 1 right after "[",
	// 2 after "[^", so that a "]" there is a literal member of the class.
	classDepth, classStart := 0, 0
	for _, c := range pat {
		switch {
		case afterEscape:
			if c == '"' && classDepth < 1 {
				switch nquotes {
				case 0:
					b.WriteString("){1,1}?(")
				case 1:
					b.WriteString("){1,1}(?:")
				default:
					return "", sqlerr.New(codeInvalidEscapeChar,
						"SQL regular expression may not contain more than two escape-double-quote separators")
				}
				nquotes++
			} else {
				b.WriteByte('\\')
				b.WriteRune(c)
			}
			afterEscape = false
		case c == e:
			afterEscape = true
		case classDepth > 0:
			if c == '\\' {
				b.WriteByte('\\')
			}
			b.WriteRune(c)
			if c == ']' && classStart > 2 {
				classDepth--
			} else if c == '[' {
				classDepth++
			}
			if c == '^' {
				classStart++
			} else {
				classStart = 3
			}
		case c == '[':
			b.WriteRune(c)
			classDepth++
			classStart = 1
		case c == '%':
			b.WriteString(".*")
		case c == '_':
			b.WriteByte('.')
		case c == '(':
			b.WriteString("(?:")
		case c == '\\' || c == '.' || c == '^' || c == '$':
			b.WriteByte('\\')
			b.WriteRune(c)
		default:
			b.WriteRune(c)
		}
	}
	b.WriteString(")$")
	return b.String(), nil
}

// SQLSTATEs of escape errors: invalid_use_of_escape_character and
// invalid_escape_sequence.
const (
	codeInvalidEscapeChar     = "2200C"
	codeInvalidEscapeSequence = "22025" // invalid_escape_sequence
)
