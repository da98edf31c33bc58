package kafka_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"

	"streamsql/internal/sqltest"
)

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue signs a certificate for 127.0.0.1 (server) or a client; it
// returns the certificate and key as PEM.
func (ca *testCA) issue(t *testing.T, name string, server bool) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	} else {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd})
}

func writeFile(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestKafkaTLS reads over TLS: with a client certificate the broker
// requires (security.protocol 'SSL'), and with SASL on top ('SASL_SSL').
// A broker whose certificate the given CA did not sign fails the job
// with the certificate error in SHOW JOBS, and the server stays up.
func TestKafkaTLS(t *testing.T) {
	dir := t.TempDir()
	ca := newCA(t, "streamsql test CA")
	srvCert, srvKey := ca.issue(t, "broker", true)
	cliCert, cliKey := ca.issue(t, "streamsql", false)
	caFile := writeFile(t, dir, "ca.pem", ca.pem)
	certFile, keyFile := writeFile(t, dir, "client.pem", cliCert), writeFile(t, dir, "client.key", cliKey)
	otherCA := writeFile(t, dir, "other-ca.pem", newCA(t, "another CA").pem)

	pair, err := tls.X509KeyPair(srvCert, srvKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	mtls := broker(t, 1, kfake.TLS(&tls.Config{Certificates: []tls.Certificate{pair}, ClientCAs: pool,
		ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12}))
	saslTLS := broker(t, 1, kfake.TLS(&tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}),
		kfake.EnableSASL(), kfake.Superuser("PLAIN", "admin", "adminpw"), kfake.Superuser("SCRAM-SHA-512", "app", "s3cret"))
	cliPair, err := tls.X509KeyPair(cliCert, cliKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []struct {
		c    *kfake.Cluster
		sasl bool
	}{{mtls, false}, {saslTLS, true}} {
		p := producer(t, b.c.ListenAddrs()[0], func(cfg *sarama.Config) {
			cfg.Net.TLS.Enable = true
			cfg.Net.TLS.Config = &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cliPair}}
			if b.sasl {
				saslPlain(cfg, "admin", "adminpw")
			}
		})
		for i := 1; i <= 4; i++ {
			send(t, p, "secure", 0, "", fmt.Sprintf(`{"v": %d}`, i))
		}
	}

	_, conn := startServer(t)
	sqltest.Exec(t, conn,
		fmt.Sprintf(`CREATE SOURCE over_ssl (v int) WITH (connector = 'kafka', topic = 'secure',
			properties.bootstrap.server = '%s', properties.security.protocol = 'SSL',
			properties.ssl.ca.location = '%s', properties.ssl.certificate.location = '%s',
			properties.ssl.key.location = '%s') FORMAT PLAIN ENCODE JSON`, mtls.ListenAddrs()[0], caFile, certFile, keyFile),
		"CREATE MATERIALIZED VIEW ssl_sum AS SELECT count(*) AS n, sum(v) AS total FROM over_ssl",
		fmt.Sprintf(`CREATE SOURCE over_sasl_ssl (v int) WITH (connector = 'kafka', topic = 'secure',
			properties.bootstrap.server = '%s', properties.security.protocol = 'SASL_SSL',
			properties.sasl.mechanism = 'SCRAM-SHA-512', properties.sasl.username = 'app', properties.sasl.password = 's3cret',
			properties.ssl.ca.location = '%s') FORMAT PLAIN ENCODE JSON`, saslTLS.ListenAddrs()[0], caFile),
		"CREATE MATERIALIZED VIEW sasl_ssl_sum AS SELECT count(*) AS n, sum(v) AS total FROM over_sasl_ssl")
	sqltest.Eventually(t, conn, "SELECT n, total FROM ssl_sum", "4 10")
	sqltest.Eventually(t, conn, "SELECT n, total FROM sasl_ssl_sum", "4 10")

	// The wrong CA: the job fails with the certificate error, quickly.
	sqltest.Exec(t, conn,
		fmt.Sprintf(`CREATE SOURCE wrong_ca (v int) WITH (connector = 'kafka', topic = 'secure',
			properties.bootstrap.server = '%s', properties.security.protocol = 'SSL',
			properties.ssl.ca.location = '%s', properties.ssl.certificate.location = '%s',
			properties.ssl.key.location = '%s') FORMAT PLAIN ENCODE JSON`, mtls.ListenAddrs()[0], otherCA, certFile, keyFile))
	start := time.Now()
	_, err = conn.Exec(context.Background(), "CREATE MATERIALIZED VIEW wrong_sum AS SELECT count(*) AS n FROM wrong_ca")
	status := ""
	if err == nil {
		for time.Since(start) < 20*time.Second && !strings.HasPrefix(status, "failed") {
			time.Sleep(100 * time.Millisecond)
			status = jobColumn(t, conn, "wrong_sum", "Status")
		}
	} else {
		status = err.Error()
	}
	t.Logf("wrong CA after %v: %s", time.Since(start).Round(time.Millisecond), status)
	if !strings.Contains(status, "certificate signed by unknown authority") {
		t.Fatalf("wrong CA: %q", status)
	}
	if err != nil && !strings.Contains(status, "SQLSTATE 08001") {
		t.Fatalf("wrong CA: %q, want SQLSTATE 08001", status)
	}
	sqltest.Eventually(t, conn, "SELECT n, total FROM ssl_sum", "4 10")
}
