package stream_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"streamsql/exec/stream"
	"streamsql/exec/stream/streamtest"
	"streamsql/sql/types"
)

// TestMRRowsBlocks keeps rows of two epochs in the row store of
// MATCH_RECOGNIZE views, frees some, and checks what each barrier writes
// (a block with live rows, once; a written block whose rows are all gone,
// deleted), what gathering reads (64-bit columns with their NULLs, other
// columns as datums), that a gone row is an error to read, and that a
// store loaded from storage keeps exactly the rows the caller says are
// live.
func TestMRRowsBlocks(t *testing.T) {
	env, db := streamtest.Env(t)
	ts := []types.T{types.TInt8, types.TTimestamp, types.TText}
	tbl := stream.NewStateTable(9, stream.AscKeys(types.TInt8), ts)
	rows := stream.NewMRRows(ts, 1, tbl)
	sec := func(s int64) types.Timestamp { return types.Timestamp(s * 1_000_000) }
	add := func(data ...[]types.Datum) []int64 {
		c := streamtest.ChunkOf(ts, make([]stream.Op, len(data)), data...)
		defer c.Release()
		sel := make([]int32, c.N)
		for i := range sel {
			sel[i] = int32(i)
		}
		return rows.Add(c, sel, nil)
	}
	flush := func() {
		w := db.NewBatch()
		if err := rows.Flush(w); err != nil {
			t.Fatal(err)
		}
		streamtest.Commit(t, w)
	}
	blocks := func() string {
		var out []string
		err := tbl.Scan(env.State, nil, func(k, _ []byte) error {
			kv, _, err := tbl.DecodeKey(k, 1)
			out = append(out, fmt.Sprint(kv[0]))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(out, " ")
	}
	gather := func(r *stream.MRRows, col int, hs ...int64) string {
		t.Helper()
		arr, err := r.Gather(col, hs)
		if err != nil {
			t.Fatal(err)
		}
		defer arr.Release()
		return arrowString(arr)
	}

	h := add(streamtest.Row(int64(1), sec(1), "a"), streamtest.Row(nil, sec(2), "b"), streamtest.Row(int64(3), sec(3), nil))
	if h[0]>>stream.MRBlockBits != h[2]>>stream.MRBlockBits || h[1] != h[0]+1 {
		t.Fatalf("handles %v are not one block's", h)
	}
	if got := gather(rows, 0, h[2], -1, h[1], h[0]); got != "[3 (null) (null) 1]" {
		t.Errorf("gather bigint: %s", got)
	}
	if got := gather(rows, 2, h[0], h[2], h[1]); got != `["a" (null) "b"]` {
		t.Errorf("gather text: %s", got)
	}
	if got := rows.Time(h[1]); got != int64(sec(2)) {
		t.Errorf("time %d", got)
	}
	rows.Free(h[1])
	if _, err := rows.Gather(0, []int64{h[1]}); err == nil {
		t.Error("a gone row was read")
	}
	flush() // block 0 written with rows 0 and 2
	if got := blocks(); got != "0" {
		t.Fatalf("blocks after epoch 1: %q", got)
	}
	h2 := add(streamtest.Row(int64(4), sec(4), "d"), streamtest.Row(int64(5), sec(5), "e"))
	if h2[0]>>stream.MRBlockBits != 1 {
		t.Fatalf("epoch 2 rows in block %d", h2[0]>>stream.MRBlockBits)
	}
	rows.Free(h[0])
	rows.Free(h[2])
	flush() // block 0 deleted, block 1 written
	if got := blocks(); got != "1" {
		t.Fatalf("blocks after epoch 2: %q", got)
	}
	// A block whose rows go within their epoch is never written.
	h3 := add(streamtest.Row(int64(6), sec(6), "f"))
	rows.Free(h3[0])
	flush()
	if got := blocks(); got != "1" {
		t.Fatalf("blocks after epoch 3: %q", got)
	}

	// Restart: row 4 is live (a partition keeps it), row 5 gone since
	// its block was written.
	loaded := stream.NewMRRows(ts, 1, tbl)
	var seen []string
	err := tbl.Scan(env.State, nil, func(k, v []byte) error {
		return loaded.Load(k, v, func(h int64, row []types.Datum, ts int64) bool {
			seen = append(seen, fmt.Sprint(row[0], "@", ts/1_000_000))
			return h == h2[0]
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(seen, " "); got != "4@4 5@5" {
		t.Errorf("loaded rows %q", got)
	}
	if loaded.Live() != 1 {
		t.Errorf("%d rows live after load", loaded.Live())
	}
	if got := gather(loaded, 2, h2[0]); got != `["d"]` {
		t.Errorf("loaded text: %s", got)
	}
	if _, err := loaded.Gather(0, []int64{h2[1]}); err == nil {
		t.Error("a row gone before the restart was read")
	}
	// New rows after the restart go to a new block.
	h4 := func() []int64 {
		c := streamtest.ChunkOf(ts, make([]stream.Op, 1), streamtest.Row(int64(7), sec(7), "g"))
		defer c.Release()
		return loaded.Add(c, []int32{0}, nil)
	}()
	if h4[0]>>stream.MRBlockBits != 2 {
		t.Errorf("a row after the restart in block %d", h4[0]>>stream.MRBlockBits)
	}
}

func arrowString(a arrow.Array) string { return fmt.Sprint(a) }
