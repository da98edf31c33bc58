package storage

// The data directory lock. Pebble locks its directory (fcntl on the LOCK
// file) so that two processes never open it together. After kill -9 the
// lock is released only when the old process is gone, which can be just
// after a supervisor starts the new one: Open retries the lock for a
// while before it gives up with one clear message.

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// DefaultLockWait is how long Open retries a data directory lock held by
// another process when Options.LockWait is zero.
const DefaultLockWait = 10 * time.Second

// lockRetryEvery is the pause between two attempts at the lock.
const lockRetryEvery = 50 * time.Millisecond

// lockDir takes the data directory lock, retrying for up to wait while
// another process holds it.
func lockDir(dir string, wait time.Duration, log *slog.Logger) (*pebble.Lock, error) {
	start := time.Now()
	logged := false
	for {
		l, err := pebble.LockDirectory(dir, vfs.Default)
		if err == nil {
			if logged {
				log.Info("storage: data directory lock acquired", "dir", dir, "waited", time.Since(start).Round(time.Millisecond))
			}
			return l, nil
		}
		held := errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EACCES)
		if !held {
			return nil, fmt.Errorf("storage: lock data directory %s: %w", dir, err)
		}
		if time.Since(start) >= wait {
			return nil, fmt.Errorf("the data directory is in use by another process (lock %s still held after %s); is another streamsqld running on it?",
				filepath.Join(dir, "LOCK"), wait.Round(time.Millisecond))
		}
		if !logged {
			log.Info("storage: data directory is locked by another process; waiting for it", "dir", dir, "wait", wait)
			logged = true
		}
		time.Sleep(lockRetryEvery)
	}
}
