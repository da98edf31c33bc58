package pgwire

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"math/big"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/lib/pq"

	"streamsql/internal/testclient"
)

func connectPgx(t *testing.T, url string, mode pgx.QueryExecMode) *pgx.Conn {
	t.Helper()
	return testclient.Connect(t, url, testclient.Mode(mode))
}

func pgErr(t *testing.T, err error) *pgconn.PgError {
	t.Helper()
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		t.Fatalf("want a server error, got %v", err)
	}
	return pe
}

// TestPgxAllTypes reads a row of every type with pgx, in text (simple
// protocol) and in binary (extended protocol with cached statements).
func TestPgxAllTypes(t *testing.T) {
	ts := startServer(t, Options{})
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeCacheStatement, pgx.QueryExecModeExec} {
		t.Run(mode.String(), func(t *testing.T) {
			conn := connectPgx(t, ts.url(), mode)
			ctx := context.Background()
			rows, err := conn.Query(ctx, "select types")
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			if !rows.Next() {
				t.Fatalf("no row: %v", rows.Err())
			}
			var (
				b        bool
				i2       int16
				i4       int32
				i8       int64
				f4       float32
				f8       float64
				num      pgtype.Numeric
				txt, vc  string
				by       []byte
				date     time.Time
				tod      pgtype.Time
				tsNoTZ   time.Time
				tsTZ     time.Time
				iv       pgtype.Interval
				js       map[string]any
				wantTime = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
			)
			if err := rows.Scan(&b, &i2, &i4, &i8, &f4, &f8, &num, &txt, &vc, &by, &date, &tod, &tsNoTZ, &tsTZ, &iv, &js); err != nil {
				t.Fatal(err)
			}
			numF, _ := num.Float64Value()
			checks := []struct {
				name      string
				got, want any
			}{
				{"bool", b, true},
				{"int2", i2, int16(-12)},
				{"int4", i4, int32(1234567)},
				{"int8", i8, int64(-9007199254740993)},
				{"float4", f4, float32(1.5)},
				{"float8", f8, 2.25},
				{"numeric", math.Round(numF.Float64*1000) / 1000, 12345.678},
				{"text", txt, "héllo"},
				{"varchar", vc, "v"},
				{"bytea", fmt.Sprintf("%x", by), "0001fe"},
				{"date", date.Format("2006-01-02"), "2024-01-01"},
				{"time", tod.Microseconds, 13*3600*int64(1e6) + 500},
				{"timestamp", tsNoTZ.Format(time.RFC3339Nano), "2024-01-02T03:04:05Z"},
				{"timestamptz", tsTZ.Equal(wantTime), true},
				{"interval", fmt.Sprint(iv.Months, iv.Days, iv.Microseconds), fmt.Sprint(14, 3, 4*3600*int64(1e6))},
				{"jsonb", fmt.Sprint(js), "map[a:1]"},
			}
			for _, c := range checks {
				if fmt.Sprint(c.got) != fmt.Sprint(c.want) {
					t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
				}
			}
			if !rows.Next() {
				t.Fatalf("no second row: %v", rows.Err())
			}
			vals, err := rows.Values()
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				if v != nil {
					t.Errorf("column %d of the NULL row: got %v", i, v)
				}
			}
			if rows.Next() {
				t.Fatal("extra row")
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			if tag := rows.CommandTag().String(); tag != "SELECT 2" {
				t.Errorf("tag %q", tag)
			}
		})
	}
}

// TestPgxParams round-trips parameters of every type through Bind (pgx
// sends binary where it can) and back out.
func TestPgxParams(t *testing.T) {
	ts := startServer(t, Options{})
	conn := connectPgx(t, ts.url(), pgx.QueryExecModeCacheStatement)
	ctx := context.Background()
	ts0 := time.Date(2023, 5, 6, 7, 8, 9, 123456000, time.UTC)
	cases := []struct {
		typ string
		in  any
	}{
		{"bool", false},
		{"int2", int16(-3)},
		{"int4", int32(77)},
		{"int8", int64(math.MaxInt64)},
		{"float4", float32(-0.25)},
		{"float8", 1e100},
		{"text", "a'b\"c"},
		{"varchar", ""},
		{"bytea", []byte{1, 2, 3}},
		{"date", time.Date(1999, 12, 31, 0, 0, 0, 0, time.UTC)},
		{"timestamp", ts0},
		{"timestamptz", ts0},
		{"interval", pgtype.Interval{Months: 1, Days: -2, Microseconds: 3, Valid: true}},
		{"numeric", pgtype.Numeric{Int: bigInt(-1234500), Exp: -4, Valid: true}},
		{"jsonb", map[string]any{"k": []any{1.0, "x"}}},
	}
	for _, c := range cases {
		t.Run(c.typ, func(t *testing.T) {
			var out any
			if err := conn.QueryRow(ctx, "select $1::"+c.typ, c.in).Scan(&out); err != nil {
				t.Fatal(err)
			}
			switch c.typ {
			case "numeric":
				in, _ := c.in.(pgtype.Numeric).Float64Value()
				got, _ := out.(pgtype.Numeric).Float64Value()
				if in != got {
					t.Errorf("got %v, want %v", got, in)
				}
				return
			case "timestamptz":
				if !out.(time.Time).Equal(ts0) {
					t.Errorf("got %v", out)
				}
				return
			}
			if fmt.Sprint(out) != fmt.Sprint(c.in) {
				t.Errorf("got %#v, want %#v", out, c.in)
			}
		})
	}
	// NULL in, NULL out.
	var p *int32
	if err := conn.QueryRow(ctx, "select $1::int4", nil).Scan(&p); err != nil || p != nil {
		t.Fatalf("got %v, %v", p, err)
	}
}

