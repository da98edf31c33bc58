package main

// The server as a process: started from the built binary, killed with
// SIGKILL, started on a locked data directory, on a full disk (a tmpfs
// the test mounts), and at its file descriptor limit.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"streamsql/internal/testclient"
	"streamsql/internal/testserver"
)

var built struct {
	once sync.Once
	bin  string
	err  error
}

// binary builds streamsqld once per test run.
func binary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "streamsqld-bin-")
		if err != nil {
			built.err = err
			return
		}
		built.bin = filepath.Join(dir, "streamsqld")
		out, err := exec.Command("go", "build", "-o", built.bin, ".").CombinedOutput()
		if err != nil {
			built.err = fmt.Errorf("build: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.bin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.bin != "" {
		os.RemoveAll(filepath.Dir(built.bin))
	}
	os.Exit(code)
}

// lockedBuffer collects a process's stderr.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *lockedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// proc is one streamsqld process.
type proc struct {
	cmd    *exec.Cmd
	addr   string
	stderr *lockedBuffer
	done   chan struct{} // closed when the process has exited
	err    error         // its Wait result, after done
}

// launch starts the binary (behind prefix, e.g. prlimit) on dir without
// waiting for it.
func launch(t *testing.T, dir string, prefix []string, args ...string) *proc {
	t.Helper()
	return launchEnv(t, dir, prefix, nil, args...)
}

// launchEnv is launch with env added to the binary's environment. The
// flags in args come after the defaults (no HTTP, log level info), so
// they override them.
func launchEnv(t *testing.T, dir string, prefix, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{addr: testserver.FreeAddr(t), stderr: &lockedBuffer{}, done: make(chan struct{})}
	argv := append(append([]string{}, prefix...), binary(t), "-listen", p.addr, "-data", dir, "-http", "off", "-log-level", "info")
	argv = append(argv, args...)
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Signal(syscall.SIGCONT)
		if t.Failed() && os.Getenv("STREAMSQLD_TEST_STACKS") != "" {
			p.cmd.Process.Signal(syscall.SIGQUIT) // goroutine dump into the log
			time.Sleep(200 * time.Millisecond)
		}
		p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("streamsqld on %s logged:\n%s", p.addr, p.stderr.String())
		}
	})
	return p
}

// ready waits until p accepts connections; false if it exited first.
func (p *proc) ready(t *testing.T, within time.Duration) bool {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			return false
		default:
		}
		if c, err := net.DialTimeout("tcp", p.addr, 100*time.Millisecond); err == nil {
			c.Close()
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// start launches the binary on dir and waits until it accepts
// connections.
func start(t *testing.T, dir string, args ...string) *proc {
	t.Helper()
	return startEnv(t, dir, nil, args...)
}

// startEnv is start with env added to the binary's environment.
func startEnv(t *testing.T, dir string, env []string, args ...string) *proc {
	t.Helper()
	p := launchEnv(t, dir, nil, env, args...)
	if !p.ready(t, 30*time.Second) {
		t.Fatalf("streamsqld did not start: %v\n%s", p.err, p.stderr.String())
	}
	return p
}

// exited waits for p to exit and returns its status.
func (p *proc) exited(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(within):
		t.Fatalf("streamsqld still running after %v", within)
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	if p.err != nil {
		t.Fatal(p.err)
	}
	return 0
}

func (p *proc) connect(t *testing.T) *pgx.Conn {
	t.Helper()
	return testclient.Connect(t, "postgres://streamsql@"+p.addr+"/dev?sslmode=disable", nil)
}

// answers checks that a new client is served within a second.
func (p *proc) answers(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, "postgres://streamsql@"+p.addr+"/dev?sslmode=disable")
	if err != nil {
		t.Fatalf("no answer within a second: %v", err)
	}
	defer c.Close(context.Background())
	var n int
	if err := c.QueryRow(ctx, "SELECT 2 * 21").Scan(&n); err != nil || n != 42 {
		t.Fatalf("SELECT 2 * 21: %d, %v", n, err)
	}
}

