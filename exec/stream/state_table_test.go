package stream_test

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"testing"

	"streamsql/exec/stream"
	"streamsql/exec/stream/streamtest"
	"streamsql/sql/types"
	"streamsql/storage"
)

// TestStateTable writes rows through a state table into pebble on disk,
// reads them back by key, prefix and range, deletes by key, prefix and
// range, and checks that the keys sort in the declared column order
// (text ascending NULLs first, float descending) and match the row form
// of the key encoding byte for byte.
func TestStateTable(t *testing.T) {
	env, db := streamtest.Env(t)
	tbl := stream.NewStateTable(7, []stream.KeyCol{{T: types.TText, NullsFirst: true}, {T: types.TFloat8, Desc: true}}, []types.T{types.TInt8})
	other := stream.NewStateTable(8, stream.AscKeys(types.TInt8), []types.T{types.TInt8})

	rows := [][]types.Datum{
		{"b", 1.5, int64(1)}, {"a", math.Copysign(0, -1), int64(2)}, {nil, 3.0, int64(3)},
		{"b", math.NaN(), int64(4)}, {"a", -7.0, int64(5)}, {"b", nil, int64(6)},
	}
	c := streamtest.ChunkOf([]types.T{types.TText, types.TFloat8, types.TInt8}, make([]stream.Op, len(rows)), rows...)
	defer c.Release()
	keys := make([][]byte, c.N)
	tbl.AppendKeys(keys, c.Cols[:2])
	w := db.NewBatch()
	for i, r := range rows {
		if want := tbl.AppendKey(nil, r[0], r[1]); !bytes.Equal(keys[i], want) {
			t.Fatalf("row %d: column key %x, row key %x", i, keys[i], want)
		}
		if err := tbl.Insert(w, keys[i], tbl.AppendValue(nil, r[2:])); err != nil {
			t.Fatal(err)
		}
	}
	if err := other.Insert(w, other.AppendKey(nil, int64(1)), other.AppendValue(nil, streamtest.Row(int64(99)))); err != nil {
		t.Fatal(err)
	}
	streamtest.Commit(t, w)

	scan := func(prefix []byte) string {
		t.Helper()
		var out []string
		err := tbl.Scan(env.State, prefix, func(k, v []byte) error {
			kv, rest, err := tbl.DecodeKey(k, 2)
			if err != nil || len(rest) != 0 {
				return fmt.Errorf("key %x: %v, rest %x", k, err, rest)
			}
			val, err := tbl.DecodeValue(v)
			if err != nil {
				return err
			}
			out = append(out, fmt.Sprintf("%v/%v=%v", kv[0], kv[1], val[0]))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(out, " ")
	}
	// NULL text first; within a text, floats descending with NaN above
	// every number and NULL last (as declared, though descending).
	if got, want := scan(nil), "<nil>/3=3 a/0=2 a/-7=5 b/NaN=4 b/1.5=1 b/<nil>=6"; got != want {
		t.Fatalf("scan: %s, want %s", got, want)
	}
	if got, want := scan(tbl.AppendKey(nil, "a")), "a/0=2 a/-7=5"; got != want {
		t.Fatalf("prefix scan: %s, want %s", got, want)
	}
	var n int
	if err := tbl.ScanRange(env.State, tbl.AppendKey(nil, "a"), tbl.AppendKey(nil, "b", 1.5), func(_, _ []byte) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Fatalf("range scan saw %d rows, want 3", n)
	}
	v, found, err := tbl.Get(env.State, tbl.AppendKey(nil, "a", 0.0))
	if err != nil || !found {
		t.Fatalf("get -0 as 0: %v %v", found, err)
	}
	if r, _ := tbl.DecodeValue(v); r[0] != int64(2) {
		t.Fatalf("get: %v", r)
	}

	w = db.NewBatch()
	if err := tbl.Delete(w, tbl.AppendKey(nil, nil, 3.0)); err != nil {
		t.Fatal(err)
	}
	if err := tbl.DeletePrefix(w, tbl.AppendKey(nil, "a")); err != nil {
		t.Fatal(err)
	}
	if err := tbl.DeleteRange(w, tbl.AppendKey(nil, "b", 2.0), nil); err != nil {
		t.Fatal(err)
	}
	streamtest.Commit(t, w)
	if got, want := scan(nil), "b/NaN=4"; got != want {
		t.Fatalf("after deletes: %s, want %s", got, want)
	}
	// The other table is untouched.
	if _, found, err := other.Get(env.State, other.AppendKey(nil, int64(1))); err != nil || !found {
		t.Fatalf("other table: %v %v", found, err)
	}
	w = db.NewBatch()
	if err := tbl.DeletePrefix(w, nil); err != nil {
		t.Fatal(err)
	}
	streamtest.Commit(t, w)
	if got := scan(nil); got != "" {
		t.Fatalf("after dropping the table: %s", got)
	}
	if _, found, _ := other.Get(env.State, other.AppendKey(nil, int64(1))); !found {
		t.Fatal("dropping table 7 removed table 8's row")
	}
}

// TestStateTableKeysOnDisk pins the storage layout: the table prefix,
// then the key columns' sql/types encodings, so that data directories of
// earlier versions read back.
func TestStateTableKeysOnDisk(t *testing.T) {
	tbl := stream.NewStateTable(0x01020304, []stream.KeyCol{{T: types.TInt8}, {T: types.TText, Desc: true}}, nil)
	got := tbl.FullKey(nil, tbl.AppendKey(nil, int64(1), "a"))
	want := append(storage.StateKey(0x01020304, nil), 0x01, 0x80, 0, 0, 0, 0, 0, 0, 1, 0xFE, ^byte('a'), 0xFF, 0xFE)
	if !bytes.Equal(got, want) {
		t.Fatalf("key %x, want %x", got, want)
	}
}

// TestPersistedWatermark stores a watermark and loads it back after the
// database is reopened.
func TestPersistedWatermark(t *testing.T) {
	dir := t.TempDir()
	sdb, err := storage.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	p := stream.PersistedWatermark{Table: stream.NewStateTable(3, nil, nil), T: types.TTimestamp}
	if wm, err := p.Load(sdb.Latest()); err != nil || wm != nil {
		t.Fatalf("empty: %v %v", wm, err)
	}
	w := sdb.Pebble().NewBatch()
	if err := p.Store(w, types.Timestamp(1234)); err != nil {
		t.Fatal(err)
	}
	streamtest.Commit(t, w)
	if err := sdb.Close(); err != nil {
		t.Fatal(err)
	}
	env, _ := streamtest.ReopenEnv(t, dir)
	if wm, err := p.Load(env.State); err != nil || wm != types.Timestamp(1234) {
		t.Fatalf("reloaded: %v %v", wm, err)
	}
}
