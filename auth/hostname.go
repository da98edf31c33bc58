package auth

import (
	"context"
	"net"
	"strings"
	"time"
)

// Host names in hba rules, as PostgreSQL matches them: the address field
// of a host rule may be a host name, or a name suffix starting with a dot
// (".example.com" matches "db.example.com", not "example.com"). A client
// matches when the reverse lookup of its address gives a name that is the
// rule's (or ends with its suffix), compared without case, and the
// forward lookup of that name gives the client's address back: the
// double check keeps a client that controls its own reverse zone from
// claiming any name. A failed lookup matches nothing. Lookups go through
// the system's resolver (so /etc/hosts first) and are bounded in time.

// hostLookupTimeout bounds the lookups of one match.
const hostLookupTimeout = 2 * time.Second

// validHostName reports whether s can be a host name or a dotted suffix.
func validHostName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '.', c == '_':
		default:
			return false
		}
	}
	return true
}

// matchHostName reports whether the client c has host name name.
func matchHostName(name string, c Conn) bool {
	if c.Addr == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), hostLookupTimeout)
	defer cancel()
	names, err := net.DefaultResolver.LookupAddr(ctx, c.Addr.String())
	if err != nil {
		return false
	}
	for _, n := range names {
		n = strings.ToLower(strings.TrimSuffix(n, "."))
		if strings.HasPrefix(name, ".") {
			if !strings.HasSuffix(n, name) {
				continue
			}
		} else if n != name {
			continue
		}
		ips, err := net.DefaultResolver.LookupIPAddr(ctx, n)
		if err != nil {
			continue
		}
		for _, ip := range ips {
			if ip.IP.Equal(c.Addr) {
				return true
			}
		}
	}
	return false
}
