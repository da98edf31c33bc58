package pgwire

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/sql/parser"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// fakeBackend understands a handful of statements, enough to drive every
// path of the protocol layer:
//
//	select <int>                   one int4 row
//	select types                   one row of every type, then a row of NULLs
//	select $1::<type>              echoes its parameter
//	select generate_series(1, n)   n bigint rows in batches of 3
//	select tstz                    a fixed timestamptz (shows the time zone)
//	select boom                    42703 at Prepare, with a position
//	select panic                   panics in Execute
//	select pg_sleep(n)             sleeps n seconds, honours Cancel and ctx
//	set timezone = 'zone'          changes the TimeZone parameter
//	begin, commit, rollback        transaction status
//	insert                         "INSERT 0 1"
//	copy t from stdin              appends the data to table t
//	copy t to stdout               returns it
//
// Anything else is a syntax error positioned in the whole query string.
type fakeBackend struct {
	mu       sync.Mutex
	table    bytes.Buffer
	sessions []*fakeSession
	// sleeping receives a value whenever a pg_sleep starts.
	sleeping chan *fakeSession
	openErr  error
	// idleLimit is what the Idle of new sessions returns.
	idleLimit time.Duration
}

func newFakeBackend() *fakeBackend {
	return &fakeBackend{sleeping: make(chan *fakeSession, 16)}
}

func (b *fakeBackend) Open(ctx context.Context, info StartupInfo) (Session, error) {
	if b.openErr != nil {
		return nil, b.openErr
	}
	if info.Database == "nosuchdb" {
		return nil, sqlerr.New(sqlerr.UndefinedDatabase, "database %q does not exist", info.Database)
	}
	s := &fakeSession{b: b, info: info, tx: 'I', params: map[string]string{
		"server_version":              "15.0",
		"server_encoding":             "UTF8",
		"client_encoding":             "UTF8",
		"DateStyle":                   "ISO, MDY",
		"TimeZone":                    "UTC",
		"integer_datetimes":           "on",
		"standard_conforming_strings": "on",
		"IntervalStyle":               "postgres",
		"application_name":            info.Application,
		"is_superuser":                "on",
		"session_authorization":       info.User,
	}, changed: map[string]string{}}
	b.mu.Lock()
	b.sessions = append(b.sessions, s)
	s.idleLimit = b.idleLimit
	b.mu.Unlock()
	s.idleErr = sqlerr.New(sqlerr.IdleSessionTimeout, "terminating connection due to idle-session timeout")
	return s, nil
}

type fakeSession struct {
	b       *fakeBackend
	info    StartupInfo
	tx      byte
	params  map[string]string
	changed map[string]string

	cancels atomic.Int32
	closed  atomic.Bool
	// cancelCh is closed by Cancel while a statement runs.
	mu       sync.Mutex
	cancelCh chan struct{}
	// idleLimit and idleErr are what Idle returns.
	idleLimit time.Duration
	idleErr   error
}

func (s *fakeSession) ParameterStatus() map[string]string { return maps.Clone(s.params) }

func (s *fakeSession) ChangedParameters() map[string]string {
	c := s.changed
	s.changed = map[string]string{}
	return c
}

func (s *fakeSession) TxStatus() byte { return s.tx }

func (s *fakeSession) Cancel() {
	s.cancels.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancelCh != nil {
		close(s.cancelCh)
		s.cancelCh = nil
	}
}

func (s *fakeSession) Close() { s.closed.Store(true) }

func (s *fakeSession) Idle() (time.Duration, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.idleLimit, s.idleErr
}

func (s *fakeSession) Parse(sql string) ([]Statement, error) {
	// The real grammar sees every query first: its limits (54001) are
	// what stands between hostile statements and the cgo parser.
	if _, err := parser.Parse(sql); err != nil {
		if e := sqlerr.From(err); e.Code == sqlerr.StatementTooComplex {
			return nil, err
		}
	}
	var out []Statement
	off := 0
	for _, part := range strings.Split(sql, ";") {
		start := off
		off += len(part) + 1
		text := strings.TrimSpace(part)
		if text == "" || strings.HasPrefix(text, "--") {
			continue
		}
		lead := start + strings.Index(part, text)
		if !recognized(strings.ToLower(text)) {
			word := strings.Fields(text)[0]
			return nil, sqlerr.New(sqlerr.SyntaxError, "syntax error at or near %q", word).WithPosition(lead + 1)
		}
		out = append(out, &fakeStmt{s: s, sql: text, offset: lead})
	}
	return out, nil
}

