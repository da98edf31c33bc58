package sortedpart

// EMIT ON WINDOW CLOSE over window functions (OverWindowSpec.EmitOnClose).
//
// The input is append-only and its watermark is on the window's only
// ORDER BY column, ascending. A row whose ORDER BY value lies below the
// watermark W is closed: no later row can sort before it, so its position
// in its partition is final. Its function values are final once every row
// they read is closed too: the row itself and up to k rows after it, k
// being the farthest any function reads ahead (lead(x, k), a ROWS frame
// ending k FOLLOWING; CURRENT ROW ends of RANGE and GROUPS frames read
// only peers, which are closed together). A function that reads an
// unbounded number of rows ahead (UNBOUNDED FOLLOWING, ntile, cume_dist,
// percent_rank, RANGE offsets, lag/lead with a variable offset) never
// settles and is refused.
//
// The rows are kept and their values computed as the retracting over
// window does; instead of its changes, each barrier emits as inserts the
// rows of each partition that became final, in window order. The count of
// emitted rows is not stored: it follows from the rows and the watermark
// of the last emission, which a second state table keeps under the empty
// key, written with the barrier that emitted. Partitions with rows not
// yet emitted stay in memory, and a restart loads every partition.
//
// # Trimming
//
// Emitted rows are no longer output, so a partition keeps of them only
// the lookbehind its unemitted rows read: n rows for a frame starting n
// PRECEDING or lag(x, n), the peers of the first unemitted row for RANGE
// and GROUPS frames starting at CURRENT ROW. Rows before are trimmed at
// each emission, at a peer group boundary, and deleted from the state
// table; the partition's base keeps what row_number, rank and dense_rank
// need of them (the count of trimmed rows and of their peer groups),
// stored with the same barrier in the watermark's table, under 'b' and
// the partition key (the watermark's key is empty). So the state of a partition is bounded by its rows not yet
// final plus the lookbehind, whatever the length of the stream; emitted
// partitions are evicted under the state budget like any other, and a
// partition read back takes its base from storage. Running sum, count,
// min and max (a frame from UNBOUNDED PRECEDING to the current row) are
// kept as bases too (over_window_running.go); other functions whose frame
// starts at UNBOUNDED PRECEDING (avg, string_agg) read every earlier row:
// with one of them the operator keeps every row.

import (
	"bytes"
	"fmt"
	"slices"

	"streamsql/exec"
	"streamsql/exec/batch"
	"streamsql/exec/stream"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/storage"
)

// OverWindowLookahead returns how many rows after a row the functions of
// s read at most, or an error naming a function that reads an unbounded
// number of them.
func OverWindowLookahead(ctx *exec.Ctx, s *OverWindowSpec) (int, error) {
	ahead := 0
	for i, f := range s.Funcs {
		name := overWindowFuncName(f)
		never := func(why string) error {
			return sqlerr.New(sqlerr.FeatureNotSupported,
				"EMIT ON WINDOW CLOSE cannot emit %s: %s, so its value is never final", name, why).
				WithHint("Use a frame that ends at CURRENT ROW or n FOLLOWING in ROWS mode, or lead with a constant offset.")
		}
		switch {
		case f.Agg != nil || f.Name == "first_value" || f.Name == "last_value" || f.Name == "nth_value":
			fr := f.Frame
			if fr.Start.Kind == batch.UnboundedPreceding && fr.End.Kind == batch.UnboundedPreceding {
				continue // the default frame, ending at the current row's peers
			}
			switch fr.End.Kind {
			case batch.UnboundedFollowing:
				return 0, never("its frame ends at UNBOUNDED FOLLOWING")
			case batch.OffsetFollowing:
				if fr.Mode != batch.RowsFrame {
					return 0, never("its frame ends at an offset FOLLOWING in RANGE or GROUPS mode")
				}
				k, err := overWindowBound(ctx, fr.End, "ending")
				if err != nil {
					return 0, err
				}
				if k >= owInf {
					return 0, never("its frame reaches too far ahead")
				}
				ahead = max(ahead, k)
			}
		case f.Name == "row_number" || f.Name == "rank" || f.Name == "dense_rank" || f.Name == "lag":
		case f.Name == "lead":
			k := int64(-1)
			if i < len(s.Offsets) {
				k = s.Offsets[i]
			}
			if k < 0 || k >= owInf {
				return 0, never("its offset is not a constant")
			}
			ahead = max(ahead, int(k))
		default:
			return 0, never("it depends on the size of the whole partition")
		}
	}
	return ahead, nil
}

// eowcState is the over window's EMIT ON WINDOW CLOSE state.
type eowcState struct {
	ahead int
	// wm is the last watermark received; emitted the one up to which
	// rows were emitted (stored in persisted).
	wm, emitted types.Datum
	persisted   stream.PersistedWatermark
	// bound is emitted's order key encoding (rows below it are closed).
	bound []byte
	// pending are the partitions with rows not yet emitted.
	pending []*owPart
	// trim: emitted rows are trimmed, but for the last behind of them
	// (see Trimming); bases (the watermark's table) stores each
	// partition's base under baseKey.
	trim   bool
	behind int
	bases  *stream.StateTable
	// running are the running aggregates kept as bases
	// (over_window_running.go).
	running []owRunning
}

// eowcBaseTypes are the columns of a stored base: the trimmed rows and
// their peer groups.
var eowcBaseTypes = []types.T{types.TInt8, types.TInt8}

