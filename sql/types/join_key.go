package types

// Join key types: the type in which both sides of an equality between
// columns of (possibly) different types are compared and encoded, so that
// a key of one side finds its matches on the other by bytes. The planner
// uses them to decide which equalities a hash or lookup join can use, the
// join operators to encode the keys.

// IsIntKind reports whether k is an integer kind (oid included); all of
// them compare and encode as int8 in join keys.
func IsIntKind(k Kind) bool {
	return k == Int2 || k == Int4 || k == Int8 || k == Oid
}

// IsTextKind reports whether k is a text-like kind; all of them compare
// and encode as text in join keys.
func IsTextKind(k Kind) bool {
	return k == Text || k == Varchar || k == Char || k == Name || k == Unknown
}

// IsFloatKind reports whether k is float4 or float8.
func IsFloatKind(k Kind) bool { return k == Float4 || k == Float8 }

// JoinKeyType returns the type both sides of an equi-join key pair are
// compared in, or false when the pair has no common comparison (the
// planner casts such keys before the join).
func JoinKeyType(a, b T) (T, bool) {
	switch {
	case IsIntKind(a.Kind) && IsIntKind(b.Kind):
		return TInt8, true
	case IsTextKind(a.Kind) && IsTextKind(b.Kind):
		return TText, true
	case a.Kind == b.Kind:
		return T{Kind: a.Kind}, true
	case (IsFloatKind(a.Kind) || IsFloatKind(b.Kind)) &&
		(IsIntKind(a.Kind) || IsFloatKind(a.Kind) || a.Kind == Numeric) &&
		(IsIntKind(b.Kind) || IsFloatKind(b.Kind) || b.Kind == Numeric):
		return TFloat8, true
	case (IsIntKind(a.Kind) || a.Kind == Numeric) && (IsIntKind(b.Kind) || b.Kind == Numeric):
		return TNumeric, true
	}
	return T{}, false
}

// LookupKeyType returns the type in which a key value of type src is
// encoded to find a primary key column of type pk, or false when a value
// of src cannot be looked up in pk without a lossy conversion. Integers
// of any width encode alike, as do text-like types.
func LookupKeyType(src, pk T) (T, bool) {
	kt, ok := JoinKeyType(src, pk)
	if !ok {
		return T{}, false
	}
	switch {
	case IsIntKind(pk.Kind):
		ok = kt.Kind == Int8
	case IsTextKind(pk.Kind):
		ok = kt.Kind == Text && pk.Kind != Char
	case IsFloatKind(pk.Kind):
		ok = kt.Kind == Float8
	default:
		ok = kt.Kind == pk.Kind
	}
	return kt, ok
}
