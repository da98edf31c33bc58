// Package storage keeps every durable byte of StreamSQL in one pebble
// database: the catalog, table rows, counters and (later) streaming state.
//
// # Key space
//
// The first byte of a key names the area it belongs to, so each area is one
// contiguous key range that can be scanned or dropped on its own:
//
//	'c' + key                                  catalog entries (see package catalog)
//	't' + table id (4 bytes, big endian) + pk  table and materialized view rows
//	'q' + name                                 durable counters (NextSequence)
//	's' + ...                                  streaming operator state (reserved)
//	'l' + table id + seq                       table changelogs (changelog.go)
//	'e' + ...                                  the epoch log (reserved)
//
// A table row's key ends with the order-preserving encoding of its primary
// key (types.AppendKey of each key column), so a range scan of a table's
// span returns rows in primary key order; the value is types.EncodeRow of
// the row's physical columns.
//
// # Transactions
//
// Reads go through a Reader: a Snapshot (a consistent point-in-time view)
// or a Txn. A Txn buffers its writes in an indexed pebble batch, so its reads
// see the database as of each read merged with the transaction's own writes.
// Commits are serialized by one mutex and synced to the WAL before they
// return. Uniqueness of primary keys is checked when a row is written and
// checked again at commit when another transaction committed in between, so
// two transactions never both insert the same key. Rows about to be
// updated or deleted are locked until the transaction ends (lock.go), so
// concurrent writers of one row take turns; snapshot transactions
// (RepeatableRead, Serializable) fail with ErrSerialization instead of
// overwriting a change committed after their snapshot, and Serializable
// ones validate what they read at commit (serializable.go).
package storage

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
)

// Key space prefixes, one byte per area.
const (
	PrefixCatalog  byte = 'c'
	PrefixTable    byte = 't'
	PrefixSequence byte = 'q'
	PrefixState    byte = 's'
	PrefixEpoch    byte = 'e'
)

// Default sizes of pebble's shared block cache and of one memtable.
// pebble allocates both outside the Go heap; up to two memtables are
// held at once (the one written and the one being flushed).
const (
	DefaultCacheSize    = 256 << 20
	DefaultMemTableSize = 64 << 20
)

// DB is the database: a pebble instance plus the commit lock and the
// counters that transactions share.
type DB struct {
	pdb  *pebble.DB
	lock *pebble.Lock
	// space refuses commits on a (nearly) full disk (space.go).
	space *spaceGuard
	// plog is pebble's logger, whose Fatalf ends the process.
	plog *pebbleLogger
	// fileCache is pebble's cache of open sstables, held by the DB so
	// that pebble's Close reports iterators still open as an error
	// instead of panicking when it drops the last reference (close.go).
	fileCache *pebble.FileCache
	log       *slog.Logger
	// closeOnce runs Close once; closeErr is its result.
	closeOnce sync.Once
	closeErr  error

	// commitMu serializes Txn commits (and the uniqueness re-checks that
	// precede them).
	commitMu sync.Mutex
	// commits counts Txn commits; a transaction whose key checks happened
	// with no commit in between need not re-check them.
	commits atomic.Uint64

	// txnIDs numbers transactions; locks are their row locks; ssi keeps
	// the write sets Serializable transactions validate against.
	txnIDs atomic.Uint64
	locks  *lockTable
	ssi    ssiTracker
	// maxTxnBytes bounds one transaction's buffered writes.
	maxTxnBytes atomic.Int64

	seqMu sync.Mutex
	seqs  map[string]*seqRange
	// sqlSeqs are the SQL sequences read so far (sqlsequence.go).
	sqlSeqs map[string]*sqlSeq

	// filters are the key filters of user tables (keyfilter.go), replaced
	// whole under commitMu; filterWG counts their background scans,
	// which stop once filterStop is set; filtersClosed refuses new ones.
	filters       atomic.Pointer[map[uint32]*keyFilter]
	filterWG      sync.WaitGroup
	filterStop    atomic.Bool
	filtersClosed bool

	// logSeq is the last committed changelog seq (see changelog.go);
	// written under commitMu. notify is closed when it moves.
	logSeq   atomic.Uint64
	notifyMu sync.Mutex
	notify   chan struct{}
}

// Options configure OpenWith.
type Options struct {
	// Logger receives storage events; nil means slog.Default().
	Logger *slog.Logger
	// LockWait is how long Open retries the data directory lock while
	// another process holds it (a server still exiting after kill -9).
	// Zero means DefaultLockWait, negative no retry.
	LockWait time.Duration
	// SpaceReserve is the free disk space below which commits are refused
	// with 53100 and Open fails (space.go). Zero means
	// DefaultSpaceReserve, negative no check.
	SpaceReserve int64
	// CacheSize is the block cache in bytes; zero means DefaultCacheSize.
	CacheSize int64
	// MemTableSize is the size of one memtable in bytes; zero means
	// DefaultMemTableSize.
	MemTableSize int64
}

// Open opens (creating if needed) the database in dir with default options.
func Open(dir string) (*DB, error) {
	return OpenWith(dir, Options{})
}

