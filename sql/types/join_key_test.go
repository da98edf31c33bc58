package types

import "testing"

// Keys must not need a lossy conversion to find a primary key value.
func TestLookupKeyType(t *testing.T) {
	for _, c := range []struct {
		src, pk T
		ok      bool
	}{
		{TInt4, TInt8, true},
		{TInt8, TInt2, true},
		{TText, TVarchar, true},
		{TInt8, TNumeric, true},
		{TNumeric, TInt8, false},
		{TFloat8, TInt8, false},
		{TText, TInt8, false},
	} {
		if _, ok := LookupKeyType(c.src, c.pk); ok != c.ok {
			t.Errorf("LookupKeyType(%s, %s) = %v, want %v", c.src, c.pk, ok, c.ok)
		}
	}
}

// Both sides of an equi-join key compare in one type: integers as int8,
// text-like types as text, mixed numbers as float8 or numeric.
func TestJoinKeyType(t *testing.T) {
	for _, c := range []struct {
		a, b, want T
		ok         bool
	}{
		{TInt2, TInt4, TInt8, true},
		{TVarchar, TText, TText, true},
		{TInt4, TFloat4, TFloat8, true},
		{TInt8, TNumeric, TNumeric, true},
		{TText, TInt4, T{}, false},
	} {
		got, ok := JoinKeyType(c.a, c.b)
		if ok != c.ok || got.Kind != c.want.Kind {
			t.Errorf("JoinKeyType(%s, %s) = %s, %v; want %s, %v", c.a, c.b, got, ok, c.want, c.ok)
		}
	}
}
