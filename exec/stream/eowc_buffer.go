package stream

import (
	"sort"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"

	"streamsql/sql/types"
)

// EowcBufferSpec makes a non-aggregating view EMIT ON WINDOW CLOSE: rows
// wait until the watermark on column Col passes them and are then emitted
// once, in Col order, as inserts. A delete of a row still waiting removes
// it; a delete of a row already emitted is ignored (the output is
// append-only).
//
// State: one state table, (Col value, stream key) -> row, for the rows
// waiting; written at barriers, deleted as rows are emitted.
type EowcBufferSpec struct {
	Col     int
	Types   []types.T
	KeyCols []int
}

func (s *EowcBufferSpec) Explain() string { return "StreamEowcBuffer #" + strconv.Itoa(s.Col) }

func (s *EowcBufferSpec) Build(b *BuildCtx, out Output) (Operator, error) {
	keys := []KeyCol{{T: s.Types[s.Col]}}
	for _, k := range s.KeyCols {
		keys = append(keys, KeyCol{T: s.Types[k]})
	}
	e := &eowcBuffer{spec: s, env: b.Env, out: out, state: b.NewStateTable(keys, s.Types),
		rows: map[string][]types.Datum{}, dirty: map[string]bool{}}
	if !b.Env.Fresh {
		err := e.state.Scan(b.Env.State, nil, func(k, v []byte) error {
			row, err := e.state.DecodeValue(v)
			if err != nil {
				return err
			}
			e.rows[string(k)] = row
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return e, nil
}

type eowcBuffer struct {
	spec  *EowcBufferSpec
	env   *Env
	out   Output
	state *StateTable
	rows  map[string][]types.Datum
	dirty map[string]bool
	buf   []byte
	kv    []types.Datum // scratch: a row's key values
}

func (e *eowcBuffer) key(row []types.Datum) string {
	e.kv = append(e.kv[:0], row[e.spec.Col])
	for _, k := range e.spec.KeyCols {
		e.kv = append(e.kv, row[k])
	}
	e.buf = e.state.AppendKey(e.buf[:0], e.kv...)
	return string(e.buf)
}

func (e *eowcBuffer) Chunk(_ int, c *Chunk) error {
	for i := 0; i < c.N; i++ {
		row := c.Row(i, e.spec.Types)
		k := e.key(row)
		if c.Ops[i].IsInsert() {
			e.rows[k] = row
		} else {
			delete(e.rows, k)
		}
		e.dirty[k] = true
	}
	c.Release()
	return nil
}

func (e *eowcBuffer) Watermark(_ int, w Watermark) error {
	if w.Col != e.spec.Col {
		return nil
	}
	if w.Val == nil {
		// An idle mark: the input never brought a row, so none waits;
		// the views reading this one leave it out.
		return e.out.Watermark(w)
	}
	bound := e.state.AppendKey(nil, w.Val)
	var keys []string
	for k := range e.rows {
		// The key starts with the column's order-preserving encoding, so
		// it sorts below bound exactly when the value is below w.Val.
		if k < string(bound) {
			keys = append(keys, k)
		}
	}
	if len(keys) > 0 {
		sort.Strings(keys)
		cols := make([]arrow.Array, len(e.spec.Types))
		for j, ct := range e.spec.Types {
			ds := make([]types.Datum, len(keys))
			for i, k := range keys {
				ds[i] = e.rows[k][j]
			}
			cols[j] = types.ArrayFromDatums(ct, ds)
		}
		for _, k := range keys {
			delete(e.rows, k)
			e.dirty[k] = true
		}
		if err := e.out.Chunk(NewChunk(cols, make([]Op, len(keys)))); err != nil {
			return err
		}
	}
	return e.out.Watermark(w)
}

// TakesIdleMarks: idle marks pass through (see Output.Watermark).
func (e *eowcBuffer) TakesIdleMarks() bool { return true }

func (e *eowcBuffer) Barrier(b *Barrier) error {
	for k := range e.dirty {
		if row, ok := e.rows[k]; ok {
			if err := e.state.Insert(b.Writes, []byte(k), e.state.AppendValue(nil, row)); err != nil {
				return err
			}
		} else if err := e.state.Delete(b.Writes, []byte(k)); err != nil {
			return err
		}
	}
	clear(e.dirty)
	return e.out.Barrier(b)
}
