package format

import (
	"encoding/binary"
	"iter"
	"unicode/utf16"
	"unicode/utf8"

	"streamsql/sql/sqlerr"
)

// jsonScanner reads one JSON text in a single pass without building values:
// objects are walked key by key, scalars are returned as views of the input
// (strings unescaped into the scratch buffer only when they hold escapes),
// and values nobody asked for are validated and skipped.

type jkind uint8

const (
	jNull jkind = iota
	jFalse
	jTrue
	jNumber
	jString
	jObject
	jArray
)

func (k jkind) String() string {
	switch k {
	case jNull:
		return "null"
	case jFalse, jTrue:
		return "boolean"
	case jNumber:
		return "number"
	case jString:
		return "string"
	case jObject:
		return "object"
	}
	return "array"
}

// jval is one JSON value: its kind, its text, and for a string its
// unescaped content.
type jval struct {
	kind jkind
	raw  []byte
	str  []byte
}

type jsonScanner struct {
	data []byte
	pos  int
	sc   *scratch
	tmp  []byte // unescaping buffer, copied into sc
}

const maxJSONDepth = 1000

func (s *jsonScanner) reset(data []byte, sc *scratch) {
	s.data, s.pos, s.sc = data, 0, sc
}

func (s *jsonScanner) errAt(msg string) error {
	if s.pos >= len(s.data) {
		return sqlerr.New(sqlerr.InvalidTextRepresentation, "invalid JSON: %s", msg).
			WithDetail("The input ended unexpectedly at byte %d.", s.pos)
	}
	return sqlerr.New(sqlerr.InvalidTextRepresentation, "invalid JSON: %s at byte %d", msg, s.pos)
}

func (s *jsonScanner) skipWS() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// atEnd checks that only whitespace is left.
func (s *jsonScanner) atEnd() error {
	s.skipWS()
	if s.pos != len(s.data) {
		return s.errAt("unexpected data after the top-level value")
	}
	return nil
}

// peekNull reports whether the next value is the literal null.
func (s *jsonScanner) peekNull() bool {
	s.skipWS()
	return s.pos+4 <= len(s.data) && string(s.data[s.pos:s.pos+4]) == "null"
}

// objectStart consumes '{'.
func (s *jsonScanner) objectStart() error {
	s.skipWS()
	if s.pos >= len(s.data) || s.data[s.pos] != '{' {
		return s.errAt("expected an object")
	}
	s.pos++
	return nil
}

// nextKey returns the next key of the object being walked, or ok=false at
// its closing brace. first is true for the first call on an object.
func (s *jsonScanner) nextKey(first bool) (key []byte, ok bool, err error) {
	s.skipWS()
	if s.pos >= len(s.data) {
		return nil, false, s.errAt("unterminated object")
	}
	c := s.data[s.pos]
	if c == '}' {
		s.pos++
		return nil, false, nil
	}
	if !first {
		if c != ',' {
			return nil, false, s.errAt("expected ',' or '}' in object")
		}
		s.pos++
		s.skipWS()
		if s.pos >= len(s.data) {
			return nil, false, s.errAt("unterminated object")
		}
	}
	if s.data[s.pos] != '"' {
		return nil, false, s.errAt("expected a string key")
	}
	key, err = s.readString(true)
	if err != nil {
		return nil, false, err
	}
	s.skipWS()
	if s.pos >= len(s.data) || s.data[s.pos] != ':' {
		return nil, false, s.errAt("expected ':' after object key")
	}
	s.pos++
	return key, true, nil
}

// expectKey consumes the next key of the object being walked and its ':'
// if the key's raw text is exactly name (a name without characters JSON
// escapes, so the raw text equals the key); otherwise it consumes nothing
// and reports false. first is true for the first key of an object.
func (s *jsonScanner) expectKey(first bool, name string) bool {
	d := s.data
	i := s.pos
	for i < len(d) && (d[i] == ' ' || d[i] == '\t' || d[i] == '\n' || d[i] == '\r') {
		i++
	}
	if !first {
		if i >= len(d) || d[i] != ',' {
			return false
		}
		i++
		for i < len(d) && (d[i] == ' ' || d[i] == '\t' || d[i] == '\n' || d[i] == '\r') {
			i++
		}
	}
	end := i + 1 + len(name)
	if end >= len(d) || d[i] != '"' || d[end] != '"' || string(d[i+1:end]) != name {
		return false
	}
	i = end + 1
	for i < len(d) && (d[i] == ' ' || d[i] == '\t' || d[i] == '\n' || d[i] == '\r') {
		i++
	}
	if i >= len(d) || d[i] != ':' {
		return false
	}
	s.pos = i + 1
	return true
}

