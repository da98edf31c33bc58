// Command tables measures writes into a table that a view aggregates, on
// StreamSQL and on PostgreSQL, over the wire with the same client:
//
//   - COPY in batches (-batch rows per COPY, binary format as drivers send
//     it) and one large COPY, in rows per second, with the time of each
//     batched COPY (p50, p99);
//   - multi-row INSERT in batches of the same size;
//   - the freshness of a single-row change: the time from sending the
//     INSERT until a read of the aggregate shows it (p50, p99). StreamSQL
//     keeps the view current itself; on PostgreSQL the view is a
//     MATERIALIZED VIEW refreshed after the INSERT, which is what a
//     PostgreSQL user without incremental views does.
//
// The table is trades(id bigint primary key, sym text, px double, qty int)
// and the view counts and sums per symbol (-symbols of them).
//
//	go run ./cmd/tables -url postgres://streamsql@127.0.0.1:5433/dev -kind streamsql
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

type result struct {
	Kind           string  `json:"kind"`
	Rows           int     `json:"rows"`
	Batch          int     `json:"batch"`
	CopyRowsPerSec float64 `json:"copy_rows_per_sec"`
	CopyRowsPerCPU float64 `json:"copy_rows_per_server_cpu_sec,omitempty"`
	CopyP50ms      float64 `json:"copy_batch_p50_ms"`
	CopyP99ms      float64 `json:"copy_batch_p99_ms"`
	BigCopyRows    int     `json:"big_copy_rows"`
	BigCopyPerSec  float64 `json:"big_copy_rows_per_sec"`
	BigCopyPerCPU  float64 `json:"big_copy_rows_per_server_cpu_sec,omitempty"`
	InsertPerSec   float64 `json:"insert_rows_per_sec"`
	InsertPerCPU   float64 `json:"insert_rows_per_server_cpu_sec,omitempty"`
	RefreshMs      float64 `json:"refresh_ms,omitempty"`
	FreshP50ms     float64 `json:"fresh_p50_ms"`
	FreshP99ms     float64 `json:"fresh_p99_ms"`
	ViewRows       int64   `json:"view_rows"`
	ViewCount      int64   `json:"view_count"`
	// The same single-row freshness against a windowed view of many groups:
	// the cost of making a change visible must follow the change, not the
	// size of the view.
	WinGroups     int     `json:"window_groups,omitempty"`
	WinFreshP50ms float64 `json:"window_fresh_p50_ms,omitempty"`
	WinFreshP99ms float64 `json:"window_fresh_p99_ms,omitempty"`
}

func main() {
	url := flag.String("url", "", "server to measure (a PostgreSQL URL)")
	kind := flag.String("kind", "streamsql", "streamsql (the view is incremental) or postgres (a materialized view refreshed)")
	rows := flag.Int("rows", 200_000, "rows loaded by batched COPY")
	batch := flag.Int("batch", 1000, "rows per COPY and per INSERT")
	big := flag.Int("big", 200_000, "rows of the single large COPY")
	inserts := flag.Int("insert-rows", 50_000, "rows loaded by multi-row INSERT")
	symbols := flag.Int("symbols", 500, "distinct symbols (groups of the view)")
	samples := flag.Int("fresh", 200, "single-row changes timed for freshness")
	winGroups := flag.Int("window-groups", 300_000, "groups of the windowed view whose single-row freshness is measured as well; 0: skip")
	winSamples := flag.Int("window-fresh", 200, "single-row changes timed against the windowed view")
	pid := flag.Int("pid", 0, "server process whose CPU time (with its children's) the per-CPU figures divide by; 0: none")
	flag.Parse()
	if *url == "" {
		fmt.Fprintln(os.Stderr, "tables: -url is required")
		os.Exit(2)
	}
	ctx := context.Background()
	r, err := run(ctx, *url, *kind, *rows, *batch, *big, *inserts, *symbols, *samples, serverCPU(*pid))
	if err == nil && *winGroups > 0 {
		r.WinGroups = *winGroups
		r.WinFreshP50ms, r.WinFreshP99ms, err = windowed(ctx, *url, *kind, *winGroups, *winSamples)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tables:", err)
		os.Exit(1)
	}
	json.NewEncoder(os.Stdout).Encode(r)
}

