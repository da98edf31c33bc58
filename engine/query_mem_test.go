package engine_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"streamsql/engine"
	"streamsql/internal/testclient"
	"streamsql/internal/testserver"
)

// rowsText runs q and renders every row as one line.
func rowsText(t *testing.T, conn *pgx.Conn, q string) ([]string, error) {
	t.Helper()
	rows, err := conn.Query(context.Background(), q, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		return nil, err
	}
	return scanRows(rows, func(vals []any) string { return fmt.Sprint(vals...) })
}

// tmpFiles lists the spill area's files.
func tmpFiles(t *testing.T, dataDir string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(dataDir, "tmp"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// With query_mem = '4MB' a sort, a GROUP BY with many groups and a hash
// join of larger tables spill to disk and give the rows of the unlimited
// run; what cannot spill fails with 53200 and the server goes on.
func TestQueryMemSpillOverTheWire(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 80,000 rows and runs each query twice (about 10 s)")
	}
	dir := t.TempDir()
	srv := testserver.Start(t, engine.Options{DataDir: dir})
	url := srv.URL("streamsql", "streamsql")
	ctx := context.Background()
	conn := testclient.Connect(t, url, nil)
	exec := func(q string) {
		t.Helper()
		execAll(t, conn, q)
	}
	exec("CREATE TABLE a (id bigint PRIMARY KEY, k int, s text, f float8, n numeric)")
	exec("CREATE TABLE b (id bigint PRIMARY KEY, k int, w text)")
	for lo := 1; lo <= 60000; lo += 30000 {
		exec(fmt.Sprintf(`INSERT INTO a SELECT g, g %% 7919, 'v' || (g * 7 %% 30011),
			CASE WHEN g %% 13 = 0 THEN 'NaN'::float8 WHEN g %% 17 = 0 THEN NULL ELSE (g %% 101) / 7.0 END,
			CASE WHEN g %% 19 = 0 THEN NULL ELSE (g %% 997) / 10.0 END
			FROM generate_series(%d, %d) AS g`, lo, lo+29999))
	}
	exec("INSERT INTO b SELECT g, g % 9000, repeat('w', g % 20) FROM generate_series(1, 20000) AS g")

	queries := []struct{ name, q string }{
		{"sort", "SELECT id, k, s, f, n FROM a ORDER BY s DESC, f NULLS FIRST, n, id"},
		{"sort with ties (stable)", "SELECT n, f, id, s FROM a ORDER BY n DESC NULLS LAST, f"},
		{"group by many groups", "SELECT s, count(*), sum(id), min(n), max(f), string_agg(k::text, ',') FROM a GROUP BY s ORDER BY s"},
		{"group by two keys", "SELECT k, n, count(*) FROM a GROUP BY k, n ORDER BY k, n NULLS FIRST"},
		{"hash join", "SELECT a.id, b.id, b.w FROM b JOIN a ON a.k = b.k ORDER BY a.id, b.id"},
		{"left join", "SELECT a.id, b.id FROM b LEFT JOIN a ON a.k = b.k AND a.id < 50000 ORDER BY b.id, a.id NULLS FIRST"},
	}
	for _, q := range queries {
		exec("RESET query_mem")
		want, err := rowsText(t, conn, q.q)
		if err != nil {
			t.Fatalf("%s: %v", q.name, err)
		}
		exec("SET query_mem = '4MB'")
		before := srv.Engine.QuerySpilledBytes()
		got, err := rowsText(t, conn, q.q)
		if err != nil {
			var pe *pgconn.PgError
			errors.As(err, &pe)
			t.Fatalf("%s with query_mem 4MB: %v (%s)", q.name, err, pe.Detail)
		}
		spilled := srv.Engine.QuerySpilledBytes() - before
		t.Logf("%s: %d rows, %d bytes spilled", q.name, len(got), spilled)
		if spilled == 0 {
			t.Errorf("%s did not spill", q.name)
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s: %d rows with query_mem 4MB differ from the %d rows without", q.name, len(got), len(want))
		}
		if f := tmpFiles(t, dir); len(f) > 0 {
			t.Errorf("%s left temporary files: %v", q.name, f)
		}
	}

	// What cannot spill fails with 53200, and the server goes on.
	exec("SET work_mem = '4MB'")
	var show string
	if err := conn.QueryRow(ctx, "SHOW query_mem").Scan(&show); err != nil || show != "4MB" {
		t.Fatalf("SHOW query_mem after SET work_mem: %q, %v", show, err)
	}
	for _, q := range []string{
		"SELECT string_agg(a.s, ',') FROM a, b",
		"SELECT length(string_agg(repeat('x', 1000), ',')) FROM generate_series(1, 100000) AS g",
		"SELECT k % 2, array_agg(s || repeat('y', 50)) FROM a GROUP BY k % 2",
	} {
		_, err := rowsText(t, conn, q)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "53200" {
			t.Fatalf("%s: got %v, want 53200", q, err)
		}
		if pe.Message != "out of memory" || !strings.Contains(pe.Detail, "query_mem is 4MB") || pe.Hint == "" {
			t.Errorf("%s: message %q detail %q hint %q", q, pe.Message, pe.Detail, pe.Hint)
		}
		answersQuickly(t, url)
		if f := tmpFiles(t, dir); len(f) > 0 {
			t.Errorf("%s left temporary files: %v", q, f)
		}
	}
	// An error after the sort has spilled removes its files too.
	_, err := rowsText(t, conn, "SELECT s, 1 / (60000 - id) FROM a ORDER BY s")
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "22012" {
		t.Fatalf("division by zero mid-spill: got %v", err)
	}
	if f := tmpFiles(t, dir); len(f) > 0 {
		t.Errorf("error mid-spill left temporary files: %v", f)
	}
	// The session still works, and its memory is back in the pool.
	if got, err := rowsText(t, conn, "SELECT count(*) FROM a"); err != nil || got[0] != "60000" {
		t.Fatalf("count after the failures: %v %v", got, err)
	}
	if _, _, used := srv.Engine.QueryMemory(); used != 0 {
		t.Errorf("%d bytes of query memory still held after the statements", used)
	}
	var metrics strings.Builder
	if err := srv.Engine.WriteMetrics(&metrics); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"\nstreamsql_query_memory_bytes 0\n", "\nstreamsql_query_spilled_bytes_total " + strconv.FormatFloat(float64(srv.Engine.QuerySpilledBytes()), 'g', -1, 64) + "\n"} {
		if !strings.Contains(metrics.String(), want) {
			t.Errorf("metrics lack %q", strings.TrimSpace(want))
		}
	}

	// Settings: PostgreSQL's spelling and range.
	for _, bad := range []string{"SET query_mem = '10 parsecs'", "SET work_mem = 32"} {
		_, err := conn.Exec(ctx, bad)
		if !errors.As(err, &pe) || pe.Code != "22023" {
			t.Errorf("%s: got %v, want 22023", bad, err)
		}
	}
	exec("SET work_mem = 65536")
	if err := conn.QueryRow(ctx, "SHOW work_mem").Scan(&show); err != nil || show != "64MB" {
		t.Errorf("SHOW work_mem after SET work_mem = 65536: %q, %v", show, err)
	}
	exec("RESET work_mem")
	if err := conn.QueryRow(ctx, "SHOW query_mem").Scan(&show); err != nil || show != "1GB" {
		t.Errorf("SHOW query_mem after RESET: %q, %v", show, err)
	}
}

// Spill files of a run that crashed mid-statement go at the next start;
// other files in the data directory stay.
func TestQueryMemTempFilesRemovedAtStart(t *testing.T) {
	dir := t.TempDir()
	tmp := filepath.Join(dir, "tmp")
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"stmt-1-0xc000-sort-1.arrow", "stmt-2-0xc001-agg-7.arrow", "keep.txt"} {
		if err := os.WriteFile(filepath.Join(tmp, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	srv := testserver.Start(t, engine.Options{DataDir: dir})
	answersQuickly(t, srv.URL("streamsql", "streamsql"))
	if got := tmpFiles(t, dir); len(got) != 1 || got[0] != "keep.txt" {
		t.Fatalf("after start the spill area holds %v, want only keep.txt", got)
	}
}