// TestPgxStatementsAndBatches covers named prepared statements, batches
// with an error in the middle, and error fields.
func TestPgxStatementsAndBatches(t *testing.T) {
	ts := startServer(t, Options{})
	conn := connectPgx(t, ts.url(), pgx.QueryExecModeCacheStatement)
	ctx := context.Background()

	if _, err := conn.Prepare(ctx, "echo", "select $1::int4"); err != nil {
		t.Fatal(err)
	}
	for i := int32(0); i < 3; i++ {
		var got int32
		if err := conn.QueryRow(ctx, "echo", i).Scan(&got); err != nil || got != i {
			t.Fatalf("got %d, %v", got, err)
		}
	}
	if err := conn.Deallocate(ctx, "echo"); err != nil {
		t.Fatal(err)
	}

	b := &pgx.Batch{}
	b.Queue("select 1")
	b.Queue("select $1::text", "x")
	b.Queue("insert")
	br := conn.SendBatch(ctx, b)
	var n int
	if err := br.QueryRow().Scan(&n); err != nil || n != 1 {
		t.Fatalf("got %d, %v", n, err)
	}
	var s string
	if err := br.QueryRow().Scan(&s); err != nil || s != "x" {
		t.Fatalf("got %q, %v", s, err)
	}
	tag, err := br.Exec()
	if err != nil || tag.String() != "INSERT 0 1" {
		t.Fatalf("got %v, %v", tag, err)
	}
	if err := br.Close(); err != nil {
		t.Fatal(err)
	}

	// A failing statement in a batch fails the rest of it, then the
	// connection carries on.
	// (QueryExecModeExec pipelines Parse/Bind/Execute with one Sync.)
	execConn := connectPgx(t, ts.url(), pgx.QueryExecModeExec)
	b = &pgx.Batch{}
	b.Queue("select 1")
	b.Queue("select boom")
	b.Queue("select 2")
	br = execConn.SendBatch(ctx, b)
	if _, err := br.Exec(); err != nil {
		t.Fatal(err)
	}
	_, err = br.Exec()
	if pe := pgErr(t, err); pe.Code != "42703" || pe.Position != 8 {
		t.Fatalf("got %+v", pe)
	}
	if _, err := br.Exec(); err == nil {
		t.Fatal("statement after the error ran")
	}
	br.Close()

	if err := conn.QueryRow(ctx, "select 5").Scan(&n); err != nil || n != 5 {
		t.Fatalf("got %d, %v", n, err)
	}

	// A multi-statement string in the simple protocol: the position is
	// within the whole string.
	_, err = conn.Exec(ctx, "select 1; nonsense", pgx.QueryExecModeSimpleProtocol)
	if pe := pgErr(t, err); pe.Code != "42601" || pe.Position != 11 || pe.Severity != "ERROR" {
		t.Fatalf("got %+v", pe)
	}
	// An empty query.
	if _, err := conn.Exec(ctx, "", pgx.QueryExecModeSimpleProtocol); err != nil {
		t.Fatal(err)
	}
}

// TestPgxTimeZone checks that SET TimeZone is reported and changes the text
// output of timestamptz.
func TestPgxTimeZone(t *testing.T) {
	ts := startServer(t, Options{})
	conn := connectPgx(t, ts.url(), pgx.QueryExecModeSimpleProtocol)
	ctx := context.Background()
	if got := conn.PgConn().ParameterStatus("TimeZone"); got != "UTC" {
		t.Fatalf("TimeZone at startup: %q", got)
	}
	if _, err := conn.Exec(ctx, "set timezone = 'Asia/Tokyo'"); err != nil {
		t.Fatal(err)
	}
	if got := conn.PgConn().ParameterStatus("TimeZone"); got != "Asia/Tokyo" {
		t.Fatalf("TimeZone after SET: %q", got)
	}
	var s string
	if err := conn.QueryRow(ctx, "select tstz", pgx.QueryResultFormats{pgx.TextFormatCode}).Scan(&s); err != nil {
		t.Fatal(err)
	}
	if s != "2024-01-02 12:04:05+09" {
		t.Fatalf("got %q", s)
	}
}

