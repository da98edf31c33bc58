package auth

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
)

// Method is how a client matched by an hba rule must authenticate.
type Method string

// The methods of pg_hba.conf that StreamSQL serves.
const (
	Trust       Method = "trust"
	Reject      Method = "reject"
	ScramSHA256 Method = "scram-sha-256"
	MD5         Method = "md5"
	Password    Method = "password"
	Cert        Method = "cert"
)

// ConnType is the first field of an hba line.
type ConnType string

// Connection types.
const (
	Local     ConnType = "local"
	Host      ConnType = "host"
	HostSSL   ConnType = "hostssl"
	HostNoSSL ConnType = "hostnossl"
)

// token is one word of a list field; quoted words never have a special
// meaning ("all" in quotes is a role named all).
type token struct {
	text   string
	quoted bool
}

func (t token) is(keyword string) bool { return !t.quoted && t.text == keyword }

// Rule is one line of an hba file.
type Rule struct {
	Line      int
	Type      ConnType
	databases []token
	users     []token
	// Address: allAddr, sameHost, sameNet, or a network.
	allAddr, sameHost, sameNet bool
	network                    *net.IPNet
	// hostName is a host name (".example.com": any name ending so) that
	// the client's address must have (hostname.go).
	hostName string
	Method   Method
	// Options are the name=value pairs after the method (clientcert=...).
	Options map[string]string
	// Text is the line as written, for messages and logs.
	Text string
}

// HBA is an ordered list of rules: the first that matches a connection
// decides, and a connection no rule matches is refused.
type HBA struct {
	// mu guards Rules and Source, which Replace swaps while connections
	// are matched (a reload on SIGHUP).
	mu    sync.RWMutex
	Rules []Rule
	// Source names where the rules came from (a file name or "default").
	Source string
}

// Replace makes n's rules h's: connections authenticated from now on
// match them; those already in keep the rule they matched. n is not used
// after.
func (h *HBA) Replace(n *HBA) {
	n.mu.RLock()
	rules, source := n.Rules, n.Source
	n.mu.RUnlock()
	h.mu.Lock()
	h.Rules, h.Source = rules, source
	h.mu.Unlock()
}

// DefaultHBA is what the server uses without an hba file: trust for
// loopback connections, SCRAM-SHA-256 for everything else.
func DefaultHBA() *HBA {
	h, err := ParseHBA(strings.NewReader(`# built-in default
local all all                trust
host  all all 127.0.0.1/32   trust
host  all all ::1/128        trust
host  all all all            scram-sha-256
`), "default")
	if err != nil {
		panic(err) // a constant that does not parse is a bug
	}
	return h
}

// LoadHBA reads an hba file.
func LoadHBA(path string) (*HBA, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseHBA(f, path)
}

// ParseHBA reads rules in pg_hba.conf form: one rule per line, fields
// separated by blanks, '#' starting a comment, a backslash at the end of a
// line continuing it.
func ParseHBA(r io.Reader, source string) (*HBA, error) {
	h := &HBA{Source: source}
	sc := bufio.NewScanner(r)
	lineNo, pending, startLine := 0, "", 0
	for sc.Scan() {
		lineNo++
		line := sc.Text()
		if pending == "" {
			startLine = lineNo
		}
		if strings.HasSuffix(line, "\\") {
			pending += strings.TrimSuffix(line, "\\") + " "
			continue
		}
		line = pending + line
		pending = ""
		fields, err := splitFields(line)
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w", source, startLine, err)
		}
		if len(fields) == 0 {
			continue
		}
		rule, err := parseRule(fields)
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w", source, startLine, err)
		}
		rule.Line = startLine
		rule.Text = strings.TrimSpace(line)
		h.Rules = append(h.Rules, rule)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return h, nil
}