func recognized(q string) bool {
	for _, p := range []string{"select ", "set ", "begin", "commit", "rollback", "insert", "copy "} {
		if strings.HasPrefix(q, p) || q == strings.TrimSpace(p) {
			return true
		}
	}
	return false
}

type fakeStmt struct {
	s      *fakeSession
	sql    string
	offset int // of the statement in the whole query string
	params []types.T
	cols   []Column
}

func (st *fakeStmt) SQL() string { return st.sql }

// allTypes lists the types of "select types", with the values of its first row.
var allTypes = []struct {
	name string
	t    types.T
	v    types.Datum
}{
	{"bool", types.TBool, true},
	{"int2", types.TInt2, int64(-12)},
	{"int4", types.TInt4, int64(1234567)},
	{"int8", types.TInt8, int64(-9007199254740993)},
	{"float4", types.TFloat4, float64(float32(1.5))},
	{"float8", types.TFloat8, 2.25},
	{"numeric", types.TNumeric, mustDecimal("12345.678")},
	{"text", types.TText, "héllo"},
	{"varchar", types.TVarchar, "v"},
	{"bytea", types.TBytea, []byte{0, 1, 0xfe}},
	{"date", types.TDate, types.Date(19723)},                                     // 2024-01-01
	{"time", types.TTime, types.TimeOfDay(13*types.MicrosPerHour + 500)},         // 13:00:00.0005
	{"timestamp", types.TTimestamp, types.Timestamp(1704164645 * 1_000_000)},     // 2024-01-02 03:04:05
	{"timestamptz", types.TTimestampTZ, types.Timestamp(1704164645 * 1_000_000)}, // 2024-01-02 03:04:05+00
	{"interval", types.TInterval, types.IntervalValue{Months: 14, Days: 3, Micros: 4 * types.MicrosPerHour}},
	{"jsonb", types.TJSONB, `{"a": 1}`},
}

func mustDecimal(s string) *types.Decimal {
	d, err := types.ParseDecimal(s)
	if err != nil {
		panic(err)
	}
	return d
}

func (st *fakeStmt) Prepare(ctx context.Context, hints []uint32) ([]types.T, []Column, error) {
	q := strings.ToLower(st.sql)
	st.params = nil
	for _, h := range hints {
		t, _ := types.FromOID(h)
		st.params = append(st.params, t)
	}
	switch {
	case strings.HasPrefix(q, "select $1::"):
		t, err := types.ParseTypeName(strings.TrimSpace(q[len("select $1::"):]), nil, 0)
		if err != nil {
			return nil, nil, sqlerr.New(sqlerr.UndefinedObject, "%v", err)
		}
		st.params = []types.T{t}
		st.cols = []Column{{Name: "echo", Type: t}}
	case q == "select types":
		st.cols = nil
		for i, c := range allTypes {
			st.cols = append(st.cols, Column{Name: c.name, Type: c.t, TableOID: 16384, ColumnNo: int16(i + 1)})
		}
	case strings.HasPrefix(q, "select generate_series"):
		st.cols = []Column{{Name: "generate_series", Type: types.TInt8}}
	case q == "select tstz":
		st.cols = []Column{{Name: "tstz", Type: types.TTimestampTZ}}
	case q == "select boom":
		if st.s.tx == 'T' {
			st.s.tx = 'E'
		}
		return nil, nil, sqlerr.New(sqlerr.UndefinedColumn, `column "boom" does not exist`).WithPosition(st.offset + 8)
	case q == "select panic":
		st.cols = []Column{{Name: "panic", Type: types.TInt4}}
	case strings.HasPrefix(q, "select pg_sleep"):
		st.cols = []Column{{Name: "pg_sleep", Type: types.TText}}
	case strings.HasPrefix(q, "select "):
		if _, err := strconv.Atoi(strings.TrimSpace(q[7:])); err != nil {
			return nil, nil, sqlerr.New(sqlerr.SyntaxError, "syntax error at or near %q", q[7:]).WithPosition(st.offset + 8)
		}
		st.cols = []Column{{Name: "?column?", Type: types.TInt4}}
	default:
		st.cols = nil
	}
	return st.params, st.cols, nil
}