// intFast reads the next value if it is a JSON integer of at most 18
// digits (no fraction, no exponent), which cannot overflow; otherwise it
// consumes nothing and reports false.
func (s *jsonScanner) intFast() (int64, bool) {
	d := s.data
	i := s.pos
	for i < len(d) && (d[i] == ' ' || d[i] == '\t' || d[i] == '\n' || d[i] == '\r') {
		i++
	}
	neg := i < len(d) && d[i] == '-'
	if neg {
		i++
	}
	start := i
	var v int64
	for i < len(d) {
		c := d[i] - '0'
		if c > 9 {
			break
		}
		v = v*10 + int64(c)
		i++
	}
	n := i - start
	if n == 0 || n > 18 || d[start] == '0' && n > 1 {
		return 0, false
	}
	if i < len(d) && (d[i] == '.' || d[i] == 'e' || d[i] == 'E') {
		return 0, false
	}
	s.pos = i
	if neg {
		v = -v
	}
	return v, true
}

// plainString reads the next value if it is a JSON string of printable
// ASCII without escapes and returns its content (a view of the input);
// otherwise it consumes nothing and reports false.
func (s *jsonScanner) plainString() ([]byte, bool) {
	d := s.data
	i := s.pos
	for i < len(d) && (d[i] == ' ' || d[i] == '\t' || d[i] == '\n' || d[i] == '\r') {
		i++
	}
	if i >= len(d) || d[i] != '"' {
		return nil, false
	}
	i++
	start := i
	for i+8 <= len(d) && plain8(binary.LittleEndian.Uint64(d[i:])) {
		i += 8
	}
	for i < len(d) && strPlain[d[i]] != 0 {
		i++
	}
	if i >= len(d) || d[i] != '"' {
		return nil, false
	}
	s.pos = i + 1
	return d[start:i:i], true
}

// expectKeyPat is expectKey for compact JSON: it consumes the next key
// and its ':' if they are spelled exactly as p (a ',' before them unless
// first), comparing eight bytes at a time; otherwise it consumes nothing
// and reports false, and expectKey, which allows whitespace, may still
// match.
func (s *jsonScanner) expectKeyPat(first bool, p *keyPat) bool {
	d := s.data
	i := s.pos
	if !first {
		if i >= len(d) || d[i] != ',' {
			return false
		}
		i++
	}
	if p.n == 0 || i+(p.n+7)&^7 > len(d) {
		return false
	}
	for k := 0; k*8 < p.n; k++ {
		if binary.LittleEndian.Uint64(d[i+8*k:])&p.m[k] != p.w[k] {
			return false
		}
	}
	s.pos = i + p.n
	return true
}

// members ranges over the object whose '{' objectStart consumed,
// yielding each key with the scanner at its value, which the loop body
// reads or skips. The loop ends at '}' or at a syntax error, which it
// leaves in *err.
func (s *jsonScanner) members(err *error) iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		for first := true; ; first = false {
			key, more, e := s.nextKey(first)
			if e != nil || !more {
				*err = e
				return
			}
			if !yield(key) {
				return
			}
		}
	}
}

// elements ranges over the array whose '[' arrayStart consumed, yielding
// each element's index with the scanner on the element, which the loop
// body reads or skips. The loop ends at ']' or at a syntax error, which
// it leaves in *err.
func (s *jsonScanner) elements(err *error) iter.Seq[int] {
	return func(yield func(int) bool) {
		for i := 0; ; i++ {
			more, e := s.nextElem(i == 0)
			if e != nil || !more {
				*err = e
				return
			}
			if !yield(i) {
				return
			}
		}
	}
}

// arrayStart consumes '['.
func (s *jsonScanner) arrayStart() error {
	s.skipWS()
	if s.pos >= len(s.data) || s.data[s.pos] != '[' {
		return s.errAt("expected an array")
	}
	s.pos++
	return nil
}

// nextElem reports whether the array being walked has another element
// (and positions the scanner on it).
func (s *jsonScanner) nextElem(first bool) (bool, error) {
	s.skipWS()
	if s.pos >= len(s.data) {
		return false, s.errAt("unterminated array")
	}
	if s.data[s.pos] == ']' {
		s.pos++
		return false, nil
	}
	if !first {
		if s.data[s.pos] != ',' {
			return false, s.errAt("expected ',' or ']' in array")
		}
		s.pos++
	}
	return true, nil
}

