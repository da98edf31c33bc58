package stream

// Helpers shared by the operators and their families: growing a reused
// slice, and the int64 form of the integer-ordered types (integers, oid,
// date, time, timestamps) that watermarks and extreme aggregates compare
// as plain integers.

import "streamsql/sql/types"

// Grow returns s with length at least n (new elements zero).
func Grow[T any](s []T, n int) []T {
	if len(s) >= n {
		return s
	}
	if cap(s) >= n {
		old := len(s)
		s = s[:n]
		clear(s[old:])
		return s
	}
	out := make([]T, n, max(n, 2*cap(s), 64))
	copy(out, s)
	return out
}

// IntLike reports whether values of t are kept as int64-based datums
// with integer order.
func IntLike(t types.T) bool {
	switch t.Kind {
	case types.Int2, types.Int4, types.Int8, types.Oid, types.DateKind, types.Time, types.TimestampKind, types.TimestampTZ:
		return true
	}
	return false
}

// IntDatum converts an int64 of an IntLike type to its datum.
func IntDatum(v int64, t types.T) types.Datum {
	switch t.Kind {
	case types.DateKind:
		return types.Date(v)
	case types.Time:
		return types.TimeOfDay(v)
	case types.TimestampKind, types.TimestampTZ:
		return types.Timestamp(v)
	}
	return v
}

// IntOf converts a datum of an IntLike type to int64.
func IntOf(d types.Datum) int64 {
	switch v := d.(type) {
	case types.Date:
		return int64(v)
	case types.TimeOfDay:
		return int64(v)
	case types.Timestamp:
		return int64(v)
	}
	return d.(int64)
}
