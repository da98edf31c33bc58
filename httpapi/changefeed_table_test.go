package httpapi_test

import (
	"context"
	"streamsql/internal/sqltest"
	"strings"
	"testing"
)

// The event stream of a table with a durable subscription streams from
// the subscription's log. Every snapshot event carries an id, so a client
// cut off in the middle of the snapshot resumes with Last-Event-ID: it
// gets the rest of the same snapshot, then the changes, each once.
func TestSubscribeSSETableResumeInSnapshot(t *testing.T) {
	srv, conn := serveWeb(t)
	ctx := context.Background()
	sqltest.Exec(t, conn,
		"CREATE TABLE px (sym text PRIMARY KEY, p int)",
		"INSERT INTO px VALUES ('a', 1), ('b', 2), ('c', 3)",
		"CREATE SUBSCRIPTION px_log FROM px WITH (retention = '1 hour')")
	a := openSSE(t, srv.URL, "/v1/subscribe/px", "")
	if ev := nextEvent(t, a.events); ev.event != "reset" {
		t.Fatalf("first event %+v, want reset", ev)
	}
	first := nextEvent(t, a.events)
	if r := changeRow(t, first); r != `insert Insert {"p":1,"sym":"a"}` || !strings.Contains(first.id, "@") {
		t.Fatalf("first snapshot event %+v: want row a with a snapshot row position as id", first)
	}
	a.close()
	// While the client is away, rows on both sides of its place change.
	for _, q := range []string{"UPDATE px SET p = 10 WHERE sym IN ('a', 'c')", "DELETE FROM px WHERE sym = 'b'", "FLUSH"} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	b := openSSE(t, srv.URL, "/v1/subscribe/px", first.id)
	got, _ := resumedChanges(t, b.events, nil, 6)
	want := []string{`insert Insert {"p":2,"sym":"b"}`, `insert Insert {"p":3,"sym":"c"}`}
	if g := strings.Join(got[:2], "\n"); g != strings.Join(want, "\n") {
		t.Fatalf("the rest of the snapshot:\n%s\nwant\n%s", g, strings.Join(want, "\n"))
	}
	rest := strings.Join(got[2:], "\n")
	for _, w := range []string{`delete UpdateDelete {"p":1,"sym":"a"}`, `insert UpdateInsert {"p":10,"sym":"a"}`,
		`delete UpdateDelete {"p":3,"sym":"c"}`, `insert UpdateInsert {"p":10,"sym":"c"}`} {
		if !strings.Contains(rest, w) {
			t.Fatalf("changes after the snapshot:\n%s\nlack %s", rest, w)
		}
	}
	// The delete of b comes last (it may share the epoch of the updates).
	ev := nextEvent(t, b.events)
	for ev.event != "change" {
		ev = nextEvent(t, b.events)
	}
	if r := changeRow(t, ev); r != `delete Delete {"p":2,"sym":"b"}` {
		t.Fatalf("last change %s, want the delete of b", r)
	}
}
