package stream

import (
	"streamsql/sql/types"
)

// UnionSpec merges its inputs, which have the same columns. The planner
// gives each input a distinct tag in its stream key so that keys stay
// unique. A watermark is forwarded on a column once every input has
// passed it (the minimum over the inputs).
//
// State: none (the latest watermark per input is in memory; after a
// restart watermarks start again from the sources).
type UnionSpec struct {
	Types []types.T
}

func (s *UnionSpec) Explain() string { return "StreamUnionAll" }

func (s *UnionSpec) Build(b *BuildCtx, out Output) (Operator, error) {
	return &union{n: len(b.Inputs), ts: s.Types, out: out, wms: map[int][]types.Datum{}, sent: map[int]types.Datum{}}, nil
}

type union struct {
	n    int
	ts   []types.T
	out  Output
	wms  map[int][]types.Datum // column -> latest watermark per input
	sent map[int]types.Datum
}

func (u *union) Chunk(_ int, c *Chunk) error { return u.out.Chunk(c) }

func (u *union) Watermark(side int, w Watermark) error {
	ws := u.wms[w.Col]
	if ws == nil {
		ws = make([]types.Datum, u.n)
		u.wms[w.Col] = ws
	}
	ws[side] = w.Val
	var low types.Datum
	for _, v := range ws {
		if v == nil {
			return nil
		}
		if low == nil || types.Compare(v, low, u.ts[w.Col]) < 0 {
			low = v
		}
	}
	if prev, ok := u.sent[w.Col]; ok && types.Compare(low, prev, u.ts[w.Col]) <= 0 {
		return nil
	}
	u.sent[w.Col] = low
	return u.out.Watermark(Watermark{Col: w.Col, Val: low})
}

func (u *union) Barrier(b *Barrier) error { return u.out.Barrier(b) }
