package compat

import "testing"

// TestJDBCCursors: pgjdbc's setFetchSize (Execute with a row limit and a
// suspended portal) and a cursor over SUBSCRIBE.
func TestJDBCCursors(t *testing.T) {
	j := lookJDBC(t)
	s := startServer(t)
	out := j.run(t, "Cursors", s.jdbcURL())
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
