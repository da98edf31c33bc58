package engine_test

// COPY FROM and COPY TO over the wire: formats, options, limits,
// privileges, identity columns and escapes.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"streamsql/engine"
)

// paddedRows is COPY text data of n rows from first: each id padded with
// zeros to width bytes, so that the input is large while what is stored
// (one bigint per row) is small, and the memory a COPY holds apart from
// its write set shows.
func paddedRows(first, n, width int) []byte {
	var sb strings.Builder
	for i := first; i < first+n; i++ {
		fmt.Fprintf(&sb, "%0*d\n", width-1, i)
	}
	return []byte(sb.String())
}

// heapPeak samples the heap until stop is closed and returns the peak.
func heapPeak(stop <-chan struct{}) <-chan uint64 {
	out := make(chan uint64, 1)
	go func() {
		var peak uint64
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
			select {
			case <-stop:
				out <- peak
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	return out
}

// A COPY that never sends CopyDone streams: 128 MB of input keeps the
// server's heap far below the input size (the rows go into the
// transaction in batches), and when the client goes away nothing is kept.
func TestCopyWithoutCopyDoneStaysBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 128 MB")
	}
	ctx := context.Background()
	s, c := startConn(t, engine.Options{}, "CREATE TABLE big (id bigint PRIMARY KEY)")

	nc, err := net.Dial("tcp", net.JoinHostPort(s.Host, strconv.Itoa(s.Port)))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	fe := pgproto3.NewFrontend(nc, nc)
	fe.Send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersionNumber, Parameters: map[string]string{"user": "streamsql", "database": "dev"}})
	fe.Send(&pgproto3.Query{String: "COPY big FROM STDIN"})
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	for {
		m, err := fe.Receive()
		if err != nil {
			t.Fatal(err)
		}
		if e, ok := m.(*pgproto3.ErrorResponse); ok {
			t.Fatalf("COPY: %s", e.Message)
		}
		if _, ok := m.(*pgproto3.CopyInResponse); ok {
			break
		}
	}

	const rowWidth, rowsPerMsg, msgs = 1000, 1000, 128 // 1 MB messages, 128 MB
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	stop := make(chan struct{})
	peakc := heapPeak(stop)
	start := time.Now()
	for i := 0; i < msgs; i++ {
		fe.Send(&pgproto3.CopyData{Data: paddedRows(i*rowsPerMsg, rowsPerMsg, rowWidth)})
		if err := fe.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	// Wait until the server has read everything: its heap is then what
	// the COPY holds (after a GC; the peak includes garbage).
	time.Sleep(300 * time.Millisecond)
	close(stop)
	peak := <-peakc
	runtime.GC()
	var live runtime.MemStats
	runtime.ReadMemStats(&live)
	grew := int64(live.HeapAlloc) - int64(base.HeapAlloc)
	t.Logf("sent %d MB of COPY data in %v; live heap grew by %.1f MB (peak with garbage %.1f MB)", msgs*rowsPerMsg*rowWidth>>20,
		time.Since(start).Round(time.Millisecond), float64(grew)/(1<<20), float64(int64(peak)-int64(base.HeapAlloc))/(1<<20))
	if grew > 64<<20 {
		t.Errorf("live heap grew by %d MB during a 128 MB COPY: the input is being buffered", grew>>20)
	}

	// The client goes away without CopyDone: nothing of the COPY is kept.
	nc.Close()
	var n int
	deadline := time.Now().Add(5 * time.Second)
	for {
		if err := c.QueryRow(ctx, "SELECT count(*) FROM big").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n != 0 {
		t.Errorf("%d rows of an abandoned COPY were kept", n)
	}
	// Another client is answered within a second.
	actx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	other, err := pgx.Connect(actx, s.URL("streamsql", "dev"))
	if err != nil {
		t.Fatalf("no answer within a second after the abandoned COPY: %v", err)
	}
	defer other.Close(ctx)
	if err := other.QueryRow(actx, "SELECT count(*) FROM big").Scan(&n); err != nil {
		t.Fatalf("no answer within a second after the abandoned COPY: %v", err)
	}
}

// A COPY of many batches commits all of them; a malformed row after
// several batches fails the whole COPY with its line number, and nothing
// of it is kept, in its own transaction and in a transaction block.
func TestCopyStreamsInBatches(t *testing.T) {
	_, c := startConn(t, engine.Options{})
	ctx := context.Background()
	pc := c.PgConn()
	execAll(t, c, "CREATE TABLE nums (id bigint PRIMARY KEY, label text)")
	// 20,000 rows in small pieces that cut rows (and CSV quotes) apart.
	var text strings.Builder
	for i := 0; i < 20000; i++ {
		fmt.Fprintf(&text, "%d\tlabel %d\n", i, i)
	}
	tag, err := pc.CopyFrom(ctx, &chunkReader{data: []byte(text.String()), chunk: 777}, "COPY nums FROM STDIN")
	if err != nil || tag.RowsAffected() != 20000 {
		t.Fatalf("COPY text: %v, %v", tag, err)
	}
	var csv strings.Builder
	csv.WriteString("id,label\n")
	for i := 20000; i < 30000; i++ {
		fmt.Fprintf(&csv, "%d,\"line one\nline \"\"two\"\" of %d\"\n", i, i)
	}
	tag, err = pc.CopyFrom(ctx, &chunkReader{data: []byte(csv.String()), chunk: 13}, "COPY nums FROM STDIN (FORMAT csv, HEADER)")
	if err != nil || tag.RowsAffected() != 10000 {
		t.Fatalf("COPY csv: %v, %v", tag, err)
	}
	var bin []byte
	bin = append(bin, "PGCOPY\n\xff\r\n\x00"...)
	bin = append(bin, 0, 0, 0, 0, 0, 0, 0, 0)
	for i := 30000; i < 40000; i++ {
		l := fmt.Sprintf("bin %d", i)
		bin = append(bin, 0, 2, 0, 0, 0, 8)
		bin = binary.BigEndian.AppendUint64(bin, uint64(i))
		bin = binary.BigEndian.AppendUint32(bin, uint32(len(l)))
		bin = append(bin, l...)
	}
	bin = append(bin, 0xff, 0xff)
	tag, err = pc.CopyFrom(ctx, &chunkReader{data: bin, chunk: 1001}, "COPY nums FROM STDIN (FORMAT binary)")
	if err != nil || tag.RowsAffected() != 10000 {
		t.Fatalf("COPY binary: %v, %v", tag, err)
	}
	var n int
	var label string
	if err := c.QueryRow(ctx, "SELECT count(*), (SELECT label FROM nums WHERE id = 25000) || '|' || (SELECT label FROM nums WHERE id = 39999) FROM nums").Scan(&n, &label); err != nil {
		t.Fatal(err)
	}
	if n != 40000 || label != "line one\nline \"two\" of 25000|bin 39999" {
		t.Errorf("after three COPYs: %d rows, %q", n, label)
	}

	// Row 15,001 is malformed: earlier batches were written into the
	// COPY's transaction, and are rolled back.
	var bad strings.Builder
	for i := 0; i < 20000; i++ {
		if i == 15000 {
			bad.WriteString("oops\tno number\n")
			continue
		}
		fmt.Fprintf(&bad, "%d\tlabel\n", 100000+i)
	}
	for _, block := range []bool{false, true} {
		if block {
			execAll(t, c, "BEGIN")
		}
		_, err = pc.CopyFrom(ctx, strings.NewReader(bad.String()), "COPY nums FROM STDIN")
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "22P02" || !strings.Contains(pe.Detail, "line 15001") {
			t.Errorf("malformed row (block %v): %v (%+v); want 22P02 at line 15001", block, err, pe)
		}
		if block {
			if _, err := c.Exec(ctx, "SELECT 1"); err == nil || !strings.Contains(err.Error(), "25P02") && !strings.Contains(err.Error(), "aborted") {
				t.Errorf("the block is not failed after a failed COPY: %v", err)
			}
			execAll(t, c, "ROLLBACK")
		}
		if err := c.QueryRow(ctx, "SELECT count(*) FROM nums").Scan(&n); err != nil || n != 40000 {
			t.Errorf("after the failed COPY (block %v): %d rows, %v; want 40000", block, n, err)
		}
	}
}

// chunkReader returns data in pieces of chunk bytes (pgconn sends one
// CopyData per Read).
type chunkReader struct {
	data  []byte
	chunk int
	reads atomic.Int64
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), r.chunk)], r.data)
	r.data = r.data[n:]
	r.reads.Add(1)
	return n, nil
}

