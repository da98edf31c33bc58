package plan

import "streamsql/sql/types"

// Conjuncts and equi-join keys: the rules that split a condition into the
// parts a join or a scan can use.
//
// A join condition "l = r" is a hash join key when l reads only the left
// input and r only the right one. Often both are plain columns of one type,
// but the binder inserts implicit casts when the types differ (int4 = int8
// becomes int8(k) = id; varchar = text becomes text(v) = t), and users
// write keys such as lower(a.email) = b.email. Such keys are computed by a
// projection under the join, so the hash join operators (batch and
// streaming) only ever see key columns of equal types.

// SplitAnd appends the conjuncts of e to out, flattening nested ANDs.
func SplitAnd(e Scalar, out []Scalar) []Scalar {
	if a, ok := e.(*And); ok {
		for _, x := range a.Args {
			out = SplitAnd(x, out)
		}
		return out
	}
	return append(out, e)
}

// AndAll is the conjunction of es: nil for none, the one itself for one.
func AndAll(es []Scalar) Scalar {
	switch len(es) {
	case 0:
		return nil
	case 1:
		return es[0]
	}
	return &And{Args: es}
}

// EquiKeys are the key pairs of one equi-join: expressions over the left
// input and over the right input (right columns numbered from 0).
type EquiKeys struct {
	Left, Right []Scalar
}

// Empty reports whether there are no keys.
func (k *EquiKeys) Empty() bool { return len(k.Left) == 0 }

// EquiKey recognizes "a = b" where one side reads only columns left
// of split and the other only columns in [split, end), with both sides of
// the same type kind. r is returned over the right input's columns.
func EquiKey(c Scalar, split, end int) (l, r Scalar, ok bool) {
	call, isCall := c.(*Call)
	if !isCall || call.Fn.Name != "=" || len(call.Args) != 2 {
		return nil, nil, false
	}
	a, b := widen(call.Args[0], call.Args[1])
	if a.Type().Kind != b.Type().Kind {
		return nil, nil, false
	}
	sa, sb := JoinSide(a, split, end), JoinSide(b, split, end)
	switch {
	case sa == 0 && sb == 1:
		return a, ShiftCols(b, -split), true
	case sa == 1 && sb == 0:
		return b, ShiftCols(a, -split), true
	}
	return nil, nil, false
}

// JoinSide says which input of a join e reads: 0 the left (columns before
// split), 1 the right (columns in [split, end)), -1 neither, both, or not
// only columns.
func JoinSide(e Scalar, split, end int) int {
	refs, pushable := ColRefs(e)
	if !pushable || len(refs) == 0 {
		return -1
	}
	s := -1
	for _, x := range refs {
		cur := 0
		if x >= split {
			cur = 1
		}
		if x >= end || s >= 0 && s != cur {
			return -1
		}
		s = cur
	}
	return s
}

// widen casts the narrower side of a cross-width integer or float
// equality (int4 = int8, float4 = float8, which compare without casts) to
// the wider type, so that both sides hash alike.
func widen(a, b Scalar) (Scalar, Scalar) {
	rank := func(k types.Kind) (family, width int) {
		switch k {
		case types.Int2:
			return 1, 2
		case types.Int4:
			return 1, 4
		case types.Int8:
			return 1, 8
		case types.Float4:
			return 2, 4
		case types.Float8:
			return 2, 8
		}
		return 0, 0
	}
	at, bt := a.Type(), b.Type()
	fa, wa := rank(at.Kind)
	fb, wb := rank(bt.Kind)
	switch {
	case fa == 0 || fa != fb || wa == wb:
	case wa < wb:
		a = &Cast{Input: a, To: bt}
	default:
		b = &Cast{Input: b, To: at}
	}
	return a, b
}

// Add records conjunct c as a key if it is one; see EquiKey.
func (k *EquiKeys) Add(c Scalar, split, end int) bool {
	l, r, ok := EquiKey(c, split, end)
	if ok {
		k.Left, k.Right = append(k.Left, l), append(k.Right, r)
	}
	return ok
}

// KeyColumns gives each key its column in an input of width w: a plain
// column reference keeps its column, any other expression becomes an
// extra column appended after w (equal expressions share one).
func KeyColumns(keys []Scalar, w int) (cols []int, extra []Scalar) {
	seen := map[string]int{}
	for _, e := range keys {
		if c, ok := e.(*ColRef); ok {
			cols = append(cols, c.Idx)
			continue
		}
		k := Key(e)
		idx, ok := seen[k]
		if !ok {
			idx = w + len(extra)
			seen[k] = idx
			extra = append(extra, e)
		}
		cols = append(cols, idx)
	}
	return cols, extra
}
