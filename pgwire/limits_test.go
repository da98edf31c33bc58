package pgwire_test

// Hostile connections against the real server (engine over pebble, the
// protocol on a loopback port): too many sessions, silent connections,
// failing accepts, huge message announcements. After each, another client
// must be answered within a second.

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"streamsql/engine"
	"streamsql/internal/testserver"
	"streamsql/pgwire"
)

func dsn(s *testserver.Server) string { return s.URL("streamsql", "dev") }

// answers checks that a new client connects and runs a query within a
// second.
func answers(t *testing.T, s *testserver.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	c, err := pgx.Connect(ctx, dsn(s))
	if err != nil {
		t.Fatalf("a new client was not served within a second: %v", err)
	}
	defer c.Close(context.Background())
	var n int
	if err := c.QueryRow(ctx, "SELECT 1 + 1").Scan(&n); err != nil || n != 2 {
		t.Fatalf("SELECT 1 + 1 = %d, %v", n, err)
	}
	t.Logf("another client answered in %v", time.Since(start).Round(time.Millisecond))
}

func sqlState(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

func TestMaxConnections(t *testing.T) {
	s := testserver.StartWire(t, engine.Options{MaxConnections: 3}, pgwire.Options{MaxConnections: 3})
	ctx := context.Background()
	var conns []*pgx.Conn
	for i := 0; i < 3; i++ {
		c, err := pgx.Connect(ctx, dsn(s))
		if err != nil {
			t.Fatalf("connection %d: %v", i+1, err)
		}
		conns = append(conns, c)
	}
	var show string
	if err := conns[0].QueryRow(ctx, "SHOW max_connections").Scan(&show); err != nil || show != "3" {
		t.Errorf("SHOW max_connections = %q, %v; want 3", show, err)
	}
	if _, err := conns[0].Exec(ctx, "SET max_connections = 10"); sqlState(err) != "55000" {
		t.Errorf("SET max_connections: %v, want 55000", err)
	}
	_, err := pgx.Connect(ctx, dsn(s))
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "53300" || pe.Message != "sorry, too many clients already" || pe.Severity != "FATAL" {
		t.Fatalf("fourth connection: %v; want FATAL 53300 sorry, too many clients already", err)
	}
	if psql, err := exec.LookPath("psql"); err == nil {
		out, err := exec.Command(psql, "-X", "-h", s.Host, "-p", strconv.Itoa(s.Port), "-U", "streamsql", "-c", "SELECT 1", "dev").CombinedOutput()
		if err == nil || !strings.Contains(string(out), "FATAL:  sorry, too many clients already") {
			t.Errorf("psql beyond max_connections: %v\n%s", err, out)
		}
	}
	// A refused client holds no slot; a closed one gives its slot back.
	conns[0].Close(ctx)
	deadline := time.Now().Add(2 * time.Second)
	for s.Wire.Sessions() > 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	answers(t, s)
	for _, c := range conns[1:] {
		c.Close(ctx)
	}
}

// 1,000 connections that never send a startup packet neither stop others
// nor stay open past the authentication timeout; they hold no session slot.
func TestSilentConnectionsTimeOut(t *testing.T) {
	const silent = 1000
	timeout := 700 * time.Millisecond
	s := testserver.StartWire(t, engine.Options{}, pgwire.Options{MaxConnections: 5, AuthenticationTimeout: timeout})
	addr := net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
	opened := time.Now()
	conns := make([]net.Conn, 0, silent)
	for i := 0; i < silent; i++ {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		conns = append(conns, nc)
	}
	defer func() {
		for _, nc := range conns {
			nc.Close()
		}
	}()
	answers(t, s) // while all of them are open, with max_connections 5
	// Each is closed by the server after the timeout: the read ends.
	var wg sync.WaitGroup
	var closed, late atomic.Int64
	for _, nc := range conns {
		wg.Add(1)
		go func(nc net.Conn) {
			defer wg.Done()
			nc.SetReadDeadline(opened.Add(timeout + 3*time.Second))
			var b [1]byte
			_, err := nc.Read(b[:])
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				late.Add(1)
				return
			}
			closed.Add(1)
		}(nc)
	}
	wg.Wait()
	if closed.Load() != silent {
		t.Fatalf("%d of %d silent connections closed by the server within the timeout plus 3s (%d still open)", closed.Load(), silent, late.Load())
	}
	t.Logf("%d silent connections closed %v after opening (timeout %v)", silent, time.Since(opened).Round(time.Millisecond), timeout)
	answers(t, s)
}

