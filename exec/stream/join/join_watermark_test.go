package join

import (
	"fmt"
	"strings"
	"testing"

	"streamsql/exec/stream"
	"streamsql/sql/types"
)

// TestJoinWatermarksEmit: an interval join's derived watermark carries
// the declared bound (Emit) derived by the same rule from the sides'
// declared watermarks, also when only they move.
func TestJoinWatermarksEmit(t *testing.T) {
	// l.ts >= r.ts + 5: output column 1 of the left side (2 left columns).
	j := newJoinWatermarks([]JoinWatermark{{Side: 0, Col: 1, OtherCol: 1, Offset: 5, T: types.TInt8}}, 2)
	var sent []string
	out := func(w stream.Watermark) error {
		sent = append(sent, fmt.Sprintf("%d %v:%v", w.Col, w.Val, w.Emit))
		return nil
	}
	add := func(side int, v, emit int64) string {
		t.Helper()
		sent = nil
		w := stream.Watermark{Col: 1, Val: v}
		if emit != 0 {
			w.Emit = emit
		}
		if err := j.add(side, w, out, nil); err != nil {
			t.Fatal(err)
		}
		return strings.Join(sent, "; ")
	}
	if got := add(0, 100, 160); got != "" {
		t.Fatalf("one side: sent %q", got)
	}
	// min(100, 90+5), declared min(160, 150+5)
	if got := add(1, 90, 150); got != "1 95:155" {
		t.Fatalf("both sides: sent %q, want 1 95:155", got)
	}
	// Only the right side's declared watermark moves: min(160, 170+5).
	if got := add(1, 90, 170); got != "1 95:160" {
		t.Fatalf("declared only: sent %q, want 1 95:160", got)
	}
	if got := add(1, 90, 170); got != "" {
		t.Fatalf("nothing moved: sent %q", got)
	}
	// Sides without an allowed lateness: no Emit.
	add(0, 300, 0)
	if got := add(1, 300, 0); got != "1 300:<nil>" {
		t.Fatalf("no lateness: sent %q, want 1 300:<nil>", got)
	}
}
