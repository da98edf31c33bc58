package storage

import (
	"bytes"
	"context"

	"github.com/cockroachdb/pebble/v2"
)

// snapIter is the iterator of a snapshot transaction: the keys of its
// snapshot that the transaction did not write or delete, merged in order
// with the live keys of its own batch.
type snapIter struct {
	t    *Txn
	snap *pebble.Iterator // the snapshot
	own  *pebble.Iterator // the batch alone (deletions hidden)
	// cur is which side the iterator is on: 0 none, 1 snapshot, 2 own.
	cur int
}

func (t *Txn) newSnapshotIter(lo, hi []byte) (Iter, error) {
	if t.reads != nil {
		t.reads.addRange(lo, hi)
	}
	si, err := t.snap.NewIter(iterOpts(lo, hi))
	if err != nil {
		return nil, err
	}
	oi, err := t.batch.NewBatchOnlyIter(context.Background(), iterOpts(lo, hi))
	if err != nil {
		si.Close()
		return nil, err
	}
	return &snapIter{t: t, snap: si, own: oi}, nil
}

// hidden reports whether the snapshot's key k is overwritten or deleted by
// the transaction.
func (i *snapIter) hidden(k []byte) bool {
	if _, ok := i.t.written[string(k)]; ok {
		return true
	}
	return i.t.inDelRange(k)
}

// skipHidden moves the snapshot side past keys the transaction replaced.
func (i *snapIter) skipHidden() {
	for i.snap.Valid() && i.hidden(i.snap.Key()) {
		i.snap.Next()
	}
}

// pick chooses the side with the smaller current key.
func (i *snapIter) pick() bool {
	i.skipHidden()
	sv, ov := i.snap.Valid(), i.own.Valid()
	switch {
	case !sv && !ov:
		i.cur = 0
		return false
	case !sv:
		i.cur = 2
	case !ov:
		i.cur = 1
	case bytes.Compare(i.own.Key(), i.snap.Key()) <= 0:
		i.cur = 2
	default:
		i.cur = 1
	}
	return true
}

func (i *snapIter) First() bool {
	i.snap.First()
	i.own.First()
	return i.pick()
}

func (i *snapIter) SeekGE(k []byte) bool {
	i.snap.SeekGE(k)
	i.own.SeekGE(k)
	return i.pick()
}

func (i *snapIter) Next() bool {
	switch i.cur {
	case 1:
		i.snap.Next()
	case 2:
		i.own.Next()
	default:
		return false
	}
	return i.pick()
}

func (i *snapIter) Valid() bool { return i.cur != 0 }

func (i *snapIter) Key() []byte {
	if i.cur == 2 {
		return i.own.Key()
	}
	return i.snap.Key()
}

func (i *snapIter) Value() []byte {
	if i.cur == 2 {
		return i.own.Value()
	}
	return i.snap.Value()
}

func (i *snapIter) Close() error {
	err := i.snap.Close()
	if err2 := i.own.Close(); err == nil {
		err = err2
	}
	return err
}

// rebuildWritten recomputes the written keys and deleted ranges from the
// batch, after ROLLBACK TO SAVEPOINT replaced it.
func (t *Txn) rebuildWritten() error {
	t.written = map[string]bool{}
	t.delRanges = nil
	r := t.batch.Reader()
	for {
		kind, k, v, ok, err := r.Next()
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		switch kind {
		case pebble.InternalKeyKindRangeDelete:
			lo, hi := bytes.Clone(k), bytes.Clone(v)
			for wk := range t.written {
				if inRange([]byte(wk), lo, hi) {
					t.written[wk] = false
				}
			}
			t.delRanges = append(t.delRanges, [2][]byte{lo, hi})
		case pebble.InternalKeyKindDelete, pebble.InternalKeyKindSingleDelete:
			t.written[string(k)] = false
		default:
			t.written[string(k)] = true
		}
	}
}
