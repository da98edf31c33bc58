package pgwire

// Limits that keep one client, or many, from exhausting the server:
//
//   - max_connections: sessions beyond it are refused right after their
//     startup packet with FATAL 53300, as PostgreSQL does.
//   - the authentication timeout: a connection must finish its startup
//     packet and authentication within it or it is closed, so silent
//     connections hold a socket only that long and never a session slot.
//   - the message memory: large message bodies are read as their bytes
//     arrive (never allocated from the announced length alone), and the
//     bytes of large messages being read at once, across all connections,
//     stay within one budget; a reader waits for its share, which stops
//     it reading from its socket (TCP backpressure) rather than growing.
//   - accept errors (EMFILE, ENFILE, ...) are retried with backoff, as
//     net/http's Server does, and logged at most every few seconds.

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"syscall"
	"time"
)

// Defaults of Options.
const (
	DefaultMaxConnections        = 100
	DefaultAuthenticationTimeout = 60 * time.Second
	DefaultMessageMemory         = 256 << 20
)

// acceptLogEvery is the least time between two logged accept errors.
const acceptLogEvery = 5 * time.Second

// takeSlot reserves a session slot; false when max_connections are in use.
func (s *Server) takeSlot() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opts.MaxConnections > 0 && s.sessions >= s.opts.MaxConnections {
		return false
	}
	s.sessions++
	return true
}

func (s *Server) releaseSlot() {
	s.mu.Lock()
	s.sessions--
	s.mu.Unlock()
}

// Sessions returns the number of connections holding a session slot.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions
}

// byteBudget is a counting semaphore of bytes.
type byteBudget struct {
	mu   sync.Mutex
	free int64
	wake chan struct{} // closed when bytes are released
}

func newByteBudget(n int64) *byteBudget {
	return &byteBudget{free: n, wake: make(chan struct{})}
}

// acquire takes n bytes, waiting until they are free or ctx ends.
func (b *byteBudget) acquire(ctx context.Context, n int64) error {
	for {
		b.mu.Lock()
		if b.free >= n {
			b.free -= n
			b.mu.Unlock()
			return nil
		}
		wake := b.wake
		b.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (b *byteBudget) release(n int64) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	b.free += n
	close(b.wake)
	b.wake = make(chan struct{})
	b.mu.Unlock()
}

// readBody reads a message body of n bytes. Small bodies are read in one
// piece; a large one grows (doubling) only as its bytes actually arrive,
// so a length announced by a client that then sends nothing costs nothing.
func readBody(r io.Reader, n int) ([]byte, error) {
	if n <= bigFrame {
		body := make([]byte, n)
		_, err := io.ReadFull(r, body)
		return body, err
	}
	body := make([]byte, 0, bigFrame)
	for len(body) < n {
		if len(body) == cap(body) {
			nb := make([]byte, len(body), min(n, 2*cap(body)))
			copy(nb, body)
			body = nb
		}
		m, err := r.Read(body[len(body):cap(body)])
		body = body[:len(body)+m]
		if err != nil && len(body) < n {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	return body, nil
}

// retryableAcceptError reports whether Accept may succeed if tried again:
// the process or the system is out of descriptors or buffers, or a
// connection died before it was accepted.
func retryableAcceptError(err error) bool {
	var t interface{ Temporary() bool }
	if errors.As(err, &t) && t.Temporary() {
		return true
	}
	for _, e := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM,
		syscall.ECONNABORTED, syscall.ECONNRESET, syscall.EPROTO, syscall.EPERM, syscall.EINTR, syscall.EAGAIN} {
		if errors.Is(err, e) {
			return true
		}
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// acceptBackoff paces retries after accept errors and logs them at most
// every acceptLogEvery.
type acceptBackoff struct {
	log        *slog.Logger
	delay      time.Duration
	lastLog    time.Time
	suppressed int
}

// next returns how long to wait before the next Accept, logging err.
func (b *acceptBackoff) next(err error) time.Duration {
	if b.delay == 0 {
		b.delay = 5 * time.Millisecond
	} else {
		b.delay = min(2*b.delay, time.Second)
	}
	if now := time.Now(); now.Sub(b.lastLog) >= acceptLogEvery {
		b.log.Error("pgwire: accept failed; retrying", "err", err, "retry_in", b.delay, "suppressed", b.suppressed)
		b.lastLog, b.suppressed = now, 0
	} else {
		b.suppressed++
	}
	return b.delay
}

// reset is called after a successful Accept.
func (b *acceptBackoff) reset() { b.delay = 0 }