// splitFields splits a line into fields; each field is a comma-separated
// list of tokens, possibly quoted.
func splitFields(line string) ([][]token, error) {
	var fields [][]token
	var cur []token
	var tok strings.Builder
	inField, inQuote, quoted := false, false, false
	endToken := func() {
		cur = append(cur, token{text: tok.String(), quoted: quoted})
		tok.Reset()
		quoted = false
	}
	endField := func() {
		if inField {
			endToken()
			fields = append(fields, cur)
			cur = nil
			inField = false
		}
	}
	for i := 0; i < len(line); i++ {
		ch := line[i]
		switch {
		case inQuote:
			if ch == '"' {
				if i+1 < len(line) && line[i+1] == '"' {
					tok.WriteByte('"')
					i++
					continue
				}
				inQuote = false
				continue
			}
			tok.WriteByte(ch)
		case ch == '#':
			endField()
			return fields, nil
		case ch == ' ' || ch == '\t' || ch == '\r':
			endField()
		case ch == '"':
			inField, inQuote, quoted = true, true, true
		case ch == ',':
			if !inField {
				return nil, fmt.Errorf("unexpected comma")
			}
			endToken()
		default:
			inField = true
			tok.WriteByte(ch)
		}
	}
	if inQuote {
		return nil, fmt.Errorf("unterminated quoted string")
	}
	endField()
	return fields, nil
}

func single(f []token, what string) (string, error) {
	if len(f) != 1 {
		return "", fmt.Errorf("multiple values specified for %s", what)
	}
	return f[0].text, nil
}

// nextField takes the next field, a single value, off *rest; eol says
// what is missing when there is none, what names the field when it has
// several values.
func nextField(rest *[][]token, eol, what string) (string, error) {
	if len(*rest) == 0 {
		return "", fmt.Errorf("end-of-line before %s", eol)
	}
	v, err := single((*rest)[0], what)
	if err != nil {
		return "", err
	}
	*rest = (*rest)[1:]
	return v, nil
}

func parseRule(fields [][]token) (Rule, error) {
	var r Rule
	typ, err := single(fields[0], "connection type")
	if err != nil {
		return r, err
	}
	r.Type = ConnType(typ)
	switch r.Type {
	case Local, Host, HostSSL, HostNoSSL:
	case "hostgssenc", "hostnogssenc":
		return r, fmt.Errorf("connection type %q is not supported: StreamSQL has no GSSAPI", typ)
	default:
		return r, fmt.Errorf("invalid connection type %q", typ)
	}
	if len(fields) < 2 {
		return r, fmt.Errorf("end-of-line before database specification")
	}
	r.databases = fields[1]
	if len(fields) < 3 {
		return r, fmt.Errorf("end-of-line before role specification")
	}
	r.users = fields[2]
	for _, t := range append(append([]token{}, r.databases...), r.users...) {
		if !t.quoted && strings.HasPrefix(t.text, "@") {
			return r, fmt.Errorf("included files (%s) are not supported", t.text)
		}
	}
	rest := fields[3:]
	if r.Type != Local {
		addr, err := nextField(&rest, "IP address specification", "IP address")
		if err != nil {
			return r, err
		}
		r.allAddr, r.sameHost, r.sameNet = addr == "all", addr == "samehost", addr == "samenet"
		switch {
		case r.allAddr || r.sameHost || r.sameNet:
		case strings.Contains(addr, "/"):
			_, n, err := net.ParseCIDR(addr)
			if err != nil {
				return r, fmt.Errorf("invalid IP address %q: %v", addr, err)
			}
			r.network = n
		default:
			ip := net.ParseIP(addr)
			if ip == nil {
				if !validHostName(addr) {
					return r, fmt.Errorf("invalid IP address or host name %q", addr)
				}
				r.hostName = strings.ToLower(addr)
				break
			}
			m, err := nextField(&rest, "netmask specification", "netmask")
			if err != nil {
				return r, err
			}
			mask := net.ParseIP(m)
			if mask == nil {
				return r, fmt.Errorf("invalid IP mask %q", m)
			}
			if v4 := ip.To4(); v4 != nil {
				ip, mask = v4, mask.To4()
				if mask == nil {
					return r, fmt.Errorf("IP address and mask do not match")
				}
			}
			r.network = &net.IPNet{IP: ip.Mask(net.IPMask(mask)), Mask: net.IPMask(mask)}
		}
	}
	m, err := nextField(&rest, "authentication method", "authentication type")
	if err != nil {
		return r, err
	}
	r.Method = Method(m)
	switch r.Method {
	case Trust, Reject, ScramSHA256, MD5, Password:
	case Cert:
		if r.Type != HostSSL {
			return r, fmt.Errorf("cert authentication is only supported on hostssl connections")
		}
	default:
		return r, fmt.Errorf("invalid authentication method %q", m)
	}
	for _, f := range rest {
		opt, err := single(f, "option")
		if err != nil {
			return r, err
		}
		k, v, ok := strings.Cut(opt, "=")
		if !ok {
			return r, fmt.Errorf("authentication option not in name=value format: %s", opt)
		}
		switch k {
		case "clientcert":
			if r.Type != HostSSL {
				return r, fmt.Errorf("clientcert can only be configured for \"hostssl\" rows")
			}
			if v != "verify-ca" && v != "verify-full" {
				return r, fmt.Errorf("invalid value for clientcert: %q", v)
			}
		default:
			return r, fmt.Errorf("unrecognized authentication option name: %q", k)
		}
		if r.Options == nil {
			r.Options = map[string]string{}
		}
		r.Options[k] = v
	}
	return r, nil
}

