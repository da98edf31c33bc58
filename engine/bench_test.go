// End-to-end benchmarks through the whole server stack: a pgx client talks
// the PostgreSQL protocol over loopback to a pgwire server backed by an
// engine on a real pebble directory, exactly as streamsqld wires them. The
// figures therefore include protocol encoding, planning, storage reads and
// execution, which is what a user of the database sees.
//
// The tables are loaded through SQL once per test process and shared by all
// benchmark invocations (the testing package calls a benchmark several times
// with growing b.N), so the load is paid once and never by a plain
// `go test ./engine/`.
package engine_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"streamsql/engine"
	"streamsql/internal/cputime"
	"streamsql/internal/loopback"
	"streamsql/internal/testclient"
	"streamsql/pgwire"
)

// benchStack is one engine plus pgwire server on a loopback port.
type benchStack struct {
	*loopback.Server
	dir  string
	url  string
	opts engine.Options // what it was opened with, for restart

	mu     sync.Mutex
	loaded map[string]bool // tables filled so far, by name
}

// startStack opens an engine in a fresh temporary directory and serves it
// on 127.0.0.1 with an OS-chosen port.
func startStack() (*benchStack, error) {
	dir, err := os.MkdirTemp("", "streamsql-bench-")
	if err != nil {
		return nil, err
	}
	return startStackAt(dir)
}

// startStackAt opens an engine on dir (which close removes).
func startStackAt(dir string) (*benchStack, error) {
	return startStackWith(engine.Options{DataDir: dir})
}

// startStackWith opens an engine with opts on opts.DataDir.
func startStackWith(opts engine.Options) (*benchStack, error) {
	srv, err := loopback.Start(opts, pgwire.Options{})
	if err != nil {
		os.RemoveAll(opts.DataDir)
		return nil, err
	}
	return &benchStack{Server: srv, dir: opts.DataDir, url: srv.URL("bench", "streamsql"), opts: opts, loaded: map[string]bool{}}, nil
}

// openStack opens an engine with opts on opts.DataDir, or on a temporary
// directory of tb when that is empty, failing tb if it cannot. The stack
// closes when tb ends (closing it before is fine), failing tb if it does
// not close cleanly.
func openStack(tb testing.TB, opts engine.Options) *benchStack {
	tb.Helper()
	if opts.DataDir == "" {
		opts.DataDir = tb.TempDir()
	}
	s, err := startStackWith(opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := s.close(); err != nil {
			tb.Errorf("close: %v", err)
		}
	})
	return s
}

// restart stops s, keeping its data, and opens the engine again in place,
// on the same directory with the same options, as a server restart does.
// It returns s.
func (s *benchStack) restart(tb testing.TB) *benchStack {
	tb.Helper()
	if err := s.stop(); err != nil {
		tb.Fatal(err)
	}
	n, err := startStackWith(s.opts)
	if err != nil {
		tb.Fatal(err)
	}
	s.Server, s.url = n.Server, n.url
	return s
}

// close shuts the server down, closes the engine and removes the directory.
func (s *benchStack) close() error {
	shutdown, err := s.Stop()
	return errors.Join(shutdown, err, os.RemoveAll(s.dir))
}

// stop shuts the server down and closes the engine, keeping the data.
func (s *benchStack) stop() error {
	shutdown, err := s.Stop()
	return errors.Join(shutdown, err)
}

// execAll runs statements qs on one new connection, failing tb on the
// first error.
func (s *benchStack) execAll(tb testing.TB, qs ...string) {
	tb.Helper()
	conn := s.connect(tb)
	defer conn.Close(context.Background())
	execAll(tb, conn, qs...)
}

func (s *benchStack) connect(tb testing.TB) *pgx.Conn {
	tb.Helper()
	return testclient.Connect(tb, s.url, nil)
}

// ensureTable creates table name (id bigint primary key, k int, v bigint)
// with rows id = 1..n, k = id % 1000 and v = id * 7, unless an earlier
// benchmark of this process already did. Rows go in through INSERT ...
// SELECT generate_series in chunks so one statement's write set stays
// bounded.
func (s *benchStack) ensureTable(tb testing.TB, name string, n int64) {
	tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.loaded[name] {
		return
	}
	ctx := context.Background()
	conn := s.connect(tb)
	if _, err := conn.Exec(ctx, fmt.Sprintf("CREATE TABLE %s (id bigint PRIMARY KEY, k int, v bigint)", name)); err != nil {
		tb.Fatal(err)
	}
	const chunk = 1_000_000
	start := time.Now()
	for lo := int64(1); lo <= n; lo += chunk {
		hi := min(lo+chunk-1, n)
		q := fmt.Sprintf("INSERT INTO %s SELECT g, g %% 1000, g * 7 FROM generate_series(%d, %d) AS g", name, lo, hi)
		if _, err := conn.Exec(ctx, q); err != nil {
			tb.Fatalf("load %s rows %d..%d: %v", name, lo, hi, err)
		}
	}
	tb.Logf("loaded %d rows into %s in %v", n, name, time.Since(start).Round(time.Millisecond))
	s.loaded[name] = true
}

