package pgwire

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
)

// TestSSLRequestRefused: SSLRequest and GSSENCRequest get 'N', then the
// startup proceeds on the same connection.
func TestSSLRequestRefused(t *testing.T) {
	ts := startServer(t, Options{})
	for _, code := range []uint32{codeSSL, codeGSSENC} {
		c := dialRaw(t, ts.addr)
		var req [8]byte
		binary.BigEndian.PutUint32(req[:4], 8)
		binary.BigEndian.PutUint32(req[4:], code)
		if _, err := c.nc.Write(req[:]); err != nil {
			t.Fatal(err)
		}
		var answer [1]byte
		c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadFull(c.nc, answer[:]); err != nil || answer[0] != 'N' {
			t.Fatalf("answer %q, %v", answer, err)
		}
		c.startup()
		c.query("select 1")
		if got := strings.Join(c.readReady(1), "|"); got != `RowDescription ?column?:23|DataRow "1"|CommandComplete "SELECT 1"|ReadyForQuery I` {
			t.Fatal(got)
		}
	}
}

// TestStartupErrors covers a bad protocol version, a newer minor version
// (negotiated down), a missing user, and a startup packet of a bad length.
func TestStartupErrors(t *testing.T) {
	ts := startServer(t, Options{})
	startup := func(version uint32, params ...string) []string {
		c := dialRaw(t, ts.addr)
		body := binary.BigEndian.AppendUint32(nil, version)
		for _, p := range params {
			body = append(append(body, p...), 0)
		}
		body = append(body, 0)
		pkt := binary.BigEndian.AppendUint32(nil, uint32(len(body)+4))
		c.nc.Write(append(pkt, body...))
		return c.readUntil(func(m pgproto3.BackendMessage) bool {
			_, ok := m.(*pgproto3.ReadyForQuery)
			return ok
		})
	}
	got := startup(2<<16, "user", "u")
	if len(got) != 2 || !strings.Contains(got[0], `FATAL 0A000 "unsupported frontend protocol 2.0`) {
		t.Fatalf("protocol 2: %q", got)
	}
	got = startup(3<<16|2, "user", "u", "_pq_.x", "1")
	if !strings.HasPrefix(got[0], "NegotiateProtocolVersion") || got[len(got)-1] != "ReadyForQuery I" {
		t.Fatalf("protocol 3.2: %q", got)
	}
	got = startup(3<<16, "database", "d")
	if len(got) != 2 || !strings.Contains(got[0], "FATAL 28000") {
		t.Fatalf("no user: %q", got)
	}
	c := dialRaw(t, ts.addr)
	c.nc.Write([]byte{0, 0, 0x7f, 0xff, 0, 3, 0, 0})
	if got := c.readUntil(func(pgproto3.BackendMessage) bool { return false }); !strings.Contains(got[0], "FATAL 08P01") {
		t.Fatalf("long startup packet: %q", got)
	}
}

// TestCancelRequest cancels a running statement from a second connection,
// and ignores a request with the wrong key.
func TestCancelRequest(t *testing.T) {
	ts := startServer(t, Options{})
	c, sess := sleeper(t, ts)

	sendCancel := func(pid uint32, key []byte) {
		nc := dialTCP(t, ts.addr)
		msg := binary.BigEndian.AppendUint32(nil, uint32(12+len(key)))
		msg = binary.BigEndian.AppendUint32(msg, codeCancel)
		msg = binary.BigEndian.AppendUint32(msg, pid)
		nc.Write(append(msg, key...))
		// The server answers a cancel request by hanging up.
		nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		if n, err := nc.Read(make([]byte, 1)); n != 0 || !errors.Is(err, io.EOF) {
			t.Fatalf("cancel connection: read %d, %v", n, err)
		}
	}
	sendCancel(c.pid, []byte{0, 0, 0, 0})
	sendCancel(c.pid+1, c.key)
	if n := sess.cancels.Load(); n != 0 {
		t.Fatalf("a cancel request with a wrong key or pid cancelled: %d", n)
	}
	sendCancel(c.pid, c.key)
	got := c.readReady(1)
	if len(got) != 2 || got[0] != `ErrorResponse ERROR 57014 "canceling statement due to user request"` {
		t.Fatalf("got %q", got)
	}
	// The connection goes on.
	c.query("select 2")
	if got := c.readReady(1); len(got) != 4 {
		t.Fatalf("got %q", got)
	}
}

// TestClientDisconnectMidQuery: a client that hangs up while its statement
// runs gets the statement cancelled and the session closed.
func TestClientDisconnectMidQuery(t *testing.T) {
	ts := startServer(t, Options{})
	c, sess := sleeper(t, ts)
	c.nc.Close()
	waitFor(t, "cancel and close", func() bool { return sess.cancels.Load() > 0 && sess.closed.Load() })
}

