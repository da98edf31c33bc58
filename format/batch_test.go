package format

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
)

// A Batch is reused chunk after chunk: Finish hands out arrays with the
// right length, null count and values; Reset drops rows not finished.
func TestBatchReuse(t *testing.T) {
	schema, err := parseTestSchema("id bigint\nok boolean\nname text\nx double precision\n")
	if err != nil {
		t.Fatal(err)
	}
	dec, err := NewDecoder(Spec{Format: "PLAIN", Encode: "JSON"}, schema)
	if err != nil {
		t.Fatal(err)
	}
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