// value reads the next value. Strings are unescaped; objects and arrays
// are validated and returned as raw text.
func (s *jsonScanner) value() (jval, error) {
	s.skipWS()
	if s.pos >= len(s.data) {
		return jval{}, s.errAt("expected a value")
	}
	start := s.pos
	switch c := s.data[s.pos]; {
	case c == '"':
		str, err := s.readString(true)
		return jval{kind: jString, raw: s.data[start:s.pos], str: str}, err
	case c == '{' || c == '[':
		if err := s.skip(0); err != nil {
			return jval{}, err
		}
		k := jObject
		if c == '[' {
			k = jArray
		}
		return jval{kind: k, raw: s.data[start:s.pos]}, nil
	case c == '-' || c >= '0' && c <= '9':
		if err := s.number(); err != nil {
			return jval{}, err
		}
		return jval{kind: jNumber, raw: s.data[start:s.pos]}, nil
	default:
		k, err := s.literal()
		return jval{kind: k, raw: s.data[start:s.pos]}, err
	}
}

func (s *jsonScanner) literal() (jkind, error) {
	rest := s.data[s.pos:]
	switch {
	case len(rest) >= 4 && string(rest[:4]) == "null":
		s.pos += 4
		return jNull, nil
	case len(rest) >= 4 && string(rest[:4]) == "true":
		s.pos += 4
		return jTrue, nil
	case len(rest) >= 5 && string(rest[:5]) == "false":
		s.pos += 5
		return jFalse, nil
	}
	return 0, s.errAt("unexpected character")
}

// skip validates and skips the next value.
func (s *jsonScanner) skip(depth int) error {
	s.skipWS()
	if s.pos >= len(s.data) {
		return s.errAt("expected a value")
	}
	if depth > maxJSONDepth {
		return s.errAt("nesting too deep")
	}
	switch c := s.data[s.pos]; {
	case c == '"':
		_, err := s.readString(false)
		return err
	case c == '{' || c == '[':
		// An object's members and an array's elements are each one
		// value to skip; an object's key and ':' go with nextKey.
		s.pos++
		for first := true; ; first = false {
			var more bool
			var err error
			if c == '{' {
				_, more, err = s.nextKey(first)
			} else {
				more, err = s.nextElem(first)
			}
			if err != nil || !more {
				return err
			}
			if err := s.skip(depth + 1); err != nil {
				return err
			}
		}
	case c == '-' || c >= '0' && c <= '9':
		return s.number()
	default:
		_, err := s.literal()
		return err
	}
}

// number consumes -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *jsonScanner) number() error {
	d := s.data
	i := s.pos
	if i < len(d) && d[i] == '-' {
		i++
	}
	if i >= len(d) {
		s.pos = i
		return s.errAt("invalid number")
	}
	if d[i] == '0' {
		i++
	} else if d[i] >= '1' && d[i] <= '9' {
		i = digitsEnd(d, i)
	} else {
		s.pos = i
		return s.errAt("invalid number")
	}
	if i < len(d) && d[i] == '.' {
		j := digitsEnd(d, i+1)
		if j == i+1 {
			s.pos = j
			return s.errAt("invalid number")
		}
		i = j
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		j := digitsEnd(d, i)
		if j == i {
			s.pos = j
			return s.errAt("invalid number")
		}
		i = j
	}
	s.pos = i
	return nil
}

// digitsEnd returns the index of the first byte of d at or after i that
// is not an ASCII digit.
func digitsEnd(d []byte, i int) int {
	for i < len(d) && d[i] >= '0' && d[i] <= '9' {
		i++
	}
	return i
}

// readString consumes a string starting at '"' and returns its content:
// a view of the input when it has no escapes, else (when unescape is set)
// the unescaped text in the scratch buffer.
func (s *jsonScanner) readString(unescape bool) ([]byte, error) {
	d := s.data
	i := s.pos + 1
	start := i
	high := false
	for {
		// Skip the bytes that need no attention, eight at a time while
		// none of them does (see plain8).
		for i+8 <= len(d) && plain8(binary.LittleEndian.Uint64(d[i:])) {
			i += 8
		}
		for i < len(d) && strPlain[d[i]] != 0 {
			i++
		}
		if i >= len(d) {
			s.pos = i
			return nil, s.errAt("unterminated string")
		}
		c := d[i]
		switch {
		case c == '"':
			s.pos = i + 1
			str := d[start:i:i]
			if high && !utf8.Valid(str) {
				return nil, sqlerr.New(sqlerr.CharacterNotInRepertoire, "invalid byte sequence for encoding \"UTF8\" in JSON string")
			}
			return str, nil
		case c == '\\':
			s.pos = start - 1
			return s.readEscaped(unescape)
		case c < 0x20:
			s.pos = i
			return nil, s.errAt("control character in string")
		default: // a byte of a multi-byte UTF-8 sequence
			high = true
			i++
		}
	}
}