// FORCE_NULL and FORCE_NOT_NULL (CSV) as PostgreSQL reads them: a quoted
// value equal to the NULL string is NULL in a FORCE_NULL column, an
// unquoted one is not NULL in a FORCE_NOT_NULL column; the options need
// CSV, COPY FROM and columns of the COPY.
func TestCopyForceNull(t *testing.T) {
	ctx := context.Background()
	_, conn := startConn(t, engine.Options{}, "CREATE TABLE f (id int PRIMARY KEY, a text, b text, c text)")
	data := "1,\"\",\"\",\n2,,,\n3,\"x\",y,\"\"\n"
	tag, err := conn.PgConn().CopyFrom(ctx, strings.NewReader(data),
		"COPY f FROM STDIN (FORMAT csv, FORCE_NULL (b), FORCE_NOT_NULL (c))")
	if err != nil || tag.String() != "COPY 3" {
		t.Fatalf("COPY: %v %v", tag, err)
	}
	rows, err := conn.Query(ctx, "SELECT id, coalesce(a, 'NULL'), coalesce(b, 'NULL'), coalesce(c, 'NULL') FROM f ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var id int
		var a, b, c string
		if err := rows.Scan(&id, &a, &b, &c); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%d [%s] [%s] [%s]", id, a, b, c))
	}
	rows.Close()
	if want := "1 [] [NULL] []|2 [NULL] [NULL] []|3 [x] [y] []"; strings.Join(got, "|") != want {
		t.Fatalf("rows %q, want %q", strings.Join(got, "|"), want)
	}
	for _, tc := range []struct{ sql, code, msg string }{
		{"COPY f FROM STDIN (FORCE_NULL (b))", "0A000", "COPY force null available only in CSV mode"},
		{"COPY f FROM STDIN (FORMAT csv, FORCE_NOT_NULL (zz))", "42P10", `FORCE_NOT_NULL column "zz" not referenced by COPY`},
		{"COPY f (id, a) FROM STDIN (FORMAT csv, FORCE_NULL (b))", "42P10", `FORCE_NULL column "b" not referenced by COPY`},
		{"COPY f TO STDOUT (FORMAT csv, FORCE_NULL (b))", "0A000", "COPY force null only available using COPY FROM"},
	} {
		var err error
		if strings.Contains(tc.sql, "TO STDOUT") {
			_, err = conn.PgConn().CopyTo(ctx, io.Discard, tc.sql)
		} else {
			_, err = conn.PgConn().CopyFrom(ctx, strings.NewReader("9,a,b,c\n"), tc.sql)
		}
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != tc.code || pe.Message != tc.msg {
			t.Errorf("%s: %v, want %s %s", tc.sql, err, tc.code, tc.msg)
		}
	}
}

