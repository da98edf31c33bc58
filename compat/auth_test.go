package compat

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"streamsql/auth"
	"streamsql/engine"
	"streamsql/internal/testserver"
	"streamsql/pgwire"
)

// authServer is a server with TLS (a CA and certificates made for the
// test) and rules: SCRAM over TLS for database streamsql, certificates
// for certdb, no TLS refused; with the roles the client scripts expect.
type authServer struct {
	host string
	port int
	ca   *testserver.CA
	cert testserver.Issued // client certificate of certuser
}

func startAuthServer(t *testing.T) *authServer {
	t.Helper()
	hba, err := auth.ParseHBA(strings.NewReader(`
host      streamsql  streamsql  127.0.0.1/32  trust
hostssl   streamsql  all        127.0.0.1/32  scram-sha-256
hostssl   certdb     all        127.0.0.1/32  cert
hostnossl all        all        all           reject
`), "compat")
	if err != nil {
		t.Fatal(err)
	}
	ca := testserver.NewCA(t)
	srv := testserver.StartWire(t, engine.Options{RequireRoles: true},
		pgwire.Options{Auth: pgwire.AuthConfig{HBA: hba}, TLS: ca.ServerTLS(ca.Issue(t, "localhost", "localhost", "127.0.0.1"))})
	s := &server{host: srv.Host, port: srv.Port}
	s.exec(t,
		"CREATE USER alice PASSWORD 'wonder'",
		"CREATE USER old PASSWORD 'pass' VALID UNTIL '2001-01-01 00:00:00+00'",
		"CREATE USER certuser")
	return &authServer{host: srv.Host, port: srv.Port, ca: ca, cert: ca.Issue(t, "certuser")}
}

// The outcomes every client must report.
var authOutcomes = []string{
	"scram: ok alice",
	`wrong-password: refused`, `password authentication failed for user "alice"`,
	`expired: refused`, `password authentication failed for user "old"`,
	"cert: ok certuser",
	`cert-other-user: refused`, `certificate authentication failed for user "alice"`,
	`no-tls: refused`, `pg_hba.conf rejects connection for host "127.0.0.1", user "alice", database "streamsql", no encryption`,
}

func TestAuthPsycopg2(t *testing.T) {
	py := pythonHas(t, "psycopg2")
	s := startAuthServer(t)
	out := run(t, "", []string{"AUTH_HOST=" + s.host, "AUTH_PORT=" + strconv.Itoa(s.port), "AUTH_CA=" + s.ca.CertFile,
		"AUTH_CERT=" + s.cert.CertFile, "AUTH_KEY=" + s.cert.KeyFile}, py, testdata(t, "python", "auth.py"))
	contains(t, out, append(authOutcomes, "scram: ok alice ssl=True", "scram-channel-binding: ok alice")...)
}

func TestAuthJDBC(t *testing.T) {
	j := lookJDBC(t)
	s := startAuthServer(t)
	// pgjdbc reads the client key as PKCS#8 DER.
	pemKey, err := os.ReadFile(s.cert.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(pemKey)
	if _, err := x509.ParsePKCS8PrivateKey(block.Bytes); err != nil {
		t.Fatal(err)
	}
	derKey := filepath.Join(j.dir, "certuser.pk8")
	if err := os.WriteFile(derKey, block.Bytes, 0o600); err != nil {
		t.Fatal(err)
	}
	out := j.run(t, "AuthMatrix", "jdbc:postgresql://localhost:"+strconv.Itoa(s.port)+"/", s.ca.CertFile, s.cert.CertFile, derKey)
	contains(t, out, append(authOutcomes, "wrong-password: refused 28P01", "expired: refused 28P01",
		"cert-other-user: refused 28000", "no-tls: refused 28000")...)
}
