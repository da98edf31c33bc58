package format

import (
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
)

// A Batch is reused chunk after chunk: Finish hands out arrays with the
// right length, null count and values; Reset drops rows not finished.
func TestBatchReuse(t *testing.T) {
	dec, schema := mustDecoder(t, Spec{Format: "PLAIN", Encode: "JSON"}, "id bigint\nok boolean\nname text\nx double precision\n")
	out := NewBatch(schema)
	defer out.Release()
	msgs := func(vals ...string) []Message {
		ms := make([]Message, len(vals))
		for i, v := range vals {
			ms[i] = Message{Value: []byte(v), Offset: int64(i)}
		}
		return ms
	}
	dec.DecodeBatch(msgs(`{"id": 1, "ok": true, "name": "a"}`, `{"id": 2, "ok": null, "x": 1.5}`), out)
	out.Reset()
	if out.Len() != 0 || len(out.Rejects) != 0 {
		t.Fatalf("after Reset: len %d, rejects %d", out.Len(), len(out.Rejects))
	}
	for round := 0; round < 3; round++ {
		dec.DecodeBatch(msgs(`{"id": 3, "ok": false, "name": "b"}`, `{"id": "bad"}`, `{"id": 4, "ok": true, "x": 2.5}`, `{}`), out)
		if out.Len() != 3 || len(out.Rejects) != 1 || out.Rejects[0].Offset != 1 {
			t.Fatalf("round %d: len %d, rejects %v", round, out.Len(), out.Rejects)
		}
		cols, ops := out.Finish()
		if len(ops) != 3 {
			t.Fatalf("ops %v", ops)
		}
		ids := cols[0].(*array.Int64)
		oks := cols[1].(*array.Boolean)
		names := cols[2].(*array.String)
		xs := cols[3].(*array.Float64)
		if ids.Value(0) != 3 || ids.Value(1) != 4 || !ids.IsNull(2) || ids.NullN() != 1 {
			t.Errorf("ids %v", ids)
		}
		if oks.Value(0) || !oks.Value(1) || !oks.IsNull(2) || oks.NullN() != 1 {
			t.Errorf("oks %v", oks)
		}
		if names.Value(0) != "b" || !names.IsNull(1) || names.NullN() != 2 {
			t.Errorf("names %v", names)
		}
		if !xs.IsNull(0) || xs.Value(1) != 2.5 || xs.NullN() != 2 {
			t.Errorf("xs %v", xs)
		}
		for _, c := range cols {
			if c.NullN() == 0 && c.Data().Buffers()[0] != nil {
				t.Errorf("column without nulls has a validity bitmap")
			}
			c.Release()
		}
		out.Reset()
	}
}

// A reject keeps the message's coordinates, at most MaxRejectBytes of it,
// and an error with a SQLSTATE.
func TestRejectIsBounded(t *testing.T) {
	schema, _ := parseTestSchema("id bigint\n")
	dec, err := NewDecoder(Spec{Format: "PLAIN", Encode: "JSON"}, schema)
	if err != nil {
		t.Fatal(err)
	}
	out := NewBatch(schema)
	big := []byte(`{"id": "` + strings.Repeat("x", 5000) + `"}`)
	dec.DecodeBatch([]Message{{Value: big, Partition: 3, Offset: 42}}, out)
	if len(out.Rejects) != 1 {
		t.Fatalf("rejects %v", out.Rejects)
	}
	r := out.Rejects[0]
	if r.Partition != 3 || r.Offset != 42 || len(r.Raw) != MaxRejectBytes || string(r.Raw[:8]) != `{"id": "` {
		t.Errorf("reject %d/%d raw %d bytes", r.Partition, r.Offset, len(r.Raw))
	}
	if got := errText(r.Err); !strings.HasPrefix(got, "22P02 column \"id\"") {
		t.Errorf("error %s", got)
	}
	big[10] = 'y'
	if r.Raw[10] != 'x' {
		t.Errorf("the reject shares the message's memory")
	}
}

