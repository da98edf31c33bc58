package engine_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"streamsql/auth"
	"streamsql/engine"
	"streamsql/internal/testserver"
	"streamsql/pgwire"
)

// authHBA picks the method by database name, since every test client
// comes from 127.0.0.1.
const authHBA = `
hostssl   certdb     all        127.0.0.1/32  cert
hostnossl ssldb      all        127.0.0.1/32  reject
hostssl   ssldb      all        127.0.0.1/32  scram-sha-256
host      md5db      all        127.0.0.1/32  md5
host      pwdb       all        127.0.0.1/32  password
host      rejectdb   all        127.0.0.1/32  reject
host      groupdb    +analysts  127.0.0.1/32  trust
host      streamsql  streamsql  127.0.0.1/32  trust
host      streamsql  all        127.0.0.1/32  scram-sha-256
`

type authEnv struct {
	ts     *testserver.Server
	ca     *testserver.CA
	client testserver.Issued // certificate of certuser
}

func startAuthServer(t *testing.T) *authEnv {
	t.Helper()
	hba, err := auth.ParseHBA(strings.NewReader(authHBA), "test")
	if err != nil {
		t.Fatal(err)
	}
	ca := testserver.NewCA(t)
	srvCert := ca.Issue(t, "localhost", "localhost", "127.0.0.1")
	ts := testserver.StartWire(t, engine.Options{RequireRoles: true},
		pgwire.Options{Auth: pgwire.AuthConfig{HBA: hba}, TLS: ca.ServerTLS(srvCert)})
	env := &authEnv{ts: ts, ca: ca, client: ca.Issue(t, "certuser")}
	su := env.mustConnect(t, "streamsql", "", "streamsql", "sslmode=disable")
	execAll(t, su,
		"CREATE ROLE analysts",
		"CREATE USER alice PASSWORD 'wonder' IN ROLE analysts",
		// mike's secret is an md5 hash, as an old PostgreSQL made it.
		"CREATE USER mike PASSWORD '"+auth.MD5Hash("mike", "pass")+"'",
		"CREATE USER old PASSWORD 'pass' VALID UNTIL '2001-01-01 00:00:00+00'",
		"CREATE USER certuser",
		"CREATE ROLE nologin PASSWORD 'pass'",
	)
	return env
}

// dsn builds a URL; extra holds more query parameters ("sslmode=...").
func (e *authEnv) dsn(user, password, db string, extra ...string) string {
	u := url.URL{Scheme: "postgres", Host: fmt.Sprintf("%s:%d", e.ts.Host, e.ts.Port), Path: "/" + db}
	if password != "" {
		u.User = url.UserPassword(user, password)
	} else {
		u.User = url.User(user)
	}
	q := strings.Join(extra, "&")
	if !strings.Contains(q, "sslmode=") {
		q += "&sslmode=disable"
	}
	u.RawQuery = strings.TrimPrefix(q, "&")
	return u.String()
}

func (e *authEnv) connect(t *testing.T, user, password, db string, extra ...string) (*pgx.Conn, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, e.dsn(user, password, db, extra...))
	if err == nil {
		t.Cleanup(func() { c.Close(context.Background()) })
	}
	return c, err
}

func (e *authEnv) mustConnect(t *testing.T, user, password, db string, extra ...string) *pgx.Conn {
	t.Helper()
	c, err := e.connect(t, user, password, db, extra...)
	if err != nil {
		t.Fatalf("%s@%s: %v", user, db, err)
	}
	return c
}

