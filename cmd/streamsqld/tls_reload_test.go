package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
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

// TestTLSCertReloadOnHangup: SIGHUP reads -tls-cert and -tls-key again.
// Connections made after it (psql with SCRAM channel binding, and HTTPS)
// get the new certificate; a pair that does not load is logged and the
// certificate in use stays.
func TestTLSCertReloadOnHangup(t *testing.T) {
	if _, err := exec.LookPath("psql"); err != nil {
		t.Skip("psql is not installed")
	}
	oldCA, newCA := testserver.NewCA(t), testserver.NewCA(t)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")
	install := func(is testserver.Issued) {
		t.Helper()
		for _, f := range [][2]string{{is.CertFile, certFile}, {is.KeyFile, keyFile}} {
			b, err := os.ReadFile(f[0])
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(f[1], b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	install(oldCA.Issue(t, "localhost", "localhost", "127.0.0.1"))
	hbaFile := filepath.Join(dir, "pg_hba.conf")
	if err := os.WriteFile(hbaFile, []byte("hostssl all all 127.0.0.1/32 scram-sha-256\nhostnossl all all all reject\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	httpAddr := testserver.FreeAddr(t)
	p := startEnv(t, t.TempDir(), []string{"STREAMSQL_PASSWORD=pw"}, "-http", httpAddr, "-hba", hbaFile, "-tls-cert", certFile, "-tls-key", keyFile)
	defer p.stop(t)
	host, port, _ := strings.Cut(p.addr, ":")
	// psql verifying the server against ca, with channel binding required.
	psql := func(ca *testserver.CA) (string, error) {
		dsn := fmt.Sprintf("host=localhost hostaddr=%s port=%s user=streamsql dbname=streamsql sslmode=verify-full sslrootcert=%s channel_binding=require", host, port, ca.CertFile)
		cmd := exec.Command("psql", "-X", "-w", dsn, "-Atc", "SELECT 1")
		cmd.Env = append(os.Environ(), "PGPASSWORD=pw", "PGCONNECT_TIMEOUT=10")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	// The certificate the HTTPS listener serves.
	httpsCert := func() string {
		c, err := tls.Dial("tcp", httpAddr, &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return string(c.ConnectionState().PeerCertificates[0].Raw)
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
	if out, err := psql(oldCA); err != nil {
		t.Fatalf("with the first certificate: %v\n%s", err, out)
	}
	before := httpsCert()

	install(newCA.Issue(t, "localhost", "localhost", "127.0.0.1"))
	hangup("TLS certificate reloaded", 1)
	if out, err := psql(newCA); err != nil {
		t.Fatalf("after the reload, verified against the new CA: %v\n%s", err, out)
	}
	if out, err := psql(oldCA); err == nil {
		t.Fatalf("after the reload the old certificate is still served:\n%s", out)
	}
	if httpsCert() == before {
		t.Fatal("HTTPS still serves the first certificate")
	}
	pem, err := os.ReadFile(newCA.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	if resp, err := (&http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}).Get("https://" + httpAddr + "/health"); err != nil {
		t.Fatalf("HTTPS verified against the new CA: %v", err)
	} else {
		resp.Body.Close()
	}

	// A broken key: logged, and the new certificate stays in use.
	if err := os.WriteFile(keyFile, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	hangup("the TLS certificate was not reloaded", 1)
	if out, err := psql(newCA); err != nil {
		t.Fatalf("after a failed reload: %v\n%s", err, out)
	}
}
