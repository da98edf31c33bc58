package sortedpart

// Running aggregates under EMIT ON WINDOW CLOSE (over_window_eowc.go).
//
// sum, count, min and max over a frame from UNBOUNDED PRECEDING to the
// CURRENT ROW (ROWS, or RANGE, the default frame, which ends at the
// row's peers) read every earlier row of the partition, but only through
// their value at the row before: the value at row i is the aggregate of
// the rows up to i. So emitted rows are trimmed as for the other
// functions, and the partition keeps, per running aggregate, its value at
// the last trimmed row (a trim ends at a peer group boundary, so that
// value covers exactly the trimmed rows). The value at a kept row is that
// base combined with the aggregate over the kept rows the batch window
// computes: added for sum and count (a NULL side is left out, as sum
// skips NULLs), the smaller or larger for min and max. The bases are
// stored with the partition's rank bases, after them in the same row.
// Other functions that read every earlier row (avg, string_agg, a frame
// that does not end at the current row) still keep every row.

import (
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/exec"
	"streamsql/exec/batch"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/udf"
)

// owRunning is a running aggregate: its function index and, for sum and
// count, the operator that adds two of its values.
type owRunning struct {
	fn   int
	name string
	t    types.T
	add  *udf.Scalar
}

// eowcRunningAgg reports whether f is a running aggregate whose value a
// base can stand for.
func eowcRunningAgg(f batch.WindowFunc) bool {
	if f.Agg == nil {
		return false
	}
	switch f.Agg.Name {
	case "sum", "count", "min", "max":
	default:
		return false
	}
	fr := f.Frame
	if fr.Start.Kind != batch.UnboundedPreceding {
		return false
	}
	switch {
	case fr.End.Kind == batch.UnboundedPreceding:
		return true // the default frame: RANGE UNBOUNDED PRECEDING AND CURRENT ROW
	case fr.End.Kind == batch.CurrentRow:
		return fr.Mode == batch.RowsFrame || fr.Mode == batch.RangeFrame
	}
	return false
}

// eowcTrimRunning is eowcTrim for s when its running aggregates are
// kept as bases: the lookbehind of the other functions, and the running
// aggregates; false when those others read every earlier row or there
// is no running aggregate.
func eowcTrimRunning(ctx *exec.Ctx, s *OverWindowSpec) (int, []owRunning, bool, error) {
	rest := *s
	rest.Funcs, rest.Offsets = nil, nil
	var running []owRunning
	for i, f := range s.Funcs {
		if eowcRunningAgg(f) {
			r := owRunning{fn: i, name: f.Agg.Name, t: f.T}
			if r.name == "sum" || r.name == "count" {
				add, _, err := udf.LookupOperator("+", f.T, f.T)
				if err != nil {
					return 0, nil, false, nil // no way to add: keep every row
				}
				r.add = add
			}
			running = append(running, r)
			continue
		}
		rest.Funcs = append(rest.Funcs, f)
		if i < len(s.Offsets) {
			rest.Offsets = append(rest.Offsets, s.Offsets[i])
		}
	}
	if len(running) == 0 {
		return 0, nil, false, nil
	}
	rc, err := overWindowReaches(ctx, &rest)
	if err != nil {
		return 0, nil, false, err
	}
	behind, ok := eowcTrim(rc)
	return behind, running, ok, nil
}

// baseTypes returns the columns of a stored base: the trimmed rows, their
// peer groups, then each running aggregate's value.
func (e *eowcState) baseTypes() []types.T {
	if len(e.running) == 0 {
		return eowcBaseTypes
	}
	ts := slices.Clone(eowcBaseTypes)
	for _, r := range e.running {
		ts = append(ts, r.t)
	}
	return ts
}

// baseRow returns p's base as a row of baseTypes.
func (e *eowcState) baseRow(p *owPart) []types.Datum {
	row := []types.Datum{p.base, p.denseBase}
	for k := range e.running {
		var d types.Datum
		if p.runBase != nil {
			d = p.runBase[k]
		}
		row = append(row, d)
	}
	return row
}

// setRunBases takes the running aggregates' values at the last row
// trimmed, whose encoded function values are out.
func (w *overWindow) setRunBases(p *owPart, out []byte) error {
	e := w.eowc
	if len(e.running) == 0 {
		return nil
	}
	vals, err := types.DecodeRow(out, w.funcTypes())
	if err != nil {
		return sqlerr.Wrap(fmt.Errorf("over window: function values: %w", err), sqlerr.DataCorrupted)
	}
	if p.runBase == nil {
		p.runBase = make([]types.Datum, len(e.running))
	}
	for k, r := range e.running {
		p.runBase[k] = vals[r.fn]
	}
	return nil
}

// funcTypes returns the types of the functions' values.
func (w *overWindow) funcTypes() []types.T { return w.outTypes[w.nIn:] }

// addRunBases combines the values cols (one column per batch function,
// rows of rb) of the running aggregates with the bases of their
// partitions (jobs, by the job column of rb); it returns the columns to
// encode, releasing those it replaced.
func (w *overWindow) addRunBases(jobs []owJob, rb *exec.Batch, cols []arrow.Array) ([]arrow.Array, error) {
	e := w.eowc
	if e == nil || len(e.running) == 0 {
		return cols, nil
	}
	job := rb.Cols[w.nIn+1].(*array.Int64).Int64Values()
	any := false
	for _, j := range jobs {
		if j.p.runBase != nil {
			any = true
		}
	}
	if !any {
		return cols, nil
	}
	out := slices.Clone(cols)
	for k, r := range e.running {
		bat := slices.Index(w.batchIdx, r.fn)
		if bat < 0 {
			continue
		}
		col := cols[bat]
		bases := make([]types.Datum, rb.N)
		for i := range rb.N {
			if p := jobs[job[i]].p; p.runBase != nil {
				bases[i] = p.runBase[k]
			}
		}
		var sum arrow.Array
		if r.add != nil {
			b := types.ArrayFromDatums(r.t, bases)
			s, err := r.add.Call(&w.env.Ctx.Env, []types.T{r.t, r.t}, []arrow.Array{b, col}, rb.N)
			b.Release()
			if err != nil {
				return nil, err
			}
			sum = s
		}
		vals := make([]types.Datum, rb.N)
		for i := range rb.N {
			v, base := types.GetDatum(col, i, r.t), bases[i]
			switch {
			case base == nil:
				vals[i] = v
			case v == nil:
				vals[i] = base
			case sum != nil:
				vals[i] = types.GetDatum(sum, i, r.t)
			case (types.Compare(base, v, r.t) < 0) == (r.name == "min"):
				vals[i] = base
			default:
				vals[i] = v
			}
		}
		if sum != nil {
			sum.Release()
		}
		out[bat] = types.ArrayFromDatums(r.t, vals)
	}
	return out, nil
}