// failingListener fails its first n Accepts with EMFILE, as accept(2)
// does when the process is out of file descriptors.
type failingListener struct {
	net.Listener
	fails atomic.Int64
}

func (l *failingListener) Accept() (net.Conn, error) {
	if l.fails.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: syscall.EMFILE}
	}
	return l.Listener.Accept()
}

// lineCounter counts the log lines written to it.
type lineCounter struct{ n atomic.Int64 }

func (w *lineCounter) Write(p []byte) (int, error) {
	for _, b := range p {
		if b == '\n' {
			w.n.Add(1)
		}
	}
	return len(p), nil
}

// Serve backs off and retries after accept errors instead of returning.
func TestAcceptErrorsRetried(t *testing.T) {
	eng, err := engine.Open(engine.Options{DataDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fl := &failingListener{Listener: ln}
	fl.fails.Store(8) // 5ms, 10ms, ..., 640ms: about 1.3s of backoff
	var logged lineCounter
	srv := pgwire.NewServer(eng, pgwire.Options{Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- srv.Serve(ctx, fl) }()

	c, err := pgx.Connect(context.Background(), "postgres://streamsql@"+ln.Addr().String()+"/dev?sslmode=disable&connect_timeout=30")
	if err != nil {
		t.Fatalf("connect after accept errors: %v", err)
	}
	took := time.Since(start)
	var n int
	if err := c.QueryRow(context.Background(), "SELECT 41 + 1").Scan(&n); err != nil || n != 42 {
		t.Fatalf("query: %d, %v", n, err)
	}
	c.Close(context.Background())
	select {
	case err := <-done:
		t.Fatalf("Serve returned %v", err)
	default:
	}
	if took < time.Second {
		t.Errorf("8 failed accepts took %v: no backoff", took)
	}
	if got := logged.n.Load(); got != 1 {
		t.Errorf("%d log lines for 8 accept errors in %v; want 1 (rate-limited)", got, took)
	}
	t.Logf("served after 8 EMFILE accept errors in %v with %d log line", took.Round(time.Millisecond), logged.n.Load())
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	srv.Shutdown(sctx)
	if err := <-done; !errors.Is(err, pgwire.ErrServerClosed) {
		t.Errorf("Serve after Shutdown: %v", err)
	}
}

// startupPacket is a StartupMessage for user streamsql.
func startupPacket(user string) []byte {
	body := []byte{0, 3, 0, 0}
	body = append(body, "user\x00"...)
	body = append(body, user...)
	body = append(body, "\x00database\x00dev\x00\x00"...)
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(body)+4)), body...)
}

// readUntilReady reads backend messages until ReadyForQuery ('Z').
func readUntilReady(t *testing.T, nc net.Conn) {
	t.Helper()
	var hdr [5]byte
	for {
		if _, err := io.ReadFull(nc, hdr[:]); err != nil {
			t.Fatalf("startup: %v", err)
		}
		n := int(binary.BigEndian.Uint32(hdr[1:])) - 4
		if _, err := io.CopyN(io.Discard, nc, int64(n)); err != nil {
			t.Fatal(err)
		}
		if hdr[0] == 'Z' {
			return
		}
	}
}

