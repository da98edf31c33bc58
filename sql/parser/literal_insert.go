package parser

import "strings"

// A literal insert is the statement applications and loaders send to add
// many rows at once:
//
//	INSERT INTO name [(col, ...)] VALUES (literal, ...), (literal, ...), ...
//
// where every value is a number, a string, NULL, TRUE or FALSE. Parsing
// such a statement with PostgreSQL's grammar builds a tree node per
// value, most of the cost of running it; ScanLiteralInsert recognizes the
// form with a scanner of its own and returns the values as text, so the
// engine can run it as the same INSERT with parameters.

// LitKind is the kind of one literal value.
type LitKind uint8

const (
	LitNull LitKind = iota
	LitInteger
	LitDecimal // a number with a point or an exponent
	LitString
	LitTrue
	LitFalse
)

// Literal is one value of a literal insert.
type Literal struct {
	Kind LitKind
	// Text is the number as written (sign included) or the string's
	// value (quotes removed, doubled quotes undone).
	Text string
}

// LiteralInsert is a recognized literal insert.
type LiteralInsert struct {
	// Target is the statement's text before VALUES: "INSERT INTO name
	// (cols) ", as written.
	Target string
	Width  int       // values per row
	Values []Literal // row after row
}

// Rows is the number of rows.
func (li *LiteralInsert) Rows() int { return len(li.Values) / li.Width }

// ScanLiteralInsert recognizes sql as one literal insert of at least
// minRows rows, or returns nil; anything else it does not handle (comments,
// expressions, DEFAULT, casts, escape strings, ON CONFLICT, RETURNING, a
// second statement, a statement past the size limit) gives nil too, for
// the grammar to parse.
func ScanLiteralInsert(sql string, minRows int) *LiteralInsert {
	if len(sql) > DefaultLimits().MaxBytes || validateText(sql) != nil {
		return nil
	}
	s := litScanner{src: sql}
	if !s.word("insert") || !s.word("into") || !s.name() {
		return nil
	}
	if s.peek() == '.' {
		s.pos++
		if !s.name() {
			return nil
		}
	}
	if s.peek() == '(' && !s.parenList(s.name) {
		return nil
	}
	s.space()
	target := sql[:s.pos]
	if !s.word("values") {
		return nil
	}
	li := &LiteralInsert{Target: target}
	for row := 0; ; row++ {
		n := 0
		if !s.parenList(func() bool {
			lit, ok := s.literal()
			li.Values = append(li.Values, lit)
			n++
			return ok
		}) {
			return nil
		}
		if row == 0 {
			li.Width = n
		} else if n != li.Width {
			return nil // the grammar's error: VALUES lists must all be the same length
		}
		if s.peek() != ',' {
			break
		}
		s.pos++
	}
	if s.peek() == ';' {
		s.pos++
	}
	s.space()
	if s.pos != len(sql) || li.Rows() < minRows {
		return nil
	}
	return li
}

// litScanner reads a literal insert's tokens.
type litScanner struct {
	src string
	pos int
}

// space skips white space.
func (s *litScanner) space() {
	for s.pos < len(s.src) {
		switch s.src[s.pos] {
		case ' ', '\t', '\n', '\r', '\f', '\v':
			s.pos++
		default:
			return
		}
	}
}

// peek returns the next byte after white space, or 0 at the end.
// parenList scans "(item, item, ...)", item scanning one element; it
// reports whether the list is well formed.
func (s *litScanner) parenList(item func() bool) bool {
	if s.peek() != '(' {
		return false
	}
	s.pos++
	for {
		if !item() {
			return false
		}
		switch s.peek() {
		case ',':
			s.pos++
		case ')':
			s.pos++
			return true
		default:
			return false
		}
	}
}

func (s *litScanner) peek() byte {
	s.space()
	if s.pos >= len(s.src) {
		return 0
	}
	return s.src[s.pos]
}

func identStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c >= 0x80
}

func identPart(c byte) bool {
	return identStart(c) || c >= '0' && c <= '9' || c == '$'
}

// ident reads an unquoted identifier or keyword.
func (s *litScanner) ident() string {
	s.space()
	start := s.pos
	if s.pos >= len(s.src) || !identStart(s.src[s.pos]) {
		return ""
	}
	for s.pos < len(s.src) && identPart(s.src[s.pos]) {
		s.pos++
	}
	return s.src[start:s.pos]
}

