package stream

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"streamsql/sql/types"
	"streamsql/storage"
)

// A delete and an insert of one key within an epoch become an
// UpdateDelete directly followed by its UpdateInsert, wherever the insert
// came; other changes keep their order and become plain Insert or Delete.
func TestChangeLogPairsUpdates(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{"+a -b", "Insert a | Delete b"},
		{"-a +a", "UpdateDelete a | UpdateInsert a"},
		{"U-a U+a", "UpdateDelete a | UpdateInsert a"},
		{"-a -b +c +a", "UpdateDelete a | UpdateInsert a | Delete b | Insert c"},
		{"+a -a", "Insert a | Delete a"},
		{"-a +a -a +a", "UpdateDelete a | UpdateInsert a | UpdateDelete a | UpdateInsert a"},
	} {
		var l changeLogs
		for _, f := range strings.Fields(tc.in) {
			op, key := Insert, f[1:]
			switch {
			case strings.HasPrefix(f, "U-"):
				op, key = UpdateDelete, f[2:]
			case strings.HasPrefix(f, "U+"):
				op, key = UpdateInsert, f[2:]
			case f[0] == '-':
				op = Delete
			}
			l.add(op, []byte(key), nil)
		}
		var got []string
		names := map[Op]string{Insert: "Insert", Delete: "Delete", UpdateDelete: "UpdateDelete", UpdateInsert: "UpdateInsert"}
		for _, r := range l.paired() {
			got = append(got, fmt.Sprintf("%s %s", names[r.op], l.key(r)))
			if r.pair > 0 {
				got = append(got, fmt.Sprintf("%s %s", names[UpdateInsert], l.key(l.rows[r.pair-1])))
			}
		}
		if g := strings.Join(got, " | "); g != tc.want {
			t.Errorf("%s: got %s, want %s", tc.in, g, tc.want)
		}
	}
}

// The log reads back what flush wrote, from any position: a read that
// starts or stops in the middle of an epoch's block goes on at the next
// change. Epochs logged one key per change (by earlier versions) read the
// same way.
func TestChangeLogReadPositions(t *testing.T) {
	db, err := storage.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const id = 70001
	ts := []types.T{types.TInt8}
	row := func(v int64) []byte { return types.EncodeRow(nil, []types.Datum{v}, ts) }
	w := db.Pebble().NewBatch()
	// Epoch 3 in the old layout: two changes.
	for seq, v := range []int64{30, 31} {
		if err := w.Set(logRowKey(id, 3, uint32(seq)), append([]byte{byte(Insert)}, row(v)...), nil); err != nil {
			t.Fatal(err)
		}
	}
	w.Set(logHeaderKey(id, 3), binary.BigEndian.AppendUint64(nil, 1000), nil)
	// Epochs 5 and 6 as blocks: an update and two inserts, then a delete.
	l := changeLogs{active: []ChangeLog{{ID: id}}}
	l.add(Delete, []byte("k1"), row(50))
	l.add(Insert, []byte("k2"), row(51))
	l.add(Insert, []byte("k1"), row(52))
	l.add(Insert, []byte("k3"), row(53))
	if err := l.flush(w, 5, db.Latest()); err != nil {
		t.Fatal(err)
	}
	l.add(Delete, []byte("k2"), row(51))
	if err := l.flush(w, 6, db.Latest()); err != nil {
		t.Fatal(err)
	}
	if err := db.CommitBatch(w); err != nil {
		t.Fatal(err)
	}
	all := "3/0 Insert 30|3/1 Insert 31|5/0 UpdateDelete 50|5/1 UpdateInsert 52|5/2 Insert 51|5/3 Insert 53|6/0 Delete 51"
	read := func(pos LogPos, limit int) string {
		t.Helper()
		cs, err := ReadChangeLog(db.Latest(), id, pos, limit, ts)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		names := map[Op]string{Insert: "Insert", Delete: "Delete", UpdateDelete: "UpdateDelete", UpdateInsert: "UpdateInsert"}
		for _, c := range cs {
			out = append(out, fmt.Sprintf("%s %s %v", c.Position(), names[c.Op], c.Row[0]))
		}
		return strings.Join(out, "|")
	}
	if g := read(LogPos{}, 100); g != all {
		t.Fatalf("whole log:\n%s\nwant\n%s", g, all)
	}
	// Page through it two at a time, resuming after each last change.
	var pages []string
	for pos := (LogPos{}); ; {
		cs, err := ReadChangeLog(db.Latest(), id, pos, 2, ts)
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) == 0 {
			break
		}
		pages = append(pages, read(pos, 2))
		pos = cs[len(cs)-1].Next()
	}
	if g := strings.Join(pages, "|"); g != all {
		t.Fatalf("paged:\n%s\nwant\n%s", g, all)
	}
	for _, c := range []struct {
		position, want string
	}{
		{"3/0", "3/1 Insert 31|5/0 UpdateDelete 50"},
		{"3", "5/0 UpdateDelete 50|5/1 UpdateInsert 52"},
		{"5/1", "5/2 Insert 51|5/3 Insert 53"},
		{"5/3", "6/0 Delete 51"},
		{"6/0", ""},
	} {
		pos, ok := ParsePosition(c.position)
		if !ok {
			t.Fatalf("%s is no position", c.position)
		}
		if g := read(pos, 2); g != c.want {
			t.Errorf("after %s: %s, want %s", c.position, g, c.want)
		}
	}
}
