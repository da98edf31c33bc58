package console_test

// The console end to end in headless Chromium: web/test/e2e.mjs drives
// the browser (playwright-core with Debian's chromium) against a real
// server whose HTTP listener requires sign-in, while this test inserts
// rows over the wire with pgx when the script asks for them. Screenshots
// go to a directory under the test's temporary directory (copied to a
// directory that stays when the test fails), or to
// $STREAMSQL_CONSOLE_SCREENSHOTS (`make console-screenshots` points it at
// docs/images).
//
// Chromium missing fails the test unless STREAMSQL_SKIP_BROWSER=1 says to
// skip it; assets or npm packages missing fail it with how to build them.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"streamsql/auth"
	"streamsql/engine"
	"streamsql/httpapi"
	"streamsql/internal/testserver"
)

const chromiumPath = "/usr/bin/chromium"

func TestConsoleInBrowser(t *testing.T) {
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = chromiumPath
	}
	if _, err := os.Stat(chromium); err != nil {
		if os.Getenv("STREAMSQL_SKIP_BROWSER") == "1" {
			t.Skipf("chromium is not installed (%s) and STREAMSQL_SKIP_BROWSER=1: the console's browser test is skipped", chromium)
		}
		t.Fatalf("chromium is not installed at %s (apt-get install chromium), or set STREAMSQL_SKIP_BROWSER=1 to skip this test", chromium)
	}
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Dir(file)
	web := filepath.Join(dir, "web")
	for _, need := range []struct{ path, fix string }{
		{filepath.Join(dir, "dist", "app.js"), "the console's assets are not built: run `make console`"},
		{filepath.Join(web, "node_modules", "playwright-core"), "the console's npm packages are not installed: run `make console` (npm ci in console/web)"},
	} {
		if _, err := os.Stat(need.path); err != nil {
			t.Fatalf("%s (%s missing)", need.fix, need.path)
		}
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not installed (apt-get install nodejs)")
	}

	hba, err := auth.ParseHBA(strings.NewReader("host http all 127.0.0.1/32 scram-sha-256\nhost all all 127.0.0.1/32 trust\n"), "test")
	if err != nil {
		t.Fatal(err)
	}
	srv := testserver.Start(t, engine.Options{})
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, srv.URL("streamsql", "dev"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	exec1 := func(sqls ...string) {
		t.Helper()
		for _, s := range sqls {
			if _, err := conn.Exec(ctx, s); err != nil {
				t.Fatalf("%s: %v", s, err)
			}
		}
	}
	exec1(`CREATE ROLE alice LOGIN PASSWORD 'open sesame'`, `GRANT CREATE ON SCHEMA public TO alice`)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	webSrv := httptest.NewServer(httpapi.RequireAuth(httpapi.New(srv.Engine, quiet), hba, srv.Engine, quiet))
	defer webSrv.Close()

	shots := os.Getenv("STREAMSQL_CONSOLE_SCREENSHOTS")
	if shots == "" {
		shots = filepath.Join(t.TempDir(), "screenshots")
		// The temporary directory goes with the test: a failed run keeps
		// its screenshots (failure.png among them) where they can be seen.
		t.Cleanup(func() {
			if !t.Failed() {
				return
			}
			keep, err := os.MkdirTemp("", "streamsql-console-screenshots-")
			if err == nil {
				err = os.CopyFS(keep, os.DirFS(shots))
			}
			if err != nil {
				t.Logf("keeping the screenshots: %v", err)
				return
			}
			t.Logf("the failed run's screenshots are in %s", keep)
		})
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}

	runCtx, cancel := context.WithTimeout(ctx, 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(runCtx, node, filepath.Join(web, "test", "e2e.mjs"))
	cmd.Dir = web
	cmd.Env = append(os.Environ(), "CONSOLE_URL="+webSrv.URL, "CONSOLE_USER=alice", "CONSOLE_PASSWORD=open sesame",
		"SHOTS="+shots, "CHROMIUM="+chromium)
	cmd.Stderr = testWriter{t}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The steps the script asks for: rows over the wire.
	steps := map[string][]string{
		"first-trades": {
			`INSERT INTO trades VALUES
				(1, 'ACME', 101.0, 100, '2026-03-02 10:00:05+00'),
				(2, 'ACME', 103.5, 200, '2026-03-02 10:00:20+00'),
				(3, 'INIT', 9.75, 500, '2026-03-02 10:00:40+00')`,
		},
		"more-trades": {
			`INSERT INTO trades VALUES
				(4, 'ACME', 99.5, 100, '2026-03-02 10:00:50+00'),
				(5, 'ACME', 102.0, 300, '2026-03-02 10:01:10+00'),
				(6, 'ACME', 104.25, 50, '2026-03-02 10:01:40+00')`,
		},
		"orders": {
			`CREATE TABLE orders (id int PRIMARY KEY, sym text NOT NULL, qty int)`,
			`GRANT SELECT ON orders TO alice`,
			`INSERT INTO orders VALUES (1, 'ACME', 100), (2, 'INIT', 200), (3, 'ACME', 300)`,
		},
		"orders-change": {
			`UPDATE orders SET qty = 777 WHERE id = 1`,
			`DELETE FROM orders WHERE id = 2`,
			`INSERT INTO orders VALUES (4, 'NEWCO', 50)`,
		},
		"failing-job": {
			`CREATE TABLE f (x int)`,
			`CREATE MATERIALIZED VIEW ratio AS SELECT 10 / x AS y FROM f`,
			`INSERT INTO f VALUES (0)`,
		},
	}
	done := false
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "@@step "):
			name := strings.TrimPrefix(line, "@@step ")
			sqls, ok := steps[name]
			if !ok {
				t.Fatalf("the script asked for an unknown step %q", name)
			}
			exec1(sqls...)
			fmt.Fprintf(stdin, "ok %s\n", name)
		case line == "@@done":
			done = true
		case strings.HasPrefix(line, "@@fail "):
			t.Errorf("browser: %s", strings.TrimPrefix(line, "@@fail "))
		default:
			t.Log(line)
		}
	}
	stdin.Close()
	err = cmd.Wait()
	t.Logf("browser test took %v; screenshots in %s", time.Since(start).Round(100*time.Millisecond), shots)
	if err != nil || !done {
		t.Fatalf("the browser script did not finish: %v", err)
	}
}

// testWriter logs what the script writes to stderr.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	for _, l := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		w.t.Log(l)
	}
	return len(p), nil
}

var _ io.Writer = testWriter{}
