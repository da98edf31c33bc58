package postgrescdc

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// cluster is a throwaway PostgreSQL cluster the test may restart.
type cluster struct {
	t         *testing.T
	bin, dir  string
	port      int
	asPostgre bool
	opts      string // the server's options (pg_ctl -o)
}

func (c *cluster) run(name string, args ...string) {
	c.t.Helper()
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	if c.asPostgre {
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", filepath.Join(c.bin, name)}, args...)...)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		c.t.Fatalf("%s: %v\n%s", name, err, out)
	}
}

func (c *cluster) pgctl(args ...string) {
	c.run("pg_ctl", append([]string{"-D", filepath.Join(c.dir, "data"), "-l", filepath.Join(c.dir, "log"), "-w"}, args...)...)
}

// newCluster starts a cluster with wal_level = logical on a free port,
// from the binaries of PGCDC_PGBIN (default PostgreSQL 15's).
func newCluster(t *testing.T) *cluster {
	bin := os.Getenv("PGCDC_PGBIN")
	if bin == "" {
		bin = "/usr/lib/postgresql/15/bin"
	}
	if _, err := os.Stat(filepath.Join(bin, "initdb")); err != nil {
		t.Skipf("no PostgreSQL binaries in %s (set PGCDC_PGBIN)", bin)
	}
	c := &cluster{t: t, bin: bin}
	if os.Geteuid() == 0 {
		pu, err := user.Lookup("postgres")
		if err != nil {
			t.Skip("running as root without a postgres user to run PostgreSQL as")
		}
		c.asPostgre = true
		uid, _ := strconv.Atoi(pu.Uid)
		gid, _ := strconv.Atoi(pu.Gid)
		dir, err := os.MkdirTemp("", "pgcdc-cluster-")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		c.dir = dir
	} else {
		dir, err := os.MkdirTemp("", "pgcdc-cluster-")
		if err != nil {
			t.Fatal(err)
		}
		c.dir = dir
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c.port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	c.run("initdb", "-D", filepath.Join(c.dir, "data"), "-A", "trust", "--locale=C", "-E", "UTF8", "-U", "postgres")
	c.opts = fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c max_wal_senders=10 -c max_replication_slots=10 -c fsync=off", c.port, c.dir)
	c.pgctl("-o", c.opts+" -c wal_level=logical", "start")
	t.Cleanup(func() {
		cmd := exec.Command(filepath.Join(c.bin, "pg_ctl"), "-D", filepath.Join(c.dir, "data"), "-m", "immediate", "stop")
		if c.asPostgre {
			cmd = exec.Command("runuser", "-u", "postgres", "--", filepath.Join(c.bin, "pg_ctl"), "-D", filepath.Join(c.dir, "data"), "-m", "immediate", "stop")
		}
		cmd.Run()
		os.RemoveAll(c.dir)
	})
	return c
}

func (c *cluster) dsn() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
}

// TestUpstreamRestart restarts the upstream PostgreSQL under a running
// source: the reader reconnects with backoff and goes on from the last
// change it passed on, losing and doubling nothing.
func TestUpstreamRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts its own PostgreSQL cluster")
	}
	t0 := time.Now()
	c := newCluster(t)
	t.Logf("cluster started in %v", time.Since(t0))
	u := newUpstreamAt(t, c.dsn(), kvDDL)
	u.exec("INSERT INTO " + u.table + " SELECT g, g, 'a' FROM generate_series(1, 100) g")
	spec := u.spec(kvCols, []int{0})
	ep := newEpochs()
	r := start(t, spec, ep, kvTable(), nil, 20*time.Millisecond)
	defer r.crash()
	u.exec("UPDATE " + u.table + " SET v = v + 1 WHERE id <= 50")
	r.waitEqual(t, func() []string { return u.rows(kvCols) }, 10*time.Second)

	u.conn.Close(t.Context())
	t0 = time.Now()
	c.pgctl("-m", "fast", "restart")
	t.Logf("cluster restarted in %v", time.Since(t0))
	conn, err := pgx.ConnectConfig(t.Context(), u.cfg)
	if err != nil {
		t.Fatal(err)
	}
	u.conn = conn
	u.exec("DELETE FROM " + u.table + " WHERE id > 90")
	u.exec("INSERT INTO " + u.table + " VALUES (1000, 1, 'after restart')")
	r.waitEqual(t, func() []string { return u.rows(kvCols) }, 15*time.Second)
}
