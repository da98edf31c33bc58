package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"streamsql/auth"
)

// security holds the flags of authentication and TLS.
type security struct {
	hbaPath, certPath, keyPath, caPath, passwordFile string
	audit                                            bool
}

func (s *security) register(fs *flag.FlagSet) {
	fs.StringVar(&s.hbaPath, "hba", "", "host-based authentication rules in pg_hba.conf form (default: trust on loopback, scram-sha-256 elsewhere)")
	fs.StringVar(&s.certPath, "tls-cert", "", "PEM certificate (chain) of the server; with -tls-key, clients may use TLS (sslmode=require, verify-full) on the SQL and HTTP listeners")
	fs.StringVar(&s.keyPath, "tls-key", "", "PEM private key of -tls-cert")
	fs.StringVar(&s.caPath, "tls-ca", "", "PEM CA certificates that client certificates must chain to (hba method cert, clientcert=...)")
	fs.StringVar(&s.passwordFile, "password-file", "", "file holding the password of the superuser streamsql, set at first start (default: $STREAMSQL_PASSWORD)")
	fs.BoolVar(&s.audit, "audit-log", false, "log connections, authentication failures, role statements and SET ROLE as structured audit lines")
}

// hba returns the rules in effect and whether they came from a file.
func (s *security) hba() (*auth.HBA, bool, error) {
	if s.hbaPath == "" {
		return auth.DefaultHBA(), false, nil
	}
	h, err := auth.LoadHBA(s.hbaPath)
	if err != nil {
		return nil, false, fmt.Errorf("-hba: %w", err)
	}
	return h, true, nil
}

// tlsConfig loads the certificate, key and client CA; nil without -tls-cert.
func (s *security) tlsConfig() (*tls.Config, error) {
	if s.certPath == "" && s.keyPath == "" {
		if s.caPath != "" {
			return nil, errors.New("-tls-ca needs -tls-cert and -tls-key")
		}
		return nil, nil
	}
	if s.certPath == "" || s.keyPath == "" {
		return nil, errors.New("-tls-cert and -tls-key go together")
	}
	cert, err := tls.LoadX509KeyPair(s.certPath, s.keyPath)
	if err != nil {
		return nil, fmt.Errorf("TLS certificate: %w", err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if s.caPath != "" {
		pem, err := os.ReadFile(s.caPath)
		if err != nil {
			return nil, fmt.Errorf("-tls-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("-tls-ca %s: no PEM certificates", s.caPath)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
	}
	return cfg, nil
}

// superuserPassword reads -password-file or STREAMSQL_PASSWORD.
func (s *security) superuserPassword() (string, error) {
	if s.passwordFile != "" {
		b, err := os.ReadFile(s.passwordFile)
		if err != nil {
			return "", fmt.Errorf("-password-file: %w", err)
		}
		pw := strings.TrimRight(string(b), "\r\n")
		if pw == "" {
			return "", fmt.Errorf("-password-file %s is empty", s.passwordFile)
		}
		return pw, nil
	}
	return os.Getenv("STREAMSQL_PASSWORD"), nil
}