// stack is the process-wide server shared by the benchmarks; TestMain
// closes it.
var stack struct {
	once sync.Once
	s    *benchStack
	err  error
}

func sharedStack(tb testing.TB) *benchStack {
	tb.Helper()
	stack.once.Do(func() { stack.s, stack.err = startStack() })
	if stack.err != nil {
		tb.Fatal(stack.err)
	}
	return stack.s
}

func TestMain(m *testing.M) {
	code := m.Run()
	if stack.s != nil {
		if err := stack.s.close(); err != nil {
			fmt.Fprintln(os.Stderr, "close bench stack:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// groupByCheck runs the grouped aggregate and verifies its result against
// the loaded data: 1000 groups whose counts add up to n and whose sums add
// up to 7 * n(n+1)/2.
func groupByCheck(tb testing.TB, conn *pgx.Conn, table string, n int64) {
	tb.Helper()
	rows, err := conn.Query(context.Background(), "SELECT k, count(*), sum(v) FROM "+table+" GROUP BY k")
	if err != nil {
		tb.Fatal(err)
	}
	var (
		groups     int
		k          int32
		cnt, total int64
		sum        int64
		sumTotal   int64
	)
	for rows.Next() {
		if err := rows.Scan(&k, &cnt, &sum); err != nil {
			tb.Fatal(err)
		}
		groups++
		total += cnt
		sumTotal += sum
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	wantGroups := int(min(n, 1000))
	if groups != wantGroups || total != n || sumTotal != 7*n*(n+1)/2 {
		tb.Fatalf("GROUP BY k over %s: %d groups, count %d, sum %d; want %d, %d, %d",
			table, groups, total, sumTotal, wantGroups, n, 7*n*(n+1)/2)
	}
}

// TestServerStack runs the benchmark queries on a small table so that a plain
// `go test` proves the benchmark path works end to end.
func TestServerStack(t *testing.T) {
	s, err := startStack()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.close(); err != nil {
			t.Error(err)
		}
	})
	const n = 5000
	s.ensureTable(t, "small", n)
	conn := s.connect(t)
	groupByCheck(t, conn, "small", n)
	for _, id := range []int64{1, 2500, n} {
		var v int64
		if err := conn.QueryRow(context.Background(), "SELECT v FROM small WHERE id = $1", id).Scan(&v); err != nil {
			t.Fatal(err)
		}
		if v != id*7 {
			t.Fatalf("id %d: v = %d, want %d", id, v, id*7)
		}
	}
	err = conn.QueryRow(context.Background(), "SELECT v FROM small WHERE id = $1", n+1).Scan(new(int64))
	if !errors.Is(err, pgx.ErrNoRows) {
		t.Fatalf("missing id: got %v, want no rows", err)
	}
}

// BenchmarkScanGroupBy10M scans 10M rows and groups them into 1000 groups.
func BenchmarkScanGroupBy10M(b *testing.B) {
	const n = 10_000_000
	s := sharedStack(b)
	s.ensureTable(b, "t10m", n)
	conn := s.connect(b)
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		groupByCheck(b, conn, "t10m", n)
	}
	elapsed := time.Since(start)
	b.ReportMetric(float64(n)*float64(b.N)/elapsed.Seconds(), "rows/s")
}

// BenchmarkPointLookup reads one row by primary key per iteration with a
// prepared statement (pgx caches it and sends Bind/Execute only).
func BenchmarkPointLookup(b *testing.B) {
	const n = 1_000_000
	s := sharedStack(b)
	s.ensureTable(b, "t1m", n)
	conn := s.connect(b)
	ctx := context.Background()
	if _, err := conn.Prepare(ctx, "lookup", "SELECT v FROM t1m WHERE id = $1"); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var v int64
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		id := rng.Int64N(n) + 1
		if err := conn.QueryRow(ctx, "lookup", id).Scan(&v); err != nil {
			b.Fatal(err)
		}
		if v != id*7 {
			b.Fatalf("id %d: v = %d, want %d", id, v, id*7)
		}
	}
	elapsed := time.Since(start)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "lookups/s")
}

