package stream

import (
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/exec"
	"streamsql/exec/expr"
	"streamsql/sql/types"
)

// Per-split watermarks. A source whose splits are ordered independently
// (Kafka partitions) cannot take one maximum of its event times as its
// watermark: a partition that runs ahead would make every row of a
// partition behind it late. Such a source lets the driver generate the
// watermark: each split's watermark is the largest value of the
// WATERMARK FOR expression over that split's rows, and the source's
// watermark is the minimum over its splits. A split with no rows yet
// holds the watermark back (it may still bring old rows). With an idle
// timeout, a split that brought no message for that long stops holding it
// back until its next message. The emitted watermark never goes back.
//
// The state is derived, not stored: after a restart each split's
// watermark is unknown again until its next row. The watermark filter
// over the source persists the emitted watermark and ignores lower ones,
// so a restart never moves it back; a split without new rows holds it
// where it was, as its old watermark would have.

// SourceWatermark is a WATERMARK FOR the driver generates per split: Expr
// over the source's columns, watermarking column Col of type Type.
type SourceWatermark struct {
	Col  int
	Expr expr.Expr
	Type types.T
}

// SplitWatermarker is a source spec that can have its watermarks
// generated per split by the source driver. The planner hands it the
// source's watermarks and marks the watermark filters over it FromSource.
type SplitWatermarker interface {
	SourceSpec
	// WithSplitWatermarks returns the spec generating ws per split.
	WithSplitWatermarks(ws []SourceWatermark) SourceSpec
}

// SplitRows is a run of consecutive rows of a batch's chunk that came
// from one split. A run may have no rows: the split's messages were all
// rejects, which still count as activity for the idle timeout.
type SplitRows struct {
	ID string
	N  int
}

// splitWM is one split's watermark state.
type splitWM struct {
	vals []types.Datum // per watermark; nil: no row yet
	last time.Time     // last message
	idle bool
}

// watermarkGen tracks the watermarks of every split of a driven source.
type watermarkGen struct {
	ws      []SourceWatermark
	ctx     *exec.Ctx
	idle    time.Duration
	splits  map[string]*splitWM
	emitted []types.Datum
	now     func() time.Time
}

func newWatermarkGen(ws []SourceWatermark, ctx *exec.Ctx, idle time.Duration) *watermarkGen {
	if ctx == nil {
		ctx = &exec.Ctx{}
	}
	return &watermarkGen{ws: ws, ctx: ctx, idle: idle, splits: map[string]*splitWM{},
		emitted: make([]types.Datum, len(ws)), now: time.Now}
}

// add registers a split: it holds the watermark back until its first row
// (or until it has been idle for the timeout).
func (g *watermarkGen) add(id string) {
	if _, ok := g.splits[id]; !ok {
		g.splits[id] = &splitWM{vals: make([]types.Datum, len(g.ws)), last: g.now()}
	}
}

// observe takes a batch's rows into their splits' watermarks and returns
// the watermarks that advanced.
func (g *watermarkGen) observe(c *Chunk, runs []SplitRows) ([]Watermark, error) {
	n := 0
	for _, r := range runs {
		n += r.N
	}
	rows := 0
	if c != nil {
		rows = c.N
	}
	if n != rows {
		return nil, fmt.Errorf("source driver: split runs cover %d rows of a chunk of %d", n, rows)
	}
	now := g.now()
	for _, r := range runs {
		g.add(r.ID)
		s := g.splits[r.ID]
		s.last, s.idle = now, false
	}
	if rows > 0 {
		for i, w := range g.ws {
			vals, err := w.Expr.Eval(g.ctx, c.Batch())
			if err != nil {
				return nil, err
			}
			start := 0
			for _, r := range runs {
				if r.N > 0 {
					if m := maxOf(vals, start, start+r.N, w.Type); m != nil {
						s := g.splits[r.ID]
						if s.vals[i] == nil || types.Compare(m, s.vals[i], w.Type) > 0 {
							s.vals[i] = m
						}
					}
				}
				start += r.N
			}
			vals.Release()
		}
	}
	return g.advance(), nil
}

// tick marks splits idle whose last message is older than the timeout
// and returns the watermarks that advanced.
func (g *watermarkGen) tick() []Watermark {
	if g.idle <= 0 {
		return nil
	}
	now := g.now()
	changed := false
	for _, s := range g.splits {
		if !s.idle && now.Sub(s.last) >= g.idle {
			s.idle, changed = true, true
		}
	}
	if !changed {
		return nil
	}
	return g.advance()
}

// advance computes each watermark as the minimum over the active splits
// (or, when every split is idle, the largest any split reached) and
// returns those above what was emitted.
func (g *watermarkGen) advance() []Watermark {
	var out []Watermark
	for i, w := range g.ws {
		var low, high types.Datum
		active, held := false, false
		for _, s := range g.splits {
			v := s.vals[i]
			if v != nil && (high == nil || types.Compare(v, high, w.Type) > 0) {
				high = v
			}
			if s.idle {
				continue
			}
			active = true
			if v == nil {
				held = true
				continue
			}
			if low == nil || types.Compare(v, low, w.Type) < 0 {
				low = v
			}
		}
		next := low
		if held {
			next = nil
		} else if !active {
			next = high
		}
		if next != nil && (g.emitted[i] == nil || types.Compare(next, g.emitted[i], w.Type) > 0) {
			g.emitted[i] = next
			out = append(out, Watermark{Col: w.Col, Val: next})
		}
	}
	return out
}

// maxOf is the largest non-null value of a[lo:hi], nil if there is none.
func maxOf(a arrow.Array, lo, hi int, t types.T) types.Datum {
	nulls := a.NullN() > 0
	if !IntLike(t) {
		return maxDatum(a, lo, hi, t)
	}
	switch v := a.(type) {
	case *array.Timestamp:
		return maxInts(v.TimestampValues(), a, nulls, lo, hi, t)
	case *array.Int64:
		return maxInts(v.Int64Values(), a, nulls, lo, hi, t)
	case *array.Date32:
		return maxInts(v.Date32Values(), a, nulls, lo, hi, t)
	case *array.Int32:
		return maxInts(v.Int32Values(), a, nulls, lo, hi, t)
	}
	return maxDatum(a, lo, hi, t)
}

func maxDatum(a arrow.Array, lo, hi int, t types.T) types.Datum {
	var m types.Datum
	for i := lo; i < hi; i++ {
		if d := types.GetDatum(a, i, t); d != nil && (m == nil || types.Compare(d, m, t) > 0) {
			m = d
		}
	}
	return m
}

func maxInts[V ~int32 | ~int64](vals []V, a arrow.Array, nulls bool, lo, hi int, t types.T) types.Datum {
	var m int64
	found := false
	for i := lo; i < hi; i++ {
		if nulls && a.IsNull(i) {
			continue
		}
		if x := int64(vals[i]); !found || x > m {
			m, found = x, true
		}
	}
	if !found {
		return nil
	}
	return IntDatum(m, t)
}
