package lower

import (
	"streamsql/exec/stream"
	"streamsql/sql/plan"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// Temporal filters: a WHERE conjunct that compares a row's value with
// now() (`ts > now() - INTERVAL '1 hour'`, `ts + INTERVAL '1 day' >
// now()`, `ts BETWEEN now() - INTERVAL '1 hour' AND now()`, `ts >=
// current_date`) makes rows enter and leave the view as time passes. The
// conjuncts that do not read the time become an ordinary filter below a
// StreamTemporalFilter, which keeps the rows a bound can still move
// (exec/stream/temporal_filter.go).

// timeFuncs are the functions whose value is the statement's time: in a
// view, the epoch's time.
var timeFuncs = map[string]bool{"now": true, "current_timestamp": true, "transaction_timestamp": true,
	"statement_timestamp": true, "localtimestamp": true, "current_date": true}

// readsTime reports whether e calls a time function.
func readsTime(e plan.Scalar) bool {
	found := false
	plan.Visit(e, func(x plan.Scalar) {
		if c, ok := x.(*plan.Call); ok && (timeFuncs[c.Fn.Name] || c.Fn.Name == "clock_timestamp") {
			found = true
		}
	})
	return found
}

// temporalFilter plans a filter with conjuncts that read the time; ok is
// false when none does.
func (sp *streamPlanner) temporalFilter(x *plan.Filter) (*stream.Node, []int, bool, error) {
	var rest []plan.Scalar
	type bound struct {
		row, now plan.Scalar
		op       string
	}
	var bounds []bound
	for _, c := range plan.SplitAnd(x.Pred, nil) {
		if !readsTime(c) {
			rest = append(rest, c)
			continue
		}
		row, now, op, err := temporalBound(c)
		if err != nil {
			return nil, nil, true, err
		}
		bounds = append(bounds, bound{row, now, op})
	}
	if len(bounds) == 0 {
		return nil, nil, false, nil
	}
	var child *stream.Node
	var cm []int
	var err error
	if len(rest) > 0 {
		child, cm, err = sp.convert(&plan.Filter{Input: x.Input, Pred: plan.AndAll(rest)})
	} else {
		child, cm, err = sp.convert(x.Input)
	}
	if err != nil {
		return nil, nil, true, err
	}
	spec := &stream.TemporalFilterSpec{Types: child.Types, KeyCols: child.StreamKey}
	lower := false
	for _, b := range bounds {
		row, err := remapProcTime(b.row, cm, child)
		if err != nil {
			return nil, nil, true, err
		}
		cr, err := sp.compiler.Compile(row)
		if err != nil {
			return nil, nil, true, err
		}
		cn, err := sp.compiler.Compile(b.now)
		if err != nil {
			return nil, nil, true, err
		}
		spec.Bounds = append(spec.Bounds, stream.TemporalBound{Row: cr, Now: cn, Op: b.op, T: b.now.Type()})
		lower = lower || b.op == ">" || b.op == ">="
	}
	n := inherit(child, spec)
	// Rows only enter a view bounded from above: over an append-only
	// input it stays append-only.
	n.AppendOnly = child.AppendOnly && !lower
	n.StateTables = []string{"rows by (bound value, stream key): the rows waiting to enter, and those a lower bound will remove",
		"the bounds' values of now() at the last barrier"}
	return n, cm, true, nil
}

// temporalBound takes a conjunct apart into `row op now`: row reads
// only the row, now only the time, through operations that never make a
// later time smaller (so a bound flips at most once).
func temporalBound(c plan.Scalar) (row, now plan.Scalar, op string, err error) {
	refuse := func(why string) error {
		return sqlerr.New(sqlerr.FeatureNotSupported,
			"materialized views cannot yet maintain this condition on the current time: %s", why).
			WithHint("Compare a column with now() (or current_date) plus or minus a constant interval, e.g. WHERE ts > now() - INTERVAL '1 hour', alone or ANDed with other conditions.")
	}
	call, ok := c.(*plan.Call)
	flip := map[string]string{"<": ">", "<=": ">=", ">": "<", ">=": "<="}
	if !ok || len(call.Args) != 2 || flip[call.Fn.Name] == "" {
		return nil, nil, "", refuse("only <, <=, >, >= and BETWEEN comparisons with now() can be kept up to date as time passes")
	}
	l, r := call.Args[0], call.Args[1]
	op = call.Fn.Name
	if readsTime(l) {
		l, r, op = r, l, flip[op]
	}
	if readsTime(l) {
		return nil, nil, "", refuse("both sides of the comparison read the current time")
	}
	if !monotoneInTime(r) {
		return nil, nil, "", refuse("the time side must be now(), current_date or localtimestamp plus or minus constants, date_trunc or a cast of them")
	}
	// A comparison across time types compares in the wider one.
	t := r.Type()
	if l.Type().Kind != t.Kind {
		if t.Kind == types.DateKind || (t.Kind == types.TimestampKind && l.Type().Kind == types.TimestampTZ) {
			t = l.Type()
			r = &plan.Cast{Input: r, To: t}
		} else {
			l = &plan.Cast{Input: l, To: t}
		}
	}
	switch t.Kind {
	case types.TimestampKind, types.TimestampTZ, types.DateKind:
	default:
		return nil, nil, "", refuse("the comparison is of type " + t.String() + ", not a date or timestamp")
	}
	return l, r, op, nil
}

// monotoneInTime reports whether e reads the time through operations
// that keep its order: time functions, constants, casts, adding or
// subtracting a constant, date_trunc with a constant unit.
func monotoneInTime(e plan.Scalar) bool {
	switch x := e.(type) {
	case *plan.Const:
		return true
	case *plan.Cast:
		switch x.To.Kind {
		case types.TimestampKind, types.TimestampTZ, types.DateKind:
			return monotoneInTime(x.Input)
		}
	case *plan.Call:
		if timeFuncs[x.Fn.Name] {
			return len(x.Args) == 0
		}
		switch x.Fn.Name {
		case "+":
			_, c0 := x.Args[0].(*plan.Const)
			_, c1 := x.Args[1].(*plan.Const)
			return len(x.Args) == 2 && ((c0 && monotoneInTime(x.Args[1])) || (c1 && monotoneInTime(x.Args[0])))
		case "-":
			_, c1 := x.Args[1].(*plan.Const)
			return len(x.Args) == 2 && c1 && monotoneInTime(x.Args[0])
		case "date_trunc":
			_, c0 := x.Args[0].(*plan.Const)
			return len(x.Args) >= 2 && c0 && monotoneInTime(x.Args[1])
		}
	}
	return false
}