func (st *fakeStmt) Execute(ctx context.Context, args []types.Datum) (Result, error) {
	q := strings.ToLower(st.sql)
	s := st.s
	if s.tx == 'E' && q != "rollback" && q != "commit" {
		return nil, sqlerr.New(sqlerr.InFailedSQLTransaction, "current transaction is aborted, commands ignored until end of transaction block")
	}
	switch {
	case strings.HasPrefix(q, "select $1::"):
		return rowsResult(st.cols, "SELECT 1", []types.Datum{args[0]}), nil
	case q == "select types":
		row, nulls := make([]types.Datum, len(allTypes)), make([]types.Datum, len(allTypes))
		for i, c := range allTypes {
			row[i] = c.v
		}
		return rowsResult(st.cols, "SELECT 2", row, nulls), nil
	case strings.HasPrefix(q, "select generate_series"):
		var n int
		fmt.Sscanf(q, "select generate_series(1, %d)", &n)
		return &seriesResult{cols: st.cols, n: n}, nil
	case q == "select tstz":
		return rowsResult(st.cols, "SELECT 1", []types.Datum{types.Timestamp(1704164645 * 1_000_000)}), nil
	case q == "select panic":
		panic("boom in Execute")
	case strings.HasPrefix(q, "select pg_sleep"):
		var secs float64
		fmt.Sscanf(q, "select pg_sleep(%g)", &secs)
		ch := make(chan struct{})
		s.mu.Lock()
		s.cancelCh = ch
		s.mu.Unlock()
		defer func() {
			s.mu.Lock()
			s.cancelCh = nil
			s.mu.Unlock()
		}()
		select {
		case s.b.sleeping <- s:
		default:
		}
		select {
		case <-time.After(time.Duration(secs * float64(time.Second))):
			return rowsResult(st.cols, "SELECT 1", []types.Datum{""}), nil
		case <-ch:
			return nil, sqlerr.New(sqlerr.QueryCanceled, "canceling statement due to user request")
		case <-ctx.Done():
			return nil, sqlerr.New(sqlerr.QueryCanceled, "canceling statement due to user request")
		}
	case strings.HasPrefix(q, "select "):
		n, _ := strconv.Atoi(strings.TrimSpace(q[7:]))
		return rowsResult(st.cols, "SELECT 1", []types.Datum{int64(n)}), nil
	case strings.HasPrefix(q, "set timezone"):
		v := strings.TrimSpace(st.sql[len("set timezone"):])
		v = strings.TrimPrefix(v, "=")
		v = strings.TrimPrefix(strings.TrimSpace(v), "to ")
		v = strings.Trim(strings.TrimSpace(v), "'")
		s.params["TimeZone"] = v
		s.changed["TimeZone"] = v
		return tagResult("SET"), nil
	case q == "begin" || strings.HasPrefix(q, "begin "):
		s.tx = 'T'
		return tagResult("BEGIN"), nil
	case q == "commit":
		tag := "COMMIT"
		if s.tx == 'E' {
			tag = "ROLLBACK"
		}
		s.tx = 'I'
		return tagResult(tag), nil
	case q == "rollback":
		s.tx = 'I'
		return tagResult("ROLLBACK"), nil
	case q == "insert":
		return tagResult("INSERT 0 1"), nil
	case strings.HasPrefix(q, "copy ") && strings.Contains(q, "from stdin"):
		return &fakeCopyIn{b: s.b}, nil
	case q == "copy t to stdout":
		s.b.mu.Lock()
		data := bytes.Clone(s.b.table.Bytes())
		s.b.mu.Unlock()
		return &fakeCopyOut{lines: bytes.SplitAfter(data, []byte("\n"))}, nil
	}
	return nil, sqlerr.New(sqlerr.FeatureNotSupported, "not supported: %s", st.sql)
}