// OpenWith opens (creating if needed) the database in dir.
func OpenWith(dir string, o Options) (*DB, error) {
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	if o.LockWait == 0 {
		o.LockWait = DefaultLockWait
	}
	if o.SpaceReserve == 0 {
		o.SpaceReserve = DefaultSpaceReserve
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("storage: create %s: %w", dir, err)
	}
	lock, err := lockDir(dir, max(o.LockWait, 0), log)
	if err != nil {
		return nil, err
	}
	guard := &spaceGuard{dir: dir, reserve: o.SpaceReserve, log: log}
	if err := guard.checkSpaceAtOpen(); err != nil {
		lock.Close()
		return nil, err
	}
	if o.CacheSize <= 0 {
		o.CacheSize = DefaultCacheSize
	}
	if o.MemTableSize <= 0 {
		o.MemTableSize = DefaultMemTableSize
	}
	cache := pebble.NewCache(o.CacheSize)
	defer cache.Unref()
	plog := &pebbleLogger{log: log}
	opts := &pebble.Options{
		Cache:              cache,
		FormatMajorVersion: pebble.FormatNewest,
		MemTableSize:       uint64(o.MemTableSize),
		Logger:             plog,
		Lock:               lock,
	}
	for i := range opts.Levels {
		opts.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	opts.EnsureDefaults()
	fileCache := pebble.NewFileCache(opts.Experimental.FileCacheShards, pebble.FileCacheSize(opts.MaxOpenFiles))
	opts.FileCache = fileCache
	pdb, err := pebble.Open(dir, opts)
	if err != nil {
		fileCache.Unref()
		lock.Close()
		return nil, fmt.Errorf("storage: open %s: %w", dir, err)
	}
	db := &DB{pdb: pdb, lock: lock, space: guard, plog: plog, fileCache: fileCache, log: log,
		seqs: map[string]*seqRange{}, sqlSeqs: map[string]*sqlSeq{}, locks: newLockTable()}
	db.maxTxnBytes.Store(DefaultMaxTxnBytes)
	if err := db.loadLogSeq(); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Pebble returns the underlying pebble database, for areas (streaming
// state, checkpoints) that manage their own keys.
func (db *DB) Pebble() *pebble.DB { return db.pdb }

// TableKey returns the key of the row with encoded primary key pk in table
// tableID.
func TableKey(tableID uint32, pk []byte) []byte { return idKey(PrefixTable, tableID, pk) }

// TableSpan returns the key range [lo, hi) holding every row of tableID.
func TableSpan(tableID uint32) (lo, hi []byte) { return idSpan(PrefixTable, tableID) }

// idKey returns the key of rest in the keyspace prefix of object id (a
// table, an index, a state table): the prefix byte, the id, rest.
func idKey(prefix byte, id uint32, rest []byte) []byte {
	k := make([]byte, 5, 5+len(rest))
	k[0] = prefix
	putUint32(k[1:], id)
	return append(k, rest...)
}

// idSpan returns the key range [lo, hi) of object id in keyspace prefix.
func idSpan(prefix byte, id uint32) (lo, hi []byte) {
	lo = idKey(prefix, id, nil)
	return lo, PrefixEnd(lo)
}

// spanBounds returns the storage key range [lo, hi) of span s of object
// id in keyspace prefix.
func spanBounds(prefix byte, id uint32, s KeySpan) (lo, hi []byte) {
	lo, hi = idSpan(prefix, id)
	if s.Lo != nil {
		lo = idKey(prefix, id, s.Lo)
		if !s.LoInclusive {
			lo = PrefixEnd(lo)
		}
	}
	if s.Hi != nil {
		h := idKey(prefix, id, s.Hi)
		if s.HiInclusive {
			h = PrefixEnd(h)
		}
		if h != nil && bytes.Compare(h, hi) < 0 {
			hi = h
		}
	}
	return lo, hi
}

// PrefixEnd returns the smallest key greater than every key that starts
// with prefix, or nil when there is none (prefix is all 0xff).
func PrefixEnd(prefix []byte) []byte {
	end := append([]byte(nil), prefix...)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil
}

func putUint32(b []byte, v uint32) {
	b[0], b[1], b[2], b[3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
}

// pebbleLogger drops pebble's informational messages, logs its errors at
// most once every pebbleErrorEvery (a flush failing on a full disk is
// retried, and reported, without end), and turns a fatal condition into
// one log line and a non-zero exit: pebble cannot go on after it.
type pebbleLogger struct {
	log        *slog.Logger
	mu         sync.Mutex
	lastErr    time.Time
	suppressed int
}

// pebbleErrorEvery is the least time between two logged pebble errors.
const pebbleErrorEvery = 10 * time.Second

func (*pebbleLogger) Infof(string, ...any) {}

func (l *pebbleLogger) Errorf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now := time.Now(); now.Sub(l.lastErr) >= pebbleErrorEvery {
		l.log.Error("storage engine error", "err", firstLine(fmt.Sprintf(format, args...)), "suppressed", l.suppressed)
		l.lastErr, l.suppressed = now, 0
	} else {
		l.suppressed++
	}
}

func (l *pebbleLogger) Fatalf(format string, args ...any) {
	l.log.Error("storage engine failed; the server stops", "err", firstLine(fmt.Sprintf(format, args...)))
	os.Exit(1)
}

// firstLine keeps a message on one log line (some carry a stack trace).
func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// StateKey returns the key of key in streaming state table id.
func StateKey(id uint32, key []byte) []byte { return idKey(PrefixState, id, key) }

// StateSpan returns the key range [lo, hi) of state table id.
func StateSpan(id uint32) (lo, hi []byte) { return idSpan(PrefixState, id) }