// TestPgxCopy runs COPY FROM STDIN and TO STDOUT through pgconn, and a
// COPY the client aborts.
func TestPgxCopy(t *testing.T) {
	ts := startServer(t, Options{})
	conn := connectPgx(t, ts.url(), pgx.QueryExecModeCacheStatement)
	ctx := context.Background()
	tag, err := conn.PgConn().CopyFrom(ctx, strings.NewReader("10\n20\n30\n"), "copy t from stdin")
	if err != nil || tag.String() != "COPY 3" {
		t.Fatalf("got %v, %v", tag, err)
	}
	var out strings.Builder
	tag, err = conn.PgConn().CopyTo(ctx, &out, "copy t to stdout")
	if err != nil || tag.String() != "COPY 3" || out.String() != "10\n20\n30\n" {
		t.Fatalf("got %v %q, %v", tag, out.String(), err)
	}
	_, err = conn.PgConn().CopyFrom(ctx, &failingReader{}, "copy t from stdin")
	if pe := pgErr(t, err); pe.Code != "57014" || !strings.HasPrefix(pe.Message, "COPY from stdin failed: ") {
		t.Fatalf("got %+v", pe)
	}
	var n int
	if err := conn.QueryRow(ctx, "select 1").Scan(&n); err != nil {
		t.Fatal(err)
	}
}

type failingReader struct{ sent bool }

func (r *failingReader) Read(p []byte) (int, error) {
	if !r.sent {
		r.sent = true
		return copy(p, "1\n"), nil
	}
	return 0, errors.New("reader broke")
}

// TestPgxContextCancel: pgx closes the socket when the context ends during
// a query; the server must cancel the statement and close the session.
func TestPgxContextCancel(t *testing.T) {
	ts := startServer(t, Options{})
	conn := connectPgx(t, ts.url(), pgx.QueryExecModeSimpleProtocol)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := conn.Exec(ctx, "select pg_sleep(30)")
	if err == nil {
		t.Fatal("want an error")
	}
	s := waitSession(t, ts.b, 0)
	waitFor(t, "session closed after the client vanished", func() bool { return s.closed.Load() && s.cancels.Load() > 0 })
}

func TestLibPQ(t *testing.T) {
	ts := startServer(t, Options{})
	db, err := sql.Open("postgres", fmt.Sprintf("host=127.0.0.1 port=%s user=tester dbname=db sslmode=disable", ts.port))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)

	var n int
	if err := db.QueryRow("select 3").Scan(&n); err != nil || n != 3 {
		t.Fatalf("got %d, %v", n, err)
	}
	var s string
	if err := db.QueryRow("select $1::int8", 99).Scan(&s); err != nil || s != "99" {
		t.Fatalf("got %q, %v", s, err)
	}
	// lib/pq reads text: check the text of every type.
	rows, err := db.Query("select types")
	if err != nil {
		t.Fatal(err)
	}
	cols, _ := rows.Columns()
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if !rows.Next() {
		t.Fatal(rows.Err())
	}
	if err := rows.Scan(ptrs...); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	want := []string{"true", "-12", "1234567", "-9007199254740993", "1.5", "2.25", "12345.678", "héllo", "v", "\x00\x01\xfe",
		// lib/pq decodes these from their text: reading them right shows the text was right.
		"2024-01-01T00:00:00Z", "0000-01-01T13:00:00.0005Z", "2024-01-02T03:04:05Z", "2024-01-02T03:04:05Z", "1 year 2 mons 3 days 04:00:00", `{"a": 1}`}
	for i, v := range vals {
		if !v.Valid || v.String != want[i] {
			t.Errorf("%s: got %q, want %q", cols[i], v.String, want[i])
		}
	}

	_, err = db.Exec("select 1; select boom")
	var pe *pq.Error
	if !errors.As(err, &pe) || pe.Code != "42703" || pe.Position != "18" {
		t.Fatalf("got %#v", err)
	}

	// COPY through lib/pq's CopyIn.
	txn, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	//lint:ignore SA1019 lib/pq users still call CopyIn; its COPY path is what is tested
	stmt, err := txn.Prepare(pq.CopyIn("t", "a"))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []int{7, 8} {
		if _, err := stmt.Exec(v); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := stmt.Exec(); err != nil {
		t.Fatal(err)
	}
	stmt.Close()
	if err := txn.Commit(); err != nil {
		t.Fatal(err)
	}
	ts.b.mu.Lock()
	got := ts.b.table.String()
	ts.b.mu.Unlock()
	if got != "7\n8\n" {
		t.Fatalf("table holds %q", got)
	}
}

