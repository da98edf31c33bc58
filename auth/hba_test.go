package auth

import (
	"net"
	"strings"
	"testing"
)

func TestHBAMatch(t *testing.T) {
	h, err := ParseHBA(strings.NewReader(`
# TYPE     DATABASE        USER             ADDRESS          METHOD
local      all             all                               trust
hostssl    all             +analysts        10.0.0.0/8       cert clientcert=verify-full
hostnossl  all             +analysts        10.0.0.0/8       reject
host       sales,"all"     alice,bob        192.168.1.0 255.255.255.0   md5
host       sameuser        all              samehost         password
host       all             "+literal"       all              trust
host       all             all              ::1/128          trust
host       all             all              all              scram-sha-256
`), "test")
	if err != nil {
		t.Fatal(err)
	}
	member := func(user, role string) bool { return user == "carol" && role == "analysts" }
	for _, c := range []struct {
		conn Conn
		line int
	}{
		{Conn{Local: true, User: "x", Database: "y"}, 3},
		{Conn{Addr: net.ParseIP("10.1.2.3"), SSL: true, User: "carol", Database: "d"}, 4},
		{Conn{Addr: net.ParseIP("10.1.2.3"), SSL: false, User: "carol", Database: "d"}, 5},
		{Conn{Addr: net.ParseIP("10.1.2.3"), SSL: false, User: "dave", Database: "d"}, 10},
		{Conn{Addr: net.ParseIP("192.168.1.77"), User: "bob", Database: "sales"}, 6},
		{Conn{Addr: net.ParseIP("192.168.1.77"), User: "bob", Database: "all"}, 6},
		{Conn{Addr: net.ParseIP("192.168.1.77"), User: "bob", Database: "other"}, 10},
		{Conn{Addr: net.ParseIP("192.168.2.77"), User: "alice", Database: "sales"}, 10},
		{Conn{Addr: net.ParseIP("127.0.0.1"), User: "erin", Database: "erin"}, 7},
		{Conn{Addr: net.ParseIP("127.0.0.1"), User: "erin", Database: "x"}, 10},
		{Conn{Addr: net.ParseIP("1.2.3.4"), User: "+literal", Database: "x"}, 8},
		{Conn{Addr: net.ParseIP("::1"), User: "z", Database: "x"}, 9},
	} {
		c.conn.MemberOf = member
		r, ok := h.Match(c.conn)
		if !ok || r.Line != c.line {
			t.Errorf("%+v matched line %v (%v), want %d", c.conn, r, ok, c.line)
		}
	}
	if r, _ := h.Match(Conn{Addr: net.ParseIP("10.1.2.3"), SSL: true, User: "carol", Database: "d", MemberOf: member}); r.Method != Cert || r.Options["clientcert"] != "verify-full" {
		t.Errorf("cert rule: %+v", r)
	}
	noCatchAll, _ := ParseHBA(strings.NewReader("host all alice all trust\n"), "x")
	if _, ok := noCatchAll.Match(Conn{Addr: net.ParseIP("1.1.1.1"), User: "bob"}); ok {
		t.Error("a connection no rule names matched")
	}
}

func TestHBADefault(t *testing.T) {
	h := DefaultHBA()
	for ip, want := range map[string]Method{"127.0.0.1": Trust, "::1": Trust, "10.0.0.1": ScramSHA256, "127.0.0.2": ScramSHA256} {
		r, ok := h.Match(Conn{Addr: net.ParseIP(ip), User: "u", Database: "d"})
		if !ok || r.Method != want {
			t.Errorf("%s: %v, want %s", ip, r, want)
		}
	}
}

func TestHBAErrors(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"hots all all all trust", `invalid connection type "hots"`},
		{"host all all", "end-of-line before IP address specification"},
		{"host all all all", "end-of-line before authentication method"},
		{"host all all 10.0.0.0/33 trust", "invalid IP address"},
		{"host all all 10.0.0.1 trust", "invalid IP mask"},
		{"host all all db!example.com trust", "invalid IP address or host name"},
		{"host all all all ident", `invalid authentication method "ident"`},
		{"host all all all cert", "cert authentication is only supported on hostssl connections"},
		{"host all all all trust foo=bar", "unrecognized authentication option name"},
		{`host all "unterminated all trust`, "unterminated quoted string"},
		{"host all @admins all trust", "included files"},
		{"hostgssenc all all all trust", "not supported"},
	} {
		_, err := ParseHBA(strings.NewReader("# first\n"+c.text+"\n"), "f")
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "f line 2") {
			t.Errorf("%q: %v, want %q at line 2", c.text, err, c.want)
		}
	}
}

// TestHBAHostName: a rule's host name matches a client whose address
// reverse-resolves to it and back (localhost through /etc/hosts), a
// dotted suffix the names ending with it; other names do not match.
func TestHBAHostName(t *testing.T) {
	h, err := ParseHBA(strings.NewReader(`
host all alice nosuch.invalid trust
host all alice LOCALHOST      md5
host all bob   .invalid       trust
host all bob   all            reject
`), "names")
	if err != nil {
		t.Fatal(err)
	}
	lo := net.ParseIP("127.0.0.1")
	if r, ok := h.Match(Conn{Addr: lo, User: "alice", Database: "d"}); !ok || r.Line != 3 {
		t.Errorf("alice from 127.0.0.1 matched %v, want line 3 (localhost)", r)
	}
	if r, ok := h.Match(Conn{Addr: lo, User: "bob", Database: "d"}); !ok || r.Line != 5 {
		t.Errorf("bob from 127.0.0.1 matched %v, want line 5 (localhost does not end with .invalid)", r)
	}
}

// TestHBAReplace: Replace swaps the rules a running server matches.
func TestHBAReplace(t *testing.T) {
	h := DefaultHBA()
	n, err := ParseHBA(strings.NewReader("host all all all reject\n"), "new")
	if err != nil {
		t.Fatal(err)
	}
	h.Replace(n)
	if r, ok := h.Match(Conn{Addr: net.ParseIP("127.0.0.1"), User: "u", Database: "d"}); !ok || r.Method != Reject || h.Source != "new" {
		t.Errorf("after Replace: %v from %s", r, h.Source)
	}
}
