package auth

import (
	"net"
	"strings"
	"testing"

	"streamsql/internal/doctest"
)

// TestSecurityDocExample parses the pg_hba example of docs/security.md and
// checks that it decides as the page says.
func TestSecurityDocExample(t *testing.T) {
	text := string(doctest.Block(t, "docs/security.md", "(?s)```pg_hba\n(.*?)```")[1])
	h, err := ParseHBA(strings.NewReader(text), "docs/security.md")
	if err != nil {
		t.Fatal(err)
	}
	analysts := func(user, role string) bool { return role == "analysts" && (user == "alice" || user == "bob") }
	for _, c := range []struct {
		conn Conn
		want Method
	}{
		{Conn{Addr: net.ParseIP("10.20.1.2"), SSL: true, User: "alice", Database: "streamsql"}, ScramSHA256},
		{Conn{Addr: net.ParseIP("10.20.1.2"), SSL: false, User: "alice", Database: "streamsql"}, Reject},
		{Conn{Addr: net.ParseIP("192.168.1.2"), SSL: true, User: "alice", Database: "streamsql"}, Reject},
		{Conn{Addr: net.ParseIP("10.20.30.40"), SSL: true, User: "reporting", Database: "streamsql"}, Cert},
		{Conn{Addr: net.ParseIP("10.20.30.41"), SSL: true, User: "reporting", Database: "streamsql"}, Reject},
		{Conn{Addr: net.ParseIP("127.0.0.1"), User: "streamsql", Database: "streamsql"}, Trust},
		{Conn{Addr: net.ParseIP("127.0.0.1"), User: "alice", Database: "streamsql"}, Reject},
		{Conn{Addr: net.ParseIP("10.20.1.2"), SSL: true, User: "alice", Database: "http"}, ScramSHA256},
		{Conn{Addr: net.ParseIP("10.20.1.2"), SSL: true, User: "mallory", Database: "streamsql"}, Reject},
	} {
		c.conn.MemberOf = analysts
		r, ok := h.Match(c.conn)
		if !ok || r.Method != c.want {
			t.Errorf("%+v: %v, want %s", c.conn, r, c.want)
		}
	}
}
