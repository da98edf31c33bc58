package postgrescdc

import (
	"os"
	"path/filepath"
	"testing"
)

// Cluster is a throwaway PostgreSQL cluster for the SQL-level tests of
// package postgrescdc_test (which cannot reach the unexported helper).
type Cluster struct{ c *cluster }

// NewCluster starts a cluster with wal_level = logical, or skips.
func NewCluster(t *testing.T) *Cluster { return &Cluster{c: newCluster(t)} }

// DSN connects as the superuser postgres (trusted).
func (c *Cluster) DSN() string { return c.c.dsn() }

// Port is the port the cluster listens on.
func (c *Cluster) Port() int { return c.c.port }

// Stop stops the server (fast shutdown).
func (c *Cluster) Stop() { c.c.pgctl("-m", "fast", "stop") }

// Start starts the server again with wal_level.
func (c *Cluster) Start(walLevel string) {
	c.c.pgctl("-o", c.c.opts+" -c wal_level="+walLevel, "start")
}

// RequirePasswords makes every role but postgres log in with its
// password over TCP (SCRAM).
func (c *Cluster) RequirePasswords() {
	hba := "local all all trust\nhost all postgres 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\n" +
		"host replication postgres 127.0.0.1/32 trust\nhost replication all 127.0.0.1/32 scram-sha-256\n"
	if err := os.WriteFile(filepath.Join(c.c.dir, "data", "pg_hba.conf"), []byte(hba), 0o644); err != nil {
		c.c.t.Fatal(err)
	}
	c.c.pgctl("reload")
}
