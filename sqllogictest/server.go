package sqllogictest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Server is a streamsqld process started for one test file, with its own
// data directory and loopback port.
type Server struct {
	// DSN connects to the server as user streamsql, database dev.
	DSN string

	binary  string
	addr    string
	timeout time.Duration
	cmd     *exec.Cmd
	dir     string // temp dir holding data/ and the log
	logPath string
	done    chan struct{}
	waitErr error
	once    sync.Once
}

// StartServer starts binary on a free loopback port with a fresh data
// directory and returns once it accepts PostgreSQL connections (or fails
// when the process exits or timeout passes first).
func StartServer(ctx context.Context, binary string, timeout time.Duration) (*Server, error) {
	dir, err := os.MkdirTemp("", "slt-server-")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	s := &Server{
		DSN:     fmt.Sprintf("postgres://streamsql@%s/dev?sslmode=disable", addr),
		binary:  binary,
		addr:    addr,
		timeout: timeout,
		dir:     dir,
		logPath: filepath.Join(dir, "server.log"),
	}
	if err := s.start(ctx); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

// start runs the process on s's data directory and port, its output
// appended to the log, and waits until it accepts connections.
func (s *Server) start(ctx context.Context) error {
	logFile, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	s.done = make(chan struct{})
	s.cmd = exec.Command(s.binary, "-listen", s.addr, "-data", filepath.Join(s.dir, "data"))
	s.cmd.Stdout = logFile
	s.cmd.Stderr = logFile
	if err := s.cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("start %s: %w", s.binary, err)
	}
	cmd, done := s.cmd, s.done
	go func() {
		err := cmd.Wait()
		logFile.Close()
		s.waitErr = err
		close(done)
	}()
	if err := s.waitReady(ctx, s.addr, s.timeout); err != nil {
		tail := s.logTail()
		_ = s.cmd.Process.Kill()
		<-done
		return fmt.Errorf("%s did not become ready: %w\n%s", s.binary, err, tail)
	}
	return nil
}

// Restart shuts the process down as SIGTERM does and starts it again on
// the same data directory and port, as an operator's restart does; it
// returns once the new process accepts connections.
func (s *Server) Restart(ctx context.Context) error {
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("stopping streamsqld: %w", err)
	}
	select {
	case <-s.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	if s.waitErr != nil {
		return fmt.Errorf("streamsqld did not shut down cleanly: %v\n%s", s.waitErr, s.logTail())
	}
	return s.start(ctx)
}

// waitReady polls until a PostgreSQL connection succeeds.
func (s *Server) waitReady(ctx context.Context, addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return fmt.Errorf("process exited: %v", s.waitErr)
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			conn, err := pgx.Connect(cctx, s.DSN)
			cancel()
			if err == nil {
				conn.Close(context.Background())
				return nil
			}
			last = err
		} else {
			last = err
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("timeout after %s: %v", timeout, last)
}

// Exited reports whether the process has ended, and how.
func (s *Server) Exited() (bool, error) {
	select {
	case <-s.done:
		return true, s.waitErr
	default:
		return false, nil
	}
}

// Stop kills the process and removes its data directory.
func (s *Server) Stop() {
	s.once.Do(func() {
		if s.cmd.Process != nil {
			_ = s.cmd.Process.Kill()
			<-s.done
		}
		os.RemoveAll(s.dir)
	})
}

// Log returns the server's output so far.
func (s *Server) Log() string {
	b, _ := os.ReadFile(s.logPath)
	return string(b)
}

// logTail is the end of the server's output, for error messages.
func (s *Server) logTail() string {
	b, _ := os.ReadFile(s.logPath)
	const max = 4000
	if len(b) > max {
		b = b[len(b)-max:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return "server output:\n" + string(b)
}

// freePort asks the kernel for an unused loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	addr, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		return 0, errors.New("not a TCP address")
	}
	return addr.Port, nil
}