// plain8 reports whether none of the eight bytes of x is a quote, a
// backslash, a control character or a non-ASCII byte, with the
// has-a-byte-below trick: subtracting 0x01 (or 0x20) from every byte sets
// the top bit of a byte that was 0x00 (below 0x20). A borrow can mark a
// byte above one that really matches, never one below, so the answer for
// the word as a whole is exact.
func plain8(x uint64) bool {
	const ones, tops = 0x0101010101010101, 0x8080808080808080
	q := x ^ ('"' * ones)
	b := x ^ ('\\' * ones)
	return (x|(x-0x20*ones)|(q-ones)|(b-ones))&tops == 0
}

// strPlain marks the bytes a JSON string may hold without a closer look:
// not a quote, a backslash, a control character or a non-ASCII byte.
var strPlain = func() (t [256]byte) {
	for c := 0x20; c < 0x80; c++ {
		if c != '"' && c != '\\' {
			t[c] = 1
		}
	}
	return t
}()

func (s *jsonScanner) readEscaped(unescape bool) ([]byte, error) {
	d := s.data
	i := s.pos + 1
	var out []byte
	if unescape {
		out = s.tmp[:0]
	}
	segStart := i
	for i < len(d) {
		c := d[i]
		switch {
		case c == '"':
			if unescape {
				out = append(out, d[segStart:i]...)
				s.tmp = out
				if !utf8.Valid(out) {
					return nil, sqlerr.New(sqlerr.CharacterNotInRepertoire, "invalid byte sequence for encoding \"UTF8\" in JSON string")
				}
				s.pos = i + 1
				return s.sc.add(out), nil
			}
			s.pos = i + 1
			return nil, nil
		case c == '\\':
			if unescape {
				out = append(out, d[segStart:i]...)
			}
			if i+1 >= len(d) {
				s.pos = i
				return nil, s.errAt("unterminated string")
			}
			e := d[i+1]
			i += 2
			var r byte
			switch e {
			case '"', '\\', '/':
				r = e
			case 'b':
				r = '\b'
			case 'f':
				r = '\f'
			case 'n':
				r = '\n'
			case 'r':
				r = '\r'
			case 't':
				r = '\t'
			case 'u':
				cp, ok := hex4(d, i)
				if !ok {
					s.pos = i
					return nil, s.errAt("invalid \\u escape")
				}
				i += 4
				ru := rune(cp)
				if utf16.IsSurrogate(ru) {
					lo, ok := rune(0), false
					if i+6 <= len(d) && d[i] == '\\' && d[i+1] == 'u' {
						var l uint16
						if l, ok = hex4(d, i+2); ok {
							lo = rune(l)
						}
					}
					dec := utf16.DecodeRune(ru, lo)
					if !ok || dec == utf8.RuneError {
						s.pos = i
						return nil, sqlerr.New(sqlerr.InvalidTextRepresentation, "invalid JSON: Unicode low surrogate must follow a high surrogate")
					}
					ru = dec
					i += 6
				}
				if ru == 0 {
					return nil, sqlerr.New(sqlerr.UntranslatableCharacter, "unsupported Unicode escape sequence").
						WithDetail("\\u0000 cannot be converted to text.")
				}
				if unescape {
					out = utf8.AppendRune(out, ru)
				}
				segStart = i
				continue
			default:
				s.pos = i - 1
				return nil, s.errAt("invalid escape")
			}
			if unescape {
				out = append(out, r)
			}
			segStart = i
		case c < 0x20:
			s.pos = i
			return nil, s.errAt("control character in string")
		default:
			i++
		}
	}
	s.pos = i
	return nil, s.errAt("unterminated string")
}

func hex4(d []byte, i int) (uint16, bool) {
	if i+4 > len(d) {
		return 0, false
	}
	var v uint16
	for k := 0; k < 4; k++ {
		c := d[i+k]
		var h byte
		switch {
		case c >= '0' && c <= '9':
			h = c - '0'
		case c >= 'a' && c <= 'f':
			h = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			h = c - 'A' + 10
		default:
			return 0, false
		}
		v = v<<4 | uint16(h)
	}
	return v, true
}
