package sortedpart

// The over window's state cache (see "Memory" in over_window.go):
// partitions read back from storage, eviction under the state memory
// budget and the restart load. Unlike the top-N, whose rows past the
// N-th never matter, a window function may read any row of its
// partition, so a partition is either wholly in memory or wholly in
// storage.

import (
	"fmt"

	"streamsql/exec/stream"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/storage"
)

// Estimated bytes of a partition in memory besides its key and rows (the
// struct, its map and list entries) and of a row besides its bytes (its
// slot in the partition and the allocation headers).
const (
	owPartBytes = 256
	owRowBytes  = 64
)

// part returns the partition with key pk, reading it from storage when
// it may be there and is not in memory.
func (w *overWindow) part(pk []byte) (*owPart, error) {
	if p, ok := w.cache.Get(pk); ok {
		return p, nil
	}
	p := &owPart{CachedPart: stream.CachedPart{PKey: string(pk)}}
	if err := w.loadBase(w.env.State, p); err != nil {
		return nil, err
	}
	if w.cache.Evicted {
		if err := w.read(p); err != nil {
			return nil, fmt.Errorf("over window: read partition: %w", err)
		}
	}
	w.add(p)
	return p, nil
}

func (w *overWindow) add(p *owPart) {
	w.cache.Add(p)
	w.cache.Bytes += int64(owPartBytes + 2*len(p.PKey))
}

// drop forgets p (its rows are committed in storage, or it is empty).
func (w *overWindow) drop(p *owPart) {
	w.cache.Remove(p)
	n := int64(owPartBytes + 2*len(p.PKey))
	for i := range p.rows {
		n += int64(len(p.rows[i].kv)+len(p.rows[i].out)) + owRowBytes
	}
	w.cache.Bytes -= n
}

// read loads the rows of partition p, evicted or never loaded, and
// recomputes their function values: its last write has committed (an
// evicted partition is clean, an emptied one stays in memory until its
// deletes commit), so storage alone holds its rows, and the values
// emitted for them follow from the rows as at a restart.
func (w *overWindow) read(p *owPart) error {
	rows, _, err := readRows(w.state, w.env, []byte(p.PKey), p.rows, -1, func(sk, val []byte) (owRow, error) {
		return w.storedRow(sk, val, nil)
	})
	p.rows = rows
	if err != nil {
		return err
	}
	if err := w.settle(p, false); err != nil {
		return err
	}
	w.settled(p)
	return nil
}

// storedRow makes a row from a state entry: sk is its sort key, val its
// value, row its decoded value or nil. The order key's length comes from
// the decoded row.
func (w *overWindow) storedRow(sk, val []byte, row []types.Datum) (owRow, error) {
	if row == nil {
		var err error
		if row, err = types.DecodeRow(val, w.spec.Types); err != nil {
			return owRow{}, sqlerr.Wrap(fmt.Errorf("over window state: %w", err), sqlerr.DataCorrupted)
		}
	}
	ok := w.kbuf[:0]
	for j, k := range w.spec.Order {
		ok = w.state.AppendKeyValue(ok, len(w.spec.Partition)+j, row[k.Col])
	}
	w.kbuf = ok
	kv, err := sortedEntry("over window", sk, val, ok)
	if err != nil {
		return owRow{}, err
	}
	return owRow{kv: kv, ol: int32(len(ok)), kl: int32(len(sk))}, nil
}

// settleEmptied drops the partitions left empty whose deletes have
// committed: until then a read of the partition from storage could find
// its deleted rows, so they stay in memory.
func (w *overWindow) settleEmptied() {
	w.emptied = w.cache.Settle(w.emptied, w.env.CommittedEpoch(), func(p *owPart) {
		p.emptied = false
		if len(p.rows) == 0 && !p.Dirty {
			w.drop(p)
		}
	})
}

// shrink reports the state's size and, while the budget is exceeded,
// evicts partitions that are clean, committed and not recently used. It
// runs at barriers, after the epoch's writes.
func (w *overWindow) shrink() {
	w.cache.Shrink(func(p *owPart) bool { return p.emptied || p.pending }, w.drop)
}

// load restores the partitions of the last committed epoch and
// recomputes their function values, as far as the state memory budget
// allows (the rest are read when rows need them).
func (w *overWindow) load(r storage.Reader) error {
	var p *owPart
	l := partLoad{what: "over window", state: w.state, cache: &w.cache.StateCache, partition: w.spec.Partition,
		decode: func(val []byte) ([]types.Datum, error) {
			row, err := types.DecodeRow(val, w.spec.Types)
			if err != nil {
				return nil, sqlerr.Wrap(fmt.Errorf("over window state: %w", err), sqlerr.DataCorrupted)
			}
			return row, nil
		},
		begin: func(pk []byte) {
			p = &owPart{CachedPart: stream.CachedPart{PKey: string(pk)}}
			w.add(p)
		},
		end: func() error {
			if err := w.loadBase(r, p); err != nil {
				return err
			}
			if err := w.settle(p, false); err != nil {
				return err
			}
			w.settled(p)
			return nil
		},
		all: w.eowc != nil,
		entry: func(sk, val []byte, row []types.Datum) (bool, error) {
			r, err := w.storedRow(sk, val, row)
			if err != nil {
				return false, err
			}
			p.rows = append(p.rows, r)
			return true, nil
		},
	}
	return w.cache.Load(w.state, r, l.run)
}
