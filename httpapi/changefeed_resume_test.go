package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"streamsql/internal/sqltest"
	"strings"
	"testing"
)

// sseStream is one open GET of an event stream.
type sseStream struct {
	resp   *http.Response
	events chan sseEvent
	cancel context.CancelFunc
}

// openSSE GETs path with an optional Last-Event-ID header.
func openSSE(t *testing.T, base, path, lastID string) *sseStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", base+path, nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	s := &sseStream{resp: resp, events: make(chan sseEvent, 256), cancel: cancel}
	t.Cleanup(s.close)
	if resp.StatusCode == http.StatusOK {
		go readEvents(bufio.NewScanner(resp.Body), s.events)
	}
	return s
}

// resumedChanges reads change events from a resumed stream, appending
// their rows to got until it holds n, and returns them with the last
// change event; a reset (the stream starting over) fails the test.
func resumedChanges(t *testing.T, events <-chan sseEvent, got []string, n int) ([]string, sseEvent) {
	t.Helper()
	var last sseEvent
	for len(got) < n {
		ev := nextEvent(t, events)
		if ev.event == "reset" {
			t.Fatal("a resumed stream starts over")
		}
		if ev.event == "change" {
			got = append(got, changeRow(t, ev))
			last = ev
		}
	}
	return got, last
}

// curlEvents runs curl with args and parses its output as an SSE
// stream; curl is stopped when the test ends.
func curlEvents(t *testing.T, curl string, args ...string) <-chan sseEvent {
	t.Helper()
	cmd := exec.Command(curl, args...)
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	ch := make(chan sseEvent, 64)
	go readEvents(bufio.NewScanner(out), ch)
	return ch
}

func (s *sseStream) close() {
	s.cancel()
	s.resp.Body.Close()
}

// changeRow is the row of a change event, with its op.
func changeRow(t *testing.T, ev sseEvent) string {
	t.Helper()
	if ev.event != "change" {
		t.Fatalf("event %+v, want a change", ev)
	}
	var d struct {
		Op     string         `json:"op"`
		Change string         `json:"change"`
		Row    map[string]any `json:"row"`
	}
	if err := json.Unmarshal([]byte(ev.data), &d); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(d.Row)
	return d.Op + " " + d.Change + " " + string(b)
}

