package engine_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"streamsql/engine"
)

// A subscription logs the view's inserts, updates (as an UpdateDelete and
// UpdateInsert pair) and deletes with their commit time; a cursor SINCE
// begin() reads them all, one SINCE now() only later ones, and a FETCH
// waits for the next change.
func TestSubscriptionCursorOps(t *testing.T) {
	ctx := context.Background()
	ts, w := startWithConn(t, "sub",
		"CREATE TABLE orders (id int PRIMARY KEY, sym text, qty int)",
		"INSERT INTO orders VALUES (1, 'A', 10)",
		"CREATE MATERIALIZED VIEW big AS SELECT id, sym, qty FROM orders WHERE qty > 5",
		"FLUSH",
		"CREATE SUBSCRIPTION sub FROM big WITH (retention = '1 day')",
		"INSERT INTO orders VALUES (2, 'B', 20), (3, 'C', 30)",
		"FLUSH",
		"UPDATE orders SET qty = 25 WHERE id = 2",
		"FLUSH",
		"DELETE FROM orders WHERE id = 3",
		"UPDATE orders SET qty = 1 WHERE id = 1", // leaves the view
		"FLUSH")

	var name, from, ret string
	if err := w.QueryRow(ctx, "SHOW SUBSCRIPTIONS").Scan(&name, &from, &ret); err != nil {
		t.Fatal(err)
	}
	if name != "sub" || from != "big" || ret != "1 day" {
		t.Errorf("SHOW SUBSCRIPTIONS: %s %s %s", name, from, ret)
	}

	// A subscription is no relation of pg_class and holds no rows to
	// SELECT.
	if n := queryInt(t, w, "SELECT count(*) FROM pg_class WHERE relname = 'sub'"); n != 0 {
		t.Errorf("pg_class lists the subscription")
	}
	_, err := w.Exec(ctx, "SELECT * FROM sub")
	wantCode(t, err, "42809")

	r := mustConnectAs(t, ts, "reader")
	// No transaction needed: a subscription cursor lives in the session.
	execAll(t, r, "DECLARE cur SUBSCRIPTION CURSOR FOR sub SINCE begin()")
	got := fetchSub(t, r, "FETCH 100 FROM cur WITH (timeout = '1s')")
	want := []string{"Insert 2,B,20", "Insert 3,C,30", "UpdateDelete 2,B,20", "UpdateInsert 2,B,25"}
	// The delete of 3 and of 1 commit in one epoch, in either order.
	if len(got) != 6 || strings.Join(subOps(got[:4]), "|") != strings.Join(want, "|") ||
		!(subOps(got[4:])[0] == "Delete 3,C,30" && subOps(got[4:])[1] == "Delete 1,A,10" ||
			subOps(got[4:])[0] == "Delete 1,A,10" && subOps(got[4:])[1] == "Delete 3,C,30") {
		t.Fatalf("changes:\n%s\nwant\n%s, Delete 3,C,30 and Delete 1,A,10", strings.Join(subOps(got), "\n"), strings.Join(want, "\n"))
	}
	if got[0].ts != got[1].ts || !(got[1].ts < got[2].ts && got[2].ts == got[3].ts && got[3].ts < got[4].ts) {
		t.Errorf("commit times %v: one per epoch, increasing", got)
	}
	if since := time.Since(time.UnixMilli(got[0].ts)); since < 0 || since > time.Minute {
		t.Errorf("rw_timestamp %d is not a recent unix time in ms", got[0].ts)
	}
	// Nothing more: a timeout of 0 returns at once, empty.
	if more := fetchSub(t, r, "FETCH 10 FROM cur WITH (timeout = '0s')"); len(more) != 0 {
		t.Fatalf("more changes: %v", more)
	}

	// SINCE now(): only what commits later. A blocking FETCH returns as
	// soon as it has.
	execAll(t, r, "DECLARE fresh SUBSCRIPTION CURSOR FOR sub SINCE now()")
	done := make(chan []subChange, 1)
	go func() {
		cs, _ := querySub(r, "FETCH NEXT FROM fresh WITH (timeout = '10s')")
		done <- cs
	}()
	time.Sleep(200 * time.Millisecond)
	execAll(t, w, "INSERT INTO orders VALUES (4, 'D', 40)")
	select {
	case cs := <-done:
		if len(cs) != 1 || cs[0].op != "Insert" || cs[0].row != "4,D,40" {
			t.Fatalf("blocking FETCH: %v", cs)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("blocking FETCH did not return after an insert")
	}
	// The first cursor goes on where it stopped.
	if cs := fetchSub(t, r, "FETCH 10 FROM cur WITH (timeout = '2s')"); len(cs) != 1 || cs[0].row != "4,D,40" {
		t.Fatalf("cursor after the insert: %v", cs)
	}

	_, err = r.Exec(ctx, "DECLARE x SUBSCRIPTION CURSOR FOR nosuch")
	wantCode(t, err, "42704")
	execAll(t, w, "CREATE VIEW plain AS SELECT id FROM orders")
	_, err = w.Exec(ctx, "CREATE SUBSCRIPTION bad FROM plain")
	wantCode(t, err, "42809")
	_, err = w.Exec(ctx, "CREATE SUBSCRIPTION bad FROM big WITH (retention = 'soon')")
	wantCode(t, err, "22023")
	_, err = w.Exec(ctx, "DROP MATERIALIZED VIEW big")
	wantCode(t, err, "2BP01")

	// DROP SUBSCRIPTION deletes the log.
	oid := subscriptionOID(t, ts.Engine, "sub")
	if n, err := ts.Engine.ChangeLogKeys(oid); err != nil || n == 0 {
		t.Fatalf("log keys before DROP: %d, %v", n, err)
	}
	execAll(t, w, "DROP SUBSCRIPTION sub", "DROP SUBSCRIPTION IF EXISTS sub", "INSERT INTO orders VALUES (5, 'E', 50)", "FLUSH")
	if n, err := ts.Engine.ChangeLogKeys(oid); err != nil || n != 0 {
		t.Fatalf("log keys after DROP: %d, %v", n, err)
	}
	_, err = r.Exec(ctx, "FETCH 1 FROM cur WITH (timeout = '0s')")
	wantCode(t, err, "55000")
	_, err = w.Exec(ctx, "DROP SUBSCRIPTION sub")
	wantCode(t, err, "42704")
}

// A consumer that resumes SINCE the last rw_timestamp it saw gets every
// later change exactly once, across a restart of the server.
func TestSubscriptionCursorRestart(t *testing.T) {
	s := openStack(t, engine.Options{})
	ctx := context.Background()
	s.execAll(t, evFeed("v int", "retention = '1 hour'")...)
	s.execAll(t, "INSERT INTO ev VALUES (1, 10)", "FLUSH",
		"INSERT INTO ev VALUES (2, 20)", "FLUSH")
	c := s.connect(t)
	execAll(t, c, "DECLARE cur SUBSCRIPTION CURSOR FOR sub SINCE begin()")
	first := fetchSub(t, c, "FETCH 100 FROM cur WITH (timeout = '1s')")
	if got := strings.Join(subOps(first), "|"); got != "Insert 1,10|Insert 2,20" {
		t.Fatalf("before restart: %s", got)
	}
	last := first[len(first)-1].ts
	c.Close(ctx)
	// Changes the consumer has not read yet when the server stops.
	s.execAll(t, "INSERT INTO ev VALUES (3, 30)", "UPDATE ev SET v = 21 WHERE id = 2", "FLUSH")
	s.restart(t)
	s.execAll(t, "INSERT INTO ev VALUES (4, 40)", "FLUSH")
	c = s.connect(t)
	execAll(t, c, fmt.Sprintf("DECLARE cur SUBSCRIPTION CURSOR FOR sub SINCE %d", last))
	var got []subChange
	for len(got) < 4 {
		cs := fetchSub(t, c, "FETCH 100 FROM cur WITH (timeout = '2s')")
		if len(cs) == 0 {
			break
		}
		got = append(got, cs...)
	}
	want := "Insert 3,30|UpdateDelete 2,20|UpdateInsert 2,21|Insert 4,40"
	if g := strings.Join(subOps(got), "|"); g != want {
		// Insert 3 and the update commit in one epoch, in either order.
		alt := "UpdateDelete 2,20|UpdateInsert 2,21|Insert 3,30|Insert 4,40"
		if g != alt {
			t.Fatalf("after restart:\n%s\nwant\n%s", g, want)
		}
	}
	for _, ch := range got {
		if ch.ts <= last {
			t.Errorf("change %v is not after %d", ch, last)
		}
	}
	// The position of the last change read resumes at the same place.
	execAll(t, c, fmt.Sprintf("DECLARE bypos SUBSCRIPTION CURSOR FOR sub SINCE '%s'", first[len(first)-1].pos))
	byPos := fetchSub(t, c, "FETCH 100 FROM bypos WITH (timeout = '1s')")
	if g, w := strings.Join(subOps(byPos), "|"), strings.Join(subOps(got), "|"); g != w {
		t.Fatalf("SINCE position %s after restart:\n%s\nwant\n%s", first[len(first)-1].pos, g, w)
	}
}

// Changes older than the retention are trimmed from the log; a cursor
// SINCE a trimmed time is refused.
func TestSubscriptionRetention(t *testing.T) {
	ctx := context.Background()
	ts, w := startWithConn(t, "sub", evFeed("", "retention = '1 second'")...)
	start := time.Now().UnixMilli() - 1
	execAll(t, w, "INSERT INTO ev VALUES (1)", "FLUSH")
	// A reader that reads the first change and then stays away.
	slow := mustConnectAs(t, ts, "slow")
	execAll(t, slow, "DECLARE cur SUBSCRIPTION CURSOR FOR sub SINCE begin()")
	first := fetchSub(t, slow, "FETCH 1 FROM cur WITH (timeout = '1s')")
	if len(first) != 1 {
		t.Fatalf("first change: %v", first)
	}
	oid := subscriptionOID(t, ts.Engine, "sub")
	if n, err := ts.Engine.ChangeLogKeys(oid); err != nil || n != 3 {
		t.Fatalf("log keys: %d, %v; want its start, an epoch header and a row", n, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		time.Sleep(300 * time.Millisecond)
		execAll(t, w, "INSERT INTO ev SELECT coalesce(max(id), 0) + 1 FROM ev", "FLUSH")
		execAll(t, w, "DECLARE cur SUBSCRIPTION CURSOR FOR sub SINCE begin()")
		cs := fetchSub(t, w, "FETCH 100 FROM cur WITH (timeout = '0s')")
		execAll(t, w, "CLOSE cur")
		if len(cs) > 0 && cs[0].row != "1" {
			for _, c := range cs {
				if time.Since(time.UnixMilli(c.ts)) > 3*time.Second {
					t.Errorf("change %v is kept past the retention", c)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the first change is still retained after 5s: %v", cs)
		}
	}
	_, err := w.Exec(ctx, fmt.Sprintf("DECLARE old SUBSCRIPTION CURSOR FOR sub SINCE %d", start))
	wantCode(t, err, "55000")
	_, err = w.Exec(ctx, fmt.Sprintf("DECLARE old SUBSCRIPTION CURSOR FOR sub SINCE '%s'", first[0].pos))
	wantCode(t, err, "55000")
	// The slow reader's next changes are gone: an error, not a gap.
	_, err = querySub(slow, "FETCH 100 FROM cur WITH (timeout = '0s')")
	wantCode(t, err, "55000")
}

// SUBSCRIBE AS OF an epoch before the last one resumes from a durable
// subscription's log: the changes after that epoch, then live ones; an
// epoch the log does not hold is refused.
func TestSubscribeAsOfFromSubscriptionLog(t *testing.T) {
	ctx := context.Background()
	ts, w := startWithConn(t, "sub",
		"CREATE TABLE p (sym text PRIMARY KEY, px int)",
		"INSERT INTO p VALUES ('A', 1)",
		"CREATE MATERIALIZED VIEW pv AS SELECT sym, px FROM p",
		"FLUSH")
	execAll(t, w, "CREATE SUBSCRIPTION keep FROM pv WITH (retention = '1 hour')")

	// A first subscriber reads the snapshot and remembers its epoch.
	r := mustConnectAs(t, ts, "reader")
	execAll(t, r, "BEGIN", "DECLARE c CURSOR FOR SUBSCRIBE pv")
	var seen int64
	if err := r.QueryRow(ctx, "FETCH 1 c WITH (timeout = '5s')").Scan(&seen, new(int64), new(string), new(int32)); err != nil {
		t.Fatal(err)
	}
	execAll(t, r, "ROLLBACK")

	// While it is away: changes in later epochs.
	execAll(t, w, "INSERT INTO p VALUES ('B', 5)", "FLUSH", "UPDATE p SET px = 2 WHERE sym = 'A'", "FLUSH")

	execAll(t, r, "BEGIN", fmt.Sprintf("DECLARE c CURSOR FOR SUBSCRIBE pv AS OF %d", seen))
	rows, err := r.Query(ctx, "FETCH ALL c WITH (timeout = '2s')")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows.FieldDescriptions()) == 0 {
		rows.Close()
		t.Fatalf("FETCH after AS OF %d: %v", seen, rows.Err())
	}
	got := readChanges(t, rows, 3)
	rows.Close()
	if g := strings.Join(diffs(got), "|"); g != "+1 B,5|-1 A,1|+1 A,2" {
		t.Fatalf("AS OF %d: %s", seen, g)
	}
	for _, c := range got {
		if c.epoch <= seen {
			t.Errorf("change %v is not after epoch %d", c, seen)
		}
	}
	// Then live changes.
	execAll(t, w, "DELETE FROM p WHERE sym = 'B'")
	rows, err = r.Query(ctx, "FETCH ALL c WITH (timeout = '5s')")
	if err != nil {
		t.Fatal(err)
	}
	got = readChanges(t, rows, 1)
	rows.Close()
	if g := strings.Join(diffs(got), "|"); g != "-1 B,5" {
		t.Fatalf("live after AS OF: %s", g)
	}
	execAll(t, r, "ROLLBACK")

	// Epoch 1 is before the subscription: not in its log.
	_, err = w.Exec(ctx, "SUBSCRIBE pv AS OF 1")
	wantCode(t, err, "55000")
}
