package types

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"sort"
	"strings"

	"streamsql/sql/sqlerr"
)

// jsonb values are held as their normalized text, the way PostgreSQL prints
// jsonb: object keys sorted by length and then bytewise, duplicate keys
// resolved to the last value, numbers printed as numeric, and one space
// after ',' and ':'.

// NormalizeJSONB validates s as JSON and returns its jsonb text.
func NormalizeJSONB(s string) (string, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", jsonSyntaxError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return "", sqlerr.New(sqlerr.InvalidTextRepresentation, "invalid input syntax for type json").
			WithDetail("Expected end of input, but found more.")
	}
	var buf bytes.Buffer
	if err := writeJSONB(&buf, v); err != nil {
		return "", err
	}
	return buf.String(), nil
}

// ParseJSONB is NormalizeJSONB returning a Datum.
func ParseJSONB(s string) (Datum, error) {
	n, err := NormalizeJSONB(s)
	if err != nil {
		return nil, err
	}
	return n, nil
}

func jsonSyntaxError(err error) error {
	e := sqlerr.New(sqlerr.InvalidTextRepresentation, "invalid input syntax for type json")
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return e.WithDetail("The input string ended unexpectedly.")
	}
	return e.WithDetail("%s", err.Error())
}

func writeJSONB(buf *bytes.Buffer, v any) error {
	switch x := v.(type) {
	case nil:
		buf.WriteString("null")
	case bool:
		if x {
			buf.WriteString("true")
		} else {
			buf.WriteString("false")
		}
	case json.Number:
		d, err := ParseDecimal(string(x))
		if err != nil {
			return err
		}
		buf.Write(appendDecimal(nil, d))
	case string:
		return writeJSONString(buf, x)
	case []any:
		buf.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				buf.WriteString(", ")
			}
			if err := writeJSONB(buf, e); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool {
			if len(keys[i]) != len(keys[j]) {
				return len(keys[i]) < len(keys[j])
			}
			return keys[i] < keys[j]
		})
		buf.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				buf.WriteString(", ")
			}
			if err := writeJSONString(buf, k); err != nil {
				return err
			}
			buf.WriteString(": ")
			if err := writeJSONB(buf, x[k]); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
	}
	return nil
}

// writeJSONString quotes s like PostgreSQL's escape_json.
func writeJSONString(buf *bytes.Buffer, s string) error {
	if strings.IndexByte(s, 0) >= 0 {
		return sqlerr.New(sqlerr.UntranslatableCharacter, "unsupported Unicode escape sequence").
			WithDetail("\\u0000 cannot be converted to text.")
	}
	const hexd = "0123456789abcdef"
	buf.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			buf.WriteString(`\"`)
		case '\\':
			buf.WriteString(`\\`)
		case '\b':
			buf.WriteString(`\b`)
		case '\f':
			buf.WriteString(`\f`)
		case '\n':
			buf.WriteString(`\n`)
		case '\r':
			buf.WriteString(`\r`)
		case '\t':
			buf.WriteString(`\t`)
		default:
			if c < 0x20 {
				buf.WriteString(`\u00`)
				buf.WriteByte(hexd[c>>4])
				buf.WriteByte(hexd[c&15])
			} else {
				buf.WriteByte(c)
			}
		}
	}
	buf.WriteByte('"')
	return nil
}