// TestPsql drives the real psql, which starts with an SSLRequest.
func TestPsql(t *testing.T) {
	if _, err := exec.LookPath("psql"); err != nil {
		t.Skip("psql not installed")
	}
	ts := startServer(t, Options{})
	psql := func(stdin string, args ...string) (string, error) {
		args = append([]string{"-X", "-h", "127.0.0.1", "-p", ts.port, "-U", "tester", "-d", "db", "-v", "ON_ERROR_STOP=1"}, args...)
		cmd := exec.Command("psql", args...)
		cmd.Stdin = strings.NewReader(stdin)
		cmd.Env = []string{"PGCONNECT_TIMEOUT=10", "PGSSLMODE=prefer"}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	cases := []struct {
		stdin string
		args  []string
		want  string
		fail  bool
	}{
		{args: []string{"-c", "select 1"}, want: " ?column? \n----------\n        1\n(1 row)\n\n"},
		{args: []string{"-At", "-c", "select generate_series(1, 3)"}, want: "1\n2\n3\n"},
		{args: []string{"-At", "-c", "set timezone = 'Europe/Paris'; select tstz"}, want: "SET\n2024-01-02 04:04:05+01\n"},
		{args: []string{"-c", "select 1;   select boom"}, fail: true,
			want: " ?column? \n----------\n        1\n(1 row)\n\nERROR:  column \"boom\" does not exist\nLINE 1: select 1;   select boom\n                           ^\n"},
		{stdin: "1\n2\n\\.\n", args: []string{"-c", "copy t from stdin"}, want: "COPY 2\n"},
		{args: []string{"-c", "copy t to stdout"}, want: "1\n2\n"},
		{args: []string{"-At", "-c", "begin", "-c", "select 4", "-c", "commit"}, want: "BEGIN\n4\nCOMMIT\n"},
	}
	for _, c := range cases {
		out, err := psql(c.stdin, c.args...)
		if (err != nil) != c.fail {
			t.Errorf("psql %v: err %v, output:\n%s", c.args, err, out)
			continue
		}
		if out != c.want {
			t.Errorf("psql %v:\ngot  %q\nwant %q", c.args, out, c.want)
		}
	}
}

// TestPasswordAuth covers cleartext and MD5 password checks.
func TestPasswordAuth(t *testing.T) {
	users := func(u string) (string, bool) {
		if u == "tester" {
			return "s3cret", true
		}
		return "", false
	}
	for _, m := range []AuthMethod{AuthPassword, AuthMD5} {
		t.Run(fmt.Sprint(m), func(t *testing.T) {
			ts := startServer(t, Options{Auth: AuthConfig{Method: m, Password: users, PasswordOnLoopback: true}})
			ctx := context.Background()
			conn, err := pgx.Connect(ctx, fmt.Sprintf("postgres://tester:s3cret@%s/db?sslmode=disable", ts.addr))
			if err != nil {
				t.Fatal(err)
			}
			conn.Close(ctx)
			for _, userinfo := range []string{"tester:wrong", "nobody:s3cret"} {
				_, err = pgx.Connect(ctx, fmt.Sprintf("postgres://%s@%s/db?sslmode=disable", userinfo, ts.addr))
				if pe := pgErr(t, err); pe.Code != "28P01" || pe.Severity != "FATAL" {
					t.Fatalf("%s: got %+v", userinfo, pe)
				}
			}
		})
	}
	// Loopback clients are trusted unless PasswordOnLoopback is set.
	ts := startServer(t, Options{Auth: AuthConfig{Method: AuthMD5, Password: users}})
	conn, err := pgx.Connect(context.Background(), ts.url())
	if err != nil {
		t.Fatal(err)
	}
	conn.Close(context.Background())
}

func TestOpenError(t *testing.T) {
	ts := startServer(t, Options{})
	_, err := pgx.Connect(context.Background(), fmt.Sprintf("postgres://tester@%s/nosuchdb?sslmode=disable", ts.addr))
	if pe := pgErr(t, err); pe.Code != "3D000" || pe.Severity != "FATAL" {
		t.Fatalf("got %+v", pe)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitSession returns the i-th session opened on b.
func waitSession(t *testing.T, b *fakeBackend, i int) *fakeSession {
	t.Helper()
	var s *fakeSession
	waitFor(t, "session", func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		if len(b.sessions) > i {
			s = b.sessions[i]
			return true
		}
		return false
	})
	return s
}

// dialTCP is net.Dial with a test failure on error.
func dialTCP(t *testing.T, addr string) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return nc
}

func bigInt(v int64) *big.Int { return big.NewInt(v) }
