package sqllogictest

import (
	"bufio"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// repoRoot is the module root: the parent of this package's folder.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("no go.mod in %s: %v", root, err)
	}
	return root
}

// sharedDir finds the shared folder with the peer test suites: $SHARED_DIR,
// or a "shared" folder beside or inside the repository.
func sharedDir(root string) string {
	cands := []string{os.Getenv("SHARED_DIR"), filepath.Join(root, "..", "shared"), filepath.Join(root, "shared")}
	for _, c := range cands {
		if c == "" {
			continue
		}
		if st, err := os.Stat(filepath.Join(c, "sqllogic")); err == nil && st.IsDir() {
			return c
		}
	}
	return ""
}

// ownFiles lists the .slt and .test files under testdata/sqllogic
// (.slt.part files run only through include).
func ownFiles(t *testing.T, root string) []string {
	t.Helper()
	var files []string
	dir := filepath.Join(root, "testdata", "sqllogic")
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".slt") || strings.HasSuffix(p, ".test")) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("listing %s: %v", dir, err)
	}
	sort.Strings(files)
	return files
}

// sqliteFiles lists the classic SQLite suite in shared/, or nothing.
func sqliteFiles(t *testing.T, root string) []string {
	t.Helper()
	shared := sharedDir(root)
	if shared == "" {
		if os.Getenv(skipPeerSuitesEnv) == "1" {
			t.Logf("shared/sqllogic not found: the SQLite suite is skipped (%s=1)", skipPeerSuitesEnv)
			return nil
		}
		t.Fatalf("shared/sqllogic not found beside the repository (set SHARED_DIR, or %s=1 to run without the peer suites)", skipPeerSuitesEnv)
	}
	files, err := filepath.Glob(filepath.Join(shared, "sqllogic", "sqlite", "*.test"))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// skipPeerSuitesEnv, set to 1, lets the tests run without the peer
// suites of shared/; without it a missing shared/ fails them.
const skipPeerSuitesEnv = "STREAMSQL_SKIP_PEER_SUITES"

// peerPending are the files of shared/sqllogic/risingwave/streaming not
// yet run, with the capability they wait for; every other file runs.
var peerPending = map[string]string{}

// peerSkips are the records of the RisingWave streaming files that are
// not run: they read RisingWave's internal tables or call functions only
// RisingWave has. docs/compatibility.md lists each with its reason
// (TestPeerSkipsDocumented).
var peerSkips = []RecordSkip{
	{File: "join/join.slt.part", Line: 181, SQL: "array_join(", Reason: "array_join is a RisingWave function (PostgreSQL: array_to_string)"},
	{File: "join/join.slt.part", Line: 193, SQL: "select * from v", Reason: "reads the view of the skipped array_join record"},
	{File: "join/join.slt.part", Line: 199, SQL: "drop materialized view v", Reason: "drops the view of the skipped array_join record"},
	{File: "eowc/eowc_over_window.slt", Line: 45, SQL: "session with gap", Reason: "a SESSION frame in OVER is RisingWave syntax (PostgreSQL has no session frames)"},
	{File: "eowc/eowc_over_window.slt", Line: 83, SQL: "select * from mv4", Reason: "reads the view of the skipped SESSION frame record"},
	{File: "eowc/eowc_over_window.slt", Line: 118, SQL: "select * from mv4", Reason: "reads the view of the skipped SESSION frame record"},
	{File: "eowc/eowc_over_window.slt", Line: 135, SQL: "drop materialized view mv4", Reason: "drops the view of the skipped SESSION frame record"},
}

// peerStreamingFiles lists the RisingWave streaming files in shared/
// (.slt and .slt.part, run directly), without the pending ones. A missing
// shared/ fails t unless $STREAMSQL_SKIP_PEER_SUITES is 1.
func peerStreamingFiles(t *testing.T, root string) []string {
	t.Helper()
	shared := sharedDir(root)
	if shared == "" {
		if os.Getenv(skipPeerSuitesEnv) == "1" {
			t.Logf("shared/sqllogic not found: the peer suites are skipped (%s=1)", skipPeerSuitesEnv)
			return nil
		}
		t.Fatalf("shared/sqllogic not found beside the repository (set SHARED_DIR, or %s=1 to run without the peer suites)", skipPeerSuitesEnv)
	}
	dir := filepath.Join(shared, "sqllogic", "risingwave", "streaming")
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !(strings.HasSuffix(p, ".slt") || strings.HasSuffix(p, ".slt.part")) {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if why, ok := peerPending[filepath.ToSlash(rel)]; ok {
			t.Logf("risingwave/%s not run yet: %s", rel, why)
			return nil
		}
		out = append(out, p)
		return nil
	})
	if err != nil {
		t.Fatalf("listing %s: %v", dir, err)
	}
	if len(out) == 0 {
		t.Fatalf("no RisingWave streaming files under %s", dir)
	}
	return out
}

