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
	"syscall"

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

// reloadOnHangup reads the -hba file again on every SIGHUP until ctx
// ends, as PostgreSQL reloads pg_hba.conf: connections from then on match
// the new rules, open ones are not touched. A file that does not parse is
// logged and the rules in effect stay. Without -hba there is nothing to
// reload. (The TLS certificate is read at start only.)
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
