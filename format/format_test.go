package format

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// The datadriven files under testdata/ are the specification of each
// format: a schema, then messages and the rows, rejects and schema changes
// they decode to.
//
//	schema
//	id bigint
//	name text
//	p integer include partition
//	h text include header trace
//	primary key id
//	----
//
//	decode format=plain encode=json [option=value ...]
//	@key {"id": 1}        key of the next message
//	@header trace=abc     header of the next message
//	@partition 3          partition of the next message (offsets count up)
//	@null                 a message with a null value (a tombstone)
//	@multi [crlf]         the lines up to @end are one message
//	{"id": 1, "name": "a"}
//	----
//	insert id=1 name=a p=3 h=abc
//	reject offset=1: 22P02 column "id": ...
//
// Run with -rewrite to regenerate the expected output after a deliberate
// change.
func TestDataDriven(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		var schema Schema
		datadriven.RunTest(t, path, func(t *testing.T, td *datadriven.TestData) string {
			switch td.Cmd {
			case "schema":
				s, err := parseTestSchema(td.Input)
				if err != nil {
					t.Fatalf("%s: %v", td.Pos, err)
				}
				schema = s
				return ""
			case "decode":
				spec := Spec{Options: map[string]string{}}
				for _, a := range td.CmdArgs {
					v := ""
					if len(a.Vals) > 0 {
						v = a.Vals[0]
					}
					switch a.Key {
					case "format":
						spec.Format = strings.ToUpper(v)
					case "encode":
						spec.Encode = strings.ToUpper(v)
					default:
						spec.Options[a.Key] = v
					}
				}
				dec, err := NewDecoder(spec, schema)
				if err != nil {
					return "error: " + errText(err) + "\n"
				}
				return runDecode(t, dec, schema, parseTestMessages(td.Input))
			}
			t.Fatalf("%s: unknown command %q", td.Pos, td.Cmd)
			return ""
		})
	})
}

func errText(err error) string {
	var e *sqlerr.Error
	if errors.As(err, &e) {
		s := e.Code + " " + e.Message
		if e.Detail != "" {
			s += " (" + e.Detail + ")"
		}
		if e.Hint != "" {
			s += " [" + e.Hint + "]"
		}
		return s
	}
	return "no SQLSTATE: " + err.Error()
}

// runDecode decodes msgs in two DecodeBatch calls (to exercise batch
// reuse) and prints rows, rejects and schema changes.
func runDecode(t *testing.T, dec Decoder, schema Schema, msgs []Message) string {
	out := NewBatch(schema)
	defer out.Release()
	var sb strings.Builder
	half := len(msgs) / 2
	for _, part := range [][]Message{msgs[:half], msgs[half:]} {
		out.Reset()
		dec.DecodeBatch(part, out)
		cols, ops := out.Finish()
		if out.Len() != 0 {
			t.Fatalf("Len after Finish = %d", out.Len())
		}
		for i, op := range ops {
			sb.WriteString(op.String())
			for j, c := range schema.Columns {
				if cols[j].Len() != len(ops) {
					t.Fatalf("column %s has %d rows, ops %d", c.Name, cols[j].Len(), len(ops))
				}
				d := types.GetDatum(cols[j], i, c.Type)
				v := "NULL"
				if d != nil {
					v = types.FormatText(d, c.Type, time.UTC)
				}
				fmt.Fprintf(&sb, " %s=%s", c.Name, v)
			}
			sb.WriteByte('\n')
		}
		for _, c := range cols {
			c.Release()
		}
		for _, r := range out.Rejects {
			fmt.Fprintf(&sb, "reject offset=%d: %s\n", r.Offset, errText(r.Err))
		}
		for _, c := range out.SchemaChanges {
			fmt.Fprintf(&sb, "schema change offset=%d: %s\n", c.Offset, c)
		}
	}
	return sb.String()
}