// BenchmarkOLTPStatements is the statement path of bench/pgbench: per
// iteration one prepared single-row INSERT ... ON CONFLICT DO NOTHING and
// one prepared point read of a materialized view, from 16 connections at
// once (pgx sends Bind/Execute/Sync only). allocs/op counts the client's
// and the server's allocations, which share the process.
func BenchmarkOLTPStatements(b *testing.B) {
	s := sharedStack(b)
	s.mu.Lock()
	if !s.loaded["oltp_events"] {
		s.mu.Unlock()
		s.execAll(b, "CREATE TABLE oltp_events (id bigint PRIMARY KEY, k int NOT NULL, v int)",
			"CREATE MATERIALIZED VIEW oltp_counts AS SELECT k, count(*) AS n FROM oltp_events GROUP BY k",
			"INSERT INTO oltp_events SELECT g, g % 100, 1 FROM generate_series(1, 1000) g", "FLUSH")
		s.mu.Lock()
		s.loaded["oltp_events"] = true
	}
	s.mu.Unlock()
	const conns = 16
	pool := make(chan *pgx.Conn, conns)
	ctx := context.Background()
	for range conns {
		conn := s.connect(b)
		prepareAll(b, conn, [][2]string{
			{"ins", "INSERT INTO oltp_events (id, k, v) VALUES ($1, $2, 1) ON CONFLICT DO NOTHING"},
			{"read", "SELECT n FROM oltp_counts WHERE k = $1 % 100"},
		})
		pool <- conn
	}
	var next atomic.Int64
	next.Store(1 << 20)
	hits0, misses0 := s.Engine.PlanCacheStats()
	b.ReportAllocs()
	b.SetParallelism((conns + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		conn := <-pool
		defer func() { pool <- conn }()
		var n int64
		for pb.Next() {
			id := next.Add(1)
			if _, err := conn.Exec(ctx, "ins", id, id%100); err != nil {
				b.Error(err)
				return
			}
			if err := conn.QueryRow(ctx, "read", id).Scan(&n); err != nil {
				b.Error(err)
				return
			}
		}
	})
	elapsed := time.Since(start)
	hits, misses := s.Engine.PlanCacheStats()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "tx/s")
	if total := hits - hits0 + misses - misses0; total > 0 {
		b.ReportMetric(float64(hits-hits0)/float64(total), "plan-hit-ratio")
	}
}

// BenchmarkCopyIntoViewedTable loads rows by binary COPY (as drivers send
// it) into a table that a materialized view aggregates per symbol, in
// COPYs of 1,000 and of 100,000 rows, then FLUSHes, so that rows/s and
// rows/cpu-s (rows per CPU-second of the whole process: the server and
// the pgx client in it) count the view's catching up too.
func BenchmarkCopyIntoViewedTable(b *testing.B) {
	for _, size := range []int{1000, 100_000} {
		b.Run(fmt.Sprintf("rows=%d", size), func(b *testing.B) {
			s := openStack(b, engine.Options{})
			s.execAll(b, "CREATE TABLE trades (id bigint PRIMARY KEY, sym text NOT NULL, px double precision, qty int)",
				"CREATE MATERIALIZED VIEW per_sym AS SELECT sym, count(*) AS n, sum(qty) AS q FROM trades GROUP BY sym")
			conn := s.connect(b)
			defer conn.Close(context.Background())
			next := int64(0)
			rows := make([][]any, size)
			b.ResetTimer()
			cpu0 := cputime.Used()
			for range b.N {
				for i := range rows {
					rows[i] = []any{next, fmt.Sprintf("S%d", next%500), 100 + float64(next%37), int32(next % 100)}
					next++
				}
				if _, err := conn.CopyFrom(context.Background(), pgx.Identifier{"trades"}, []string{"id", "sym", "px", "qty"}, pgx.CopyFromRows(rows)); err != nil {
					b.Fatal(err)
				}
			}
			execAll(b, conn, "FLUSH")
			reportRowRates(b, float64(b.N*size), cputime.Used()-cpu0)
		})
	}
}

// BenchmarkInsertValues loads rows by multi-row INSERT statements with
// literal values (as an application or ORM sends them) of 1,000 rows each
// into a table that a materialized view aggregates per symbol, then
// FLUSHes (rows/cpu-s as in BenchmarkCopyIntoViewedTable).
func BenchmarkInsertValues(b *testing.B) {
	s := openStack(b, engine.Options{})
	s.execAll(b, "CREATE TABLE trades (id bigint PRIMARY KEY, sym text NOT NULL, px double precision, qty int)",
		"CREATE MATERIALIZED VIEW per_sym AS SELECT sym, count(*) AS n, sum(qty) AS q FROM trades GROUP BY sym")
	conn := s.connect(b)
	defer conn.Close(context.Background())
	const size = 1000
	next := int64(0)
	var sb strings.Builder
	b.ResetTimer()
	cpu0 := cputime.Used()
	for range b.N {
		sb.Reset()
		sb.WriteString("INSERT INTO trades (id, sym, px, qty) VALUES ")
		for i := range size {
			if i > 0 {
				sb.WriteString(", ")
			}
			fmt.Fprintf(&sb, "(%d, 'S%d', %d.5, %d)", next, next%500, 100+next%37, next%100)
			next++
		}
		if _, err := conn.Exec(context.Background(), sb.String()); err != nil {
			b.Fatal(err)
		}
	}
	execAll(b, conn, "FLUSH")
	reportRowRates(b, float64(b.N*size), cputime.Used()-cpu0)
}
