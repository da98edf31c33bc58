package kafka

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	scramsasl "github.com/twmb/franz-go/pkg/sasl/scram"

	"streamsql/connector"
	"streamsql/sql/sqlerr"
)

// kgoOptions is the configuration of the kgo clients (the readers' and
// the metadata client's) from the options: transport, SASL, TLS and
// read_committed isolation, direct partition consumption (no group) that
// fails rather than skip records when an offset is out of range. It reads
// TLS files, so it runs when a source opens and once at CREATE, to
// report a bad option or file early.
func kgoOptions(opts connector.Options, seeds []string) ([]kgo.Opt, error) {
	o := []kgo.Opt{
		kgo.SeedBrokers(seeds...),
		kgo.ClientID(opts.Get(optClientID)),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.FetchMaxWait(100 * time.Millisecond),
		kgo.FetchMaxBytes(4 << 20),
		kgo.FetchMaxPartitionBytes(1 << 20),
		kgo.ConsumeResetOffset(kgo.NoResetOffset()),
		kgo.DialTimeout(10 * time.Second),
		kgo.MetadataMaxAge(time.Minute),
	}
	proto := strings.ToLower(opts.Get(optSecurityProtocol))
	if proto == "sasl_plaintext" || proto == "sasl_ssl" {
		user, pass := opts.Get(optSASLUser), opts.Get(optSASLPassword)
		if user == "" {
			return nil, sqlerr.New(sqlerr.InvalidParameterValue, "kafka option %q is needed with %s = '%s'", optSASLUser, optSecurityProtocol, proto)
		}
		switch strings.ToLower(opts.Get(optSASLMechanism)) {
		case "plain":
			o = append(o, kgo.SASL(plain.Auth{User: user, Pass: pass}.AsMechanism()))
		case "scram-sha-256":
			o = append(o, kgo.SASL(scramsasl.Auth{User: user, Pass: pass}.AsSha256Mechanism()))
		case "scram-sha-512":
			o = append(o, kgo.SASL(scramsasl.Auth{User: user, Pass: pass}.AsSha512Mechanism()))
		}
	} else if opts.Get(optSASLUser) != "" || opts.Get(optSASLPassword) != "" {
		return nil, sqlerr.New(sqlerr.InvalidParameterValue, "kafka SASL options need %s = 'sasl_plaintext' or 'sasl_ssl'", optSecurityProtocol)
	}
	if proto == "ssl" || proto == "sasl_ssl" {
		t, err := tlsConfig(opts)
		if err != nil {
			return nil, err
		}
		o = append(o, kgo.DialTLSConfig(t))
	}
	return o, nil
}

// tlsConfig reads the TLS options.
func tlsConfig(opts connector.Options) (*tls.Config, error) {
	t := &tls.Config{MinVersion: tls.VersionTLS12}
	if ca := opts.Get(optSSLCA); ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, sqlerr.New(sqlerr.InvalidParameterValue, "kafka option %q: %v", optSSLCA, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, sqlerr.New(sqlerr.InvalidParameterValue, "kafka option %q: no PEM certificate in %s", optSSLCA, ca)
		}
		t.RootCAs = pool
	}
	cert, key := opts.Get(optSSLCert), opts.Get(optSSLKey)
	if (cert == "") != (key == "") {
		return nil, sqlerr.New(sqlerr.InvalidParameterValue, "kafka options %q and %q go together", optSSLCert, optSSLKey)
	}
	if cert != "" {
		if opts.Get(optSSLKeyPassword) != "" {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "encrypted client keys are not supported: give %q an unencrypted PEM key", optSSLKey)
		}
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return nil, sqlerr.New(sqlerr.InvalidParameterValue, "kafka client certificate: %v", err)
		}
		t.Certificates = []tls.Certificate{pair}
	}
	if strings.EqualFold(opts.Get(optSSLSkipVerify), "none") {
		// librdkafka's spelling: no host name check; the chain is still
		// verified against the CA.
		t.InsecureSkipVerify = true
		pool := t.RootCAs
		t.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return fmt.Errorf("kafka broker sent no certificate")
			}
			certs := make([]*x509.Certificate, len(raw))
			for i, r := range raw {
				c, err := x509.ParseCertificate(r)
				if err != nil {
					return err
				}
				certs[i] = c
			}
			inter := x509.NewCertPool()
			for _, c := range certs[1:] {
				inter.AddCert(c)
			}
			_, err := certs[0].Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter})
			return err
		}
	}
	return t, nil
}