func run(ctx context.Context, url, kind string, rows, batch, big, inserts, symbols, samples int, cpu func() float64) (*result, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	view := "CREATE MATERIALIZED VIEW per_sym AS SELECT sym, count(*) AS n, sum(qty) AS q FROM trades GROUP BY sym"
	for _, q := range []string{
		"DROP MATERIALIZED VIEW IF EXISTS per_sym",
		"DROP TABLE IF EXISTS trades",
		"CREATE TABLE trades (id bigint PRIMARY KEY, sym text NOT NULL, px double precision, qty int)",
		view,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			return nil, fmt.Errorf("%s: %w", q, err)
		}
	}
	refresh := func() error {
		if kind != "postgres" {
			return nil
		}
		_, err := conn.Exec(ctx, "REFRESH MATERIALIZED VIEW per_sym")
		return err
	}
	res := &result{Kind: kind, Rows: rows, Batch: batch, BigCopyRows: big}
	next := int64(0)
	rowsOf := func(n int) [][]any {
		out := make([][]any, n)
		for i := range out {
			id := next
			next++
			out[i] = []any{id, fmt.Sprintf("S%d", id%int64(symbols)), 100 + float64(id%37), int32(id % 100)}
		}
		return out
	}
	cols := []string{"id", "sym", "px", "qty"}

	// perCPU gives rows per second of the server's CPU since c0.
	perCPU := func(n int, c0 float64) float64 {
		if c := cpu() - c0; c > 0 {
			return float64(n) / c
		}
		return 0
	}

	// Batched COPY.
	var times []time.Duration
	c0 := cpu()
	start := time.Now()
	for done := 0; done < rows; done += batch {
		data := rowsOf(min(batch, rows-done))
		t := time.Now()
		if _, err := conn.CopyFrom(ctx, pgx.Identifier{"trades"}, cols, pgx.CopyFromRows(data)); err != nil {
			return nil, fmt.Errorf("copy: %w", err)
		}
		times = append(times, time.Since(t))
	}
	if err := refresh(); err != nil {
		return nil, err
	}
	res.CopyRowsPerSec = float64(rows) / time.Since(start).Seconds()
	res.CopyRowsPerCPU = perCPU(rows, c0)
	res.CopyP50ms, res.CopyP99ms = pct(times, 0.50), pct(times, 0.99)

	// One large COPY.
	data := rowsOf(big)
	c0 = cpu()
	start = time.Now()
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"trades"}, cols, pgx.CopyFromRows(data)); err != nil {
		return nil, fmt.Errorf("big copy: %w", err)
	}
	if err := refresh(); err != nil {
		return nil, err
	}
	res.BigCopyPerSec = float64(big) / time.Since(start).Seconds()
	res.BigCopyPerCPU = perCPU(big, c0)

	// Multi-row INSERT.
	c0 = cpu()
	start = time.Now()
	for done := 0; done < inserts; done += batch {
		data := rowsOf(min(batch, inserts-done))
		var sb strings.Builder
		sb.WriteString("INSERT INTO trades (id, sym, px, qty) VALUES ")
		for i, r := range data {
			if i > 0 {
				sb.WriteByte(',')
			}
			fmt.Fprintf(&sb, "(%d,'%s',%g,%d)", r[0], r[1], r[2], r[3])
		}
		if _, err := conn.Exec(ctx, sb.String()); err != nil {
			return nil, fmt.Errorf("insert: %w", err)
		}
	}
	t := time.Now()
	if err := refresh(); err != nil {
		return nil, err
	}
	if kind == "postgres" {
		res.RefreshMs = ms(time.Since(t))
	}
	res.InsertPerSec = float64(inserts) / time.Since(start).Seconds()
	res.InsertPerCPU = perCPU(inserts, c0)

	// Freshness of single-row changes: insert a row of a symbol, read the
	// symbol's count until it shows the row.
	times = times[:0]
	for i := range samples {
		sym := fmt.Sprintf("S%d", i%symbols)
		read := func() (int64, error) {
			var n int64
			err := conn.QueryRow(ctx, "SELECT n FROM per_sym WHERE sym = $1", sym).Scan(&n)
			return n, err
		}
		write := func() error {
			_, err := conn.Exec(ctx, "INSERT INTO trades VALUES ($1, $2, 1.5, 1)", next, sym)
			next++
			return err
		}
		d, err := timeChange(read, write, refresh)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", sym, err)
		}
		times = append(times, d)
	}
	res.FreshP50ms, res.FreshP99ms = pct(times, 0.50), pct(times, 0.99)
	if err := conn.QueryRow(ctx, "SELECT count(*), sum(n) FROM per_sym").Scan(&res.ViewRows, &res.ViewCount); err != nil {
		return nil, err
	}
	if want := int64(rows + big + inserts + samples); res.ViewCount != want {
		return nil, fmt.Errorf("the view counts %d rows, the table got %d", res.ViewCount, want)
	}
	return res, nil
}