func TestAuthMethods(t *testing.T) {
	e := startAuthServer(t)
	verifyFull := "sslmode=verify-full&sslrootcert=" + url.QueryEscape(e.ca.CertFile)

	// SCRAM-SHA-256: right and wrong passwords, unknown and expired roles
	// fail alike; NOLOGIN is refused after the password.
	c := e.mustConnect(t, "alice", "wonder", "streamsql")
	if u := queryString(t, c, "SELECT current_user"); u != "alice" {
		t.Errorf("current_user %s", u)
	}
	for _, bad := range []struct{ user, pw string }{{"alice", "wonderland"}, {"ghost", "x"}, {"old", "pass"}} {
		_, err := e.connect(t, bad.user, bad.pw, "streamsql")
		wantPgErr(t, err, "28P01", fmt.Sprintf("password authentication failed for user %q", bad.user))
	}
	_, err := e.connect(t, "nologin", "pass", "streamsql")
	wantPgErr(t, err, "28000", `role "nologin" is not permitted to log in`)

	// md5: an md5 secret answers the md5 challenge; a SCRAM secret makes
	// the md5 rule run SCRAM, as PostgreSQL does.
	e.mustConnect(t, "mike", "pass", "md5db")
	_, err = e.connect(t, "mike", "wrong", "md5db")
	wantPgErr(t, err, "28P01", `password authentication failed for user "mike"`)
	e.mustConnect(t, "alice", "wonder", "md5db")
	_, err = e.connect(t, "mike", "pass", "streamsql") // SCRAM rule, md5 secret
	wantPgErr(t, err, "28P01", `password authentication failed for user "mike"`)

	// password (cleartext) checks against the SCRAM verifier.
	e.mustConnect(t, "alice", "wonder", "pwdb")
	_, err = e.connect(t, "alice", "nope", "pwdb")
	wantPgErr(t, err, "28P01", `password authentication failed for user "alice"`)

	// reject, hostnossl, no matching rule, +group.
	_, err = e.connect(t, "alice", "wonder", "rejectdb")
	wantPgErr(t, err, "28000", `pg_hba.conf rejects connection for host "127.0.0.1", user "alice", database "rejectdb", no encryption`)
	_, err = e.connect(t, "alice", "wonder", "ssldb")
	wantPgErr(t, err, "28000", `pg_hba.conf rejects connection for host "127.0.0.1", user "alice", database "ssldb", no encryption`)
	_, err = e.connect(t, "alice", "wonder", "nowhere")
	wantPgErr(t, err, "28000", `no pg_hba.conf entry for host "127.0.0.1", user "alice", database "nowhere", no encryption`)
	e.mustConnect(t, "alice", "", "groupdb")
	_, err = e.connect(t, "mike", "", "groupdb")
	wantPgErr(t, err, "28000", `no pg_hba.conf entry for host "127.0.0.1", user "mike", database "groupdb", no encryption`)

	// TLS with verify-full; channel_binding=require makes pgx fail unless
	// the server offered SCRAM-SHA-256-PLUS and proved the binding.
	e.mustConnect(t, "alice", "wonder", "ssldb", verifyFull, "channel_binding=require")
	_, err = e.connect(t, "alice", "wonder", "streamsql", "channel_binding=require")
	if err == nil {
		t.Error("channel binding without TLS succeeded")
	}
	_, err = e.connect(t, "alice", "wonder", "ssldb", "sslmode=verify-full&sslrootcert="+url.QueryEscape(e.client.CertFile))
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("verify-full against the wrong root: %v", err)
	}

	// cert: a verified client certificate whose CN is the user.
	withCert := verifyFull + "&sslcert=" + url.QueryEscape(e.client.CertFile) + "&sslkey=" + url.QueryEscape(e.client.KeyFile)
	c = e.mustConnect(t, "certuser", "", "certdb", withCert)
	if u := queryString(t, c, "SELECT session_user"); u != "certuser" {
		t.Errorf("session_user %s", u)
	}
	_, err = e.connect(t, "alice", "", "certdb", withCert)
	wantPgErr(t, err, "28000", `certificate authentication failed for user "alice"`)
	_, err = e.connect(t, "certuser", "", "certdb", verifyFull)
	wantPgErr(t, err, "28000", "connection requires a valid client certificate")
}

func stringsReader(s string) *strings.Reader { return strings.NewReader(s) }