// A view with a durable subscription streams from its log: every event
// id is a position, and a client that disconnects in the middle of an
// epoch and reconnects with Last-Event-ID (header, or lastEventId for
// curl) gets exactly the changes after it. A position the log no longer
// holds is 410 Gone.
func TestSubscribeSSEResume(t *testing.T) {
	srv, conn := serveWeb(t)
	run := func(qs ...string) {
		t.Helper()
		sqltest.Exec(t, conn, qs...)
	}
	run("CREATE TABLE kpi (k int PRIMARY KEY, v int)",
		"INSERT INTO kpi VALUES (0, 0)",
		"CREATE MATERIALIZED VIEW kpis AS SELECT k, v FROM kpi",
		"CREATE SUBSCRIPTION kpis_log FROM kpis WITH (retention = '1 hour')")

	a := openSSE(t, srv.URL, "/v1/subscribe/kpis", "")
	if ct := a.resp.Header.Get("Content-Type"); a.resp.StatusCode != 200 || ct != "text/event-stream" {
		t.Fatalf("status %d, content type %q", a.resp.StatusCode, ct)
	}
	if ev := nextEvent(t, a.events); ev.event != "reset" {
		t.Fatalf("first event %+v, want reset", ev)
	}
	snap := nextEvent(t, a.events)
	if r := changeRow(t, snap); r != `insert Insert {"k":0,"v":0}` || snap.id == "" || strings.Contains(snap.id, "/") {
		t.Fatalf("snapshot event %+v: want the row, with the snapshot's epoch as id", snap)
	}
	if ev := nextEvent(t, a.events); ev.event != "progress" || ev.id != snap.id {
		t.Fatalf("after the snapshot: %+v, want progress %s", ev, snap.id)
	}

	// One epoch of five changes; the client reads two and is cut off.
	run("INSERT INTO kpi SELECT g, g FROM generate_series(1, 5) g")
	var seen []string
	var lastID string
	for i := 0; i < 2; i++ {
		ev := nextEvent(t, a.events)
		seen = append(seen, changeRow(t, ev))
		if !strings.Contains(ev.id, "/") {
			t.Fatalf("change %+v: its id is no position", ev)
		}
		lastID = ev.id
	}
	a.close()
	// While it is away: another epoch.
	run("UPDATE kpi SET v = 10 WHERE k = 1", "FLUSH")

	// Every change after the snapshot, read in one go, is what the
	// client must have seen in the end.
	all := openSSE(t, srv.URL, "/v1/subscribe/kpis", snap.id)
	var want []string
	for len(want) < 7 {
		ev := nextEvent(t, all.events)
		if ev.event == "change" {
			want = append(want, changeRow(t, ev))
		}
	}
	all.close()

	b := openSSE(t, srv.URL, "/v1/subscribe/kpis", lastID)
	got, lastEv := resumedChanges(t, b.events, append([]string(nil), seen...), 7)
	if g, w := strings.Join(got, "\n"), strings.Join(want, "\n"); g != w {
		t.Fatalf("before the cut and after resuming at %s:\n%s\nwant\n%s", lastID, g, w)
	}
	if !strings.Contains(strings.Join(got[5:], " "), `delete UpdateDelete {"k":1,"v":1}`) {
		t.Fatalf("the update is not among the last changes: %v", got)
	}
	// The epoch of the last change is complete: a progress event names it.
	ev := nextEvent(t, b.events)
	if epoch, _, _ := strings.Cut(lastEv.id, "/"); ev.event != "progress" || ev.id != epoch {
		t.Fatalf("after the changes: %+v, want progress %s", ev, epoch)
	}
	b.close()

	// curl reconnecting with the lastEventId parameter (as EventSource
	// polyfills send it) resumes the same way.
	if curl, err := exec.LookPath("curl"); err == nil {
		cch := curlEvents(t, curl, "-sN", srv.URL+"/v1/subscribe/kpis?lastEventId="+url.QueryEscape(lastID))
		var cgot []string
		for len(cgot) < 5 {
			if ev := nextEvent(t, cch); ev.event == "change" {
				cgot = append(cgot, changeRow(t, ev))
			}
		}
		if g, w := strings.Join(cgot, "\n"), strings.Join(want[2:], "\n"); g != w {
			t.Fatalf("curl resuming at %s:\n%s\nwant\n%s", lastID, g, w)
		}
	}

	// Epoch 0 is before the subscription (its log starts after the
	// barrier that took it up, epoch 1 at the earliest): gone. Garbage
	// is a bad request.
	for _, c := range []struct {
		id     string
		status int
		state  string
	}{{"0/0", http.StatusGone, "55000"}, {"0", http.StatusGone, "55000"}, {"x'; DROP TABLE kpi; --", http.StatusBadRequest, "22023"}} {
		r := openSSE(t, srv.URL, "/v1/subscribe/kpis", c.id)
		body, _ := io.ReadAll(r.resp.Body)
		var m map[string]string
		json.Unmarshal(body, &m)
		if r.resp.StatusCode != c.status || m["sqlstate"] != c.state || m["error"] == "" {
			t.Errorf("Last-Event-ID %q: %d %s, want %d with SQLSTATE %s", c.id, r.resp.StatusCode, body, c.status, c.state)
		}
		r.close()
	}

	// The subscription's own name serves the same stream.
	s := openSSE(t, srv.URL, "/v1/subscribe/kpis_log", lastEv.id)
	run("DELETE FROM kpi WHERE k = 0")
	if r := changeRow(t, nextEvent(t, s.events)); r != `delete Delete {"k":0,"v":0}` {
		t.Fatalf("live change on the subscription's stream: %s", r)
	}
}
