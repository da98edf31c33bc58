package storage

import (
	"errors"
	"fmt"
	"strings"
)

// ErrLeakedReaders is the error of a Close that found iterators or
// snapshots still open: something read the database while (or after) it
// closed. The data on disk is intact (every commit is in the WAL), but
// the close order of the program is wrong.
var ErrLeakedReaders = errors.New("storage: readers still open at close")

// Close closes the database and releases the data directory lock. Open
// snapshots, iterators and transactions must be closed first, and nothing
// may read or write the database once Close has begun.
//
// Close never panics and never waits on readers: an iterator or snapshot
// still open makes it return (and log) an error wrapping
// ErrLeakedReaders with pebble's account of what was open ("leaked
// iterators", "leaked snapshots"), and the sstables those readers pin
// stay open until the process exits. Calls after the first return the
// first one's result.
func (db *DB) Close() error {
	db.closeOnce.Do(func() { db.closeErr = db.close() })
	return db.closeErr
}

func (db *DB) close() (err error) {
	defer func() {
		if lerr := db.lock.Close(); err == nil {
			err = lerr
		}
	}()
	db.closeKeyFilters()
	perr := db.closePebble()
	if perr == nil {
		// Only now is no sstable referenced: the file cache closes them.
		db.fileCache.Unref()
		return nil
	}
	// Pebble found readers still open (or failed otherwise): keep the
	// file cache's reference, as dropping it would close sstables under
	// an open iterator, which pebble answers with a panic.
	err = fmt.Errorf("storage: close: %w", perr)
	if strings.Contains(perr.Error(), "leaked") {
		err = fmt.Errorf("%w: %w", ErrLeakedReaders, perr)
	}
	db.log.Error("closing storage", "err", err)
	return err
}

// closePebble closes pebble, turning a panic of its close (its sanity
// checks panic on some reference leaks) into an error.
func (db *DB) closePebble() (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("pebble close: %v", r)
		}
	}()
	return db.pdb.Close()
}
