package engine_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"streamsql/internal/testclient"
)

// fetchInts runs a FETCH over one int column and returns its values.
func fetchInts(t *testing.T, conn *pgx.Conn, q string) string {
	t.Helper()
	rows, err := conn.Query(context.Background(), q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	out, err := scanRows(rows, func(v []any) string { return fmt.Sprint(v[0]) })
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return strings.Join(out, ",")
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != code {
		t.Fatalf("error %v, want SQLSTATE %s", err, code)
	}
}

// PostgreSQL cursors over a query: every direction of FETCH and MOVE,
// CLOSE, WITH HOLD, and PostgreSQL's errors.
func TestCursorsPgx(t *testing.T) {
	ctx := context.Background()
	_, c := startWithConn(t, "cur", "CREATE TABLE nums (n int PRIMARY KEY)")
	for i := 1; i <= 10; i++ {
		execAll(t, c, fmt.Sprintf("INSERT INTO nums VALUES (%d)", i))
	}
	_, err := c.Exec(ctx, "DECLARE outside CURSOR FOR SELECT n FROM nums")
	wantCode(t, err, "25P01")

	execAll(t, c, "BEGIN", "DECLARE c SCROLL CURSOR FOR SELECT n FROM nums ORDER BY n")
	for _, step := range []struct{ q, want string }{
		{"FETCH 3 c", "1,2,3"},
		{"FETCH PRIOR FROM c", "2"},
		{"FETCH ABSOLUTE 8 c", "8"},
		{"FETCH NEXT c", "9"},
		{"FETCH LAST c", "10"},
		{"FETCH BACKWARD 2 c", "9,8"},
		{"FETCH RELATIVE -3 c", "5"},
		{"FETCH RELATIVE 0 c", "5"},
		{"FETCH FIRST c", "1"},
		{"FETCH FORWARD 2 c", "2,3"},
		{"FETCH ALL c", "4,5,6,7,8,9,10"},
		{"FETCH c", ""},
		{"FETCH ABSOLUTE -2 c", "9"},
		{"FETCH BACKWARD ALL c", "8,7,6,5,4,3,2,1"},
	} {
		if got := fetchInts(t, c, step.q); got != step.want {
			t.Errorf("%s: %q, want %q", step.q, got, step.want)
		}
	}
	tag, err := c.Exec(ctx, "MOVE FORWARD 4 IN c")
	if err != nil || tag.String() != "MOVE 4" {
		t.Errorf("MOVE: %v %v", tag, err)
	}
	if got := fetchInts(t, c, "FETCH NEXT c"); got != "5" {
		t.Errorf("after MOVE: %s", got)
	}
	var name, stmt string
	var hold, scroll bool
	if err := c.QueryRow(ctx, "SELECT name, statement, is_holdable, is_scrollable FROM pg_cursors").Scan(&name, &stmt, &hold, &scroll); err != nil {
		t.Fatal(err)
	}
	if name != "c" || stmt != "DECLARE c SCROLL CURSOR FOR SELECT n FROM nums ORDER BY n" || hold || !scroll {
		t.Errorf("pg_cursors: %s %q %v %v", name, stmt, hold, scroll)
	}
	_, err = c.Exec(ctx, "DECLARE c CURSOR FOR SELECT 1")
	wantCode(t, err, "42P03")
	execAll(t, c, "ROLLBACK", "BEGIN")
	_, err = c.Exec(ctx, "FETCH c")
	wantCode(t, err, "34000")
	execAll(t, c, "ROLLBACK")

	// NO SCROLL moves forward only; WITH HOLD outlives its transaction.
	execAll(t, c, "BEGIN", "DECLARE f NO SCROLL CURSOR FOR SELECT n FROM nums ORDER BY n",
		"DECLARE h CURSOR WITH HOLD FOR SELECT n FROM nums WHERE n > 7 ORDER BY n")
	if got := fetchInts(t, c, "FETCH 2 f"); got != "1,2" {
		t.Errorf("no scroll: %s", got)
	}
	_, err = c.Exec(ctx, "FETCH PRIOR f")
	wantCode(t, err, "55000")
	execAll(t, c, "ROLLBACK", "BEGIN", "DECLARE h2 CURSOR WITH HOLD FOR SELECT n FROM nums WHERE n < 3 ORDER BY n", "COMMIT")
	if got := fetchInts(t, c, "FETCH ALL h2"); got != "1,2" {
		t.Errorf("held cursor: %s", got)
	}
	execAll(t, c, "CLOSE h2")
	_, err = c.Exec(ctx, "CLOSE h2")
	wantCode(t, err, "34000")
	execAll(t, c, "BEGIN", "DECLARE a CURSOR FOR SELECT 1", "DECLARE b CURSOR FOR SELECT 2", "CLOSE ALL")
	_, err = c.Exec(ctx, "FETCH a")
	wantCode(t, err, "34000")
	execAll(t, c, "ROLLBACK")
}

// DECLARE ... CURSOR FOR SUBSCRIBE and FETCH: the snapshot, then each
// change as soon as it commits; FETCH with timeout 0 returns what is
// buffered.
func TestSubscribeCursorPgx(t *testing.T) {
	ctx := context.Background()
	ts, w := startWithConn(t, "cur", "CREATE TABLE acct (id int PRIMARY KEY, bal int)", "INSERT INTO acct VALUES (1, 100)",
		"CREATE MATERIALIZED VIEW rich AS SELECT id, bal FROM acct WHERE bal >= 100")
	c := mustConnectAs(t, ts, "cur")
	execAll(t, c, "BEGIN", "DECLARE s CURSOR FOR SUBSCRIBE rich")
	fetch := func(q string) []string {
		rows, err := c.Query(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for rows.Next() {
			v, _ := rows.Values()
			out = append(out, fmt.Sprint(v[1:]))
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return out
	}
	if got := fetch("FETCH ALL s WITH (timeout = '5s')"); strings.Join(got, ";") != "[1 1 100]" {
		t.Errorf("snapshot %v", got)
	}
	if got := fetch("FETCH ALL s WITH (timeout = '0s')"); len(got) != 0 {
		t.Errorf("nothing buffered, got %v", got)
	}
	start := time.Now()
	if got := fetch("FETCH ALL s WITH (timeout = '200ms')"); len(got) != 0 || time.Since(start) < 150*time.Millisecond {
		t.Errorf("timeout: %v after %v", got, time.Since(start))
	}
	go func() {
		time.Sleep(200 * time.Millisecond)
		execAll(t, w, "UPDATE acct SET bal = 150 WHERE id = 1", "INSERT INTO acct VALUES (2, 50)", "INSERT INTO acct VALUES (3, 300)")
	}()
	var got []string
	for len(got) < 3 {
		got = append(got, fetch("FETCH 10 s")...) // blocks until rows are there
	}
	if strings.Join(sortedStrings(got[:2]), ";") != "[-1 1 100];[1 1 150]" || got[2] != "[1 3 300]" {
		t.Errorf("changes %v", got)
	}
	_, err := c.Exec(ctx, "FETCH PRIOR s")
	wantCode(t, err, "55000")
	execAll(t, c, "ROLLBACK")
	// The cursor, and its subscription, ended with the transaction.
	_, err = c.Exec(ctx, "FETCH s")
	wantCode(t, err, "34000")
}

// FETCH from a cursor declared BINARY sends its rows in the binary
// format under the simple query protocol, as PostgreSQL does; pgx decodes
// them by the format codes of the row description. Other cursors send
// text.
func TestBinaryCursorPgx(t *testing.T) {
	ts, _ := startWithConn(t, "cur", "CREATE TABLE vals (n int PRIMARY KEY, s text, f float8, b bool, ts timestamptz)",
		"INSERT INTO vals VALUES (1, 'one', 1.5, true, '2026-01-02 03:04:05+00'), (2, NULL, -2.25, false, NULL)")
	c := testclient.Connect(t, ts.URL("cur", "streamsql"), testclient.Mode(pgx.QueryExecModeSimpleProtocol))
	execAll(t, c, "BEGIN",
		"DECLARE bc BINARY CURSOR FOR SELECT n, s, f, b, ts FROM vals ORDER BY n",
		"DECLARE tc CURSOR FOR SELECT n, s, f, b, ts FROM vals ORDER BY n")
	for _, cur := range []struct {
		name   string
		format int16
	}{{"bc", 1}, {"tc", 0}} {
		rows := fetchIn(t, c, "FETCH ALL "+cur.name, cur.name, cur.format)
		var got []string
		for rows.Next() {
			var n int32
			var s *string
			var f float64
			var b bool
			var tsv *time.Time
			if err := rows.Scan(&n, &s, &f, &b, &tsv); err != nil {
				t.Fatalf("cursor %s: %v", cur.name, err)
			}
			str, tss := "NULL", "NULL"
			if s != nil {
				str = *s
			}
			if tsv != nil {
				tss = tsv.UTC().Format(time.RFC3339)
			}
			got = append(got, fmt.Sprintf("%d %s %g %v %s", n, str, f, b, tss))
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if g := strings.Join(got, "|"); g != "1 one 1.5 true 2026-01-02T03:04:05Z|2 NULL -2.25 false NULL" {
			t.Errorf("cursor %s: %s", cur.name, g)
		}
	}
	execAll(t, c, "COMMIT")
}

// DECLARE ... BINARY CURSOR FOR SUBSCRIBE: FETCH sends the changes (epoch,
// diff and the view's columns) in the binary format, like any BINARY
// cursor; the same subscription through a plain cursor sends text.
func TestBinarySubscribeCursorPgx(t *testing.T) {
	ts, w := startWithConn(t, "cur", "CREATE TABLE px (id int PRIMARY KEY, f float8, s text)", "INSERT INTO px VALUES (1, 2.5, 'a')",
		"CREATE MATERIALIZED VIEW pxv AS SELECT id, f, s FROM px")
	c := testclient.Connect(t, ts.URL("cur", "streamsql"), testclient.Mode(pgx.QueryExecModeSimpleProtocol))
	ctx := context.Background()
	execAll(t, c, "BEGIN", "DECLARE bs BINARY CURSOR FOR SUBSCRIBE pxv", "DECLARE tsub CURSOR FOR SUBSCRIBE pxv")
	// changes reads the rows of a FETCH as "diff id f s", checking that
	// each carries an epoch.
	changes := func(name string, rows pgx.Rows) []string {
		t.Helper()
		defer rows.Close()
		var got []string
		for rows.Next() {
			var epoch, diff int64
			var id int32
			var f float64
			var s string
			if err := rows.Scan(&epoch, &diff, &id, &f, &s); err != nil {
				t.Fatalf("cursor %s: %v", name, err)
			}
			if epoch <= 0 {
				t.Errorf("cursor %s: epoch %d", name, epoch)
			}
			got = append(got, fmt.Sprintf("%d %d %g %s", diff, id, f, s))
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return got
	}
	for _, cur := range []struct {
		name   string
		format int16
	}{{"bs", 1}, {"tsub", 0}} {
		got := changes(cur.name, fetchIn(t, c, "FETCH ALL "+cur.name+" WITH (timeout = '5s')", cur.name, cur.format))
		if g := strings.Join(got, "|"); g != "1 1 2.5 a" {
			t.Errorf("cursor %s: %s", cur.name, g)
		}
	}
	execAll(t, w, "UPDATE px SET f = -1.25 WHERE id = 1")
	var got []string
	for len(got) < 2 {
		rows, err := c.Query(ctx, "FETCH 10 bs")
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, changes("bs", rows)...)
	}
	if g := strings.Join(sortedStrings(got), "|"); g != "-1 1 2.5 a|1 1 -1.25 a" {
		t.Errorf("changes %s", g)
	}
	execAll(t, c, "COMMIT")
}

// fetchIn runs q, a FETCH from cursor name, and checks that every column
// of its result comes in format (0 text, 1 binary).
func fetchIn(t *testing.T, c *pgx.Conn, q, name string, format int16) pgx.Rows {
	t.Helper()
	rows, err := c.Query(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range rows.FieldDescriptions() {
		if fd.Format != format {
			t.Errorf("cursor %s: column %s has format %d, want %d", name, fd.Name, fd.Format, format)
		}
	}
	return rows
}