// COPY FROM needs INSERT on the table (or on every column it loads) and
// USAGE on its schema, as an INSERT does; 42501 with PostgreSQL's message
// otherwise.
func TestCopyFromPrivileges(t *testing.T) {
	ts, su := startAs(t, engine.Options{RequireRoles: true}, "streamsql", "CREATE ROLE loader LOGIN",
		"CREATE TABLE t (a int, b text)",
		"CREATE SCHEMA hidden", "CREATE TABLE hidden.h (a int)", "GRANT INSERT ON hidden.h TO loader")
	l := mustConnectAs(t, ts, "loader")
	ctx := context.Background()
	load := func(table string, cols ...string) error {
		_, err := l.PgConn().CopyFrom(ctx, strings.NewReader("1\n"),
			"COPY "+table+func() string {
				if len(cols) == 0 {
					return ""
				}
				return " (" + strings.Join(cols, ", ") + ")"
			}()+" FROM STDIN")
		return err
	}
	denied := func(err error, want string) {
		t.Helper()
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "42501" || pe.Message != want {
			t.Fatalf("got %v, want 42501 %q", err, want)
		}
	}
	denied(load("t", "a"), "permission denied for table t")
	execAll(t, su, "GRANT INSERT (a) ON t TO loader")
	if err := load("t", "a"); err != nil {
		t.Fatalf("COPY into a granted column: %v", err)
	}
	denied(load("t", "b"), "permission denied for table t")
	denied(load("hidden.h"), "permission denied for schema hidden")
	var n int
	if err := su.QueryRow(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d rows loaded (%v), want 1", n, err)
	}
}