// Conn describes a connection being authenticated.
type Conn struct {
	// Local: a Unix-domain socket; otherwise Addr is the client's address.
	Local    bool
	Addr     net.IP
	SSL      bool
	Database string
	User     string
	// MemberOf reports whether user is a member of role (directly or
	// through other roles); nil means no memberships.
	MemberOf func(user, role string) bool
	// LocalAddrs are the server's own addresses (for samehost, samenet);
	// nil means the loopback addresses only.
	LocalAddrs []net.IPNet
}

// Match returns the first rule that matches c, or false when none does
// (the connection is then refused).
func (h *HBA) Match(c Conn) (*Rule, bool) {
	h.mu.RLock()
	rules := h.Rules
	h.mu.RUnlock()
	for i := range rules {
		if rules[i].matches(c) {
			return &rules[i], true
		}
	}
	return nil, false
}

func (r *Rule) matches(c Conn) bool {
	switch r.Type {
	case Local:
		if !c.Local {
			return false
		}
	case Host:
		if c.Local {
			return false
		}
	case HostSSL:
		if c.Local || !c.SSL {
			return false
		}
	case HostNoSSL:
		if c.Local || c.SSL {
			return false
		}
	}
	if r.Type != Local && !r.matchAddr(c) {
		return false
	}
	return r.matchDatabase(c) && r.matchUser(c)
}

func (r *Rule) matchAddr(c Conn) bool {
	switch {
	case r.allAddr:
		return true
	case r.sameHost, r.sameNet:
		addrs := c.LocalAddrs
		if addrs == nil {
			addrs = []net.IPNet{{IP: net.IPv4(127, 0, 0, 1), Mask: net.CIDRMask(8, 32)}, {IP: net.IPv6loopback, Mask: net.CIDRMask(128, 128)}}
		}
		for _, a := range addrs {
			if r.sameHost && a.IP.Equal(c.Addr) {
				return true
			}
			if r.sameNet && a.Contains(c.Addr) {
				return true
			}
		}
		return false
	case r.hostName != "":
		return matchHostName(r.hostName, c)
	}
	ip := c.Addr
	if v4 := ip.To4(); v4 != nil && len(r.network.IP) == net.IPv4len {
		ip = v4
	}
	return r.network.Contains(ip)
}

func (r *Rule) matchDatabase(c Conn) bool {
	for _, t := range r.databases {
		switch {
		case t.is("all"):
			return true
		case t.is("sameuser"):
			if c.Database == c.User {
				return true
			}
		case t.is("samerole"), t.is("samegroup"):
			if c.Database == c.User || (c.MemberOf != nil && c.MemberOf(c.User, c.Database)) {
				return true
			}
		case t.is("replication"):
			// StreamSQL serves no physical replication connections.
		case t.text == c.Database:
			return true
		}
	}
	return false
}

func (r *Rule) matchUser(c Conn) bool {
	for _, t := range r.users {
		switch {
		case t.is("all"):
			return true
		case !t.quoted && strings.HasPrefix(t.text, "+"):
			g := t.text[1:]
			if c.User == g || (c.MemberOf != nil && c.MemberOf(c.User, g)) {
				return true
			}
		case t.text == c.User:
			return true
		}
	}
	return false
}
