package format

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"streamsql/internal/doctest"
)

// TestDocExamples runs the examples of docs/formats.md. An example is an
// HTML comment naming the format and the columns,
//
//	<!-- example: format=debezium encode=json; schema: id integer, name text, primary key id -->
//
// then a json block of messages (JSON values one after the other; a JSON
// string stands for its content as raw bytes, a line "# key: K" sets the
// key of the next message), then a text block with the rows, rejects and
// schema changes they decode to.
func TestDocExamples(t *testing.T) {
	examples := doctest.Blocks(t, "docs/formats.md", "(?s)<!-- example: (.*?) -->\n```json\n(.*?)```\n```text\n(.*?)```", 7)
	for _, ex := range examples {
		head, input, want := string(ex[1]), string(ex[2]), string(ex[3])
		specPart, schemaPart, _ := strings.Cut(head, "; schema: ")
		spec := Spec{Options: map[string]string{}}
		for _, kv := range strings.Fields(specPart) {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "format":
				spec.Format = strings.ToUpper(v)
			case "encode":
				spec.Encode = strings.ToUpper(v)
			default:
				spec.Options[k] = v
			}
		}
		schema, err := parseTestSchema(strings.ReplaceAll(schemaPart, ", ", "\n"))
		if err != nil {
			t.Fatalf("%s: %v", head, err)
		}
		msgs, err := parseDocMessages(input)
		if err != nil {
			t.Fatalf("%s: %v", head, err)
		}
		dec, err := NewDecoder(spec, schema)
		if err != nil {
			t.Fatalf("%s: %v", head, err)
		}
		if got := runDecode(t, dec, schema, msgs); got != want {
			t.Errorf("example %s:\ngot:\n%s\nwant:\n%s", head, got, want)
		}
	}
}

func parseDocMessages(input string) ([]Message, error) {
	var msgs []Message
	var key []byte
	var body strings.Builder
	flush := func() error {
		dec := json.NewDecoder(strings.NewReader(body.String()))
		for {
			var raw json.RawMessage
			if err := dec.Decode(&raw); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				return err
			}
			var value []byte
			var s string
			switch {
			case json.Unmarshal(raw, &s) == nil:
				value = []byte(s)
			case string(raw) == "null":
				value = nil
			default:
				var c bytes.Buffer
				if err := json.Compact(&c, raw); err != nil {
					return err
				}
				value = c.Bytes()
			}
			off := int64(len(msgs))
			msgs = append(msgs, Message{Key: key, Value: value, Offset: off, Timestamp: time.UnixMilli(1714557600000 + off).UTC()})
			key = nil
		}
		body.Reset()
		return nil
	}
	for _, line := range strings.SplitAfter(input, "\n") {
		if k, ok := strings.CutPrefix(line, "# key: "); ok {
			if err := flush(); err != nil {
				return nil, err
			}
			key = []byte(strings.TrimSpace(k))
			continue
		}
		body.WriteString(line)
	}
	return msgs, flush()
}
