package compat

import (
	"os"
	"strconv"
	"testing"
)

// TestJDBCCursors: pgjdbc's setFetchSize (Execute with a row limit and a
// suspended portal) and a cursor over SUBSCRIBE.
func TestJDBCCursors(t *testing.T) {
	jar := lookTool(t, "/usr/share/java/postgresql.jar")
	javac := lookTool(t, "javac")
	java := lookTool(t, "java")
	s := startServer(t)
	dir := t.TempDir()
	run(t, dir, nil, javac, "-cp", jar, "-d", dir, testdata(t, "jdbc", "Cursors.java"))
	url := "jdbc:postgresql://" + s.host + ":" + strconv.Itoa(s.port) + "/streamsql?user=streamsql&sslmode=disable"
	out := run(t, dir, nil, java, "-cp", dir+string(os.PathListSeparator)+jar, "Cursors", url)
	contains(t, out, "fetch size 7: 1000 rows, sum 500500", "ok")
}

// TestPythonCursors: psycopg2's named and scrollable cursors, and a cursor
// over SUBSCRIBE.
func TestPythonCursors(t *testing.T) {
	py := pythonHas(t, "psycopg2")
	s := startServer(t)
	out := run(t, "", []string{"COMPAT_DSN=" + s.dsn()}, py, testdata(t, "python", "cursors.py"))
	contains(t, out, "psycopg2 named cursors ok", "psycopg2 subscribe cursor ok")
}
