package plan

import (
	"strings"

	"streamsql/sql/types"
	"streamsql/udf"
)

// TableFunction is a set-returning function in FROM (generate_series(1,
// 3), unnest(a)): its rows are the function's for Args, evaluated when
// it opens (once per outer row of a LATERAL call). With Ordinality a
// trailing bigint column numbers the rows from 1 (WITH ORDINALITY).
type TableFunction struct {
	Fn         *udf.TableFunc
	Args       []Scalar
	Ordinality bool
}

// ArgTypes returns the types of Args.
func (f *TableFunction) ArgTypes() []types.T {
	ts := make([]types.T, len(f.Args))
	for i, a := range f.Args {
		ts[i] = a.Type()
	}
	return ts
}

// OutputTypes returns the function's column types, then bigint for the
// ordinality.
func (f *TableFunction) OutputTypes() []types.T {
	var ts []types.T
	if f.Fn.Cols != nil {
		_, cts := f.Fn.Cols(f.ArgTypes())
		ts = append(ts, cts...)
	}
	if f.Ordinality {
		ts = append(ts, types.TInt8)
	}
	return ts
}

// String renders the call for plan trees: "table function
// generate_series(1, 3) with ordinality".
func (f *TableFunction) String() string {
	s := "table function " + f.Fn.Name + "(" + list(f.Args) + ")"
	if f.Ordinality {
		s += " with ordinality"
	}
	return s
}

// ProjectSet evaluates set-returning functions of a select list (SELECT
// unnest(a) FROM t) over each row of Input, in lockstep: a row gives as
// many rows as its longest result, with Input's columns and then one
// column per call, NULL where a call's result has run out.
type ProjectSet struct {
	Input Rel
	Calls []SetCall
}

// SetCall is one set-returning call of a ProjectSet, with the type of
// the column it adds.
type SetCall struct {
	Fn   *udf.TableFunc
	Args []Scalar
	T    types.T
}

// OutputTypes returns Input's column types, then one per call.
func (p *ProjectSet) OutputTypes() []types.T {
	ts := append([]types.T{}, p.Input.OutputTypes()...)
	for _, c := range p.Calls {
		ts = append(ts, c.T)
	}
	return ts
}

// String renders the calls for plan trees: "project set unnest(#1)".
func (p *ProjectSet) String() string {
	parts := make([]string, len(p.Calls))
	for i, c := range p.Calls {
		parts[i] = c.Fn.Name + "(" + list(c.Args) + ")"
	}
	return "project set " + strings.Join(parts, ", ")
}
