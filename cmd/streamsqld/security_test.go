package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"streamsql/internal/testserver"
)

// startSecure runs streamsqld with TLS, an hba file that asks every
// client for a SCRAM password, the audit log, HTTPS on httpAddr and env
// added to its environment.
func startSecure(t *testing.T, dir, hba string, ca *testserver.CA, env []string, args ...string) (*proc, string) {
	t.Helper()
	cert := ca.Issue(t, "localhost", "localhost", "127.0.0.1")
	hbaFile := filepath.Join(t.TempDir(), "pg_hba.conf")
	if err := os.WriteFile(hbaFile, []byte(hba), 0o600); err != nil {
		t.Fatal(err)
	}
	httpAddr := testserver.FreeAddr(t)
	p := startEnv(t, dir, env, append([]string{"-http", httpAddr, "-audit-log",
		"-hba", hbaFile, "-tls-cert", cert.CertFile, "-tls-key", cert.KeyFile, "-tls-ca", ca.CertFile}, args...)...)
	return p, httpAddr
}

func (p *proc) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.exited(t, 20*time.Second); code != 0 {
		t.Fatalf("exit status %d", code)
	}
}

// psql runs psql against p with a password and TLS verify-full.
func psqlAs(t *testing.T, p *proc, ca *testserver.CA, user, password string, args ...string) (string, error) {
	t.Helper()
	bin, err := exec.LookPath("psql")
	if err != nil {
		t.Skip("psql is not installed")
	}
	host, port, _ := strings.Cut(p.addr, ":")
	dsn := fmt.Sprintf("host=localhost hostaddr=%s port=%s user=%s dbname=streamsql sslmode=verify-full sslrootcert=%s", host, port, user, ca.CertFile)
	cmd := exec.Command(bin, append([]string{"-X", "-v", "ON_ERROR_STOP=1", "-w", dsn}, args...)...)
	cmd.Env = append(os.Environ(), "PGPASSWORD="+password, "PGCONNECT_TIMEOUT=10")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestSuperuserPasswordTLSAndHTTP(t *testing.T) {
	ca := testserver.NewCA(t)
	dir := t.TempDir()
	const hba = "hostssl all all 127.0.0.1/32 scram-sha-256\nhostnossl all all all reject\n"
	p, httpAddr := startSecure(t, dir, hba, ca, []string{"STREAMSQL_PASSWORD=first secret"})

	// Only hostssl connections are let in (hostnossl is rejected), so a
	// working psql proves TLS with verify-full and SCRAM.
	out, err := psqlAs(t, p, ca, "streamsql", "first secret", "-Atc", "SELECT current_user")
	if err != nil || !strings.HasPrefix(out, "streamsql") {
		t.Fatalf("psql with the password: %v\n%s", err, out)
	}
	out, err = psqlAs(t, p, ca, "streamsql", "first secret", "-c", "CREATE ROLE analyst LOGIN PASSWORD 'a1'", "-c", `\du`)
	if err != nil || !strings.Contains(out, "analyst") || !strings.Contains(out, "Superuser") {
		t.Fatalf("\\du: %v\n%s", err, out)
	}
	out, err = psqlAs(t, p, ca, "streamsql", "wrong", "-c", "SELECT 1")
	if err == nil || !strings.Contains(out, `password authentication failed for user "streamsql"`) {
		t.Fatalf("psql with a wrong password: %v\n%s", err, out)
	}

	// HTTPS with the same certificate; /health open, the rest behind
	// basic auth checked against the SCRAM verifier.
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "localhost"}}}
	get := func(path, user, pw string) int {
		req, _ := http.NewRequest("GET", "https://"+httpAddr+path, nil)
		if user != "" {
			req.SetBasicAuth(user, pw)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, c := range []struct {
		path, user, pw string
		want           int
	}{
		{"/health", "", "", 200}, {"/metrics", "", "", 401}, {"/metrics", "streamsql", "wrong", 401},
		{"/metrics", "streamsql", "first secret", 200}, {"/metrics", "analyst", "a1", 200},
	} {
		if got := get(c.path, c.user, c.pw); got != c.want {
			t.Errorf("GET %s as %q: %d, want %d", c.path, c.user, got, c.want)
		}
	}
	log := p.stderr.String()
	for _, want := range []string{"audit: connection authorized", "audit: role statement", "statement=\"CREATE ROLE\" target=analyst", "authentication failed"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q", want)
		}
	}
	if strings.Contains(log, "'a1'") {
		t.Error("the log shows a password")
	}
	p.stop(t)

	// A later start ignores STREAMSQL_PASSWORD: the password is the one
	// stored at first start.
	p, _ = startSecure(t, dir, hba, ca, []string{"STREAMSQL_PASSWORD=second"})
	if out, err := psqlAs(t, p, ca, "streamsql", "first secret", "-Atc", "SELECT 1"); err != nil {
		t.Fatalf("first password after restart: %v\n%s", err, out)
	}
	if _, err := psqlAs(t, p, ca, "streamsql", "second", "-Atc", "SELECT 1"); err == nil {
		t.Fatal("STREAMSQL_PASSWORD of a later start took effect")
	}
	p.stop(t)

	// -password-file on a new data directory.
	pwFile := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pwFile, []byte("from file\n"), 0o600)
	p, _ = startSecure(t, t.TempDir(), hba, ca, nil, "-password-file", pwFile)
	if out, err := psqlAs(t, p, ca, "streamsql", "from file", "-Atc", "SELECT 1"); err != nil {
		t.Fatalf("-password-file: %v\n%s", err, out)
	}
}