// windowed loads a table whose view counts rows per symbol and one-minute
// window, one row per group (groups of them), and then times single-row
// inserts into existing groups until a read of the group shows them.
// StreamSQL maintains the view with TUMBLE; PostgreSQL groups by
// date_trunc and refreshes its materialized view (indexed on the group)
// after each insert.
func windowed(ctx context.Context, url, kind string, groups, samples int) (p50, p99 float64, err error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return 0, 0, err
	}
	defer conn.Close(ctx)
	view := "CREATE MATERIALIZED VIEW per_win AS SELECT sym, window_start, count(*) AS n FROM TUMBLE(trades_w, ts, INTERVAL '1 minute') GROUP BY sym, window_start"
	if kind == "postgres" {
		view = "CREATE MATERIALIZED VIEW per_win AS SELECT sym, date_trunc('minute', ts) AS window_start, count(*) AS n FROM trades_w GROUP BY 1, 2"
	}
	stmts := []string{
		"DROP MATERIALIZED VIEW IF EXISTS per_win",
		"DROP TABLE IF EXISTS trades_w",
		"CREATE TABLE trades_w (id bigint PRIMARY KEY, sym text NOT NULL, ts timestamp NOT NULL, qty int)",
		view,
	}
	if kind == "postgres" {
		stmts = append(stmts, "CREATE UNIQUE INDEX ON per_win (sym, window_start)")
	}
	for _, q := range stmts {
		if _, err := conn.Exec(ctx, q); err != nil {
			return 0, 0, fmt.Errorf("%s: %w", q, err)
		}
	}
	const syms = 500
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	group := func(g int) (string, time.Time) {
		return fmt.Sprintf("S%d", g%syms), base.Add(time.Duration(g/syms) * time.Minute)
	}
	data := make([][]any, groups)
	for i := range data {
		sym, ts := group(i)
		data[i] = []any{int64(i), sym, ts.Add(time.Duration(i%60) * time.Second), int32(1)}
	}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"trades_w"}, []string{"id", "sym", "ts", "qty"}, pgx.CopyFromRows(data)); err != nil {
		return 0, 0, fmt.Errorf("copy: %w", err)
	}
	refresh := func() error {
		if kind != "postgres" {
			return nil
		}
		_, err := conn.Exec(ctx, "REFRESH MATERIALIZED VIEW per_win")
		return err
	}
	if err := refresh(); err != nil {
		return 0, 0, err
	}
	read := func(sym string, ws time.Time) (int64, error) {
		var n int64
		err := conn.QueryRow(ctx, "SELECT n FROM per_win WHERE sym = $1 AND window_start = $2", sym, ws).Scan(&n)
		if err == pgx.ErrNoRows {
			return 0, nil
		}
		return n, err
	}
	// Wait until the load shows in full, so the samples time single changes.
	for t := time.Now(); ; {
		var n int64
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM per_win").Scan(&n); err != nil {
			return 0, 0, err
		}
		if n == int64(groups) {
			break
		}
		if time.Since(t) > 5*time.Minute {
			return 0, 0, fmt.Errorf("the windowed view shows %d of %d groups after 5 minutes", n, groups)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var times []time.Duration
	next := int64(groups)
	for i := range samples {
		sym, ws := group((i * 7919) % groups)
		write := func() error {
			_, err := conn.Exec(ctx, "INSERT INTO trades_w VALUES ($1, $2, $3, 1)", next, sym, ws.Add(30*time.Second))
			next++
			return err
		}
		d, err := timeChange(func() (int64, error) { return read(sym, ws) }, write, refresh)
		if err != nil {
			return 0, 0, fmt.Errorf("%s %s: %w", sym, ws, err)
		}
		times = append(times, d)
	}
	return pct(times, 0.50), pct(times, 0.99), nil
}

// timeChange reads a count, writes a row that raises it, refreshes (on
// PostgreSQL) and reads until the count shows the row: the time from the
// write to the read that shows it.
func timeChange(read func() (int64, error), write, refresh func() error) (time.Duration, error) {
	before, err := read()
	if err != nil {
		return 0, err
	}
	t := time.Now()
	if err := write(); err != nil {
		return 0, err
	}
	if err := refresh(); err != nil {
		return 0, err
	}
	for {
		n, err := read()
		if err != nil {
			return 0, err
		}
		if n > before {
			return time.Since(t), nil
		}
		if time.Since(t) > 30*time.Second {
			return 0, fmt.Errorf("the insert did not show in the view within 30 s")
		}
	}
}

func pct(ds []time.Duration, p float64) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return ms(s[min(len(s)-1, int(float64(len(s))*p))])
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// serverCPU returns a reader of the CPU seconds used so far by process pid
// and its children (the live ones, and those it has waited for: a
// PostgreSQL postmaster's backends), or of 0 when pid is 0.
func serverCPU(pid int) func() float64 {
	if pid == 0 {
		return func() float64 { return 0 }
	}
	const tick = 100.0 // USER_HZ on Linux
	fields := func(p int) []string {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
		if err != nil {
			return nil
		}
		s := string(b)
		// The command may hold spaces: the fields start after its ')'.
		return strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	}
	num := func(f []string, i int) float64 {
		var v float64
		fmt.Sscan(f[i], &v)
		return v
	}
	return func() float64 {
		f := fields(pid)
		if f == nil {
			return 0
		}
		// After the command: state(0) ppid(1) ... utime(11) stime(12)
		// cutime(13) cstime(14).
		total := num(f, 11) + num(f, 12) + num(f, 13) + num(f, 14)
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			var p int
			if _, err := fmt.Sscan(e.Name(), &p); err != nil || p == pid {
				continue
			}
			if cf := fields(p); cf != nil && num(cf, 1) == float64(pid) {
				total += num(cf, 11) + num(cf, 12)
			}
		}
		return total / tick
	}
}