// buildServer compiles ./cmd/streamsqld into a temp dir.
func buildServer(t *testing.T, root string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "streamsqld")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/streamsqld")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("building ./cmd/streamsqld: %v\n%s", err, out)
	}
	return bin
}

// testName is a file's path relative to base, for subtest names.
func testName(base, file string) string {
	if rel, err := filepath.Rel(base, file); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return filepath.Base(file)
}

// report turns a file's result into test output; any failed record fails t.
func report(t *testing.T, res *FileResult) {
	t.Helper()
	t.Logf("%d passed, %d failed, %d skipped", res.Passed, res.Failed, res.Skipped)
	if res.Err != nil {
		t.Errorf("%v", res.Err)
	}
	for _, f := range res.Failures {
		t.Errorf("%s", f)
	}
	if extra := res.Failed - len(res.Failures); extra > 0 && res.Err == nil {
		t.Errorf("... and %d more failed records", extra)
	}
}

// TestSQLLogic runs every file under testdata/sqllogic and the SQLite suite
// against a fresh streamsqld per file.
func TestSQLLogic(t *testing.T) {
	root := repoRoot(t)
	bin := buildServer(t, root)
	runner := &Runner{Engine: "streamsql", RecordTimeout: time.Minute, Skips: peerSkips,
		LongOffsets: func(path string) bool { return strings.Contains(filepath.ToSlash(path), "/risingwave/") }}
	files := append(ownFiles(t, root), sqliteFiles(t, root)...)
	files = append(files, peerStreamingFiles(t, root)...)
	if len(files) == 0 {
		t.Fatal("no sqllogictest files found")
	}
	base := filepath.Join(root, "testdata", "sqllogic")
	for _, file := range files {
		name := testName(base, file)
		if strings.HasSuffix(file, ".test") && !strings.HasPrefix(file, base) {
			name = "sqlite/" + filepath.Base(file)
		} else if !strings.HasPrefix(file, base) {
			name = "risingwave/" + peerName(file)
		}
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			srv, err := StartServer(ctx, bin, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Stop()
			fileRunner := *runner
			fileRunner.Restart = srv.Restart
			res := fileRunner.RunFile(ctx, srv.DSN, file)
			if exited, werr := srv.Exited(); exited {
				t.Errorf("streamsqld exited while running the file: %v\n%s", werr, srv.logTail())
			}
			report(t, res)
		})
	}
}

// streamsqlOnly reports whether a file's first line marks it as not meant
// for PostgreSQL.
func streamsqlOnly(file string) bool {
	f, err := os.Open(file)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	return sc.Scan() && strings.TrimSpace(sc.Text()) == "# streamsql-only"
}

// TestPostgresExpectations checks that the plain-SQL files say what
// PostgreSQL 15 does: each runs in a fresh database on $SLT_PG_DSN, as do the
// SQLite suite files.
func TestPostgresExpectations(t *testing.T) {
	dsn := os.Getenv("SLT_PG_DSN")
	if dsn == "" {
		t.Skip("SLT_PG_DSN not set: no PostgreSQL 15 to check the .slt files against")
	}
	root := repoRoot(t)
	base := filepath.Join(root, "testdata", "sqllogic")
	var files []string
	for _, f := range ownFiles(t, root) {
		rel := testName(base, f)
		if strings.HasPrefix(rel, "streaming"+string(filepath.Separator)) || streamsqlOnly(f) {
			continue
		}
		files = append(files, f)
	}
	files = append(files, sqliteFiles(t, root)...)
	dbs := &Databases{AdminDSN: dsn}
	runner := &Runner{Engine: "postgresql", RecordTimeout: time.Minute}
	for _, file := range files {
		name := testName(base, file)
		if !strings.HasPrefix(file, base) {
			name = "sqlite/" + filepath.Base(file)
		}
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			fresh, drop, err := dbs.Create(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := drop(context.Background()); err != nil {
					t.Errorf("dropping test database: %v", err)
				}
			}()
			report(t, runner.RunFile(ctx, fresh, file))
		})
	}
}

// peerName is a RisingWave file's path below its streaming folder.
func peerName(file string) string {
	const dir = "/risingwave/streaming/"
	p := filepath.ToSlash(file)
	if i := strings.LastIndex(p, dir); i >= 0 {
		return p[i+len(dir):]
	}
	return filepath.Base(file)
}

// TestPeerSkipsDocumented: every skipped peer record is listed, with its
// file and line, in docs/compatibility.md, and every pending file is
// named there.
func TestPeerSkipsDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(repoRoot(t), "docs", "compatibility.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range peerSkips {
		if ref := fmt.Sprintf("%s:%d", s.File, s.Line); !strings.Contains(string(doc), ref) {
			t.Errorf("docs/compatibility.md does not list the skipped record %s", ref)
		}
	}
	for f := range peerPending {
		if !strings.Contains(string(doc), f) {
			t.Errorf("docs/compatibility.md does not name the pending file %s", f)
		}
	}
}
