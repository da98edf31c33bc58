package batch

import (
	"strings"

	"streamsql/exec"
	"streamsql/exec/expr"
	"streamsql/sql/types"
	"streamsql/storage"
)

// KeyBounds are a scan's key bounds (sql/plan.KeyBounds) compiled: values
// for the leading key columns (Eq) and candidate bounds of the next one
// (Lo, Hi), evaluated when the scan opens. Types and Desc describe the key
// columns in key order (a primary key is ascending; an index column may be
// descending).
//
// A value is cast to its key column's type; one the type cannot hold
// exactly (1.5 for an integer key), a cast that fails, or an evaluation
// that fails ends the prefix there (the predicate above the scan decides,
// and reports the error if there is one), and a NULL value admits no key
// at all (a comparison with NULL is never true).
type KeyBounds struct {
	Eq     []expr.Expr
	Lo, Hi []KeyBound
	Types  []types.T
	Desc   []bool
}

// KeyBound is one candidate end of a key range.
type KeyBound struct {
	E         expr.Expr
	Inclusive bool
}

// Constant reports whether every value is a constant, so that the span
// can be computed once, when the scan is built.
func (b *KeyBounds) Constant() bool {
	for _, e := range b.Eq {
		if _, ok := e.(*expr.Const); !ok {
			return false
		}
	}
	for _, x := range append(append([]KeyBound{}, b.Lo...), b.Hi...) {
		if _, ok := x.E.(*expr.Const); !ok {
			return false
		}
	}
	return true
}

func (b *KeyBounds) desc(i int) bool { return i < len(b.Desc) && b.Desc[i] }

// value evaluates e as a value of key column i. exact is false when the
// value cannot serve as a bound (see KeyBounds); null reports NULL.
func (b *KeyBounds) value(ctx *exec.Ctx, e expr.Expr, i int) (v types.Datum, exact, null bool) {
	switch x := e.(type) {
	case *expr.Const:
		v = x.Value
	case *expr.Param:
		if ctx == nil || x.Idx >= len(ctx.Params) {
			return nil, false, false
		}
		v = ctx.Params[x.Idx]
	default:
		if ctx == nil {
			return nil, false, false
		}
		d, err := evalConst(ctx, e)
		if err != nil {
			return nil, false, false
		}
		v = d
	}
	if v == nil {
		return nil, true, true
	}
	ct, vt := b.Types[i], e.Type()
	if vt.Equal(ct) {
		return v, true, false
	}
	cv, err := types.Cast(v, vt, ct, nil)
	if err != nil {
		return nil, false, false
	}
	if back, err := types.Cast(cv, ct, vt, nil); err != nil || types.Compare(back, v, vt) != 0 {
		return nil, false, false
	}
	return cv, true, false
}

// Span evaluates the bounds into the span of encoded keys they admit,
// appending the keys to lo[:0] and hi[:0] (buffers a scan reuses from run
// to run). none reports bounds that admit no key.
func (b *KeyBounds) Span(ctx *exec.Ctx, lo, hi []byte) (span storage.KeySpan, none bool) {
	lo, hi = lo[:0], hi[:0]
	n := 0
	for i, e := range b.Eq {
		v, exact, null := b.value(ctx, e, i)
		if null {
			return span, true
		}
		if !exact {
			break
		}
		lo = types.AppendKey(lo, v, b.Types[i], b.desc(i))
		n++
	}
	hi = append(hi, lo...)
	if n < len(b.Eq) {
		// The prefix ended early: the range below is of a later column.
		return b.prefixSpan(lo, hi, n), false
	}
	var loV, hiV types.Datum
	var loInc, hiInc bool
	if n < len(b.Types) {
		for _, x := range b.Lo {
			v, exact, null := b.value(ctx, x.E, n)
			if null {
				return span, true
			}
			if exact {
				if c := compareBound(loV, v, b.Types[n]); c < 0 || c == 0 && !x.Inclusive {
					loV, loInc = v, x.Inclusive
				}
			}
		}
		for _, x := range b.Hi {
			v, exact, null := b.value(ctx, x.E, n)
			if null {
				return span, true
			}
			if exact {
				if c := compareBound(hiV, v, b.Types[n]); c > 0 || c == 0 && !x.Inclusive || hiV == nil {
					hiV, hiInc = v, x.Inclusive
				}
			}
		}
	}
	if loV == nil && hiV == nil {
		return b.prefixSpan(lo, hi, n), false
	}
	if b.desc(n) {
		// Descending keys: the largest value comes first.
		loV, loInc, hiV, hiInc = hiV, hiInc, loV, loInc
	}
	span = storage.KeySpan{Lo: lo, Hi: hi, LoInclusive: true, HiInclusive: true}
	if loV != nil {
		span.Lo, span.LoInclusive = types.AppendKey(lo, loV, b.Types[n], b.desc(n)), loInc
	}
	if hiV != nil {
		span.Hi, span.HiInclusive = types.AppendKey(hi, hiV, b.Types[n], b.desc(n)), hiInc
	}
	if len(span.Lo) == 0 {
		span.Lo = nil
	}
	if len(span.Hi) == 0 {
		span.Hi = nil
	}
	return span, false
}

// prefixSpan is the span of the keys that start with the n encoded values
// in lo (and its copy hi); no values is the whole key space.
func (b *KeyBounds) prefixSpan(lo, hi []byte, n int) storage.KeySpan {
	if n == 0 {
		return storage.KeySpan{}
	}
	return storage.KeySpan{Lo: lo, Hi: hi, LoInclusive: true, HiInclusive: true}
}

// compareBound compares a bound found so far (nil: none yet) with v: a
// lower bound is replaced by a larger value, an upper one by a smaller.
func compareBound(cur, v types.Datum, t types.T) int {
	if cur == nil {
		return -1
	}
	return types.Compare(cur, v, t)
}

// explain renders bounds whose values are not constants for EXPLAIN, with
// names the key columns' names: "id = $1", "b range [$1, +inf)".
func (b *KeyBounds) explain(names []string) string {
	name := func(i int) string {
		if i < len(names) {
			return names[i]
		}
		return "?"
	}
	var parts []string
	for i, e := range b.Eq {
		parts = append(parts, name(i)+" = "+e.String())
	}
	if len(b.Lo) > 0 || len(b.Hi) > 0 {
		lo, hi := "(-inf", "+inf)"
		if len(b.Lo) > 0 {
			lo = bracket(b.Lo[0].Inclusive, "[", "(") + boundList("greatest", b.Lo)
		}
		if len(b.Hi) > 0 {
			hi = boundList("least", b.Hi) + bracket(b.Hi[0].Inclusive, "]", ")")
		}
		parts = append(parts, name(len(b.Eq))+" range "+lo+", "+hi)
	}
	return strings.Join(parts, " AND ")
}

// boundList renders candidate bounds: the one, or fn(a, b, ...).
func boundList(fn string, bs []KeyBound) string {
	if len(bs) == 1 {
		return bs[0].E.String()
	}
	parts := make([]string, len(bs))
	for i, x := range bs {
		parts[i] = x.E.String()
	}
	return fn + "(" + strings.Join(parts, ", ") + ")"
}
