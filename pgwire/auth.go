package pgwire

import (
	"bufio"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"fmt"
	"io"
	"net"

	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/xdg-go/scram"

	"streamsql/auth"
	"streamsql/sql/sqlerr"
)

// Client authentication driven by host-based rules (AuthConfig.HBA): the
// first rule matching the connection's type (TLS or not), address,
// database and user names the method. SCRAM-SHA-256 runs the SASL
// exchange (with SCRAM-SHA-256-PLUS and tls-server-end-point channel
// binding offered over TLS); md5 runs SCRAM instead when the role's
// secret is a SCRAM verifier, as PostgreSQL does; password asks for the
// password in clear (over TLS, one hopes); cert accepts a client
// certificate, verified against the CA, whose common name is the user.

// RoleStore answers what authentication needs to know about roles.
type RoleStore interface {
	// RoleSecret returns the stored password secret of user (a SCRAM
	// verifier or md5 hash); false when there is none, the role does not
	// exist or its password expired.
	RoleSecret(user string) (string, bool)
	// IsMemberOf reports whether user is a member of role (hba +role).
	IsMemberOf(user, role string) bool
}

// maxSASLMessage bounds a SASL message from the client.
const maxSASLMessage = 8192

// startTLS answers an SSLRequest with 'S' and runs the TLS handshake.
func (c *conn) startTLS() bool {
	if c.br.Buffered() > 0 {
		// Bytes sent after SSLRequest but before the handshake would be
		// read as if they had come encrypted (CVE-2021-23214).
		c.sendFatal(sqlerr.New(sqlerr.ProtocolViolation, "received unencrypted data after SSL request"))
		return false
	}
	c.w.buf = append(c.w.buf, 'S')
	if c.w.flush() != nil {
		return false
	}
	cfg := c.srv.opts.TLS
	if get := cfg.GetCertificate; get != nil {
		// The certificate may be replaced while the server runs (a
		// reload): channel binding is to the one this connection got.
		cfg = cfg.Clone()
		cfg.GetCertificate = func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
			cert, err := get(h)
			c.served = cert
			return cert, err
		}
	}
	tc := tls.Server(c.nc, cfg)
	if err := tc.HandshakeContext(c.ctx); err != nil {
		c.log.Info("pgwire: TLS handshake failed", "err", err)
		return false
	}
	c.nc = tc
	c.tls = tc
	c.br = bufio.NewReaderSize(tc, 8192)
	c.w.nc = tc
	return true
}

// authenticateHBA finds the hba rule for the connection and runs its
// method. It returns the method's name, or false when the connection was
// refused (the client has been told why).
func (c *conn) authenticateHBA(info StartupInfo) (auth.Method, bool) {
	cfg := c.srv.opts.Auth
	hc := auth.Conn{SSL: c.tls != nil, Database: info.Database, User: info.User}
	switch a := c.nc.RemoteAddr().(type) {
	case *net.TCPAddr:
		hc.Addr = a.IP
	case *net.UnixAddr:
		hc.Local = true
	}
	if cfg.Roles != nil {
		hc.MemberOf = cfg.Roles.IsMemberOf
	}
	host := "[local]"
	if !hc.Local {
		host = hc.Addr.String()
	}
	enc := "no encryption"
	if hc.SSL {
		enc = "SSL encryption"
	}
	rule, ok := cfg.HBA.Match(hc)
	if !ok {
		c.authFailed(info, "no hba rule", "")
		c.sendFatal(sqlerr.New(sqlerr.InvalidAuthorizationSpec, "no pg_hba.conf entry for host %q, user %q, database %q, %s", host, info.User, info.Database, enc))
		return "", false
	}
	log := c.log.With("user", info.User, "database", info.Database, "hba_line", rule.Line, "method", string(rule.Method))
	if rule.Options["clientcert"] == "verify-full" && rule.Method != auth.Cert && !c.certMatches(info.User) {
		c.authFailed(info, "client certificate", rule.Text)
		c.sendFatal(sqlerr.New(sqlerr.InvalidAuthorizationSpec, "certificate authentication failed for user %q", info.User))
		return "", false
	}
	if rule.Options["clientcert"] == "verify-ca" && !c.hasVerifiedCert() {
		c.authFailed(info, "client certificate", rule.Text)
		c.sendFatal(sqlerr.New(sqlerr.InvalidAuthorizationSpec, "connection requires a valid client certificate"))
		return "", false
	}
	switch rule.Method {
	case auth.Trust:
		return rule.Method, true
	case auth.Reject:
		c.authFailed(info, "rejected", rule.Text)
		c.sendFatal(sqlerr.New(sqlerr.InvalidAuthorizationSpec, "pg_hba.conf rejects connection for host %q, user %q, database %q, %s", host, info.User, info.Database, enc))
		return "", false
	case auth.Cert:
		if !c.hasVerifiedCert() {
			c.authFailed(info, "no client certificate", rule.Text)
			c.sendFatal(sqlerr.New(sqlerr.InvalidAuthorizationSpec, "connection requires a valid client certificate"))
			return "", false
		}
		if !c.certMatches(info.User) {
			c.authFailed(info, "certificate name mismatch", rule.Text)
			c.sendFatal(sqlerr.New(sqlerr.InvalidAuthorizationSpec, "certificate authentication failed for user %q", info.User))
			return "", false
		}
		return rule.Method, true
	}
	secret, known := "", false
	if cfg.Roles != nil {
		secret, known = cfg.Roles.RoleSecret(info.User)
	}
	var passed bool
	switch {
	case rule.Method == auth.ScramSHA256 || (rule.Method == auth.MD5 && auth.Kind(secret) != auth.MD5Secret):
		passed = c.scramExchange(info.User, secret, known)
	case rule.Method == auth.MD5:
		passed = c.md5Exchange(info.User, secret, known)
	case rule.Method == auth.Password:
		pw, ok := c.readPassword(&pgproto3.AuthenticationCleartextPassword{})
		if !ok {
			return "", false
		}
		passed = known && auth.CheckPassword(secret, info.User, pw)
	}
	if c.fatalSent || c.w.err != nil {
		return "", false
	}
	if !passed {
		log.Info("pgwire: password authentication failed")
		c.authFailed(info, "password", rule.Text)
		c.sendFatal(sqlerr.New(sqlerr.InvalidPassword, "password authentication failed for user %q", info.User))
		return "", false
	}
	return rule.Method, true
}