// TestHBAReloadOnHangup: SIGHUP reads the -hba file again without a
// restart. A rule naming the client's host (localhost) rejects the next
// connection; a file that does not parse is logged and leaves the rules
// in effect; restoring the first file lets clients in again.
//
// The server also listens on a Unix socket (-unix-socket-dir), which
// local lines match: trusted at first, rejected after a reload.
func TestHBAReloadOnHangup(t *testing.T) {
	ca := testserver.NewCA(t)
	const allow = "local all all trust\nhostssl all all 127.0.0.1/32 scram-sha-256\nhostnossl all all all reject\n"
	hbaFile := filepath.Join(t.TempDir(), "reload_hba.conf")
	sockDir := t.TempDir()
	write := func(text string) {
		if err := os.WriteFile(hbaFile, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(allow)
	p, _ := startSecure(t, t.TempDir(), allow, ca, []string{"STREAMSQL_PASSWORD=pw"}, "-hba", hbaFile, "-unix-socket-dir", sockDir)
	_, port, _ := strings.Cut(p.addr, ":")
	psqlLocal := func() (string, error) {
		cmd := exec.Command("psql", "-X", "-w", "-h", sockDir, "-p", port, "-U", "streamsql", "-d", "streamsql", "-Atc", "SELECT current_user")
		cmd.Env = append(os.Environ(), "PGCONNECT_TIMEOUT=10")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	hangup := func(wantLog string, times int) {
		t.Helper()
		if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(10 * time.Second); strings.Count(p.stderr.String(), wantLog) < times; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("no %q in the log:\n%s", wantLog, p.stderr.String())
			}
		}
	}
	if out, err := psqlAs(t, p, ca, "streamsql", "pw", "-Atc", "SELECT 1"); err != nil {
		t.Fatalf("before the reload: %v\n%s", err, out)
	}
	if out, err := psqlLocal(); err != nil || strings.TrimSpace(out) != "streamsql" {
		t.Fatalf("psql over the Unix socket (local trust): %v\n%s", err, out)
	}
	write("local all all reject\nhostssl all all localhost reject\n")
	hangup("hba file reloaded", 1)
	out, err := psqlAs(t, p, ca, "streamsql", "pw", "-Atc", "SELECT 1")
	if err == nil || !strings.Contains(out, "pg_hba.conf rejects connection") {
		t.Fatalf("after reloading a reject rule: %v\n%s", err, out)
	}
	if out, err := psqlLocal(); err == nil || !strings.Contains(out, `pg_hba.conf rejects connection for host "[local]"`) {
		t.Fatalf("psql over the Unix socket after reloading local reject: %v\n%s", err, out)
	}
	write("hots all all all trust\n")
	hangup("the hba file was not reloaded", 1)
	if out, err := psqlAs(t, p, ca, "streamsql", "pw", "-Atc", "SELECT 1"); err == nil || !strings.Contains(out, "rejects") {
		t.Fatalf("a broken file changed the rules: %v\n%s", err, out)
	}
	write(allow)
	hangup("hba file reloaded", 2)
	if out, err := psqlAs(t, p, ca, "streamsql", "pw", "-Atc", "SELECT 1"); err != nil {
		t.Fatalf("after restoring the file: %v\n%s", err, out)
	}
}
