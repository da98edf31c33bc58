package httpapi_test

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"streamsql/engine"
	"streamsql/httpapi"
	"streamsql/internal/sqltest"
	"streamsql/internal/testserver"
)

// serve opens a database in a temp dir and serves it over the wire.
func serve(t *testing.T) (*engine.Engine, string) {
	t.Helper()
	ts := testserver.Start(t, engine.Options{})
	return ts.Engine, ts.URL("u", "dev")
}

// serveWeb is serve with the HTTP handler on a test server and one wire
// connection. Both are closed when t ends, the HTTP server after what t
// registers later (open event streams), since Close waits for handlers.
func serveWeb(t *testing.T) (*httptest.Server, *pgx.Conn) {
	t.Helper()
	e, dsn := serve(t)
	web := httptest.NewServer(httpapi.New(e, nil))
	t.Cleanup(web.Close)
	return web, sqltest.Connect(t, dsn)
}

var sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$`)

// scrape fetches /metrics and returns every sample by name and labels,
// failing on any line that is not valid text exposition.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Fatalf("content type %q", ct)
	}
	body, _ := io.ReadAll(resp.Body)
	out := map[string]float64{}
	typed := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(body)), "\n") {
		if f := strings.Fields(line); len(f) >= 4 && f[0] == "#" && f[1] == "TYPE" {
			typed[f[2]] = true
			continue
		}
		if strings.HasPrefix(line, "#") {
			continue
		}
		m := sampleLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("not a sample line: %q", line)
		}
		base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(m[1], "_bucket"), "_sum"), "_count")
		if !typed[m[1]] && !typed[base] {
			t.Fatalf("sample %s without a TYPE line", m[1])
		}
		v, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			t.Fatalf("bad value in %q", line)
		}
		out[m[1]+m[2]] = v
	}
	return out
}

func TestMetricsAndHealth(t *testing.T) {
	web, conn := serveWeb(t)
	ctx := context.Background()
	sqltest.Exec(t, conn,
		"CREATE TABLE t (k int PRIMARY KEY, g int, v int)",
		"CREATE MATERIALIZED VIEW by_g AS SELECT g, count(*) AS n, sum(v) AS s FROM t GROUP BY g",
		"INSERT INTO t VALUES (1, 1, 10), (2, 1, 20), (3, 2, 5)",
		"FLUSH")
	var id int64
	if err := conn.QueryRow(ctx, "SELECT oid::int8 FROM pg_class WHERE relname = 'by_g'").Scan(&id); err != nil {
		t.Fatal(err)
	}
	m := scrape(t, web.URL)
	job := fmt.Sprintf(`{job="by_g",id="%d"}`, id)
	for name, want := range map[string]float64{
		"streamsql_job_rows_in_total" + job:  3,
		"streamsql_job_rows_out_total" + job: 2,
		"streamsql_job_failed" + job:         0,
		"streamsql_sessions":                 1,
	} {
		if got, ok := m[name]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", name, got, ok, want)
		}
	}
	for _, name := range []string{"streamsql_epoch_committed", "streamsql_epochs_committed_total",
		`streamsql_barrier_latency_seconds_bucket{le="+Inf"}`, "streamsql_storage_disk_bytes", "go_goroutines",
		"streamsql_job_committed_epoch" + job} {
		if m[name] <= 0 {
			t.Errorf("%s = %v, want > 0", name, m[name])
		}
	}
	if m[`streamsql_barrier_latency_seconds_bucket{le="+Inf"}`] != m["streamsql_barrier_latency_seconds_count"] {
		t.Error("histogram +Inf bucket differs from its count")
	}
	if m[`streamsql_barrier_latency_seconds_bucket{le="0.005"}`] > m[`streamsql_barrier_latency_seconds_bucket{le="10"}`] {
		t.Error("histogram buckets are not cumulative")
	}
	// The stages split every epoch's barrier latency: each counts every
	// epoch, and together they take as long.
	var stages float64
	for _, st := range []string{"align", "queue", "build", "write"} {
		l := `{stage="` + st + `"}`
		if n := m["streamsql_epoch_stage_seconds_count"+l]; n != m["streamsql_barrier_latency_seconds_count"] || n <= 0 {
			t.Errorf("stage %s counts %v epochs, barrier latency %v", st, n, m["streamsql_barrier_latency_seconds_count"])
		}
		if m[`streamsql_epoch_stage_seconds_bucket{stage="`+st+`",le="+Inf"}`] != m["streamsql_epoch_stage_seconds_count"+l] {
			t.Errorf("stage %s: +Inf bucket differs from its count", st)
		}
		stages += m["streamsql_epoch_stage_seconds_sum"+l]
	}
	if sum := m["streamsql_barrier_latency_seconds_sum"]; math.Abs(stages-sum) > 1e-6*sum+1e-9 {
		t.Errorf("stages sum to %vs, barrier latency %vs", stages, sum)
	}

	resp, err := http.Get(web.URL + "/health")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "ok\n" {
		t.Fatalf("health: %d %q", resp.StatusCode, body)
	}
	if resp, err := http.Post(web.URL+"/metrics", "text/plain", nil); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST /metrics: %v %v", resp.StatusCode, err)
	}
}

// TestProfiles: the runtime profiles answer, and a goroutine dump shows the
// server's own goroutines.
func TestProfiles(t *testing.T) {
	eng, _ := serve(t)
	web := httptest.NewServer(httpapi.New(eng, nil))
	defer web.Close()
	resp, err := http.Get(web.URL + "/debug/pprof/goroutine?debug=2")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "streamsql/pgwire") {
		t.Fatalf("goroutine profile: %d\n%.300s", resp.StatusCode, body)
	}
	resp, err = http.Get(web.URL + "/debug/pprof/profile?seconds=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if body, _ := io.ReadAll(resp.Body); resp.StatusCode != http.StatusOK || len(body) == 0 {
		t.Fatalf("CPU profile: %d, %d bytes", resp.StatusCode, len(body))
	}
}
