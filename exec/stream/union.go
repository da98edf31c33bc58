package stream

import (
	"cmp"

	"streamsql/exec/expr"
	"streamsql/sql/types"
)

// UnionSpec merges its inputs, which have the same columns. The planner
// gives each input a distinct tag in its stream key so that keys stay
// unique. A watermark is forwarded on a column once every input has
// passed it (the minimum over the inputs).
//
// An input whose last watermark was marked Idle (its source brought no
// row for its idle timeout, watermark_filter.go) is left out of that
// minimum until it brings a row again; when every input is idle the
// minimum is over all of them (each moves on with the epoch time). Rows
// such an input brings behind the watermark the union already sent are
// late: they are dropped and counted as the watermark filters count
// theirs. An input that never brought a row and sent an idle mark
// (stream.go) is left out the same way.
//
// The declared watermark (Watermark.Emit, with an allowed lateness) goes
// on as the minimum of the inputs' over the same inputs, each input's
// being its Val where it sent no Emit.
//
// State: none (the latest watermark per input is in memory; after a
// restart watermarks start again from the sources).
type UnionSpec struct {
	Types []types.T
}

func (s *UnionSpec) Explain() string { return "StreamUnionAll" }

func (s *UnionSpec) Build(b *BuildCtx, out Output) (Operator, error) {
	return &union{n: len(b.Inputs), ts: s.Types, out: out, env: b.Env, wms: map[int][]types.Datum{}, sent: map[int]types.Datum{},
		emits: map[int][]types.Datum{}, sentEmit: map[int]types.Datum{},
		idle: make([]bool, len(b.Inputs)), marked: map[int]bool{}}, nil
}

type union struct {
	n    int
	ts   []types.T
	out  Output
	env  *Env
	wms  map[int][]types.Datum // column -> latest watermark per input
	sent map[int]types.Datum
	// emits is per column the latest Emit per input (its Val where it
	// sent none); sentEmit the minimum last sent.
	emits    map[int][]types.Datum
	sentEmit map[int]types.Datum
	// idle marks the inputs whose last watermark was idle (or an idle
	// mark: Output.Watermark); marked the columns whose idle mark went
	// out because every input sent one.
	idle   []bool
	marked map[int]bool
	keep   []int
}

func (u *union) Chunk(side int, c *Chunk) error {
	if c.N == 0 {
		return u.out.Chunk(c)
	}
	if side >= 0 && side < u.n {
		u.idle[side] = false
	}
	for col, s := range u.sent {
		if w := u.wms[col]; w != nil && side >= 0 && side < u.n && w[side] != nil && types.Compare(w[side], s, u.ts[col]) >= 0 {
			continue // this input is past what was sent: no row of it is behind
		}
		c = u.dropBehind(c, col, s)
	}
	return u.out.Chunk(c)
}

// dropBehind drops and counts the rows of c whose column col is below wm.
func (u *union) dropBehind(c *Chunk, col int, wm types.Datum) *Chunk {
	t := u.ts[col]
	u.keep = u.keep[:0]
	for i := 0; i < c.N; i++ {
		if d := types.GetDatum(c.Cols[col], i, t); d != nil && types.Compare(d, wm, t) < 0 {
			continue
		}
		u.keep = append(u.keep, i)
	}
	late := c.N - len(u.keep)
	if late == 0 {
		return c
	}
	if u.env != nil && u.env.Stats != nil {
		u.env.CountLate(int64(late))
	}
	ops := make([]Op, len(u.keep))
	for k, i := range u.keep {
		ops[k] = c.Ops[i]
	}
	b := expr.Take(c.Batch(), u.keep)
	c.Release()
	return &Chunk{Cols: b.Cols, Ops: ops, N: b.N}
}

func (u *union) Watermark(side int, w Watermark) error {
	ws := u.wms[w.Col]
	if ws == nil {
		ws = make([]types.Datum, u.n)
		u.wms[w.Col] = ws
	}
	if w.Val != nil || ws[side] == nil {
		ws[side] = w.Val
	}
	es := u.emits[w.Col]
	if es == nil {
		es = make([]types.Datum, u.n)
		u.emits[w.Col] = es
	}
	if e := cmp.Or(w.Emit, w.Val); e != nil {
		es[side] = e
	}
	u.idle[side] = w.Idle
	t := u.ts[w.Col]
	var low, all, lowEmit, allEmit types.Datum
	allIdle := true
	less := func(a, b types.Datum) bool { return b == nil || types.Compare(a, b, t) < 0 }
	for i, v := range ws {
		if v == nil {
			if u.idle[i] {
				continue
			}
			return nil
		}
		e := cmp.Or(es[i], v)
		if less(v, all) {
			all = v
		}
		if less(e, allEmit) {
			allEmit = e
		}
		if u.idle[i] {
			continue
		}
		allIdle = false
		if less(v, low) {
			low = v
		}
		if less(e, lowEmit) {
			lowEmit = e
		}
	}
	if allIdle {
		low, lowEmit = all, allEmit
	}
	if low == nil {
		if allIdle && !u.marked[w.Col] {
			// Every input sent an idle mark: pass one on, once.
			u.marked[w.Col] = true
			return u.out.Watermark(Watermark{Col: w.Col, Idle: true})
		}
		return nil
	}
	prev, ok := u.sent[w.Col]
	moved := !ok || types.Compare(low, prev, t) > 0
	emitMoved := less(low, lowEmit) && (u.sentEmit[w.Col] == nil || types.Compare(lowEmit, u.sentEmit[w.Col], t) > 0)
	if !moved && !emitMoved {
		return nil
	}
	if moved {
		u.sent[w.Col] = low
	}
	if emitMoved {
		u.sentEmit[w.Col] = lowEmit
	}
	out := Watermark{Col: w.Col, Val: u.sent[w.Col], Idle: allIdle}
	if e := u.sentEmit[w.Col]; e != nil && types.Compare(e, out.Val, t) > 0 {
		out.Emit = e
	}
	return u.out.Watermark(out)
}

func (u *union) Barrier(b *Barrier) error { return u.out.Barrier(b) }

// TakesIdleMarks: idle marks pass through (see Output.Watermark).
func (u *union) TakesIdleMarks() bool { return true }
