package console_test

// The console's JSON APIs over HTTP, against a real server: the engine
// over pebble in a temporary directory, statements over the wire with
// pgx, the HTTP handler as streamsqld serves it (httpapi.New, with
// httpapi.RequireAuth when a test signs in).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"streamsql/auth"
	"streamsql/engine"
	"streamsql/httpapi"
	"streamsql/internal/testserver"
)

// env is a running server with its HTTP handler and a wire connection.
type env struct {
	srv  *testserver.Server
	web  *httptest.Server
	conn *pgx.Conn
}

func start(t *testing.T) *env {
	t.Helper()
	srv := testserver.Start(t, engine.Options{})
	web := httptest.NewServer(httpapi.New(srv.Engine, nil))
	t.Cleanup(web.Close)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, srv.URL("streamsql", "dev"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(ctx) })
	return &env{srv: srv, web: web, conn: conn}
}

func (e *env) exec(t *testing.T, sqls ...string) {
	t.Helper()
	for _, s := range sqls {
		if _, err := e.conn.Exec(context.Background(), s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// getJSON fetches path and decodes its JSON body into out, returning the
// status.
func (e *env) getJSON(t *testing.T, path string, out any) int {
	t.Helper()
	resp, err := http.Get(e.web.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, resp, out)
}

func (e *env) post(t *testing.T, path string, body any, out any) int {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(e.web.URL+path, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, resp, out)
}

func decode(t *testing.T, resp *http.Response, out any) int {
	t.Helper()
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("content type %q: %s", ct, raw)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	return resp.StatusCode
}

type catalogObject struct {
	OID     uint32 `json:"oid"`
	Schema  string `json:"schema"`
	Name    string `json:"name"`
	Kind    string `json:"kind"`
	Columns []struct {
		Name, Type string
		Key        bool
	} `json:"columns"`
	Definition string            `json:"definition"`
	Options    map[string]string `json:"options"`
	Dependents []struct{ Schema, Name, Kind string }
	Signature  string `json:"signature"`
}

type catalogAnswer struct {
	Schemas []struct {
		Name    string          `json:"name"`
		Objects []catalogObject `json:"objects"`
	} `json:"schemas"`
}

func (c catalogAnswer) find(schema, name string) *catalogObject {
	for _, s := range c.Schemas {
		for i, o := range s.Objects {
			if s.Name == schema && o.Name == name {
				return &s.Objects[i]
			}
		}
	}
	return nil
}

func TestCatalogAPI(t *testing.T) {
	e := start(t)
	e.exec(t,
		`CREATE TABLE trades (id bigint PRIMARY KEY, sym text NOT NULL, px numeric(12,4), ts timestamptz)`,
		`CREATE MATERIALIZED VIEW by_sym AS SELECT sym, count(*) AS n FROM trades GROUP BY sym`,
		`CREATE SOURCE quotes (sym text, bid float8) WITH (connector = 'kafka', topic = 'q', properties.bootstrap.server = '127.0.0.1:1',
			properties.security.protocol = 'sasl_plaintext', properties.sasl.mechanism = 'scram-sha-256',
			properties.sasl.username = 'u', properties.sasl.password = 'hunter2') FORMAT PLAIN ENCODE JSON`,
		`CREATE FUNCTION add_one(x int) RETURNS int LANGUAGE sql AS 'SELECT x + 1'`,
	)
	var all catalogAnswer
	if st := e.getJSON(t, "/v1/catalog", &all); st != 200 {
		t.Fatalf("status %d", st)
	}
	for _, s := range all.Schemas {
		if s.Name == "pg_catalog" || s.Name == "information_schema" {
			t.Fatalf("system schema %s listed without system=true", s.Name)
		}
	}
	tr := all.find("public", "trades")
	if tr == nil || tr.Kind != "table" || len(tr.Columns) != 4 || tr.Columns[0].Name != "id" || !tr.Columns[0].Key || tr.Columns[1].Key || tr.Columns[2].Type != "numeric(12,4)" {
		t.Fatalf("trades: %+v", tr)
	}
	if len(tr.Dependents) != 1 || tr.Dependents[0].Name != "by_sym" || tr.Dependents[0].Kind != "materialized view" {
		t.Fatalf("trades' dependents: %+v", tr.Dependents)
	}
	v := all.find("public", "by_sym")
	if v == nil || v.Kind != "materialized view" || !strings.HasPrefix(v.Definition, "CREATE MATERIALIZED VIEW") || !strings.Contains(v.Definition, "GROUP BY sym") {
		t.Fatalf("by_sym: %+v", v)
	}
	if len(v.Columns) != 2 || !v.Columns[0].Key || v.Columns[1].Key {
		t.Fatalf("by_sym's key is its GROUP BY column: %+v", v.Columns)
	}
	q := all.find("public", "quotes")
	if q == nil || q.Kind != "source" || q.Options["properties.sasl.password"] != "********" || q.Options["topic"] != "q" {
		t.Fatalf("quotes: %+v", q)
	}
	if strings.Contains(q.Definition, "hunter2") || !strings.Contains(q.Definition, "'********'") {
		t.Fatalf("quotes' definition shows its secret: %s", q.Definition)
	}
	f := all.find("public", "add_one")
	if f == nil || f.Kind != "function" || f.Signature != "add_one(integer)" || !strings.Contains(f.Definition, "SELECT x + 1") {
		t.Fatalf("add_one: %+v", f)
	}

	var found catalogAnswer
	e.getJSON(t, "/v1/catalog?q=SYM", &found)
	var names []string
	for _, s := range found.Schemas {
		for _, o := range s.Objects {
			names = append(names, o.Name)
		}
	}
	if strings.Join(names, ",") != "by_sym" {
		t.Fatalf("search SYM found %v", names)
	}
	e.exec(t, `CREATE SCHEMA desk`, `CREATE TABLE desk.orders (id int PRIMARY KEY)`)
	var desk catalogAnswer
	e.getJSON(t, "/v1/catalog?q=ord", &desk)
	if len(desk.Schemas) != 1 || desk.find("desk", "orders") == nil {
		t.Fatalf("search ord: %+v", desk)
	}
}

type statementAnswer struct {
	Columns []struct{ Name, Type string }
	Rows    [][]any
	Offset  int
	More    bool
	Tag     string
	// errors
	Error    string
	SQLState string
	Position int
}

func TestStatementAPI(t *testing.T) {
	e := start(t)
	var a statementAnswer
	if st := e.post(t, "/v1/statement", map[string]any{"sql": "CREATE TABLE t (id int PRIMARY KEY, name text)"}, &a); st != 200 || a.Tag != "CREATE TABLE" {
		t.Fatalf("create: %d %+v", st, a)
	}
	a = statementAnswer{}
	e.post(t, "/v1/statement", map[string]any{"sql": "INSERT INTO t SELECT g, 'n' || g FROM generate_series(1, 250) AS g"}, &a)
	if a.Tag != "INSERT 0 250" {
		t.Fatalf("insert: %+v", a)
	}
	var pages [][]any
	for off := 0; ; off += 100 {
		a = statementAnswer{}
		if st := e.post(t, "/v1/statement", map[string]any{"sql": "SELECT id, name FROM t ORDER BY id", "offset": off, "limit": 100}, &a); st != 200 {
			t.Fatalf("select at %d: %d %+v", off, st, a)
		}
		if len(a.Columns) != 2 || a.Columns[0].Name != "id" || a.Columns[0].Type != "integer" || a.Offset != off {
			t.Fatalf("columns %+v offset %d", a.Columns, a.Offset)
		}
		pages = append(pages, a.Rows...)
		if !a.More {
			break
		}
		if len(a.Rows) != 100 || a.Tag != "" {
			t.Fatalf("page at %d: %d rows, tag %q", off, len(a.Rows), a.Tag)
		}
	}
	if len(pages) != 250 || a.Tag != "SELECT 250" || len(a.Rows) != 50 {
		t.Fatalf("%d rows in all, last page %d rows, tag %q", len(pages), len(a.Rows), a.Tag)
	}
	for i, r := range pages {
		if int(r[0].(float64)) != i+1 || r[1] != fmt.Sprintf("n%d", i+1) {
			t.Fatalf("row %d: %v", i, r)
		}
	}

	for _, tc := range []struct {
		sql, code string
		pos       int
	}{
		{"SELECT 1 +", "42601", 11},
		{"SELECT *\nFROM nope", "42P01", 15},
		{"SELECT nope FROM t", "42703", 8},
	} {
		a = statementAnswer{}
		if st := e.post(t, "/v1/statement", map[string]any{"sql": tc.sql}, &a); st != 400 || a.SQLState != tc.code || a.Position != tc.pos || a.Error == "" {
			t.Errorf("%q: status %d, %+v; want SQLSTATE %s at %d", tc.sql, st, a, tc.code, tc.pos)
		}
	}
	a = statementAnswer{}
	e.post(t, "/v1/statement", map[string]any{"sql": "SELECT 9007199254740993::bigint AS big, 42::bigint AS small"}, &a)
	if len(a.Rows) != 1 || a.Rows[0][0] != "9007199254740993" || a.Rows[0][1] != float64(42) {
		t.Errorf("bigints: %+v", a.Rows)
	}
	a = statementAnswer{}
	if st := e.post(t, "/v1/statement", map[string]any{"sql": "SUBSCRIBE t"}, &a); st != 400 || a.SQLState != "0A000" {
		t.Errorf("SUBSCRIBE: %d %+v", st, a)
	}
	// What another site's page can send without asking first (a form,
	// text/plain) does not run.
	resp, err := http.Post(e.web.URL+"/v1/statement", "text/plain", strings.NewReader(`{"sql": "DROP TABLE t"}`))
	if err != nil {
		t.Fatal(err)
	}
	a = statementAnswer{}
	if st := decode(t, resp, &a); st != http.StatusUnsupportedMediaType || a.SQLState != "22023" {
		t.Errorf("text/plain statement: %d %+v", st, a)
	}
	a = statementAnswer{}
	e.post(t, "/v1/statement", map[string]any{"sql": "SELECT count(*) FROM t"}, &a)
	if len(a.Rows) != 1 || a.Rows[0][0] != float64(250) {
		t.Errorf("t after the refused DROP: %+v", a)
	}
}

type planNode struct {
	Operator string
	Details  []string
	Children []*planNode
}

func (n *planNode) walk(f func(*planNode)) {
	f(n)
	for _, c := range n.Children {
		c.walk(f)
	}
}

func TestExplainAPI(t *testing.T) {
	e := start(t)
	e.exec(t, `CREATE TABLE trades (id bigint PRIMARY KEY, sym text, qty int, ts timestamptz, WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) APPEND ONLY`)
	var a struct {
		Plan *planNode
		Text []string
	}
	if st := e.getJSON(t, "/v1/explain?sql="+urlQuery("SELECT sym, count(*) FROM trades WHERE qty > 3 GROUP BY sym ORDER BY 2"), &a); st != 200 {
		t.Fatalf("status %d", st)
	}
	var chain []string
	for n := a.Plan; n != nil; {
		name, _, _ := strings.Cut(n.Operator, " ")
		chain = append(chain, name)
		if len(n.Children) != 1 {
			break
		}
		n = n.Children[0]
	}
	if got := strings.Join(chain, " > "); got != "Sort > Project > HashAgg > Project > Filter > Scan" || len(a.Text) != 6 {
		t.Fatalf("batch plan %s from\n%s", got, strings.Join(a.Text, "\n"))
	}

	a.Plan = nil
	e.getJSON(t, "/v1/explain?sql="+urlQuery("CREATE MATERIALIZED VIEW x AS SELECT sym, window_start, count(*) FROM TUMBLE(trades, ts, INTERVAL '1' MINUTE) GROUP BY sym, window_start"), &a)
	if a.Plan == nil || !strings.HasPrefix(a.Plan.Operator, "StreamMaterialize x") {
		t.Fatalf("stream plan: %+v\n%s", a.Plan, strings.Join(a.Text, "\n"))
	}
	var aggState, scans int
	a.Plan.walk(func(n *planNode) {
		if strings.HasPrefix(n.Operator, "StreamHashAgg") {
			for _, d := range n.Details {
				if strings.HasPrefix(d, "state: ") {
					aggState++
				}
			}
		}
		if strings.HasPrefix(n.Operator, "StreamTableScan trades") {
			scans++
			if len(n.Children) != 0 {
				t.Errorf("the scan has children: %+v", n.Children)
			}
		}
		if strings.HasPrefix(n.Operator, "state:") {
			t.Errorf("a state line became a node: %s", n.Operator)
		}
	})
	if aggState == 0 || scans != 1 {
		t.Fatalf("hash agg state lines %d, scans %d:\n%s", aggState, scans, strings.Join(a.Text, "\n"))
	}

	var bad statementAnswer
	if st := e.getJSON(t, "/v1/explain?sql="+urlQuery("SELECT * FROM nope"), &bad); st != 400 || bad.SQLState != "42P01" || bad.Position != 15 {
		t.Fatalf("explain of a missing table: %d %+v", st, bad)
	}
	// EXPLAIN ANALYZE would run the statement: a GET only plans.
	bad = statementAnswer{}
	if st := e.getJSON(t, "/v1/explain?sql="+urlQuery("ANALYZE INSERT INTO trades VALUES (1, 'A', 1, now())"), &bad); st != 400 || bad.SQLState != "0A000" {
		t.Fatalf("explain analyze: %d %+v", st, bad)
	}
}

func urlQuery(s string) string {
	return strings.NewReplacer("%", "%25", "&", "%26", "+", "%2B", " ", "%20", "#", "%23", "\n", "%0A", "'", "%27").Replace(s)
}

type jobAnswer struct {
	Job struct {
		ID       uint32 `json:"id"`
		Name     string `json:"name"`
		Kind     string `json:"kind"`
		Status   string `json:"status"`
		Error    string `json:"error"`
		RowsIn   int64  `json:"rows_in"`
		RowsOut  int64  `json:"rows_out"`
		Epoch    uint64 `json:"committed_epoch"`
		StateMem int64  `json:"state_bytes"`
	} `json:"job"`
	Coordinator struct {
		Committed    int64 `json:"committed_epoch"`
		BarrierCount int64 `json:"barrier_latency_count"`
	} `json:"coordinator"`
	Graph *struct {
		Nodes []struct {
			ID        int      `json:"id"`
			Name      string   `json:"name"`
			Operator  string   `json:"operator"`
			Fragment  int      `json:"fragment"`
			Instances int      `json:"instances"`
			Exchange  bool     `json:"exchange"`
			Source    bool     `json:"source"`
			State     []string `json:"state"`
			Inputs    []int    `json:"inputs"`
			Stats     *struct {
				RowsIn         int64    `json:"rows_in"`
				RowsOut        int64    `json:"rows_out"`
				LateRows       int64    `json:"late_rows"`
				Rejects        int64    `json:"rejects"`
				StateBytes     int64    `json:"state_bytes"`
				StateEvicted   int64    `json:"state_evicted"`
				Watermark      string   `json:"watermark"`
				WatermarkLagMs *float64 `json:"watermark_lag_ms"`
			} `json:"stats"`
			Kept *struct {
				Tables   int   `json:"tables"`
				Entries  int64 `json:"entries"`
				Bytes    int64 `json:"bytes"`
				Complete bool  `json:"complete"`
			} `json:"kept"`
			Watermark      string   `json:"watermark"`
			WatermarkLagMs *float64 `json:"watermark_lag_ms"`
		} `json:"nodes"`
		Fragments []struct {
			ID        int   `json:"id"`
			Instances int   `json:"instances"`
			Nodes     []int `json:"nodes"`
		} `json:"fragments"`
	} `json:"graph"`
}

func TestJobsAPI(t *testing.T) {
	e := start(t)
	e.exec(t,
		`CREATE TABLE trades (id bigint PRIMARY KEY, sym text, qty int, ts timestamptz, WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) APPEND ONLY`,
		`SET streaming_parallelism = 2`,
		`CREATE MATERIALIZED VIEW per_min AS SELECT sym, window_start, sum(qty) AS qty FROM TUMBLE(trades, ts, INTERVAL '1' MINUTE) GROUP BY sym, window_start`,
		`INSERT INTO trades VALUES (1, 'A', 10, '2026-01-01 10:00:01+00'), (2, 'A', 5, '2026-01-01 10:00:30+00'), (3, 'B', 7, '2026-01-01 10:01:00+00')`,
		`FLUSH`,
		`CREATE TABLE f (x int)`,
		`CREATE MATERIALIZED VIEW ratio AS SELECT 10 / x AS y FROM f`,
		`INSERT INTO f VALUES (0)`,
	)
	var list struct {
		Jobs []struct {
			ID     uint32 `json:"id"`
			Name   string `json:"name"`
			Status string `json:"status"`
			RowsIn int64  `json:"rows_in"`
		} `json:"jobs"`
	}
	var perMin, ratio uint32
	for deadline := time.Now().Add(10 * time.Second); ; {
		e.getJSON(t, "/v1/jobs", &list)
		for _, j := range list.Jobs {
			switch {
			case j.Name == "per_min" && j.RowsIn == 3:
				perMin = j.ID
			case j.Name == "ratio" && j.Status == "failed":
				ratio = j.ID
			}
		}
		if perMin != 0 && ratio != 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("jobs: %+v", list)
		}
		time.Sleep(50 * time.Millisecond)
	}

	var j jobAnswer
	if st := e.getJSON(t, fmt.Sprintf("/v1/jobs/%d", perMin), &j); st != 200 {
		t.Fatalf("status %d", st)
	}
	if j.Job.Name != "per_min" || j.Job.Kind != "materialized view" || j.Job.Status != "running" || j.Job.RowsIn != 3 || j.Job.RowsOut == 0 || j.Coordinator.Committed == 0 || j.Coordinator.BarrierCount == 0 {
		t.Fatalf("job: %+v coordinator %+v", j.Job, j.Coordinator)
	}
	g := j.Graph
	if g == nil || len(g.Nodes) == 0 {
		t.Fatalf("no graph")
	}
	names := map[string]int{}
	for _, n := range g.Nodes {
		names[n.Name]++
	}
	if g.Nodes[0].Name != "StreamMaterialize" || g.Nodes[0].Stats == nil || g.Nodes[0].Stats.RowsOut != j.Job.RowsOut || names["StreamHashAgg"] != 1 || names["StreamTableScan"] != 1 || names["Exchange"] < 1 {
		t.Fatalf("graph nodes %v, root %+v", names, g.Nodes[0])
	}
	if len(g.Fragments) < 2 {
		t.Fatalf("fragments %+v", g.Fragments)
	}
	for _, n := range g.Nodes {
		switch n.Name {
		case "StreamHashAgg":
			// Its rows in are the scan's rows, its rows out the
			// materialize node's rows in.
			if n.Instances != 2 || len(n.State) == 0 || g.Fragments[n.Fragment].Instances != 2 || n.Stats == nil || n.Stats.RowsIn != 3 || n.Stats.RowsOut != g.Nodes[0].Stats.RowsIn {
				t.Errorf("hash agg %+v in fragment %+v", n, g.Fragments[n.Fragment])
			}
		case "StreamTableScan":
			if !n.Source || len(n.Inputs) != 0 || n.Stats == nil || n.Stats.RowsIn != 3 || n.Stats.RowsOut != 3 {
				t.Errorf("scan %+v", n)
			}
		case "StreamWatermarkFilter":
			if n.Stats == nil || n.Stats.RowsIn != 3 || n.Stats.LateRows != 0 || n.Stats.Watermark != "2026-01-01 10:00:59+00" {
				t.Errorf("watermark filter %+v", n)
			}
		case "Exchange":
			if !n.Exchange || len(n.Inputs) != 1 || g.Nodes[n.Inputs[0]].Fragment == n.Fragment {
				t.Errorf("exchange %+v", n)
			}
		}
	}

	// Each operator's own committed state: the aggregation's two
	// groups (A's and B's minute) and each of its two instances' window
	// watermark, in the instances' two tables each; the watermark
	// filter's watermark.
	var withState jobAnswer
	asked := time.Now()
	e.getJSON(t, fmt.Sprintf("/v1/jobs/%d?state=true", perMin), &withState)
	kept := map[string]string{}
	for _, n := range withState.Graph.Nodes {
		if n.Kept != nil {
			kept[n.Name] = fmt.Sprintf("%d tables, %d entries, complete %v", n.Kept.Tables, n.Kept.Entries, n.Kept.Complete)
			if n.Kept.Entries > 0 && n.Kept.Bytes <= 0 {
				t.Errorf("%s keeps %d entries in %d bytes", n.Name, n.Kept.Entries, n.Kept.Bytes)
			}
		} else if len(n.State) > 0 {
			t.Errorf("%s keeps state but has no count of it", n.Name)
		}
	}
	if kept["StreamHashAgg"] != "4 tables, 4 entries, complete true" || kept["StreamWatermarkFilter"] != "1 tables, 1 entries, complete true" {
		t.Fatalf("kept state: %v", kept)
	}
	// The watermark: the latest ts less a second, behind now by at least
	// the time since then.
	for _, n := range withState.Graph.Nodes {
		if n.Name != "StreamWatermarkFilter" {
			continue
		}
		behind := asked.Sub(time.Date(2026, 1, 1, 10, 0, 59, 0, time.UTC))
		if n.Watermark != "2026-01-01 10:00:59+00" || n.WatermarkLagMs == nil || *n.WatermarkLagMs < float64(behind.Milliseconds()) {
			t.Fatalf("watermark %q lag %v, want 2026-01-01 10:00:59+00 and at least %v", n.Watermark, fmtLag(n.WatermarkLagMs), behind)
		}
	}

	var byName jobAnswer
	e.getJSON(t, "/v1/jobs/public.ratio", &byName)
	if byName.Job.ID != ratio || byName.Job.Status != "failed" || byName.Job.Error != "division by zero" {
		t.Fatalf("failed job: %+v", byName.Job)
	}
	var missing statementAnswer
	if st := e.getJSON(t, "/v1/jobs/nope", &missing); st != 404 || missing.SQLState != "42704" {
		t.Fatalf("missing job: %d %+v", st, missing)
	}
}

// With passwords required on the HTTP listener, the APIs want a role and
// run as it (its privileges apply); the console's own files do not, and
// a request from the console gets its 401 without the Basic challenge
// that would make the browser ask on its own.
func TestConsoleSignIn(t *testing.T) {
	srv := testserver.Start(t, engine.Options{})
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, srv.URL("streamsql", "dev"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, s := range []string{
		`CREATE ROLE alice LOGIN PASSWORD 'open sesame'`,
		`CREATE TABLE secrets (id int PRIMARY KEY, v text)`,
	} {
		if _, err := conn.Exec(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	hba, err := auth.ParseHBA(strings.NewReader("host http all 127.0.0.1/32 scram-sha-256\nhost all all 127.0.0.1/32 trust\n"), "test")
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	web := httptest.NewServer(httpapi.RequireAuth(httpapi.New(srv.Engine, quiet), hba, srv.Engine, quiet))
	defer web.Close()

	do := func(method, path, user, pass string, console bool, body string) (*http.Response, errorAnswer) {
		t.Helper()
		req, _ := http.NewRequest(method, web.URL+path, strings.NewReader(body))
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		if console {
			req.Header.Set("X-Requested-With", "streamsql-console")
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var e errorAnswer
		json.Unmarshal(raw, &e)
		e.raw = string(raw)
		return resp, e
	}

	if resp, _ := do("GET", "/console/", "", "", false, ""); resp.StatusCode == http.StatusUnauthorized {
		t.Fatalf("/console/ wants a sign-in")
	}
	resp, e := do("GET", "/v1/catalog", "", "", false, "")
	if resp.StatusCode != 401 || e.SQLState != "28P01" || resp.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("no role: %d %s, challenge %q", resp.StatusCode, e.raw, resp.Header.Get("WWW-Authenticate"))
	}
	resp, e = do("GET", "/v1/jobs", "alice", "wrong", true, "")
	if resp.StatusCode != 401 || e.Error != `password authentication failed for user "alice"` || resp.Header.Get("WWW-Authenticate") != "" {
		t.Fatalf("wrong password from the console: %d %s, challenge %q", resp.StatusCode, e.raw, resp.Header.Get("WWW-Authenticate"))
	}
	resp, e = do("GET", "/v1/console/whoami", "alice", "open sesame", true, "")
	if resp.StatusCode != 200 || !strings.Contains(e.raw, `"user":"alice"`) {
		t.Fatalf("whoami: %d %s", resp.StatusCode, e.raw)
	}
	resp, e = do("POST", "/v1/statement", "alice", "open sesame", true, `{"sql": "SELECT current_user"}`)
	if resp.StatusCode != 200 || !strings.Contains(e.raw, `"rows":[["alice"]]`) {
		t.Fatalf("current_user: %d %s", resp.StatusCode, e.raw)
	}
	resp, e = do("POST", "/v1/statement", "alice", "open sesame", true, `{"sql": "SELECT * FROM secrets"}`)
	if resp.StatusCode != 400 || e.SQLState != "42501" {
		t.Fatalf("alice reads a table she has no right to: %d %s", resp.StatusCode, e.raw)
	}
}

type errorAnswer struct {
	Error    string `json:"error"`
	SQLState string `json:"sqlstate"`
	raw      string
}

// A server that trusts loopback and knows its roles (streamsqld's
// default): a request without a role is refused with 401 until it names
// a role that exists, which trust then lets in without a password.
func TestConsoleTrustNeedsARole(t *testing.T) {
	srv := testserver.Start(t, engine.Options{RequireRoles: true})
	hba, err := auth.ParseHBA(strings.NewReader("host all all 127.0.0.1/32 trust\n"), "test")
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	web := httptest.NewServer(httpapi.RequireAuth(httpapi.New(srv.Engine, quiet), hba, srv.Engine, quiet))
	defer web.Close()
	get := func(path, user string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", web.URL+path, nil)
		req.Header.Set("X-Requested-With", "streamsql-console")
		if user != "" {
			req.SetBasicAuth(user, "")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, path := range []string{"/v1/catalog", "/v1/subscribe/x", "/v1/query?sql=SELECT%201"} {
		if st, body := get(path, ""); st != 401 || !strings.Contains(body, `"sqlstate":"28000"`) || !strings.Contains(body, `role \"http\" does not exist`) {
			t.Errorf("%s without a role: %d %s", path, st, body)
		}
	}
	if st, body := get("/v1/console/whoami", "nobody"); st != 401 || !strings.Contains(body, `role \"nobody\"`) {
		t.Errorf("an unknown role: %d %s", st, body)
	}
	if st, body := get("/v1/console/whoami", "streamsql"); st != 200 || !strings.Contains(body, `"user":"streamsql"`) {
		t.Errorf("the superuser on trust: %d %s", st, body)
	}
	if st, _ := get("/console/", ""); st == 401 {
		t.Errorf("/console/ wants a role")
	}
}

func fmtLag(ms *float64) string {
	if ms == nil {
		return "none"
	}
	return fmt.Sprintf("%.0f ms", *ms)
}
