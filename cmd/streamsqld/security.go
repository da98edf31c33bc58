package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"

	"streamsql/auth"
)

// security holds the flags of authentication and TLS.
type security struct {
	hbaPath, certPath, keyPath, caPath, passwordFile string
	audit                                            bool
	// cert is the server certificate in use (tlsConfig's GetCertificate
	// serves it); SIGHUP replaces it.
	cert atomic.Pointer[tls.Certificate]
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
	s.cert.Store(&cert)
	// Each handshake takes the certificate in use, so a reload applies to
	// the connections made after it.
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
		return s.cert.Load(), nil
	}}
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

// reloadCert reads -tls-cert and -tls-key again: connections made from
// then on get the new certificate. A pair that does not load is logged
// and the certificate in use stays.
func (s *security) reloadCert(log *slog.Logger) {
	if s.cert.Load() == nil {
		return
	}
	cert, err := tls.LoadX509KeyPair(s.certPath, s.keyPath)
	if err != nil {
		log.Error("SIGHUP: the TLS certificate was not reloaded; the one in use stays", "cert", s.certPath, "key", s.keyPath, "err", err)
		return
	}
	s.cert.Store(&cert)
	if cert.Leaf != nil {
		log.Info("SIGHUP: TLS certificate reloaded", "cert", s.certPath, "subject", cert.Leaf.Subject.String(), "not_after", cert.Leaf.NotAfter)
	} else {
		log.Info("SIGHUP: TLS certificate reloaded", "cert", s.certPath)
	}
}

// reloadOnHangup reads the -hba file and the TLS certificate and key again
// on every SIGHUP until ctx ends, as PostgreSQL reloads pg_hba.conf and
// its ssl files: connections from then on match the new rules and get the
// new certificate, open ones are not touched. A file that does not load is
// logged and what is in effect stays. Without -hba there are no rules to
// reload.
func reloadOnHangup(ctx context.Context, s *security, hba *auth.HBA, log *slog.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
		}
		s.reloadCert(log)
		if s.hbaPath == "" {
			log.Info("SIGHUP: no -hba file to reload; the built-in rules stay")
			continue
		}
		n, err := auth.LoadHBA(s.hbaPath)
		if err != nil {
			log.Error("SIGHUP: the hba file was not reloaded; the rules in effect stay", "file", s.hbaPath, "err", err)
			continue
		}
		hba.Replace(n)
		log.Info("SIGHUP: hba file reloaded", "file", s.hbaPath, "rules", len(n.Rules))
	}
}
