package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"streamsql/httpapi"
	"streamsql/internal/doctest"
	"streamsql/internal/sqltest"
)

// sseEvent is one Server-Sent Event.
type sseEvent struct {
	event, id, data string
}

// readEvents parses events from an SSE stream into ch.
func readEvents(sc *bufio.Scanner, ch chan<- sseEvent) {
	defer close(ch)
	var ev sseEvent
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			ch <- ev
			ev = sseEvent{}
		case strings.HasPrefix(line, "event: "):
			ev.event = line[7:]
		case strings.HasPrefix(line, "id: "):
			ev.id = line[4:]
		case strings.HasPrefix(line, "data: "):
			ev.data = line[6:]
		}
	}
}

func nextChange(t *testing.T, ch <-chan sseEvent) sseEvent {
	t.Helper()
	return nextEvent(t, ch, "change", "reset", "error")
}

// nextEvent returns the next event of one of kinds (of any kind when
// none is given; comments are no events), within 10 s.
func nextEvent(t *testing.T, ch <-chan sseEvent, kinds ...string) sseEvent {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatal("the event stream ended")
			}
			if ev.event != "" && (len(kinds) == 0 || slices.Contains(kinds, ev.event)) {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %v event within 10 s", kinds)
		}
	}
}

// The view's snapshot and changes as Server-Sent Events, to Go's HTTP
// client and to curl; a reconnect with Last-Event-ID starts with a reset.
func TestSubscribeSSE(t *testing.T) {
	srv, conn := serveWeb(t)
	ctx := context.Background()
	sqltest.Exec(t, conn,
		"CREATE TABLE kpi (k text PRIMARY KEY, v int)",
		"INSERT INTO kpi VALUES ('visits', 10)",
		"CREATE MATERIALIZED VIEW kpis AS SELECT k, v FROM kpi")
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, _ := http.NewRequestWithContext(rctx, "GET", srv.URL+"/v1/subscribe/kpis", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	ch := make(chan sseEvent, 64)
	go readEvents(bufio.NewScanner(resp.Body), ch)
	snap := nextChange(t, ch)
	var d struct {
		Op    string         `json:"op"`
		Epoch int64          `json:"epoch"`
		Row   map[string]any `json:"row"`
	}
	if err := json.Unmarshal([]byte(snap.data), &d); err != nil || d.Op != "insert" || d.Row["k"] != "visits" || d.Row["v"] != 10.0 || snap.id == "" {
		t.Fatalf("snapshot event %+v (%v)", snap, err)
	}
	if _, err := conn.Exec(ctx, "UPDATE kpi SET v = 11"); err != nil {
		t.Fatal(err)
	}
	got := []string{nextChange(t, ch).data, nextChange(t, ch).data}
	joined := strings.Join(got, " ")
	if !strings.Contains(joined, `"op":"delete"`) || !strings.Contains(joined, `"v":11`) {
		t.Fatalf("update events %v", got)
	}

	// curl, reconnecting with the last event id.
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl is not installed")
	}
	cch := curlEvents(t, curl, "-sN", "-H", "Last-Event-ID: "+snap.id, srv.URL+"/v1/subscribe/kpis")
	if ev := nextChange(t, cch); ev.event != "reset" {
		t.Fatalf("first event after a reconnect: %+v", ev)
	}
	if ev := nextChange(t, cch); !strings.Contains(ev.data, `"v":11`) {
		t.Fatalf("snapshot after reset: %+v", ev)
	}
}

// GET /v1/query answers JSON; an error is HTTP 400 with its SQLSTATE.
func TestQueryJSON(t *testing.T) {
	e, _ := serve(t)
	srv := httptest.NewServer(httpapi.New(e, nil))
	defer srv.Close()
	get := func(sql string) (int, map[string]any) {
		resp, err := http.Get(srv.URL + "/v1/query?sql=" + url.QueryEscape(sql))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, m
	}
	code, m := get("SELECT 1 AS a, 'x' AS b UNION ALL SELECT 2, NULL")
	b, _ := json.Marshal(m)
	if code != 200 || string(b) != `{"columns":["a","b"],"rows":[[1,"x"],[2,null]],"tag":"SELECT 2"}` {
		t.Fatalf("%d %s", code, b)
	}
	code, m = get("SELECT * FROM nowhere")
	if code != 400 || m["sqlstate"] != "42P01" || !strings.Contains(m["error"].(string), `relation "nowhere" does not exist`) {
		t.Fatalf("%d %v", code, m)
	}
}

// TestLiveViewPage checks docs/examples/live-view.html against the feed:
// it reads the endpoint this package serves and handles exactly the
// events the feed sends.
func TestLiveViewPage(t *testing.T) {
	page := doctest.Page(t, "docs/examples/live-view.html")
	if !strings.Contains(string(page), "/v1/subscribe/") {
		t.Error("the page does not read /v1/subscribe/")
	}
	var got []string
	for _, m := range regexp.MustCompile(`addEventListener\("(\w+)"`).FindAllStringSubmatch(string(page), -1) {
		got = append(got, m[1])
	}
	if strings.Join(got, ",") != "reset,change,progress,error" {
		t.Errorf("the page handles events %v, the feed sends reset, change, progress and error", got)
	}
}
