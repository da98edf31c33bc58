package batch

import "testing"

// AsofSearch finds the nearest time on the side each operator names,
// with ties of equal times resolved to the last (backward) or first
// (forward) of them.
func TestAsofSearch(t *testing.T) {
	times := [][]byte{{1}, {3}, {3}, {5}}
	for _, c := range []struct {
		op   string
		t    byte
		want int
	}{
		{">=", 0, -1}, {">=", 1, 0}, {">=", 3, 2}, {">=", 4, 2}, {">=", 9, 3},
		{">", 1, -1}, {">", 3, 0}, {">", 4, 2}, {">", 6, 3},
		{"<=", 0, 0}, {"<=", 2, 1}, {"<=", 3, 1}, {"<=", 5, 3}, {"<=", 6, -1},
		{"<", 1, 1}, {"<", 3, 3}, {"<", 5, -1},
	} {
		if got := AsofSearch(times, []byte{c.t}, c.op); got != c.want {
			t.Errorf("%s %d: %d, want %d", c.op, c.t, got, c.want)
		}
	}
}
