package connector

import (
	"math"
	"slices"
	"testing"

	"streamsql/sql/sqlerr"
)

// The option helpers datagen and nexmark share: the messages a user sees
// for a bad integer, and which column an option names.
func TestParseIntMessages(t *testing.T) {
	for _, c := range []struct {
		val    string
		lo, hi int64
		want   int64
		msg    string
	}{
		{val: " 42 ", lo: 0, hi: math.MaxInt64, want: 42},
		{val: "-1", lo: 0, hi: math.MaxInt64, msg: `invalid value "-1" for gen option "k": must be a non-negative integer`},
		{val: "0", lo: 1, hi: math.MaxInt64, msg: `invalid value "0" for gen option "k": must be an integer of at least 1`},
		{val: "65", lo: 1, hi: 64, msg: `invalid value "65" for gen option "k": must be an integer from 1 to 64`},
		{val: "x", lo: 1, hi: 64, msg: `invalid value "x" for gen option "k": must be an integer from 1 to 64`},
	} {
		n, err := ParseInt("gen", "k", c.val, c.lo, c.hi)
		if c.msg == "" {
			if err != nil || n != c.want {
				t.Errorf("ParseInt(%q) = %d, %v; want %d", c.val, n, err, c.want)
			}
			continue
		}
		e, ok := err.(*sqlerr.Error)
		if !ok || e.Code != sqlerr.InvalidParameterValue || e.Message != c.msg {
			t.Errorf("ParseInt(%q) error = %v; want 22023 %s", c.val, err, c.msg)
		}
	}
}

func TestColumnIndexPrefersExactCase(t *testing.T) {
	cols := []string{"Price", "price", "id"}
	for name, want := range map[string]int{"price": 1, "Price": 0, "PRICE": 0, "ID": 2, "other": -1} {
		if got := ColumnIndex(cols, name); got != want {
			t.Errorf("ColumnIndex(%q) = %d, want %d", name, got, want)
		}
	}
	if got := SortedKeys(map[string]string{"b": "", "a": "", "c": ""}); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("SortedKeys = %v", got)
	}
}