// COPY writes the identity columns it names, GENERATED ALWAYS included,
// and draws the others from their sequences, as PostgreSQL's COPY does.
func TestIdentityCopy(t *testing.T) {
	ctx := context.Background()
	_, conn := startConn(t, engine.Options{}, "CREATE TABLE ic (id int GENERATED ALWAYS AS IDENTITY, v text)")
	n, err := conn.CopyFrom(ctx, pgx.Identifier{"ic"}, []string{"id", "v"}, pgx.CopyFromRows([][]any{{int32(100), "x"}, {int32(101), "y"}}))
	if err != nil || n != 2 {
		t.Fatalf("COPY with id: %d rows, %v", n, err)
	}
	n, err = conn.CopyFrom(ctx, pgx.Identifier{"ic"}, []string{"v"}, pgx.CopyFromRows([][]any{{"z"}, {"w"}}))
	if err != nil || n != 2 {
		t.Fatalf("COPY without id: %d rows, %v", n, err)
	}
	if got, want := strings.Join(queryStrings(t, conn, "SELECT id, v FROM ic ORDER BY id"), ","), "1 z,2 w,100 x,101 y"; got != want {
		t.Fatalf("rows %s, want %s", got, want)
	}
}

// COPY TO in the text format writes a backslash, the control characters
// PostgreSQL names by a letter and the delimiter as backslash sequences,
// and every other byte as it is, exactly as PostgreSQL does.
func TestCopyToTextEscapes(t *testing.T) {
	_, conn := startConn(t, engine.Options{})
	ctx := context.Background()
	const value = `E'a\\b\nc\td\re\bf\fg\vh|i,j\001k'`
	for _, tc := range []struct{ sql, want string }{
		{"COPY (SELECT " + value + ", 2) TO STDOUT", "a\\\\b\\nc\\td\\re\\bf\\fg\\vh|i,j\x01k\t2\n"},
		{"COPY (SELECT " + value + ", 2) TO STDOUT (DELIMITER '|')", "a\\\\b\\nc\\td\\re\\bf\\fg\\vh\\|i,j\x01k|2\n"},
		{"COPY (SELECT " + value + ", 2) TO STDOUT (DELIMITER ',')", "a\\\\b\\nc\\td\\re\\bf\\fg\\vh|i\\,j\x01k,2\n"},
	} {
		var out strings.Builder
		if _, err := conn.PgConn().CopyTo(ctx, &out, tc.sql); err != nil {
			t.Fatalf("%s: %v", tc.sql, err)
		}
		if out.String() != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.sql, out.String(), tc.want)
		}
	}
}