func parseTestMessages(input string) []Message {
	var msgs []Message
	var next Message
	var offset int64
	var part int32
	var multi []string
	var inMulti bool
	sep := "\n"
	for _, line := range strings.Split(input, "\n") {
		switch {
		case line == "@multi" || line == "@multi crlf":
			inMulti, multi = true, multi[:0]
			sep = "\n"
			if line == "@multi crlf" {
				sep = "\r\n"
			}
			continue
		case inMulti && line == "@end":
			inMulti = false
			next.Value = []byte(strings.Join(multi, sep) + sep)
		case inMulti:
			multi = append(multi, line)
			continue
		case strings.TrimSpace(line) == "":
			continue
		case strings.HasPrefix(line, "@key "):
			next.Key = []byte(strings.TrimPrefix(line, "@key "))
			continue
		case strings.HasPrefix(line, "@header "):
			kv := strings.SplitN(strings.TrimPrefix(line, "@header "), "=", 2)
			next.Headers = append(next.Headers, Header{Key: kv[0], Value: []byte(kv[1])})
			continue
		case strings.HasPrefix(line, "@partition "):
			p, _ := strconv.Atoi(strings.TrimPrefix(line, "@partition "))
			part = int32(p)
			continue
		case line == "@null":
			next.Value = nil
		default:
			next.Value = []byte(line)
		}
		next.Partition, next.Offset = part, offset
		next.Timestamp = time.UnixMilli(1700000000000 + offset).UTC()
		offset++
		msgs = append(msgs, next)
		next = Message{}
	}
	return msgs
}

// mustDecoder builds a decoder of spec for a schema given in
// parseTestSchema's form, and returns both.
func mustDecoder(t testing.TB, spec Spec, columns string) (Decoder, Schema) {
	t.Helper()
	schema, err := parseTestSchema(columns)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := NewDecoder(spec, schema)
	if err != nil {
		t.Fatal(err)
	}
	return dec, schema
}

func parseTestSchema(input string) (Schema, error) {
	var s Schema
	for _, line := range strings.Split(input, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "primary key ") {
			for _, n := range strings.Split(strings.TrimPrefix(line, "primary key "), ",") {
				found := false
				for j, c := range s.Columns {
					if c.Name == strings.TrimSpace(n) {
						s.PrimaryKey = append(s.PrimaryKey, j)
						found = true
					}
				}
				if !found {
					return s, fmt.Errorf("no key column %q", n)
				}
			}
			continue
		}
		var c Column
		name, rest, _ := strings.Cut(line, " ")
		c.Name = name
		typ := rest
		if i := strings.Index(rest, " include "); i >= 0 {
			typ = rest[:i]
			meta := strings.Fields(rest[i+len(" include "):])
			switch meta[0] {
			case "partition":
				c.Meta = MetaPartition
			case "offset":
				c.Meta = MetaOffset
			case "timestamp":
				c.Meta = MetaTimestamp
			case "key":
				c.Meta = MetaKey
			case "header":
				c.Meta = MetaHeader
				c.Header = meta[1]
			}
		}
		t, err := parseTestType(typ)
		if err != nil {
			return s, err
		}
		c.Type = t
		s.Columns = append(s.Columns, c)
	}
	return s, nil
}

// parseTestType reads "numeric(10,2)", "varchar(3)", "integer[]" and plain names.
func parseTestType(s string) (types.T, error) {
	s = strings.TrimSpace(s)
	bounds := 0
	for strings.HasSuffix(s, "[]") {
		s = strings.TrimSuffix(s, "[]")
		bounds++
	}
	var mods []int32
	if i := strings.IndexByte(s, '('); i >= 0 {
		for _, m := range strings.Split(strings.TrimSuffix(s[i+1:], ")"), ",") {
			v, err := strconv.Atoi(strings.TrimSpace(m))
			if err != nil {
				return types.T{}, err
			}
			mods = append(mods, int32(v))
		}
		s = s[:i]
	}
	return types.ParseTypeName(s, mods, bounds)
}
