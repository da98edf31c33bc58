package format_test

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/format"
	"streamsql/sql/types"
)

// A connector makes one decoder and one batch per split reader, decodes
// each fetched batch of messages, hands the columns and ops on as a chunk
// and records the rejects.
func ExampleNewDecoder() {
	schema := format.Schema{
		Columns: []format.Column{
			{Name: "id", Type: types.TInt8},
			{Name: "name", Type: types.TText},
			{Name: "off", Type: types.TInt8, Meta: format.MetaOffset},
		},
		PrimaryKey: []int{0},
	}
	dec, err := format.NewDecoder(format.Spec{Format: "DEBEZIUM", Encode: "JSON"}, schema)
	if err != nil {
		panic(err)
	}
	out := format.NewBatch(schema)
	defer out.Release()
	dec.DecodeBatch([]format.Message{
		{Offset: 10, Value: []byte(`{"before": null, "after": {"id": 1, "name": "a"}, "op": "c"}`)},
		{Offset: 11, Value: []byte(`{"before": {"id": 1, "name": "a"}, "after": {"id": 1, "name": "b"}, "op": "u"}`)},
		{Offset: 12, Value: []byte(`{"op": "x"}`)},
		{Offset: 13, Value: nil}, // tombstone
	}, out)
	cols, ops := out.Finish()
	ids, names, offs := cols[0].(*array.Int64), cols[1].(*array.String), cols[2].(*array.Int64)
	for i, op := range ops {
		fmt.Println(op, ids.Value(i), names.Value(i), offs.Value(i))
	}
	for _, r := range out.Rejects {
		fmt.Println("reject", r.Offset, r.Err)
	}
	for _, c := range cols {
		c.Release()
	}
	out.Reset()
	// Output:
	// insert 1 a 10
	// update-delete 1 a 11
	// update-insert 1 b 11
	// reject 12 unknown Debezium event type "x"
}
