package compat

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The clients outside Go: pgjdbc, Python's drivers, ODBC and
// node-postgres. Each test runs the real client as a child process against
// the test's server; .ci/run installs them from Debian and npm.

// lookTool returns the path of an installed program or file, skipping the
// test when it is absent.
func lookTool(t *testing.T, path string) string {
	t.Helper()
	if filepath.IsAbs(path) {
		if _, err := os.Stat(path); err != nil {
			t.Skipf("%s is not installed", path)
		}
		return path
	}
	p, err := exec.LookPath(path)
	if err != nil {
		t.Skipf("%s is not installed", path)
	}
	return p
}

// run runs a client command with a time limit and fails the test with
// its output when it exits non-zero.
func run(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// systemPython is Debian's interpreter, where python3-psycopg2 and the
// other Debian packages live (not a pyenv one first on PATH).
const systemPython = "/usr/bin/python3"

// pythonHas skips the test unless the system interpreter imports every
// module.
func pythonHas(t *testing.T, modules ...string) string {
	t.Helper()
	py := lookTool(t, systemPython)
	for _, m := range modules {
		if err := exec.Command(py, "-c", "import "+m).Run(); err != nil {
			t.Skipf("python module %s is not installed for %s", m, py)
		}
	}
	return py
}

func testdata(t *testing.T, parts ...string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join(append([]string{"testdata"}, parts...)...))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// jdbc is pgjdbc and a JDK, with a directory for the compiled programs.
type jdbc struct{ jar, javac, java, dir string }

// lookJDBC finds pgjdbc and a JDK, skipping the test when one is missing.
func lookJDBC(t *testing.T) *jdbc {
	t.Helper()
	return &jdbc{jar: lookTool(t, "/usr/share/java/postgresql.jar"), javac: lookTool(t, "javac"), java: lookTool(t, "java"), dir: t.TempDir()}
}

// run compiles testdata/jdbc/<class>.java and runs class with args,
// returning its output.
func (j *jdbc) run(t *testing.T, class string, args ...string) string {
	t.Helper()
	run(t, j.dir, nil, j.javac, "-cp", j.jar, "-d", j.dir, testdata(t, "jdbc", class+".java"))
	return run(t, j.dir, nil, j.java, append([]string{"-cp", j.dir + string(os.PathListSeparator) + j.jar, class}, args...)...)
}

func TestJDBC(t *testing.T) {
	j := lookJDBC(t)
	s := startServer(t)
	s.exec(t, schema...)
	out := j.run(t, "Compat", s.jdbcURL())
	contains(t, out, "product PostgreSQL 15", "primary keys [id:1:trades_pkey]", "prepared round trip of 16 types", "ok")
}

func TestPython(t *testing.T) {
	py := pythonHas(t, "psycopg2", "psycopg", "sqlalchemy", "pandas")
	s := startServer(t)
	s.exec(t, schema...)
	out := run(t, "", []string{"COMPAT_DSN=" + s.dsn(), "COMPAT_URL=" + s.url()}, py, testdata(t, "python", "clients.py"))
	contains(t, out, "psycopg2 ok", "psycopg3 ok", "sqlalchemy ok", "pandas ok")
}

func TestODBC(t *testing.T) {
	isql := lookTool(t, "isql")
	lookTool(t, "/usr/lib/x86_64-linux-gnu/odbc/psqlodbcw.so")
	s := startServer(t)
	s.exec(t, schema...)
	s.exec(t, `INSERT INTO trades VALUES (1, 'AAA', 101.5, '2024-01-02 03:04:05+00'), (2, 'BBB', 99, NULL)`)
	// A private odbc.ini names the server as DSN "streamsql".
	dir := t.TempDir()
	ini := "[streamsql]\nDriver=/usr/lib/x86_64-linux-gnu/odbc/psqlodbcw.so\nServername=" + s.host +
		"\nPort=" + strconv.Itoa(s.port) + "\nDatabase=streamsql\nUsername=streamsql\nSSLmode=disable\n"
	if err := os.WriteFile(filepath.Join(dir, "odbc.ini"), []byte(ini), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"ODBCINI=" + filepath.Join(dir, "odbc.ini"), "ODBCSYSINI=" + dir}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, isql, "-b", "-d|", "streamsql")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader("SELECT id, sym, px FROM trades ORDER BY id\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("isql: %v\n%s", err, out)
	}
	contains(t, string(out), "1|AAA|101.5", "2|BBB|99")

	py := pythonHas(t, "pyodbc")
	got := run(t, "", append(env, "COMPAT_ODBC=DSN=streamsql"), py, testdata(t, "python", "odbc.py"))
	contains(t, got, "tables ok", "columns ok", "query ok")
}

func TestNodePostgres(t *testing.T) {
	node := lookTool(t, "node")
	npm := lookTool(t, "npm")
	dir := testdata(t, "node")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "pg")); err != nil {
		// .ci/run installs the locked packages; a local run does it here.
		run(t, dir, nil, npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
	}
	s := startServer(t)
	s.exec(t, schema...)
	out := run(t, dir, []string{"COMPAT_URL=" + s.url()}, node, "client.js")
	contains(t, out, "parameterized ok", "prepared ok", "error ok")
}