// authFailed logs a refused authentication for the audit log.
func (c *conn) authFailed(info StartupInfo, reason, rule string) {
	c.log.Info("pgwire: authentication failed", "user", info.User, "database", info.Database, "reason", reason, "hba_rule", rule)
}

// hasVerifiedCert reports whether the client presented a certificate that
// verified against the CA.
func (c *conn) hasVerifiedCert() bool {
	if c.tls == nil {
		return false
	}
	st := c.tls.ConnectionState()
	return len(st.VerifiedChains) > 0
}

// certMatches reports whether the verified client certificate's common
// name is user.
func (c *conn) certMatches(user string) bool {
	if !c.hasVerifiedCert() {
		return false
	}
	st := c.tls.ConnectionState()
	return subtle.ConstantTimeCompare([]byte(st.PeerCertificates[0].Subject.CommonName), []byte(user)) == 1
}

// readAuthMessage reads one 'p' message (password, SASL) of at most max
// bytes. A client that hangs up (psql does, to prompt for a password)
// yields false without a message.
func (c *conn) readAuthMessage(max int) ([]byte, bool) {
	if c.w.flush() != nil {
		return nil, false
	}
	var hdr [5]byte
	if _, err := io.ReadFull(c.br, hdr[:]); err != nil {
		return nil, false
	}
	n := int64(int32(binary.BigEndian.Uint32(hdr[1:]))) - 4
	if hdr[0] != 'p' {
		c.sendFatal(sqlerr.New(sqlerr.ProtocolViolation, "expected password response, got message type %d", hdr[0]))
		return nil, false
	}
	if n < 0 || n > int64(max) {
		c.sendFatal(sqlerr.New(sqlerr.ProtocolViolation, "invalid message length"))
		return nil, false
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(c.br, body); err != nil {
		return nil, false
	}
	return body, true
}

// readPassword sends the request and reads a PasswordMessage.
func (c *conn) readPassword(req pgproto3.BackendMessage) (string, bool) {
	c.w.send(req)
	body, ok := c.readAuthMessage(maxPassword)
	if !ok {
		return "", false
	}
	var pm pgproto3.PasswordMessage
	if err := pm.Decode(body); err != nil {
		c.sendFatal(malformed("password", err))
		return "", false
	}
	if pm.Password == "" {
		c.sendFatal(sqlerr.New(sqlerr.InvalidPassword, "empty password returned by client"))
		return "", false
	}
	return pm.Password, true
}

// md5Exchange runs the md5 challenge against an md5 secret. Without a
// secret the challenge is still made, and fails, so that the client
// cannot tell a missing role from a wrong password.
func (c *conn) md5Exchange(user, secret string, known bool) bool {
	var salt [4]byte
	if _, err := rand.Read(salt[:]); err != nil {
		c.sendFatal(sqlerr.Wrap(err, sqlerr.InternalError))
		return false
	}
	pw, ok := c.readPassword(&pgproto3.AuthenticationMD5Password{Salt: salt})
	if !ok {
		return false
	}
	want := auth.MD5Response(secret, salt)
	return known && subtle.ConstantTimeCompare([]byte(want), []byte(pw)) == 1
}

// scramExchange runs SCRAM-SHA-256 (or -PLUS over TLS). For a role
// without a SCRAM secret the exchange runs against a made-up verifier and
// fails at the proof, as PostgreSQL's mock authentication does.
func (c *conn) scramExchange(user, secret string, known bool) bool {
	var cred scram.StoredCredentials
	v, err := auth.ParseVerifier(secret)
	if known && err == nil {
		cred = v.Credentials()
	} else {
		junk := make([]byte, 16+32+32)
		rand.Read(junk)
		cred = scram.StoredCredentials{KeyFactors: scram.KeyFactors{Salt: string(junk[:16]), Iters: auth.DefaultIterations},
			StoredKey: junk[16:48], ServerKey: junk[48:]}
		known = false
	}
	// Clients send an empty user name in SCRAM: the startup packet's
	// user is the one being authenticated.
	server, err := scram.SHA256.NewServer(func(string) (scram.StoredCredentials, error) { return cred, nil })
	if err != nil {
		c.sendFatal(sqlerr.Wrap(err, sqlerr.InternalError))
		return false
	}
	mechs := []string{"SCRAM-SHA-256"}
	var conv *scram.ServerConversation
	cb := c.channelBinding()
	if cb != nil {
		mechs = []string{"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"}
		conv = server.NewConversationWithChannelBinding(scram.ChannelBinding{Type: scram.ChannelBindingTLSServerEndpoint, Data: cb})
	} else {
		conv = server.NewConversation()
	}
	c.w.send(&pgproto3.AuthenticationSASL{AuthMechanisms: mechs})
	body, ok := c.readAuthMessage(maxSASLMessage)
	if !ok {
		return false
	}
	var first pgproto3.SASLInitialResponse
	if err := first.Decode(body); err != nil {
		c.sendFatal(malformed("SASL initial response", err))
		return false
	}
	offered := false
	for _, m := range mechs {
		offered = offered || m == first.AuthMechanism
	}
	if !offered {
		c.sendFatal(sqlerr.New(sqlerr.ProtocolViolation, "client selected an invalid SASL authentication mechanism"))
		return false
	}
	if first.AuthMechanism == "SCRAM-SHA-256" && len(first.Data) > 0 && first.Data[0] == 'p' {
		c.sendFatal(sqlerr.New(sqlerr.ProtocolViolation, "malformed SCRAM message").WithDetail("The client selected SCRAM-SHA-256 without channel binding, but the SCRAM message includes channel binding data."))
		return false
	}
	if first.AuthMechanism == "SCRAM-SHA-256-PLUS" && (len(first.Data) == 0 || first.Data[0] != 'p') {
		c.sendFatal(sqlerr.New(sqlerr.ProtocolViolation, "malformed SCRAM message").WithDetail("The client selected SCRAM-SHA-256-PLUS, but the SCRAM message does not include channel binding data."))
		return false
	}
	out, err := conv.Step(string(first.Data))
	if err != nil {
		c.log.Debug("pgwire: SCRAM client-first refused", "err", err)
		c.sendFatal(sqlerr.New(sqlerr.ProtocolViolation, "malformed SCRAM message").WithDetail("%s", err.Error()))
		return false
	}
	c.w.send(&pgproto3.AuthenticationSASLContinue{Data: []byte(out)})
	body, ok = c.readAuthMessage(maxSASLMessage)
	if !ok {
		return false
	}
	var final pgproto3.SASLResponse
	if err := final.Decode(body); err != nil {
		c.sendFatal(malformed("SASL response", err))
		return false
	}
	out, err = conv.Step(string(final.Data))
	if err != nil || !conv.Valid() || !known {
		c.log.Debug("pgwire: SCRAM proof refused", "err", err)
		return false
	}
	c.w.send(&pgproto3.AuthenticationSASLFinal{Data: []byte(out)})
	return true
}

// channelBinding returns the tls-server-end-point data of the server's
// certificate on a TLS connection, nil otherwise.
func (c *conn) channelBinding() []byte {
	if c.tls == nil {
		return nil
	}
	if c.served != nil {
		cb, err := certEndPoint(c.served)
		if err != nil {
			c.log.Warn("pgwire: no channel binding", "err", err)
		}
		return cb
	}
	return c.srv.endPoint
}

// serverEndPoint computes the channel binding data of the configured
// certificate (the first one).
func serverEndPoint(cfg *tls.Config) ([]byte, error) {
	if cfg == nil || len(cfg.Certificates) == 0 {
		return nil, nil
	}
	return certEndPoint(&cfg.Certificates[0])
}

// certEndPoint computes the channel binding data of cert.
func certEndPoint(cert *tls.Certificate) ([]byte, error) {
	if cert == nil || len(cert.Certificate) == 0 {
		return nil, nil
	}
	leaf := cert.Leaf
	if leaf == nil {
		var err error
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, fmt.Errorf("pgwire: TLS certificate: %w", err)
		}
	}
	cb, err := auth.ServerEndPoint(leaf)
	if err != nil {
		return nil, nil // no channel binding for this certificate type
	}
	return cb, nil
}
