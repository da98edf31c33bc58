package storage

// Disk space. Pebble cannot survive a full disk: a WAL write that fails
// with ENOSPC is fatal to it (its commit pipeline is left broken), and a
// flush that fails is retried forever. So the database refuses writes
// itself before the disk is full: every commit first checks, with statfs,
// that the file system of the data directory keeps a reserve of free
// space after the commit's bytes (while free space is above twice the
// reserve, one statfs serves the commits of the next 10 ms, counting
// their bytes). The reserve is room for what pebble
// writes on its own (memtable flushes, compactions, the MANIFEST), so
// that it can go on while commits are refused with 53100 (PostgreSQL's
// disk_full). Reads are not affected, and commits are accepted again as
// soon as space is freed. The same check stops Open on a full disk at
// once, with one message, rather than letting pebble retry a flush.

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"streamsql/sql/sqlerr"
)

// DefaultSpaceReserve is the free space kept for pebble's own writes when
// Options.SpaceReserve is zero: two memtables' worth.
const DefaultSpaceReserve = 128 << 20

// spaceGuard refuses writes that would leave less than reserve bytes free
// on the data directory's file system.
type spaceGuard struct {
	dir     string
	reserve int64
	log     *slog.Logger
	// full remembers whether the last check refused, so that the change
	// is logged once each way rather than at every commit.
	full atomic.Bool
	// statErr remembers that statfs failed, logged once.
	statErr atomic.Bool

	// The last statfs: free bytes then, when, and the bytes commits
	// announced since. Well above the reserve, a check within
	// statfsInterval of the last one counts instead of asking again.
	mu        sync.Mutex
	free      int64
	checkedAt time.Time
	since     int64
}

// statfsInterval is how long a measurement of free space serves commits
// while free space is at least twice the reserve.
const statfsInterval = 10 * time.Millisecond

// recent reports whether need fits well within the last measurement,
// and counts it if so.
func (g *spaceGuard) recent(need int64) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.checkedAt.IsZero() || time.Since(g.checkedAt) > statfsInterval || g.free-g.since-need < 2*g.reserve {
		return false
	}
	g.since += need
	return true
}

// measured records a statfs result.
func (g *spaceGuard) measured(free int64) {
	g.mu.Lock()
	g.free, g.checkedAt, g.since = free, time.Now(), 0
	g.mu.Unlock()
}

// freeBytes returns the bytes available on the file system holding dir.
func freeBytes(dir string) (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}

// CheckSpace returns a 53100 error when writing need more bytes would leave
// less than the reserve free in the data directory, and nil otherwise.
// Every commit path calls it before it writes.
func (db *DB) CheckSpace(need int64) error {
	g := db.space
	if g == nil || g.reserve <= 0 {
		return nil
	}
	if g.recent(need) {
		return nil
	}
	free, err := freeBytes(g.dir)
	if err == nil {
		g.measured(free)
	}
	if err != nil {
		// Not knowing is no reason to refuse: pebble reports real failures.
		if g.statErr.CompareAndSwap(false, true) {
			g.log.Warn("storage: cannot check free disk space", "dir", g.dir, "err", err)
		}
		return nil
	}
	if free-need < g.reserve {
		if g.full.CompareAndSwap(false, true) {
			g.log.Error("storage: disk full, refusing writes until space is freed", "dir", g.dir,
				"free", formatBytes(free), "reserve", formatBytes(g.reserve))
		}
		return diskFullError(g.dir, free, g.reserve)
	}
	if g.full.CompareAndSwap(true, false) {
		g.log.Info("storage: disk space available again, accepting writes", "dir", g.dir, "free", formatBytes(free))
	}
	return nil
}

// checkSpaceAtOpen fails when the data directory's file system is already
// below the reserve: pebble would start and then fail its first flush.
func (g *spaceGuard) checkSpaceAtOpen() error {
	if g.reserve <= 0 {
		return nil
	}
	free, err := freeBytes(g.dir)
	if err != nil || free >= g.reserve {
		return nil
	}
	return fmt.Errorf("could not open data directory %s: No space left on device: %s free, at least %s needed (the disk reserve); free disk space and start again",
		g.dir, formatBytes(free), formatBytes(g.reserve))
}

func diskFullError(dir string, free, reserve int64) error {
	return sqlerr.New(sqlerr.DiskFull, "could not write to data directory \"%s\": No space left on device", dir).
		WithDetail("%s free, below the reserve of %s kept for the storage engine.", formatBytes(free), formatBytes(reserve)).
		WithHint("Free disk space; writes are accepted again as soon as there is room. Reads still work.")
}

// formatBytes prints a byte count as PostgreSQL's pg_size_pretty does.
func formatBytes(n int64) string {
	units := []string{"bytes", "kB", "MB", "GB", "TB"}
	v, u := n, 0
	for u < len(units)-1 && (v >= 10*1024 || v <= -10*1024) {
		v /= 1024
		u++
	}
	return fmt.Sprintf("%d %s", v, units[u])
}

// CommitBatch commits b, synced to the WAL. Pebble panics when it cannot
// write its WAL (the disk filled up despite the reserve, or an I/O error)
// and cannot go on after that: the process then ends with one log line and
// a non-zero status, rather than a session or a streaming job recovering
// the panic and the server going on over a storage engine that lost its
// log. What was committed before is recovered at the next start.
func (db *DB) CommitBatch(b *pebble.Batch) error {
	return db.walWrite(func() error { return b.Commit(pebble.Sync) })
}

// walWrite runs write, a pebble commit, turning pebble's panic on a failed
// WAL write into the end of the process (see CommitBatch).
func (db *DB) walWrite(write func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			db.plog.Fatalf("pebble: commit: %v", r)
		}
	}()
	return write()
}

// IsDiskFull reports whether err is the refusal of a write for lack of
// disk space.
func IsDiskFull(err error) bool {
	var e *sqlerr.Error
	return errors.As(err, &e) && e.Code == sqlerr.DiskFull
}
