package stream

import (
	"encoding/binary"

	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/sql/types"
)

// RowIDSpec appends a hidden int8 row id to an append-only source that has
// no key of its own, so that its rows can be told apart downstream. Ids
// are assigned in arrival order from a counter that is checkpointed with
// the source position, so a replay after a crash assigns the same ids.
//
// State: one state table holding the next id under the empty key.
type RowIDSpec struct{}

func (s *RowIDSpec) Explain() string { return "StreamRowIdGen" }

func (s *RowIDSpec) Build(b *BuildCtx, out Output) (Operator, error) {
	r := &rowID{out: out, state: b.NewStateTable(nil, nil)}
	if !b.Env.Fresh {
		v, found, err := r.state.Get(b.Env.State, nil)
		if err != nil {
			return nil, err
		}
		if found && len(v) == 8 {
			r.next = int64(binary.BigEndian.Uint64(v))
		}
	}
	return r, nil
}

type rowID struct {
	out   Output
	state *StateTable
	next  int64
}

func (r *rowID) Chunk(_ int, c *Chunk) error {
	b := array.NewInt64Builder(types.Mem)
	vals := make([]int64, c.N)
	for i := range vals {
		vals[i] = r.next
		r.next++
	}
	b.AppendValues(vals, nil)
	c.Cols = append(c.Cols, b.NewArray())
	b.Release()
	return r.out.Chunk(c)
}

func (r *rowID) Watermark(_ int, w Watermark) error { return r.out.Watermark(w) }

func (r *rowID) Barrier(b *Barrier) error {
	var v [8]byte
	binary.BigEndian.PutUint64(v[:], uint64(r.next))
	if err := r.state.Insert(b.Writes, nil, v[:]); err != nil {
		return err
	}
	return r.out.Barrier(b)
}

// TakesIdleMarks: idle marks pass through (see Output.Watermark).
func (r *rowID) TakesIdleMarks() bool { return true }
