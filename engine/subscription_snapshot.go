package engine

// Resuming a FULL subscription cursor inside its snapshot. Every row of
// a FULL cursor's snapshot carries its position, epoch@key: the snapshot
// is the view as committed at epoch, read in view key order. A consumer
// that stops after the row of key K declares its cursor SINCE 'epoch@K'
// and gets the rest of that same snapshot, then every change after the
// epoch, so it ends with each row exactly once whatever the view did in
// between.
//
// The view no longer holds its rows as of the epoch, but the
// subscription's log holds every change since (checkRetained), each with
// its view key. The rows after K as of the epoch are the view's current
// rows after K, except for the keys that changed since the epoch: of
// those, the ones whose first change since is a delete existed at the
// epoch, with the deleted row; the others did not. The cursor merges the
// current rows (skipping changed keys) with the rows so recovered, in
// key order. What it holds in memory is bounded by the changes logged
// since the epoch after K.

import (
	"bytes"
	"context"
	"slices"

	"streamsql/catalog"
	"streamsql/exec/stream"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/storage"
)

// snapshotRows yields a FULL cursor's snapshot rows in view key order:
// those of scan whose keys are not in changed, merged with before.
type snapshotRows struct {
	scan  *storage.RowIter
	width int // the visible columns, the first of the store's
	// changed are the keys that changed after the snapshot's epoch;
	// before the rows they had at it (those that existed), by key.
	changed map[string]bool
	before  []keyedRow
	// The scan's next row, read ahead for the merge.
	key     []byte
	row     []types.Datum
	have    bool
	scanned bool // the scan is done
}

type keyedRow struct {
	key []byte
	row []types.Datum
}

// next returns the next row and its key; ok is false at the end.
func (s *snapshotRows) next() (key []byte, row []types.Datum, ok bool, err error) {
	for !s.have && !s.scanned {
		if !s.scan.Next() {
			if err := s.scan.Err(); err != nil {
				return nil, nil, false, err
			}
			s.scanned = true
			break
		}
		if s.changed[string(s.scan.Key())] {
			continue
		}
		s.key, s.row, s.have = bytes.Clone(s.scan.Key()), s.scan.Row()[:s.width], true
	}
	if len(s.before) > 0 && (!s.have || bytes.Compare(s.before[0].key, s.key) < 0) {
		b := s.before[0]
		s.before = s.before[1:]
		return b.key, b.row, true, nil
	}
	if !s.have {
		return nil, nil, false, nil
	}
	s.have = false
	return s.key, s.row, true, nil
}

func (s *snapshotRows) close() {
	if s.scan != nil {
		s.scan.Close()
	}
}

// subscriptionSnapshotResume starts a cursor SINCE 'epoch@after': the
// rest of the snapshot at epoch after key after, then the log from the
// epoch after it.
func (e *Engine) subscriptionSnapshotResume(ctx context.Context, r, view *catalog.Relation, sc *subscriptionCursor, epoch uint64, after []byte, position string) error {
	snap := e.db.Snapshot()
	rows, err := e.snapshotRowsAfter(snap, r, view, sc.ts, epoch, after, position)
	if err != nil {
		snap.Close()
		return err
	}
	sc.snap, sc.rows, sc.snapEpoch, sc.pos = snap, rows, epoch, stream.LogPos{Epoch: epoch + 1}
	return nil
}

// snapshotRowsAfter reads from snap the rows of subscription r's
// snapshot at epoch whose keys come after after.
func (e *Engine) snapshotRowsAfter(snap *storage.Snapshot, r, view *catalog.Relation, ts []types.T, epoch uint64, after []byte, position string) (*snapshotRows, error) {
	at, err := stream.SnapshotEpoch(snap)
	if err != nil {
		return nil, err
	}
	if epoch > at {
		return nil, sqlerr.New(sqlerr.InvalidParameterValue,
			"subscription position %q is after the last committed epoch %d", position, at)
	}
	if err := e.checkRetained(r, snap, stream.LogPos{Epoch: epoch + 1}, position); err != nil {
		return nil, err
	}
	rows := &snapshotRows{width: len(ts), changed: map[string]bool{}}
	for pos := (stream.LogPos{Epoch: epoch + 1}); ; {
		changes, err := stream.ReadChangeLog(snap, r.OID, pos, 4096, ts)
		if err != nil {
			return nil, err
		}
		if len(changes) == 0 {
			break
		}
		for _, c := range changes {
			if c.Key == nil {
				return nil, sqlerr.New(sqlerr.ObjectNotInPrerequisiteState,
					"subscription %q cannot resume inside a snapshot at position %q: its log since then was written without view keys", r.Name, position).
					WithHint("Start again from the current contents: DECLARE the cursor FULL.")
			}
			if bytes.Compare(c.Key, after) <= 0 || rows.changed[string(c.Key)] {
				continue
			}
			rows.changed[string(c.Key)] = true
			if !c.Op.IsInsert() {
				rows.before = append(rows.before, keyedRow{key: c.Key, row: c.Row})
			}
		}
		pos = changes[len(changes)-1].Next()
	}
	slices.SortFunc(rows.before, func(a, b keyedRow) int { return bytes.Compare(a.key, b.key) })
	rows.scan, err = subscriptionStore(r, view).Scan(snap, storage.KeySpan{Lo: after})
	if err != nil {
		return nil, err
	}
	return rows, nil
}
