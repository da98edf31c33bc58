package stream

import (
	"fmt"
	"strings"
	"testing"
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