// TestPanicIsolation: a panic on one connection does not disturb another.
func TestPanicIsolation(t *testing.T) {
	ts := startServer(t, Options{})
	a, b := connectRaw(t, ts.addr), connectRaw(t, ts.addr)
	a.query("select panic")
	if got := a.readReady(1); !strings.Contains(got[0], "XX000") {
		t.Fatalf("got %q", got)
	}
	for _, c := range []*rawClient{b, a} {
		c.query("select 1")
		if got := c.readReady(1); len(got) != 4 {
			t.Fatalf("got %q", got)
		}
	}
}

// TestShutdown: idle connections get 57P01 at once; a busy one finishes its
// statement first; Shutdown returns when all are gone.
func TestShutdown(t *testing.T) {
	ts := startServer(t, Options{})
	idle, busy := connectRaw(t, ts.addr), connectRaw(t, ts.addr)
	busy.query("select pg_sleep(0.3)")
	<-ts.b.sleeping

	done := make(chan error, 1)
	go func() { done <- ts.srv.Shutdown(context.Background()) }()
	fatal := `ErrorResponse FATAL 57P01 "terminating connection due to administrator command"`
	if got := idle.readUntil(func(pgproto3.BackendMessage) bool { return false }); len(got) != 2 || got[0] != fatal {
		t.Fatalf("idle: %q", got)
	}
	got := busy.readUntil(func(pgproto3.BackendMessage) bool { return false })
	if len(got) != 6 || got[3] != "ReadyForQuery I" || got[4] != fatal {
		t.Fatalf("busy: %q", got)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := net.Dial("tcp", ts.addr); err == nil {
		t.Fatal("still accepting after Shutdown")
	}
}

// TestShutdownDeadline: a statement that outlives Shutdown's context is
// cancelled and its connection closed.
func TestShutdownDeadline(t *testing.T) {
	ts := startServer(t, Options{})
	_, sess := sleeper(t, ts)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := ts.srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
	if !sess.closed.Load() || sess.cancels.Load() == 0 {
		t.Fatal("session not cancelled and closed")
	}
}

// TestServeContext: ending Serve's context closes everything.
func TestServeContext(t *testing.T) {
	b := newFakeBackend()
	srv := NewServer(b, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	c := dialRaw(t, ln.Addr().String())
	c.startup()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Serve: %v", err)
	}
	if got := c.readUntil(func(pgproto3.BackendMessage) bool { return false }); got[len(got)-1] != "<closed>" {
		t.Fatalf("got %q", got)
	}
}

// FuzzReadMessages feeds arbitrary bytes after a valid startup. The server
// must neither panic nor hang: whatever it answers is well framed, and it
// lets go of the connection once the client closes.
func FuzzReadMessages(f *testing.F) {
	msg := func(m pgproto3.FrontendMessage) []byte {
		b, err := m.Encode(nil)
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	seeds := [][]byte{
		{},
		msg(&pgproto3.Query{String: "select 1"}),
		msg(&pgproto3.Query{String: "select types; select generate_series(1, 7)"}),
		append(msg(&pgproto3.Parse{Query: "select $1::int4"}), append(msg(&pgproto3.Bind{Parameters: [][]byte{[]byte("5")}}), append(msg(&pgproto3.Execute{MaxRows: 1}), msg(&pgproto3.Sync{})...)...)...),
		append(msg(&pgproto3.Query{String: "copy t from stdin"}), append(msg(&pgproto3.CopyData{Data: []byte("1\n")}), msg(&pgproto3.CopyDone{})...)...),
		{'B', 0, 0, 0, 10, 0, 0, 0, 0, 0, 5},
		{'Q', 0x7f, 0xff, 0xff, 0xff},
		{'Q', 0, 0, 0, 1},
		{'z', 0, 0, 0, 4},
		{'D', 0, 0, 0, 6, 'X', 0},
		{'p', 0, 0, 0, 5, 0},
		// Announced lengths far beyond what follows, and invalid UTF-8 on
		// every path text comes in by.
		{'Q', 0, 0, 0xff, 0xf0, 's', 'e', 'l'},
		{'d', 0, 0, 0xff, 0xff, '1', '\n'},
		msg(&pgproto3.Query{String: "select 'a\xffb'"}),
		append(msg(&pgproto3.Parse{Query: "select '\xc3('"}), msg(&pgproto3.Sync{})...),
		append(msg(&pgproto3.Parse{Query: "select $1::text"}), append(msg(&pgproto3.Bind{Parameters: [][]byte{[]byte("\xed\xa0\x80")}}), msg(&pgproto3.Sync{})...)...),
		append(msg(&pgproto3.Query{String: "copy t from stdin"}), append(msg(&pgproto3.CopyData{Data: []byte("1\t\xfe\n")}), msg(&pgproto3.CopyDone{})...)...),
		msg(&pgproto3.Terminate{}),
	}
	// Statements that crashed the server in the cgo parser, and some just
	// within the limits (sql/parser/limits.go), simple and extended.
	rep := strings.Repeat
	for _, q := range []string{
		"SELECT 1" + rep("+1", 30000),
		"SELECT 'a'" + rep("||'a'", 12000),
		"SELECT 1" + rep(" UNION ALL SELECT 1", 3000),
		"SELECT " + rep("(", 1200) + "1" + rep(")", 1200),
		"SELECT " + rep("(SELECT ", 1500) + "1" + rep(")", 1500),
		"SELECT " + rep("CASE WHEN true THEN ", 1200) + "1" + rep(" END", 1200),
		"SELECT " + rep("NOT ", 5000) + "true",
		"SELECT " + rep("1+1+(", 900) + "1" + rep(")", 900),
		"SELECT 1" + rep("+1", 2000),
		"SELECT " + rep("(SELECT ", 800) + "1" + rep(")", 800),
	} {
		seeds = append(seeds, msg(&pgproto3.Query{String: q}),
			append(msg(&pgproto3.Parse{Query: q}), msg(&pgproto3.Sync{})...))
	}
	for _, s := range seeds {
		f.Add(s)
	}
	b := newFakeBackend()
	srv := NewServer(b, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), MaxMessageSize: 1 << 16})
	f.Fuzz(func(t *testing.T, data []byte) {
		client, server := net.Pipe()
		served := make(chan struct{})
		go func() {
			defer close(served)
			srv.serveConn(context.Background(), server)
		}()
		fe := pgproto3.NewFrontend(client, client)
		fe.Send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30, Parameters: map[string]string{"user": "fuzz"}})
		if err := fe.Flush(); err != nil {
			t.Fatal(err)
		}
		for {
			m, err := fe.Receive()
			if err != nil {
				t.Fatalf("startup: %v", err)
			}
			if _, ok := m.(*pgproto3.ReadyForQuery); ok {
				break
			}
		}
		// Write the fuzz bytes while reading everything the server says.
		go func() {
			client.Write(data)
			// Give the server a moment to answer, then hang up.
			time.Sleep(5 * time.Millisecond)
			client.Close()
		}()
		var framingErr error
		for {
			client.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, err := fe.Receive()
			if err == nil {
				continue
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("server neither answered nor closed")
			}
			if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrClosedPipe) && !errors.Is(err, io.ErrUnexpectedEOF) && !strings.Contains(err.Error(), "closed") {
				framingErr = err
			}
			break
		}
		if framingErr != nil {
			t.Fatalf("server sent a malformed message: %v", framingErr)
		}
		select {
		case <-served:
		case <-time.After(5 * time.Second):
			t.Fatal("server did not release the connection")
		}
	})
}

