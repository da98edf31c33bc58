package pgwire

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
)

// testServer runs a Server over a fake backend on a loopback port.
type testServer struct {
	b    *fakeBackend
	srv  *Server
	addr string
	port string
}

func startServer(t testing.TB, opts Options) *testServer {
	t.Helper()
	b := newFakeBackend()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(b, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		sctx, c := context.WithTimeout(context.Background(), 5*time.Second)
		defer c()
		if err := srv.Shutdown(sctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		cancel()
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
	})
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return &testServer{b: b, srv: srv, addr: ln.Addr().String(), port: port}
}

func (ts *testServer) url() string {
	return fmt.Sprintf("postgres://tester@%s/db?sslmode=disable", ts.addr)
}

// rawClient speaks the protocol message by message.
type rawClient struct {
	t   testing.TB
	nc  net.Conn
	fe  *pgproto3.Frontend
	pid uint32
	key []byte
}

func dialRaw(t testing.TB, addr string) *rawClient {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &rawClient{t: t, nc: nc, fe: pgproto3.NewFrontend(nc, nc)}
}

// connectRaw dials addr and completes the startup.
func connectRaw(t testing.TB, addr string) *rawClient {
	t.Helper()
	c := dialRaw(t, addr)
	c.startup()
	return c
}

// startup sends a StartupMessage and reads up to ReadyForQuery.
func (c *rawClient) startup() {
	c.t.Helper()
	c.fe.Send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30, Parameters: map[string]string{"user": "tester", "database": "db"}})
	c.flush()
	for {
		m := c.receive()
		switch m := m.(type) {
		case *pgproto3.BackendKeyData:
			c.pid, c.key = m.ProcessID, append([]byte(nil), m.SecretKey...)
		case *pgproto3.ReadyForQuery:
			return
		case *pgproto3.ErrorResponse:
			c.t.Fatalf("startup failed: %s", render(m))
		case nil:
			c.t.Fatal("connection closed during startup")
		}
	}
}

func (c *rawClient) flush() {
	c.t.Helper()
	if err := c.fe.Flush(); err != nil {
		c.t.Fatal(err)
	}
}

// query sends sql as a simple-protocol Query.
func (c *rawClient) query(sql string) {
	c.t.Helper()
	c.fe.Send(&pgproto3.Query{String: sql})
	c.flush()
}

// sleeper connects a client to ts that runs select pg_sleep(30) and
// returns it with the statement's session once the backend sleeps in it.
func sleeper(t testing.TB, ts *testServer) (*rawClient, *fakeSession) {
	t.Helper()
	c := connectRaw(t, ts.addr)
	c.query("select pg_sleep(30)")
	return c, <-ts.b.sleeping
}

// receive returns the next message, or nil when the connection closed.
func (c *rawClient) receive() pgproto3.BackendMessage {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	m, err := c.fe.Receive()
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			c.t.Fatalf("timed out waiting for a message")
		}
		return nil
	}
	return m
}

// readUntil renders messages until stop says so (after the message is
// rendered) or the connection closes ("<closed>").
func (c *rawClient) readUntil(stop func(pgproto3.BackendMessage) bool) []string {
	c.t.Helper()
	var out []string
	for {
		m := c.receive()
		if m == nil {
			return append(out, "<closed>")
		}
		out = append(out, render(m))
		if stop(m) {
			return out
		}
	}
}

// readReady reads through n ReadyForQuery messages.
func (c *rawClient) readReady(n int) []string {
	return c.readUntil(func(m pgproto3.BackendMessage) bool {
		if _, ok := m.(*pgproto3.ReadyForQuery); ok {
			n--
		}
		return n == 0
	})
}

// render prints a backend message on one line.
func render(m pgproto3.BackendMessage) string {
	switch m := m.(type) {
	case *pgproto3.RowDescription:
		var b strings.Builder
		b.WriteString("RowDescription")
		for _, f := range m.Fields {
			fmt.Fprintf(&b, " %s:%d", f.Name, f.DataTypeOID)
			if f.Format != 0 {
				b.WriteString(":binary")
			}
		}
		return b.String()
	case *pgproto3.DataRow:
		var b strings.Builder
		b.WriteString("DataRow")
		for _, v := range m.Values {
			if v == nil {
				b.WriteString(" NULL")
			} else {
				fmt.Fprintf(&b, " %q", v)
			}
		}
		return b.String()
	case *pgproto3.CommandComplete:
		return fmt.Sprintf("CommandComplete %q", m.CommandTag)
	case *pgproto3.ErrorResponse:
		s := fmt.Sprintf("ErrorResponse %s %s %q", m.Severity, m.Code, m.Message)
		if m.Position != 0 {
			s += fmt.Sprintf(" position=%d", m.Position)
		}
		if m.Detail != "" {
			s += fmt.Sprintf(" detail=%q", m.Detail)
		}
		return s
	case *pgproto3.ReadyForQuery:
		return "ReadyForQuery " + string(m.TxStatus)
	case *pgproto3.ParameterStatus:
		return fmt.Sprintf("ParameterStatus %s=%s", m.Name, m.Value)
	case *pgproto3.ParameterDescription:
		return fmt.Sprintf("ParameterDescription %v", m.ParameterOIDs)
	case *pgproto3.CopyInResponse:
		return fmt.Sprintf("CopyInResponse format=%d columns=%v", m.OverallFormat, m.ColumnFormatCodes)
	case *pgproto3.CopyOutResponse:
		return fmt.Sprintf("CopyOutResponse format=%d columns=%v", m.OverallFormat, m.ColumnFormatCodes)
	case *pgproto3.CopyData:
		return fmt.Sprintf("CopyData %q", m.Data)
	}
	return messageName(m)
}

// messageName is the name of m's type in pgproto3.
func messageName(m any) string {
	return strings.TrimPrefix(fmt.Sprintf("%T", m), "*pgproto3.")
}

// parseFrontend reads one message written as `Type {json}`; CopyData takes
// a JSON string and raw takes hex bytes sent as they are.
func parseFrontend(line string) (pgproto3.FrontendMessage, error) {
	name, arg, _ := strings.Cut(strings.TrimSpace(line), " ")
	var m pgproto3.FrontendMessage
	switch name {
	case "Query":
		var q string
		if err := json.Unmarshal([]byte(arg), &q); err != nil {
			return nil, err
		}
		return &pgproto3.Query{String: q}, nil
	case "CopyData":
		var d string
		if err := json.Unmarshal([]byte(arg), &d); err != nil {
			return nil, err
		}
		return &pgproto3.CopyData{Data: []byte(d)}, nil
	}
	// The other messages are read from JSON into a new one of their type.
	for _, fresh := range []pgproto3.FrontendMessage{&pgproto3.Parse{}, &pgproto3.Bind{}, &pgproto3.Describe{},
		&pgproto3.Execute{}, &pgproto3.Close{}, &pgproto3.Sync{}, &pgproto3.Flush{}, &pgproto3.CopyDone{},
		&pgproto3.CopyFail{}, &pgproto3.Terminate{}} {
		if messageName(fresh) == name {
			m = fresh
		}
	}
	if m == nil {
		return nil, fmt.Errorf("unknown message %q", name)
	}
	if arg != "" {
		if err := json.Unmarshal([]byte(arg), m); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	return m, nil
}
