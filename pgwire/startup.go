package pgwire

import (
	"bytes"
	"crypto/md5"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5/pgproto3"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// Request codes of the untyped startup packets.
const (
	codeCancel  = 80877102
	codeSSL     = 80877103
	codeGSSENC  = 80877104
	maxStartup  = 10000 // MAX_STARTUP_PACKET_LENGTH
	maxPassword = 1000
)

// startup runs the handshake up to the first ReadyForQuery. It returns false
// when the connection must end (cancel request, refusal, failure).
func (c *conn) startup() bool {
	var params map[string]string
	for attempt := 0; ; attempt++ {
		body, err := c.readStartupPacket()
		if err != nil {
			if isTimeout(err) {
				c.log.Debug("pgwire: no startup packet within the authentication timeout")
				return false
			}
			if !isEOF(err) {
				c.log.Debug("pgwire: bad startup packet", "err", err)
				c.sendFatal(err)
			}
			return false
		}
		code := binary.BigEndian.Uint32(body)
		switch code {
		case codeSSL, codeGSSENC:
			if code == codeSSL && c.srv.opts.TLS != nil && c.tls == nil {
				if !c.startTLS() {
					return false
				}
				continue
			}
			// No TLS (or already in it) and no GSS encryption: say 'N'
			// and read the real startup.
			if attempt > 2 {
				c.sendFatal(sqlerr.New(sqlerr.ProtocolViolation, "too many encryption requests"))
				return false
			}
			c.w.buf = append(c.w.buf, 'N')
			if c.w.flush() != nil {
				return false
			}
			continue
		case codeCancel:
			if len(body) < 12 {
				return false
			}
			c.srv.cancel(binary.BigEndian.Uint32(body[4:8]), body[8:])
			return false
		}
		major, minor := code>>16, code&0xffff
		if major != 3 {
			c.sendFatal(sqlerr.New(sqlerr.FeatureNotSupported,
				"unsupported frontend protocol %d.%d: server supports 3.0 to 3.0", major, minor))
			return false
		}
		params, err = parseStartupParams(body[4:])
		if err != nil {
			c.sendFatal(err)
			return false
		}
		if err := checkStartupEncoding(params); err != nil {
			c.sendFatal(err)
			return false
		}
		// Newer minor versions and protocol options (_pq_.*) are declined
		// the way PostgreSQL 15 does it.
		var unknown []string
		for k := range params {
			if strings.HasPrefix(k, "_pq_.") {
				unknown = append(unknown, k)
				delete(params, k)
			}
		}
		if minor > 0 || len(unknown) > 0 {
			sort.Strings(unknown)
			c.w.send(&pgproto3.NegotiateProtocolVersion{NewestMinorProtocol: 0, UnrecognizedOptions: unknown})
		}
		break
	}

	info := StartupInfo{
		User:        params["user"],
		Database:    params["database"],
		Application: params["application_name"],
		RemoteAddr:  c.nc.RemoteAddr().String(),
		Params:      params,
	}
	if info.User == "" {
		c.sendFatal(sqlerr.New(sqlerr.InvalidAuthorizationSpec, "no PostgreSQL user name specified in startup packet"))
		return false
	}
	if info.Database == "" {
		info.Database = info.User
	}
	if !c.srv.takeSlot() {
		c.log.Info("pgwire: connection refused: max_connections reached", "max_connections", c.srv.opts.MaxConnections)
		c.sendFatal(sqlerr.New(sqlerr.TooManyConnections, "sorry, too many clients already"))
		return false
	}
	c.slot = true
	if c.srv.opts.Auth.HBA != nil {
		m, ok := c.authenticateHBA(info)
		if !ok {
			return false
		}
		info.AuthMethod = string(m)
	} else {
		if !c.authenticate(info.User) {
			return false
		}
		info.AuthMethod = c.srv.opts.Auth.Method.String()
	}
	c.w.send(&pgproto3.AuthenticationOk{})

	// The process id is known to the session from its start (for
	// pg_backend_pid and pg_stat_activity).
	c.secret = make([]byte, 4)
	if _, err := rand.Read(c.secret); err != nil {
		c.sendFatal(sqlerr.Wrap(err, sqlerr.InternalError))
		return false
	}
	c.srv.register(c)
	info.PID = c.pid
	info.Terminate = c.terminate

	sess, err := c.open(info)
	if err != nil {
		c.sendFatal(err)
		return false
	}
	c.mu.Lock()
	c.sess = sess
	c.mu.Unlock()

	ps := sess.ParameterStatus()
	names := make([]string, 0, len(ps))
	for k := range ps {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		c.w.send(&pgproto3.ParameterStatus{Name: k, Value: ps[k]})
		c.noteParam(k, ps[k])
	}
	sess.ChangedParameters() // everything is reported; start tracking changes from here
	c.w.send(&pgproto3.BackendKeyData{ProcessID: c.pid, SecretKey: c.secret})
	c.w.send(&pgproto3.ReadyForQuery{TxStatus: sess.TxStatus()})
	if c.w.flush() != nil {
		return false
	}
	c.log.Debug("pgwire: connection ready", "pid", c.pid, "user", info.User, "database", info.Database)
	return true
}

// open calls Backend.Open, turning a panic into an error.
func (c *conn) open(info StartupInfo) (sess Session, err error) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("pgwire: panic opening session", "panic", r, "stack", string(debug.Stack()))
			sess, err = nil, sqlerr.New(sqlerr.InternalError, "internal error: %v", r)
		}
	}()
	return c.srv.backend.Open(c.ctx, info)
}