func mustExec(t *testing.T, c *pgx.Conn, sqls ...string) {
	t.Helper()
	for _, q := range sqls {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := c.Exec(ctx, q)
		cancel()
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func count(t *testing.T, c *pgx.Conn, q string) int {
	t.Helper()
	var n int
	if err := c.QueryRow(context.Background(), q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// errorLines returns the lines of log at level ERROR.
func errorLines(log string) []string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "level=ERROR") {
			out = append(out, l)
		}
	}
	return out
}

// A server restarted while the killed one still holds the data directory
// lock waits for the lock and starts; the data is all there.
func TestRestartAfterKill9(t *testing.T) {
	dir := t.TempDir()
	old := start(t, dir)
	c := old.connect(t)
	mustExec(t, c, "CREATE TABLE t (id int PRIMARY KEY)", "INSERT INTO t SELECT i FROM generate_series(1, 100) i")
	c.Close(context.Background())

	// Freeze the old server so that it still holds the lock when the new
	// one starts (a kill -9 takes effect a moment later), then kill it.
	old.cmd.Process.Signal(syscall.SIGSTOP)
	// The kill comes once the new server reports that it waits for the
	// lock (on a busy machine its start may take a while).
	began := time.Now()
	fresh := launch(t, dir, nil)
	const waiting = "data directory is locked by another process; waiting"
	for !strings.Contains(fresh.stderr.String(), waiting) {
		if time.Since(began) > 8*time.Second {
			t.Fatalf("the restart did not wait for the lock:\n%s", fresh.stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	killed := time.Now()
	old.cmd.Process.Signal(syscall.SIGKILL)
	if !fresh.ready(t, 10*time.Second) {
		t.Fatalf("restart after kill -9 failed: %v\n%s", fresh.err, fresh.stderr.String())
	}
	t.Logf("the restart served %v after it began, %v after the old server was killed", time.Since(began).Round(time.Millisecond), time.Since(killed).Round(time.Millisecond))
	if n := count(t, fresh.connect(t), "SELECT count(*) FROM t"); n != 100 {
		t.Errorf("after restart: %d rows, want 100", n)
	}
	fresh.answers(t)
}

// A server whose data directory stays locked gives up after -lock-wait,
// with one log line and a non-zero status.
func TestLockedDataDirectoryFailsClearly(t *testing.T) {
	dir := t.TempDir()
	first := start(t, dir)
	second := launch(t, dir, nil, "-lock-wait", "300ms")
	if code := second.exited(t, 5*time.Second); code == 0 {
		t.Errorf("second server on a locked directory exited with status 0")
	}
	lines := errorLines(second.stderr.String())
	if len(lines) != 1 || !strings.Contains(lines[0], "is in use by another process") {
		t.Errorf("want one clear error line, got:\n%s", second.stderr.String())
	}
	first.answers(t)
}

// mountTmpfs mounts a tmpfs of size bytes for the test, or skips.
func mountTmpfs(t *testing.T, size int64) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Skipf("cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): %v %s", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	return dir
}

// fill writes a file that leaves about leave bytes free on dir's file
// system (no file when leave is negative: fill it up).
func fill(t *testing.T, dir string, leave int64) string {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	n := int64(st.Bavail)*int64(st.Bsize) - max(leave, 0)
	path := filepath.Join(dir, "filler")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	for n > 0 {
		w, err := f.Write(buf[:min(int64(len(buf)), n)])
		n -= int64(w)
		if err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				break
			}
			t.Fatal(err)
		}
	}
	return path
}

func sqlState(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// On a full disk a commit fails with 53100, reads go on, the server stays
// up and writes again once space is freed; a restart on a full disk fails
// at once with one message; and where pebble itself hits ENOSPC (no
// reserve), the process exits non-zero with one log line and recovers
// everything committed on restart.
func TestDiskFull(t *testing.T) {
	mnt := mountTmpfs(t, 256<<20)
	dir := filepath.Join(mnt, "data")
	const reserve = "96MB"
	p := start(t, dir, "-disk-reserve", reserve)
	c := p.connect(t)
	ctx := context.Background()
	mustExec(t, c, "CREATE TABLE t (id int PRIMARY KEY, v text)",
		"CREATE MATERIALIZED VIEW n AS SELECT count(*) AS n FROM t",
		"INSERT INTO t VALUES (1, 'before')", "FLUSH")

	filler := fill(t, mnt, 48<<20) // 48 MB free: below the reserve
	_, err := c.Exec(ctx, "INSERT INTO t VALUES (2, 'full')")
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "53100" || !strings.Contains(pe.Message, "No space left on device") {
		t.Fatalf("INSERT on a full disk: %v; want 53100 No space left on device", err)
	}
	t.Logf("INSERT on a full disk: %s %s (%s)", pe.Code, pe.Message, pe.Detail)
	if _, err := c.Exec(ctx, "FLUSH"); sqlState(err) != "53100" {
		t.Errorf("FLUSH on a full disk: %v; want 53100", err)
	}
	if n := count(t, c, "SELECT count(*) FROM t"); n != 1 {
		t.Errorf("read on a full disk: %d rows, want 1", n)
	}
	if n := count(t, c, "SELECT n FROM n"); n != 1 {
		t.Errorf("view on a full disk: %d, want 1", n)
	}
	p.answers(t)

	// Space comes back: writes and epoch commits go on.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	mustExec(t, c, "INSERT INTO t VALUES (2, 'after')", "FLUSH")
	if n := count(t, c, "SELECT n FROM n"); n != 2 {
		t.Errorf("view after space came back: %d, want 2", n)
	}
	c.Close(ctx)
	p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.exited(t, 15*time.Second); code != 0 {
		t.Fatalf("SIGTERM: status %d", code)
	}

	// A restart on the full disk fails fast with one message.
	filler = fill(t, mnt, 48<<20)
	began := time.Now()
	r := launch(t, dir, nil, "-disk-reserve", reserve)
	code := r.exited(t, 5*time.Second)
	lines := errorLines(r.stderr.String())
	if code == 0 || len(lines) != 1 || !strings.Contains(lines[0], "No space left on device") {
		t.Errorf("restart on a full disk: status %d, log:\n%s", code, r.stderr.String())
	}
	t.Logf("restart on a full disk failed in %v: %s", time.Since(began).Round(time.Millisecond), lines)
	os.Remove(filler)

	// Without a reserve pebble itself meets ENOSPC: one line, non-zero
	// status; after space is freed, nothing committed is lost.
	q := start(t, dir, "-disk-reserve", "-1")
	c = q.connect(t)
	// Pebble may free a few MB after the fill (obsolete files it deletes
	// in the background), so a write can still fit: then it is committed
	// (and counted below), and the disk is filled again.
	want := 2
	for attempt := 0; ; attempt++ {
		fill(t, mnt, -1)
		lo := 3 + attempt*5000
		_, err = c.Exec(ctx, fmt.Sprintf("INSERT INTO t SELECT i, repeat('x', 1000) FROM generate_series(%d, %d) i", lo, lo+4999))
		if err != nil {
			break
		}
		want += 5000
		if attempt == 2 {
			t.Fatalf("three writes of 5 MB on a disk with no space left succeeded")
		}
	}
	code = q.exited(t, 10*time.Second)
	lines = errorLines(q.stderr.String())
	if code == 0 || len(lines) != 1 || !strings.Contains(lines[0], "no space left on device") {
		t.Errorf("pebble out of space: status %d, log:\n%s", code, q.stderr.String())
	}
	os.Remove(filepath.Join(mnt, "filler"))
	r = start(t, dir)
	c = r.connect(t)
	if n := count(t, c, "SELECT count(*) FROM t"); n != want {
		t.Errorf("after pebble's ENOSPC exit and a restart: %d rows, want %d", n, want)
	}
	r.answers(t)
}

// At its file descriptor limit the server keeps going: accept errors are
// retried with backoff and logged a few times, not a return from Serve
// and an exit with status 0.
func TestFileDescriptorLimit(t *testing.T) {
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		t.Skip("prlimit (util-linux) is not installed")
	}
	p := launch(t, t.TempDir(), []string{prlimit, "--nofile=64:64", "--"})
	if !p.ready(t, 30*time.Second) {
		t.Fatalf("did not start: %v\n%s", p.err, p.stderr.String())
	}
	ctx := context.Background()
	var mu sync.Mutex
	var conns []*pgconn.PgConn
	var refused int
	var wg sync.WaitGroup
	for i := 0; i < 80; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, ccancel := context.WithTimeout(ctx, time.Second)
			defer ccancel()
			c, err := pgconn.Connect(cctx, "postgres://streamsql@"+p.addr+"/dev?sslmode=disable")
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				refused++
				return
			}
			conns = append(conns, c)
		}()
	}
	wg.Wait()
	if refused == 0 {
		t.Fatalf("80 connections all served under a limit of 64 descriptors")
	}
	time.Sleep(200 * time.Millisecond)
	select {
	case <-p.done:
		t.Fatalf("the server exited at its descriptor limit: %v\n%s", p.err, p.stderr.String())
	default:
	}
	for _, c := range conns {
		c.Close(ctx)
	}
	// Backoff is at most a second; then the server accepts again.
	deadline := time.Now().Add(3 * time.Second)
	for {
		cctx, ccancel := context.WithTimeout(ctx, time.Second)
		c, err := pgx.Connect(cctx, "postgres://streamsql@"+p.addr+"/dev?sslmode=disable")
		ccancel()
		if err == nil {
			c.Close(ctx)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not served after the descriptors were freed: %v", err)
		}
	}
	p.answers(t)
	logged := strings.Count(p.stderr.String(), "accept failed")
	if logged < 1 || logged > 3 {
		t.Errorf("%d accept error lines for %d refused connections; want 1 to 3", logged, refused)
	}
	t.Logf("%d of 80 connections refused at 64 descriptors; %d log lines; served again after", refused, logged)
}