// TestLargeMessages: messages above the read-ahead threshold are served in
// order, and the same size over MaxMessageSize is refused.
func TestLargeMessages(t *testing.T) {
	ts := startServer(t, Options{MaxMessageSize: 2 << 20})
	c := connectRaw(t, ts.addr)
	pad := strings.Repeat(" ", 1<<20)
	for i := 1; i <= 3; i++ {
		c.fe.Send(&pgproto3.Query{String: "select " + strconv.Itoa(i) + pad})
	}
	c.flush()
	got := c.readReady(3)
	if len(got) != 12 || got[1] != `DataRow "1"` || got[5] != `DataRow "2"` || got[9] != `DataRow "3"` {
		t.Fatalf("got %q", got)
	}
	c.fe.Send(&pgproto3.Query{String: "select 4" + pad + pad})
	c.fe.Flush()
	got = c.readUntil(func(pgproto3.BackendMessage) bool { return false })
	if !strings.Contains(got[0], "FATAL 08P01") || got[1] != "<closed>" {
		t.Fatalf("got %q", got)
	}
}

// TestIdleTimeout: the wait after ReadyForQuery is bounded by what the
// session's Idle returns, and only that wait: a client that pauses in the
// middle of an extended-protocol exchange (before Sync) is not idle.
func TestIdleTimeout(t *testing.T) {
	ts := startServer(t, Options{})
	ts.b.mu.Lock()
	ts.b.idleLimit = 150 * time.Millisecond
	ts.b.mu.Unlock()
	c := connectRaw(t, ts.addr)
	c.fe.Send(&pgproto3.Parse{Query: "select 1"})
	c.flush()
	time.Sleep(400 * time.Millisecond)
	c.fe.Send(&pgproto3.Bind{})
	c.fe.Send(&pgproto3.Execute{})
	c.fe.Send(&pgproto3.Sync{})
	c.flush()
	if got := c.readReady(1); len(got) != 5 || got[2] != `DataRow "1"` {
		t.Fatalf("after a pause before Sync: %q", got)
	}
	start := time.Now()
	got := c.readUntil(func(pgproto3.BackendMessage) bool { return false })
	took := time.Since(start)
	if len(got) != 2 || !strings.Contains(got[0], "FATAL 57P05") || got[1] != "<closed>" {
		t.Fatalf("idle after ReadyForQuery: %q", got)
	}
	if took < 140*time.Millisecond || took > 2*time.Second {
		t.Fatalf("idle timeout after %v", took)
	}
}