// word reads the keyword w.
func (s *litScanner) word(w string) bool {
	return strings.EqualFold(s.ident(), w)
}

// name reads an identifier, quoted or not. An unquoted one that is a
// keyword of the statement's form is refused; other reserved words fail
// later, when the grammar parses the statement's target.
func (s *litScanner) name() bool {
	if s.peek() == '"' {
		s.pos++
		for s.pos < len(s.src) {
			if s.src[s.pos] == '"' {
				if s.pos+1 < len(s.src) && s.src[s.pos+1] == '"' {
					s.pos += 2
					continue
				}
				s.pos++
				return true
			}
			s.pos++
		}
		return false
	}
	switch strings.ToLower(s.ident()) {
	case "", "values", "default", "select", "overriding", "table", "with", "on", "returning":
		return false
	}
	return true
}

// literal reads one value.
func (s *litScanner) literal() (Literal, bool) {
	switch c := s.peek(); {
	case c == '\'':
		return s.str()
	case c == '-' || c == '+' || c == '.' || c >= '0' && c <= '9':
		return s.number()
	case identStart(c):
		// A prefixed string (E'', B'', X'', U&'') or a type name
		// before a string is not a plain literal.
		w := s.ident()
		if s.pos < len(s.src) && (s.src[s.pos] == '\'' || s.src[s.pos] == '&') {
			return Literal{}, false
		}
		switch strings.ToLower(w) {
		case "null":
			return Literal{Kind: LitNull}, true
		case "true":
			return Literal{Kind: LitTrue}, true
		case "false":
			return Literal{Kind: LitFalse}, true
		}
	}
	return Literal{}, false
}

// str reads a standard string: doubled quotes stand for one; a
// backslash (an escape under standard_conforming_strings = off) and a
// string continued on the next line are left to the grammar.
func (s *litScanner) str() (Literal, bool) {
	s.pos++ // the opening quote
	start := s.pos
	doubled := false
	for s.pos < len(s.src) {
		switch s.src[s.pos] {
		case '\\':
			return Literal{}, false
		case '\'':
			if s.pos+1 < len(s.src) && s.src[s.pos+1] == '\'' {
				doubled = true
				s.pos += 2
				continue
			}
			text := s.src[start:s.pos]
			s.pos++
			if doubled {
				text = strings.ReplaceAll(text, "''", "'")
			}
			// 'a' 'b' with a newline between is one string in SQL.
			if s.peek() == '\'' {
				return Literal{}, false
			}
			return Literal{Kind: LitString, Text: text}, true
		}
		s.pos++
	}
	return Literal{}, false
}

// number reads an optionally signed number: digits with at most one point
// and an optional exponent. Anything else in it (0x, 1_000, a trailing
// letter, an operator after it) is left to the grammar.
func (s *litScanner) number() (Literal, bool) {
	start := s.pos
	if c := s.src[s.pos]; c == '-' || c == '+' {
		s.pos++
	}
	digits := func() int {
		n := 0
		for s.pos < len(s.src) && s.src[s.pos] >= '0' && s.src[s.pos] <= '9' {
			s.pos++
			n++
		}
		return n
	}
	kind := LitInteger
	n := digits()
	if s.pos < len(s.src) && s.src[s.pos] == '.' {
		s.pos++
		kind = LitDecimal
		n += digits()
	}
	if n == 0 {
		return Literal{}, false
	}
	if s.pos < len(s.src) && (s.src[s.pos] == 'e' || s.src[s.pos] == 'E') {
		s.pos++
		if s.pos < len(s.src) && (s.src[s.pos] == '-' || s.src[s.pos] == '+') {
			s.pos++
		}
		if digits() == 0 {
			return Literal{}, false
		}
		kind = LitDecimal
	}
	if s.pos < len(s.src) && (identPart(s.src[s.pos]) || s.src[s.pos] == '.') {
		return Literal{}, false
	}
	text := s.src[start:s.pos]
	if text[0] == '+' {
		text = text[1:]
	}
	return Literal{Kind: kind, Text: text}, true
}