// readStartupPacket reads one length-prefixed packet without a type byte.
func (c *conn) readStartupPacket() ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(c.br, hdr[:]); err != nil {
		return nil, err
	}
	n := int64(int32(binary.BigEndian.Uint32(hdr[:]))) - 4
	if n < 4 || n > maxStartup {
		return nil, sqlerr.New(sqlerr.ProtocolViolation, "invalid length of startup packet")
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(c.br, body); err != nil {
		return nil, err
	}
	return body, nil
}

// parseStartupParams reads the name/value pairs of a StartupMessage.
func parseStartupParams(b []byte) (map[string]string, error) {
	bad := sqlerr.New(sqlerr.ProtocolViolation, "invalid startup packet layout: expected terminator as last byte")
	params := make(map[string]string)
	for {
		if len(b) == 0 {
			return nil, bad
		}
		if b[0] == 0 {
			if len(b) != 1 {
				return nil, bad
			}
			return params, nil
		}
		i := bytes.IndexByte(b, 0)
		if i < 0 {
			return nil, bad
		}
		name := string(b[:i])
		b = b[i+1:]
		j := bytes.IndexByte(b, 0)
		if j < 0 {
			return nil, bad
		}
		params[name] = string(b[:j])
		b = b[j+1:]
	}
}

// authenticate runs the configured password exchange, if any.
func (c *conn) authenticate(user string) bool {
	cfg := c.srv.opts.Auth
	if cfg.Method == AuthTrust || (!cfg.PasswordOnLoopback && isLoopback(c.nc.RemoteAddr())) {
		return true
	}
	var salt [4]byte
	switch cfg.Method {
	case AuthPassword:
		c.w.send(&pgproto3.AuthenticationCleartextPassword{})
	case AuthMD5:
		if _, err := rand.Read(salt[:]); err != nil {
			c.sendFatal(sqlerr.Wrap(err, sqlerr.InternalError))
			return false
		}
		c.w.send(&pgproto3.AuthenticationMD5Password{Salt: salt})
	}
	if c.w.flush() != nil {
		return false
	}
	var hdr [5]byte
	if _, err := io.ReadFull(c.br, hdr[:]); err != nil {
		return false // psql hangs up here to prompt for the password
	}
	n := int64(int32(binary.BigEndian.Uint32(hdr[1:]))) - 4
	if hdr[0] != 'p' {
		c.sendFatal(sqlerr.New(sqlerr.ProtocolViolation, "expected password response, got message type %d", hdr[0]))
		return false
	}
	if n < 1 || n > maxPassword {
		c.sendFatal(sqlerr.New(sqlerr.ProtocolViolation, "invalid message length"))
		return false
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(c.br, body); err != nil {
		return false
	}
	var pm pgproto3.PasswordMessage
	if err := pm.Decode(body); err != nil {
		c.sendFatal(malformed("password", err))
		return false
	}
	failed := sqlerr.New(sqlerr.InvalidPassword, "password authentication failed for user %q", user)
	if pm.Password == "" {
		c.sendFatal(sqlerr.New(sqlerr.InvalidPassword, "empty password returned by client"))
		return false
	}
	var want string
	stored, known := "", false
	if cfg.Password != nil {
		stored, known = cfg.Password(user)
	}
	if cfg.Method == AuthMD5 {
		want = md5Password(user, stored, salt)
	} else {
		want = stored
	}
	if !known || subtle.ConstantTimeCompare([]byte(want), []byte(pm.Password)) != 1 {
		c.log.Info("pgwire: password authentication failed", "user", user)
		c.sendFatal(failed)
		return false
	}
	return true
}

// md5Password is what a client answers to AuthenticationMD5Password:
// "md5" || hex(md5(hex(md5(password || user)) || salt)).
func md5Password(user, password string, salt [4]byte) string {
	inner := md5.Sum([]byte(password + user))
	h := hex.EncodeToString(inner[:])
	outer := md5.Sum(append([]byte(h), salt[:]...))
	return "md5" + hex.EncodeToString(outer[:])
}

// isLoopback reports whether addr is a loopback TCP address or a Unix socket.
func isLoopback(addr net.Addr) bool {
	switch a := addr.(type) {
	case *net.TCPAddr:
		return a.IP.IsLoopback()
	case *net.UnixAddr:
		return true
	}
	return false
}

// checkStartupEncoding refuses startup parameters (user, database,
// options, ...) that are not valid UTF-8.
func checkStartupEncoding(params map[string]string) error {
	for k, v := range params {
		if err := types.CheckUTF8String(k); err != nil {
			return err
		}
		if err := types.CheckUTF8String(v); err != nil {
			return err
		}
	}
	return nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func isEOF(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed)
}