// Arrays handed out by Finish own their buffers: the chunks decoded after
// it (longer, shorter, after a Reset of unfinished rows) do not write
// into them, and text columns grow past the last chunk's average.
func TestBatchFinishedArraysKeepValues(t *testing.T) {
	dec, schema := mustDecoder(t, Spec{Format: "PLAIN", Encode: "JSON"}, "id bigint\nname text\n")
	out := NewBatch(schema)
	defer out.Release()
	chunk := func(n int, name string) []Message {
		ms := make([]Message, n)
		for i := range ms {
			ms[i] = Message{Value: []byte(`{"id": ` + strings.Repeat("9", 1+i%3) + `, "name": "` + strings.Repeat(name, 1+i%5) + `"}`)}
		}
		return ms
	}
	type kept struct {
		ids   *array.Int64
		names *array.String
		name  string
		n     int
	}
	var all []kept
	for round, n := range []int{10, 1000, 3, 0, 2500, 7} {
		name := string(rune('a' + round))
		if n == 0 {
			dec.DecodeBatch(chunk(50, "z"), out)
			out.Reset()
			continue
		}
		dec.DecodeBatch(chunk(n, name), out)
		cols, _ := out.Finish()
		all = append(all, kept{cols[0].(*array.Int64), cols[1].(*array.String), name, n})
		for _, k := range all {
			if k.ids.Len() != k.n || k.names.Len() != k.n {
				t.Fatalf("round %d: chunk %q has %d/%d rows, want %d", round, k.name, k.ids.Len(), k.names.Len(), k.n)
			}
			for i := 0; i < k.n; i++ {
				wantID := int64(9)
				for d := 0; d < i%3; d++ {
					wantID = wantID*10 + 9
				}
				if k.ids.Value(i) != wantID || k.names.Value(i) != strings.Repeat(k.name, 1+i%5) {
					t.Fatalf("round %d: chunk %q row %d = %d %q", round, k.name, i, k.ids.Value(i), k.names.Value(i))
				}
			}
		}
	}
	for _, k := range all {
		k.ids.Release()
		k.names.Release()
	}
}

// FORMAT PLAIN ENCODE JSON writes straight into the columns: a message
// that fails half-way (in its second object, after text and boolean
// values were written) is cut off again and the rows around it are
// whole; a key named twice keeps its last value.
func TestPlainJSONCutsOffFailedMessage(t *testing.T) {
	dec, schema := mustDecoder(t, Spec{Format: "PLAIN", Encode: "JSON"}, "id bigint\nok boolean\nname text\n")
	out := NewBatch(schema)
	defer out.Release()
	var msgs []Message
	for i, v := range []string{
		`{"id": 1, "ok": true, "name": "a"}`,
		`[{"id": 2, "ok": true, "name": "bbb"}, {"name": "cc", "ok": true, "id": "x"}]`,
		`{"name": "d", "name": "dd", "id": 3, "ok": false, "ok": true}`,
		`{"ok": true, "name": "eeee", "id": 4, "extra": [1, {"x": }]}`,
		`[{"id": 5}, {"id": 6, "ok": false}]`,
	} {
		msgs = append(msgs, Message{Value: []byte(v), Offset: int64(i)})
	}
	dec.DecodeBatch(msgs, out)
	if len(out.Rejects) != 2 || out.Rejects[0].Offset != 1 || out.Rejects[1].Offset != 3 {
		t.Fatalf("rejects %v", out.Rejects)
	}
	cols, ops := out.Finish()
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	if len(ops) != 4 {
		t.Fatalf("%d rows, want 4", len(ops))
	}
	var got []string
	for i := 0; i < 4; i++ {
		got = append(got, cols[0].ValueStr(i)+" "+cols[1].ValueStr(i)+" "+cols[2].ValueStr(i))
	}
	want := "1 true a|3 true dd|5 (null) (null)|6 false (null)"
	if g := strings.Join(got, "|"); g != want {
		t.Errorf("rows %s, want %s", g, want)
	}
	if cols[1].NullN() != 1 || cols[2].NullN() != 2 {
		t.Errorf("null counts %d %d", cols[1].NullN(), cols[2].NullN())
	}
}
