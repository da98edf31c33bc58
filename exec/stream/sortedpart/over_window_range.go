package sortedpart

// Which rows of a partition an over window recomputes after a change,
// and how it computes them.
//
// A change of the rows at positions [f, g) (after the change; rows
// outside are the same rows in the same order as before) can change the
// value of a function at row i only if row i's input to the function
// reaches into [f, g) or its position counts:
//
//   - ROWS frame [i+s, i+e]: rows f-e .. g-s-1 (e, s signed offsets;
//     UNBOUNDED counts as the whole partition), computed over the rows
//     their frames reach: i+s .. i+e.
//   - RANGE or GROUPS frames without offsets: the same with 0 for CURRENT
//     ROW, after widening every range to whole peer groups.
//   - row_number, rank, dense_rank: every row from f on (positions move).
//   - lag(x, k): rows f .. g+k-1, reading k rows before; lead the mirror.
//   - ntile, percent_rank, cume_dist (they depend on the partition's
//     size), RANGE or GROUPS with offsets and lag/lead with a variable
//     offset: the whole partition.

import (
	"bytes"
	"encoding/binary"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/exec"
	"streamsql/exec/batch"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// owInf is an unbounded reach.
const owInf = math.MaxInt32

// owReach says how far outside a change of the rows the function values
// may change (before, after) and how many more rows the recomputation
// reads on each side (ctxBefore, ctxAfter); full: every row, always.
type owReach struct {
	full                bool
	before, after       int
	ctxBefore, ctxAfter int
}

func (r owReach) merge(o owReach) owReach {
	return owReach{full: r.full || o.full,
		before: max(r.before, o.before), after: max(r.after, o.after),
		ctxBefore: max(r.ctxBefore, o.ctxBefore), ctxAfter: max(r.ctxAfter, o.ctxAfter)}
}

// ranges returns, for a change of positions [f, g) of a partition of n
// rows, the positions [a, b) to recompute and the rows [ca, cb) to read.
func (r owReach) ranges(f, g, n int) (a, b, ca, cb int) {
	if r.full {
		return 0, n, 0, n
	}
	clamp := func(v int) int { return max(0, min(n, v)) }
	a = clamp(f - min(r.before, owInf))
	b = clamp(g + min(r.after, owInf))
	ca = clamp(a - r.ctxBefore)
	cb = clamp(b + r.ctxAfter)
	return a, b, ca, cb
}

// overWindowReaches returns the reach of all of s's functions.
func overWindowReaches(ctx *exec.Ctx, s *OverWindowSpec) (owReach, error) {
	var all owReach
	for i, f := range s.Funcs {
		var r owReach
		switch {
		case f.Agg != nil || f.Name == "first_value" || f.Name == "last_value" || f.Name == "nth_value":
			var err error
			if r, err = overWindowFrameReach(ctx, f.Frame); err != nil {
				return all, err
			}
		case f.Name == "row_number" || f.Name == "rank" || f.Name == "dense_rank":
			r = owReach{after: owInf}
		case f.Name == "lag" || f.Name == "lead":
			k := int64(-1)
			if i < len(s.Offsets) {
				k = s.Offsets[i]
			}
			switch {
			case k < 0 || k >= owInf:
				r.full = true
			case f.Name == "lag":
				r = owReach{after: int(k), ctxBefore: int(k)}
			default:
				r = owReach{before: int(k), ctxAfter: int(k)}
			}
		default:
			r.full = true
		}
		all = all.merge(r)
	}
	return all, nil
}

// overWindowFrameReach is the reach of a function over frame fr.
func overWindowFrameReach(ctx *exec.Ctx, fr batch.Frame) (owReach, error) {
	if fr.Start.Kind == batch.UnboundedPreceding && fr.End.Kind == batch.UnboundedPreceding {
		// The zero frame: RANGE UNBOUNDED PRECEDING AND CURRENT ROW.
		fr.End.Kind = batch.CurrentRow
	}
	offsets := fr.Start.Kind == batch.OffsetPreceding || fr.Start.Kind == batch.OffsetFollowing ||
		fr.End.Kind == batch.OffsetPreceding || fr.End.Kind == batch.OffsetFollowing
	if fr.Mode != batch.RowsFrame && offsets {
		return owReach{full: true}, nil
	}
	s, err := overWindowBound(ctx, fr.Start, "starting")
	if err != nil {
		return owReach{}, err
	}
	e, err := overWindowBound(ctx, fr.End, "ending")
	if err != nil {
		return owReach{}, err
	}
	return owReach{before: max(0, e), after: max(0, -s), ctxBefore: max(0, -s), ctxAfter: max(0, e)}, nil
}

// overWindowBound is a ROWS frame bound as a signed row offset
// (±owInf when unbounded).
func overWindowBound(ctx *exec.Ctx, b batch.FrameBound, which string) (int, error) {
	switch b.Kind {
	case batch.UnboundedPreceding:
		return -owInf, nil
	case batch.UnboundedFollowing:
		return owInf, nil
	case batch.CurrentRow:
		return 0, nil
	}
	if b.Offset == nil {
		return 0, sqlerr.New(sqlerr.InternalError, "frame %s offset missing", which)
	}
	arr, err := b.Offset.Eval(ctx, &exec.Batch{N: 1})
	if err != nil {
		return 0, err
	}
	defer arr.Release()
	d := types.GetDatum(arr, 0, b.Offset.Type())
	if d == nil {
		return 0, sqlerr.New(sqlerr.NullValueNotAllowed, "frame %s offset must not be null", which)
	}
	k, ok := d.(int64)
	if !ok {
		return 0, sqlerr.New(sqlerr.InternalError, "frame %s offset of type %s", which, b.Offset.Type())
	}
	if k < 0 {
		return 0, sqlerr.New("22013", "frame %s offset must not be negative", which)
	}
	k = min(k, owInf)
	if b.Kind == batch.OffsetPreceding {
		return -int(k), nil
	}
	return int(k), nil
}

// compute sets w.newOut[j.off+i-j.a] to the encoded function values of
// row i of j.p for every job j and i in [j.a, j.b), reading rows
// [j.ca, j.cb); total is the number of values. One batch window
// operator computes every job, each job's rows a partition of its own.
func (w *overWindow) compute(jobs []owJob, total int) error {
	w.newOut = topNReset(w.newOut, total)
	if total == 0 {
		return nil
	}
	w.natVals = w.natVals[:0]
	for _, fi := range w.native {
		vals := make([]int64, total)
		for _, j := range jobs {
			if j.b > j.a {
				w.countRanks(j.p, w.spec.Funcs[fi].Name, j.a, vals[j.off:j.off+j.b-j.a])
			}
		}
		w.natVals = append(w.natVals, vals)
	}
	if len(w.batchFuncs) == 0 {
		w.outSel = w.outSel[:0]
		w.outVals = topNReset(w.outVals, total)
		for r := range total {
			w.outSel = append(w.outSel, int32(r))
		}
		w.encodeOut(w.outSel, nil, func(r int) int { return r })
		return nil
	}
	win := batch.NewWindow(w.contextRows(jobs), []int{w.nIn + 1}, w.spec.Order, w.batchFuncs)
	if err := win.Open(w.env.Ctx); err != nil {
		win.Close()
		return err
	}
	defer win.Close()
	for {
		rb, err := win.Next(w.env.Ctx)
		if err != nil {
			return err
		}
		if rb == nil {
			return nil
		}
		pos := rb.Cols[w.nIn].(*array.Int64).Int64Values()
		w.outSel = w.outSel[:0]
		for r := range rb.N {
			if pos[r] >= 0 {
				w.outSel = append(w.outSel, int32(r))
			}
		}
		w.outVals = topNReset(w.outVals, rb.N)
		cols, err := w.addRunBases(jobs, rb, rb.Cols[w.nIn+2:])
		if err != nil {
			rb.Release()
			return err
		}
		w.encodeOut(w.outSel, cols, func(r int) int { return int(pos[r]) })
		for k, c := range cols {
			if c != rb.Cols[w.nIn+2+k] {
				c.Release()
			}
		}
		rb.Release()
	}
}

// encodeOut encodes, for each result row r in sel, the function values
// (natively counted ones from w.natVals, the others from cols) into
// w.newOut[at(r)].
func (w *overWindow) encodeOut(sel []int32, cols []arrow.Array, at func(r int) int) {
	for _, r := range sel {
		w.outVals[r] = binary.AppendUvarint(w.outVals[r], uint64(len(w.spec.Funcs)))
	}
	nat, bat := 0, 0
	for fi, f := range w.spec.Funcs {
		if w.isNative[fi] {
			vals := w.natVals[nat]
			nat++
			for _, r := range sel {
				w.outVals[r] = types.AppendIntValue(w.outVals[r], vals[at(int(r))])
			}
			continue
		}
		types.AppendValues(w.outVals, sel, cols[bat], f.T)
		bat++
	}
	for _, r := range sel {
		i := at(int(r))
		w.newOut[i] = append(w.newOut[i][:0], w.outVals[r]...)
	}
}

// countRanks fills vals with row_number, rank or dense_rank of p's rows
// a, a+1, ..., counting the rows trimmed before rows[0] (p.base).
func (w *overWindow) countRanks(p *owPart, name string, a int, vals []int64) {
	rows := p.rows
	switch name {
	case "row_number":
		for k := range vals {
			vals[k] = p.base + int64(a+k+1)
		}
	case "rank":
		start := p.peerStart(a)
		for k := range vals {
			i := a + k
			if i > start && !bytes.Equal(rows[i].order(), rows[i-1].order()) {
				start = i
			}
			vals[k] = p.base + int64(start+1)
		}
	default:
		dense := int64(1)
		for i := 1; i <= a && i < len(rows); i++ {
			if !bytes.Equal(rows[i].order(), rows[i-1].order()) {
				dense++
			}
		}
		for k := range vals {
			i := a + k
			if k > 0 && !bytes.Equal(rows[i].order(), rows[i-1].order()) {
				dense++
			}
			vals[k] = p.denseBase + dense
		}
	}
}

// contextRows returns the rows [j.ca, j.cb) of every job as a batch
// operator: the input columns, then the row's index in w.newOut (-1 for
// rows only read) and its job (both bigint).
func (w *overWindow) contextRows(jobs []owJob) exec.Operator {
	if w.ctxBuild == nil {
		for _, t := range w.spec.Types {
			w.ctxBuild = append(w.ctxBuild, types.NewBuilder(t))
		}
		w.ctxBuild = append(w.ctxBuild, types.NewBuilder(types.TInt8), types.NewBuilder(types.TInt8))
	}
	pos := w.ctxBuild[w.nIn].(*array.Int64Builder)
	part := w.ctxBuild[w.nIn+1].(*array.Int64Builder)
	n := 0
	for _, j := range jobs {
		if j.b > j.a {
			n += j.cb - j.ca
		}
	}
	for _, bld := range w.ctxBuild {
		bld.Reserve(n)
	}
	s := &owScan{ts: append(append([]types.T(nil), w.spec.Types...), types.TInt8, types.TInt8), n: n}
	for k, j := range jobs {
		if j.b <= j.a {
			continue // nothing to compute
		}
		for i := j.ca; i < j.cb; i++ {
			if err := w.dec.DecodeInto(j.p.rows[i].val(), w.ctxBuild[:w.nIn]); err != nil {
				s.err = sqlerr.Wrap(err, sqlerr.DataCorrupted)
			}
			if i >= j.a && i < j.b {
				pos.Append(int64(j.off + i - j.a))
			} else {
				pos.Append(-1)
			}
			part.Append(int64(k))
		}
	}
	for _, bld := range w.ctxBuild {
		s.cols = append(s.cols, bld.NewArray())
	}
	return s
}

// owScan hands the window operator one batch of rows.
type owScan struct {
	ts   []types.T
	cols []arrow.Array
	n    int
	err  error
}

func (s *owScan) Open(*exec.Ctx) error { return s.err }
func (s *owScan) Next(*exec.Ctx) (*exec.Batch, error) {
	if s.cols == nil || s.err != nil {
		return nil, s.err
	}
	b := &exec.Batch{Cols: s.cols, N: s.n}
	s.cols = nil
	return b, nil
}
func (s *owScan) Close() {
	for _, c := range s.cols {
		c.Release()
	}
	s.cols = nil
}
func (s *owScan) Types() []types.T          { return s.ts }
func (s *owScan) Explain() string           { return "OverWindowRows" }
func (s *owScan) Children() []exec.Operator { return nil }
