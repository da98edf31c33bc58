package planner

import (
	"errors"

	"streamsql/sql/plan"
	"streamsql/sql/types"
)

// Fold is one value that planning derived from the statement's parameters
// and built into the plan: a key bound of a scan (id = $1, k = $1 % 100),
// a window size. A plan made with one set of arguments is right for
// another set only if every fold gives the same result for it; the
// engine's plan cache checks that with Holds and keys its plans by
// FoldKey.
//
// Planning without argument values (Describe) records a fold that failed
// (OK false) wherever a value would have been used: a plan without folds
// does not depend on the arguments at all.
type Fold struct {
	Expr  plan.Scalar
	Value types.Datum
	OK    bool
}

// constValue is foldValue, recording the result when it depends on
// parameters.
func (p *Planner) constValue(e plan.Scalar) (types.Datum, bool) {
	v, ok := p.foldValue(e)
	if mentionsParam(e) {
		p.Folds = append(p.Folds, Fold{Expr: e, Value: v, OK: ok})
	}
	return v, ok
}

// mentionsParam reports whether foldValue's result for e depends on the
// parameters: e is a parameter or a call with one among its arguments
// (foldValue folds nothing else).
func mentionsParam(e plan.Scalar) bool {
	switch x := e.(type) {
	case *plan.Param:
		return true
	case *plan.Call:
		for _, a := range x.Args {
			if mentionsParam(a) {
				return true
			}
		}
	}
	return false
}

// Refold computes fold f again with args as the parameters' values.
func (f Fold) Refold(args []types.Datum) (types.Datum, bool) {
	p := &Planner{ParamValues: args}
	if p.ParamValues == nil {
		p.ParamValues = []types.Datum{}
	}
	return p.foldValue(f.Expr)
}

// FoldKey encodes what folds give for args, so that plans that depend on
// the arguments can be looked up by it: two argument lists with one key
// fold to the same plan. ok is false when a value has no key encoding.
func FoldKey(folds []Fold, args []types.Datum) (key string, ok bool) {
	var b []byte
	for _, f := range folds {
		v, fok := f.Refold(args)
		var err error
		if b, err = appendFold(b, v, fok, f.Expr.Type()); err != nil {
			return "", false
		}
	}
	return string(b), true
}

// RecordedKey is FoldKey of the values recorded when planning.
func RecordedKey(folds []Fold) (key string, ok bool) {
	var b []byte
	for _, f := range folds {
		var err error
		if b, err = appendFold(b, f.Value, f.OK, f.Expr.Type()); err != nil {
			return "", false
		}
	}
	return string(b), true
}

func appendFold(b []byte, v types.Datum, ok bool, t types.T) (_ []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errNoKey
		}
	}()
	switch {
	case !ok:
		return append(b, 0), nil
	case v == nil:
		return append(b, 1), nil
	}
	b = append(b, 2)
	return types.AppendKey(b, v, t, false), nil
}

// errNoKey: a folded value of a type without a key encoding.
var errNoKey = errors.New("planner: folded value has no key encoding")
