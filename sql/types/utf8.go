package types

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"streamsql/sql/sqlerr"
)

// Text that reaches the database from a client (a query string, a bound
// parameter, a COPY field, a startup parameter) must be valid UTF-8 without
// NUL bytes, as PostgreSQL requires of a UTF8 database: anything else is
// refused with 22021 before it can be stored. The error names the bytes
// of the offending sequence the way PostgreSQL's report_invalid_encoding
// does ("0xc3 0x28").

// CheckUTF8 returns nil when b is valid UTF-8 without NUL bytes, and the
// 22021 error PostgreSQL gives otherwise.
func CheckUTF8(b []byte) error {
	if utf8.Valid(b) && bytes.IndexByte(b, 0) < 0 {
		return nil
	}
	for i := 0; i < len(b); {
		if b[i] == 0 {
			return invalidUTF8(b[i:])
		}
		if b[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return invalidUTF8(b[i:])
		}
		i += n
	}
	return nil
}

// CheckUTF8String is CheckUTF8 for a string.
func CheckUTF8String(s string) error {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return nil
	}
	return CheckUTF8([]byte(s))
}

// invalidUTF8 reports the sequence that starts b: as many bytes as its
// first byte announces (pg_utf_mblen), at most what is there.
func invalidUTF8(b []byte) error {
	n := 1
	switch c := b[0]; {
	case c&0xe0 == 0xc0:
		n = 2
	case c&0xf0 == 0xe0:
		n = 3
	case c&0xf8 == 0xf0:
		n = 4
	}
	n = min(n, len(b))
	var sb strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			sb.WriteByte(' ')
		}
		const hex = "0123456789abcdef"
		sb.WriteString("0x")
		sb.WriteByte(hex[b[i]>>4])
		sb.WriteByte(hex[b[i]&15])
	}
	return sqlerr.New(sqlerr.CharacterNotInRepertoire, "invalid byte sequence for encoding \"UTF8\": %s", sb.String())
}
