package pgwire

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
)

// silent reports whether the server sends nothing within d.
func (c *rawClient) silent(d time.Duration) bool {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(d))
	var b [1]byte
	_, err := c.nc.Read(b[:])
	c.nc.SetReadDeadline(time.Time{})
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	if err != nil {
		c.t.Fatal(err)
	}
	return false
}

// TestExtendedRepliesWaitForSync: the replies to Parse, Bind and Execute
// are sent at Sync or Flush (one write for the whole exchange, as
// PostgreSQL does), while an error is sent at once.
func TestExtendedRepliesWaitForSync(t *testing.T) {
	ts := startServer(t, Options{})
	c := connectRaw(t, ts.addr)
	for _, m := range []pgproto3.FrontendMessage{
		&pgproto3.Parse{Query: "select 1"},
		&pgproto3.Bind{},
		&pgproto3.Execute{},
	} {
		c.fe.Send(m)
		c.flush()
		if !c.silent(150 * time.Millisecond) {
			t.Fatalf("the server replied to %T before Sync or Flush", m)
		}
	}
	c.fe.Send(&pgproto3.Flush{})
	c.flush()
	got := c.readUntil(func(m pgproto3.BackendMessage) bool { _, ok := m.(*pgproto3.CommandComplete); return ok })
	if len(got) < 3 || got[0] != "ParseComplete" || got[1] != "BindComplete" {
		t.Fatalf("after Flush: %q", got)
	}
	c.fe.Send(&pgproto3.Sync{})
	c.flush()
	c.readReady(1)

	// An error is not held back.
	c.fe.Send(&pgproto3.Parse{Query: "selec nonsense"})
	c.flush()
	if m, ok := c.receive().(*pgproto3.ErrorResponse); !ok {
		t.Fatalf("Parse error: got %T, want ErrorResponse before Sync", m)
	}
	c.fe.Send(&pgproto3.Sync{})
	c.flush()
	c.readReady(1)
}
