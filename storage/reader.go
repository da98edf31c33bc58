package storage

import (
	"errors"

	"github.com/cockroachdb/pebble/v2"
)

// Reader reads keys: a Snapshot or a Txn.
type Reader interface {
	// Get returns a copy of key's value and whether it exists.
	Get(key []byte) ([]byte, bool, error)
	// NewIter returns an iterator over the keys in [lo, hi); a nil bound is
	// open.
	NewIter(lo, hi []byte) (Iter, error)
}

// Iter walks keys in ascending order. Key and Value are valid until the
// next positioning call; copy them to keep them.
type Iter interface {
	First() bool
	Valid() bool
	Next() bool
	SeekGE(k []byte) bool
	Key() []byte
	Value() []byte
	// Close releases the iterator and returns the first error it met.
	Close() error
}

// closeIter closes *it once: later calls find it nil and return nil.
func closeIter(it *Iter) error {
	if *it == nil {
		return nil
	}
	err := (*it).Close()
	*it = nil
	return err
}

// getCopy reads key from a pebble reader and copies the value out.
func getCopy(v []byte, closer interface{ Close() error }, err error) ([]byte, bool, error) {
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	out := append([]byte(nil), v...)
	return out, true, closer.Close()
}

// exists reports whether a pebble Get found its key.
func exists(_ []byte, closer interface{ Close() error }, err error) (bool, error) {
	if errors.Is(err, pebble.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, closer.Close()
}

// iter adapts a pebble iterator to Iter.
type iter struct {
	it *pebble.Iterator
}

func newIter(it *pebble.Iterator, err error) (Iter, error) {
	if err != nil {
		return nil, err
	}
	return &iter{it: it}, nil
}

func iterOpts(lo, hi []byte) *pebble.IterOptions {
	return &pebble.IterOptions{LowerBound: lo, UpperBound: hi}
}

func (i *iter) First() bool          { return i.it.First() }
func (i *iter) Valid() bool          { return i.it.Valid() }
func (i *iter) Next() bool           { return i.it.Next() }
func (i *iter) SeekGE(k []byte) bool { return i.it.SeekGE(k) }
func (i *iter) Key() []byte          { return i.it.Key() }
func (i *iter) Value() []byte        { return i.it.Value() }
func (i *iter) Close() error         { return i.it.Close() }

// Snapshot is a consistent read-only view of the database at the moment it
// was taken. Close it when done: it pins old versions of keys.
type Snapshot struct {
	snap *pebble.Snapshot
}

// Snapshot returns a view of the database as of now.
func (db *DB) Snapshot() *Snapshot {
	return &Snapshot{snap: db.pdb.NewSnapshot()}
}

// Get implements Reader.
func (s *Snapshot) Get(key []byte) ([]byte, bool, error) {
	return getCopy(s.snap.Get(key))
}

// NewIter implements Reader.
func (s *Snapshot) NewIter(lo, hi []byte) (Iter, error) {
	return newIter(s.snap.NewIter(iterOpts(lo, hi)))
}

// Close releases the snapshot.
func (s *Snapshot) Close() error { return s.snap.Close() }

// Latest returns a Reader over the latest committed state of the database:
// each read sees whatever is committed when it runs.
func (db *DB) Latest() Reader { return latest{db.pdb} }

type latest struct{ pdb *pebble.DB }

func (l latest) Get(key []byte) ([]byte, bool, error) { return getCopy(l.pdb.Get(key)) }
func (l latest) NewIter(lo, hi []byte) (Iter, error) {
	return newIter(l.pdb.NewIter(iterOpts(lo, hi)))
}