// readyConns opens n connections to addr, each started up as user
// streamsql and ready for a query; they close when the test ends.
func readyConns(t *testing.T, addr string, n int) []net.Conn {
	t.Helper()
	ncs := make([]net.Conn, n)
	for i := range ncs {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nc.Close() })
		if _, err := nc.Write(startupPacket("streamsql")); err != nil {
			t.Fatal(err)
		}
		readUntilReady(t, nc)
		ncs[i] = nc
	}
	return ncs
}

// Fifty connections announcing a 64 MB Query and sending a few bytes of it
// allocate nothing near 50 x 64 MB: bodies grow as bytes arrive.
func TestHugeMessageAnnouncements(t *testing.T) {
	const conns, size = 50, 64 << 20
	s := testserver.StartWire(t, engine.Options{}, pgwire.Options{MaxMessageSize: size})
	addr := net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	for _, nc := range readyConns(t, addr, conns) {
		msg := []byte{'Q', 0, 0, 0, 0}
		binary.BigEndian.PutUint32(msg[1:], size+4)
		msg = append(msg, "SELECT 1 /* "...)
		if _, err := nc.Write(msg); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(300 * time.Millisecond) // let every reader see its header
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	grew := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("%d connections announcing %d MB each: heap grew by %.1f MB", conns, size>>20, float64(grew)/(1<<20))
	if grew > 64<<20 {
		t.Errorf("heap grew by %d MB for %d announced messages of 64 MB", grew>>20, conns)
	}
	answers(t, s)
}

// Large messages being read at once share the message memory: eight
// clients sending 4 MB queries into an 8 MB budget hold at most two bodies
// in memory; the others wait, unread, and are served in turn.
func TestMessageMemoryShared(t *testing.T) {
	const clients, size = 8, 4 << 20
	s := testserver.StartWire(t, engine.Options{}, pgwire.Options{MaxMessageSize: size, MessageMemory: 2 * size})
	addr := net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
	body := make([]byte, size)
	copy(body, "SELECT 1 -- ")
	for i := 12; i < size-1; i++ {
		body[i] = 'x'
	}
	body[size-1] = 0
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	rest := make(chan struct{})
	var wg sync.WaitGroup
	ncs := readyConns(t, addr, clients)
	for _, nc := range ncs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hdr := []byte{'Q', 0, 0, 0, 0}
			binary.BigEndian.PutUint32(hdr[1:], size+4)
			nc.Write(hdr)
			nc.Write(body[:size-1<<18]) // all but the last 256 kB
			<-rest
			nc.Write(body[size-1<<18:])
		}()
	}
	time.Sleep(500 * time.Millisecond)
	runtime.GC()
	var during runtime.MemStats
	runtime.ReadMemStats(&during)
	grew := int64(during.HeapAlloc) - int64(before.HeapAlloc)
	// The client side holds body; the server at most two bodies.
	t.Logf("%d clients each nearly done with a %d MB query: live heap grew by %.1f MB (the client's %d MB body included)",
		clients, size>>20, float64(grew)/(1<<20), size>>20)
	if grew > 3*size+4<<20 {
		t.Errorf("live heap grew by %d MB: more than two %d MB bodies are held", grew>>20, size>>20)
	}
	close(rest)
	answered := time.Now()
	// Every client gets its answer in turn.
	for i, nc := range ncs {
		nc.SetReadDeadline(time.Now().Add(20 * time.Second))
		var hdr [5]byte
		got := false
		for !got {
			if _, err := io.ReadFull(nc, hdr[:]); err != nil {
				t.Fatalf("client %d: %v", i, err)
			}
			n := int(binary.BigEndian.Uint32(hdr[1:])) - 4
			if _, err := io.CopyN(io.Discard, nc, int64(n)); err != nil {
				t.Fatal(err)
			}
			got = hdr[0] == 'Z'
		}
		t.Logf("client %d answered after %v", i, time.Since(answered).Round(time.Millisecond))
	}
	wg.Wait()
	answers(t, s)
}