// eowcTrim returns how many rows before the first unemitted one the
// functions of reach r read, and false when some read every earlier
// row (a frame starting at UNBOUNDED PRECEDING, a function of the whole
// partition): then no row is trimmed. Ranks read no row: their base
// stands for the trimmed ones.
func eowcTrim(r owReach) (int, bool) {
	if r.full || r.ctxBefore >= owInf {
		return 0, false
	}
	return r.ctxBefore, true
}

// baseKey returns the key of p's base in eowcState.bases.
func (w *overWindow) baseKey(p *owPart) []byte {
	w.kbuf = append(append(w.kbuf[:0], 'b'), p.PKey...)
	return w.kbuf
}

// loadBase reads the stored base of p, new in memory, from r.
func (w *overWindow) loadBase(r storage.Reader, p *owPart) error {
	e := w.eowc
	if e == nil || !e.trim {
		return nil
	}
	v, found, err := e.bases.Get(r, w.baseKey(p))
	if err != nil || !found {
		return err
	}
	row, err := types.DecodeRow(v, e.baseTypes())
	if err != nil {
		return sqlerr.Wrap(fmt.Errorf("over window: stored base: %w", err), sqlerr.DataCorrupted)
	}
	p.base, p.denseBase = row[0].(int64), row[1].(int64)
	if len(e.running) > 0 {
		p.runBase = row[len(eowcBaseTypes):]
	}
	return nil
}

// trimEmitted drops the emitted rows of p its unemitted rows no longer
// read, deletes them from the state table and stores the new base, all
// in the barrier's batch.
func (w *overWindow) trimEmitted(b *stream.Barrier, p *owPart) error {
	e := w.eowc
	if !e.trim {
		return nil
	}
	t := min(p.emitted-e.behind, p.peerStart(p.emitted))
	if t <= 0 {
		return nil
	}
	t = p.peerStart(t)
	if t <= 0 {
		return nil
	}
	if err := w.setRunBases(p, p.rows[t-1].out); err != nil {
		return err
	}
	groups := int64(1)
	for i := range t {
		r := &p.rows[i]
		if i > 0 && !bytes.Equal(r.order(), p.rows[i-1].order()) {
			groups++
		}
		w.kbuf = append(append(w.kbuf[:0], p.PKey...), r.key()...)
		if err := w.state.Delete(b.Writes, w.kbuf); err != nil {
			return fmt.Errorf("over window: trim state: %w", err)
		}
		w.cache.Bytes -= int64(len(r.kv)+len(r.out)) + owRowBytes
	}
	p.rows = slices.Delete(p.rows, 0, t)
	p.emitted -= t
	p.base += int64(t)
	p.denseBase += groups
	v := types.EncodeRow(nil, e.baseRow(p), e.baseTypes())
	if err := e.bases.Insert(b.Writes, w.baseKey(p), v); err != nil {
		return fmt.Errorf("over window: write base: %w", err)
	}
	p.LastWrite = b.Epoch
	return nil
}

// markPending lists p among the partitions with rows to emit.
func (w *overWindow) markPending(p *owPart) {
	if !p.pending && p.emitted < len(p.rows) {
		p.pending = true
		w.eowc.pending = append(w.eowc.pending, p)
	}
}

// settled sets the emitted count of p, just loaded from storage.
func (w *overWindow) settled(p *owPart) {
	if w.eowc == nil {
		return
	}
	p.emitted = w.closedRows(p)
	w.markPending(p)
}

// setEmitted makes wm the watermark up to which rows are emitted.
func (w *overWindow) setEmitted(wm types.Datum) {
	e := w.eowc
	e.emitted = wm
	e.bound = w.state.AppendKeyValue(e.bound[:0], len(w.spec.Partition), wm)
}

// closedRows returns how many rows of p are final under the emitted
// watermark: the rows below it, less the lookahead.
func (w *overWindow) closedRows(p *owPart) int {
	e := w.eowc
	if e.emitted == nil {
		return 0
	}
	below := sortSearch(len(p.rows), func(i int) bool { return bytes.Compare(p.rows[i].order(), e.bound) >= 0 })
	return max(0, below-e.ahead)
}

// emitClosed moves the emitted watermark up to the last one received,
// queues every row that became final as an insert and stores the
// watermark in the barrier's batch.
func (w *overWindow) emitClosed(b *stream.Barrier) error {
	e := w.eowc
	if e.wm == nil || (e.emitted != nil && types.Compare(e.wm, e.emitted, w.spec.Types[w.spec.Order[0].Col]) <= 0) {
		return nil
	}
	w.setEmitted(e.wm)
	if err := e.persisted.Store(b.Writes, e.wm); err != nil {
		return fmt.Errorf("over window: write watermark: %w", err)
	}
	keep := e.pending[:0]
	for _, p := range e.pending {
		n := w.closedRows(p)
		for i := p.emitted; i < n; i++ {
			r := &p.rows[i]
			w.rest = append(w.rest, owChange{op: stream.Insert, val: r.val(), out: r.out})
		}
		p.emitted = max(p.emitted, n)
		if err := w.trimEmitted(b, p); err != nil {
			return err
		}
		if p.emitted < len(p.rows) {
			keep = append(keep, p)
		} else {
			p.pending = false
		}
	}
	clear(e.pending[len(keep):])
	e.pending = keep
	return nil
}