// rowsResult returns the rows in one batch per row, to exercise batching.
func rowsResult(cols []Column, tag string, rows ...[]types.Datum) *fakeResult {
	r := &fakeResult{cols: cols, tag: tag}
	for _, row := range rows {
		r.batches = append(r.batches, makeRecord(cols, [][]types.Datum{row}))
	}
	return r
}

func makeRecord(cols []Column, rows [][]types.Datum) arrow.RecordBatch {
	fields := make([]arrow.Field, len(cols))
	arrs := make([]arrow.Array, len(cols))
	for j, c := range cols {
		fields[j] = arrow.Field{Name: c.Name, Type: c.Type.ArrowType(), Nullable: true}
		ds := make([]types.Datum, len(rows))
		for i := range rows {
			ds[i] = rows[i][j]
		}
		arrs[j] = types.ArrayFromDatums(c.Type, ds)
	}
	return array.NewRecordBatch(arrow.NewSchema(fields, nil), arrs, int64(len(rows)))
}

func tagResult(tag string) *fakeResult { return &fakeResult{tag: tag} }

type fakeResult struct {
	cols    []Column
	batches []arrow.RecordBatch
	tag     string
}

func (r *fakeResult) Columns() []Column { return r.cols }
func (r *fakeResult) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if len(r.batches) == 0 {
		return nil, nil
	}
	b := r.batches[0]
	r.batches = r.batches[1:]
	return b, nil
}
func (r *fakeResult) Tag() string { return r.tag }
func (r *fakeResult) Close()      {}

// seriesResult yields 1..n in batches of three.
type seriesResult struct {
	cols []Column
	n    int
	next int
}

func (r *seriesResult) Columns() []Column { return r.cols }
func (r *seriesResult) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if r.next >= r.n {
		return nil, nil
	}
	var rows [][]types.Datum
	for len(rows) < 3 && r.next < r.n {
		r.next++
		rows = append(rows, []types.Datum{int64(r.next)})
	}
	return makeRecord(r.cols, rows), nil
}
func (r *seriesResult) Tag() string { return fmt.Sprintf("SELECT %d", r.n) }
func (r *seriesResult) Close()      {}

type fakeCopyIn struct {
	b       *fakeBackend
	buf     bytes.Buffer
	aborted string
}

func (r *fakeCopyIn) Columns() []Column                               { return nil }
func (r *fakeCopyIn) Next(context.Context) (arrow.RecordBatch, error) { return nil, nil }
func (r *fakeCopyIn) Tag() string                                     { return "" }
func (r *fakeCopyIn) Close()                                          {}
func (r *fakeCopyIn) CopyFormat() (int8, int)                         { return 0, 1 }
func (r *fakeCopyIn) Write(_ context.Context, data []byte) error {
	if bytes.Contains(data, []byte("bad")) {
		return sqlerr.New(sqlerr.InvalidTextRepresentation, "invalid input syntax for type integer: %q", "bad")
	}
	r.buf.Write(data)
	return nil
}
func (r *fakeCopyIn) Finish(ctx context.Context) (string, error) {
	r.b.mu.Lock()
	defer r.b.mu.Unlock()
	// psql sends the end-of-data marker as data.
	data := bytes.TrimSuffix(r.buf.Bytes(), []byte("\\.\n"))
	r.b.table.Write(data)
	return fmt.Sprintf("COPY %d", bytes.Count(data, []byte("\n"))), nil
}
func (r *fakeCopyIn) Abort(msg string) { r.aborted = msg }

type fakeCopyOut struct {
	lines [][]byte
	n     int
}

func (r *fakeCopyOut) Columns() []Column                               { return nil }
func (r *fakeCopyOut) Next(context.Context) (arrow.RecordBatch, error) { return nil, nil }
func (r *fakeCopyOut) Tag() string                                     { return fmt.Sprintf("COPY %d", r.n) }
func (r *fakeCopyOut) Close()                                          {}
func (r *fakeCopyOut) CopyFormat() (int8, int)                         { return 0, 1 }
func (r *fakeCopyOut) NextData(ctx context.Context) ([]byte, error) {
	for len(r.lines) > 0 {
		l := r.lines[0]
		r.lines = r.lines[1:]
		if len(l) > 0 {
			r.n++
			return l, nil
		}
	}
	return nil, nil
}
