package testserver

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Process is a streamsqld binary running as a child process, for tests
// that kill it (kill -9) and start it again on the same data directory.
type Process struct {
	cmd      *exec.Cmd
	Addr     string // host:port it listens on
	Dir      string // its data directory
	bin      string
	logLevel string
	args     []string
}

// Build compiles streamsqld into the test's temporary directory and
// returns the binary's path.
func Build(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	bin := filepath.Join(t.TempDir(), "streamsqld")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/streamsqld")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// StartBuilt is the opening of a kill -9 test: it builds streamsqld and
// starts it on a new temporary data directory, as StartProcess does
// (with the further flags args). A -short run skips the test instead.
func StartBuilt(t testing.TB, logLevel string, args ...string) *Process {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and kills a server")
	}
	return StartProcess(t, Build(t), t.TempDir(), logLevel, args...)
}

// StartProcess starts bin on a free loopback port with its data in dir
// (logging at logLevel, no HTTP endpoints, and any further flags args)
// and waits until it accepts connections. The process is killed when t
// ends, if it still runs.
func StartProcess(t testing.TB, bin, dir, logLevel string, args ...string) *Process {
	t.Helper()
	addr := FreeAddr(t)
	cmd := exec.Command(bin, append([]string{"-listen", addr, "-data", dir, "-log-level", logLevel, "-http", "off"}, args...)...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			p := &Process{cmd: cmd, Addr: addr, Dir: dir, bin: bin, logLevel: logLevel, args: args}
			t.Cleanup(p.Kill)
			return p
		}
	}
	cmd.Process.Kill()
	t.Fatalf("streamsqld did not start on %s", addr)
	return nil
}

// FreeAddr returns a loopback address (host:port) on which nothing
// listens: a port the system chose and that was closed again, for a
// process or server the test starts next.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Kill ends the process at once (SIGKILL) and reaps it; a process that
// already ended is left as it is.
func (p *Process) Kill() {
	if p.cmd.ProcessState != nil {
		return
	}
	p.cmd.Process.Kill()
	p.cmd.Wait()
}

// Restart kills p (if it still runs) and starts the same binary again on
// the same data directory, as a restart after a crash does.
func (p *Process) Restart(t testing.TB) *Process {
	t.Helper()
	p.Kill()
	return StartProcess(t, p.bin, p.Dir, p.logLevel, p.args...)
}

// URL is the postgres:// URL of the process for user streamsql.
func (p *Process) URL() string {
	return "postgres://streamsql@" + p.Addr + "/dev?sslmode=disable"
}

// Dial connects to the process with pgx as user streamsql.
func (p *Process) Dial(t testing.TB) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, p.URL())
	if err != nil {
		t.Fatal(err)
	}
	return c
}
