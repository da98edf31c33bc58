package join

import (
	"bytes"
	"fmt"
	"testing"
)

// TestByteArenaKeepsValuesInPlace: stored bytes never move while more are
// added (the property that spares the copies of a growing slice), every
// value reads back whole, and a value longer than a page gets its own.
func TestByteArenaKeepsValuesInPlace(t *testing.T) {
	var a byteArena
	type stored struct {
		off  int
		want []byte
		at   *byte
	}
	var all []stored
	total := 0
	for i := range 20000 {
		v := []byte(fmt.Sprintf("value-%d-%s", i, bytes.Repeat([]byte{'x'}, i%300)))
		if i == 777 {
			v = bytes.Repeat([]byte{'L'}, 3*arenaMaxPage)
		}
		off := a.add(v)
		all = append(all, stored{off: off, want: v, at: &a.bytes(off, len(v))[0]})
		total += len(v)
	}
	if a.size() != total {
		t.Fatalf("size %d, want %d", a.size(), total)
	}
	for i, s := range all {
		got := a.bytes(s.off, len(s.want))
		if !bytes.Equal(got, s.want) {
			t.Fatalf("value %d reads back %q", i, got[:min(len(got), 40)])
		}
		if &got[0] != s.at {
			t.Fatalf("value %d moved after later additions", i)
		}
	}
	for i, p := range a.pages {
		if cap(p) > arenaMaxPage && len(p) != cap(p) {
			t.Fatalf("oversized page %d shared: len %d cap %d", i, len(p), cap(p))
		}
	}
	if got := a.bytes(a.add(nil), 0); len(got) != 0 {
		t.Fatalf("empty value reads back %q", got)
	}
	// A value's bytes are capped: appending to them cannot overwrite the
	// next value.
	x := a.bytes(all[0].off, len(all[0].want))
	_ = append(x, 'Z')
	if !bytes.Equal(a.bytes(all[1].off, len(all[1].want)), all[1].want) {
		t.Fatal("appending to a value overwrote its neighbour")
	}
	a.reset()
	if a.size() != 0 || len(a.pages) != 0 {
		t.Fatal("reset left pages")
	}
}
