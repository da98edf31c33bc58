package engine_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// positionKey splits a change's _position "epoch/seq" for comparison.
func positionKey(t *testing.T, p string) (uint64, uint64) {
	t.Helper()
	es, ss, ok := strings.Cut(p, "/")
	e, err1 := strconv.ParseUint(es, 10, 64)
	s, err2 := strconv.ParseUint(ss, 10, 32)
	if !ok || err1 != nil || err2 != nil {
		t.Fatalf("_position %q is not epoch/seq", p)
	}
	return e, s
}

// A consumer killed in the middle of an epoch resumes SINCE the position
// of the last change it processed: it gets the rest of that epoch and the
// later ones, with no change twice and none missing.
func TestSubscriptionResumeMidEpoch(t *testing.T) {
	ctx := context.Background()
	ts, w := startWithConn(t, "sub", evFeed("v int", "retention = '1 hour'")...)
	// One epoch of six changes, then one of three.
	execAll(t, w, "INSERT INTO ev SELECT g, g * 10 FROM generate_series(1, 6) g", "FLUSH",
		"INSERT INTO ev SELECT g, g * 10 FROM generate_series(7, 9) g", "FLUSH")

	// Every change, with its position, read in one go.
	execAll(t, w, "DECLARE everything SUBSCRIPTION CURSOR FOR sub SINCE begin()")
	all := fetchSub(t, w, "FETCH 100 FROM everything WITH (timeout = '1s')")
	if len(all) != 9 {
		t.Fatalf("%d changes logged, want 9: %v", len(all), all)
	}
	for i, c := range all {
		e, s := positionKey(t, c.pos)
		if i > 0 {
			pe, ps := positionKey(t, all[i-1].pos)
			if !(e > pe || e == pe && s > ps) {
				t.Fatalf("positions not increasing: %s after %s", c.pos, all[i-1].pos)
			}
		}
		if i < 6 && s != uint64(i) || i >= 6 && s != uint64(i-6) {
			t.Errorf("change %d has position %s: seq counts the changes of its epoch from 0", i, c.pos)
		}
	}

	// A consumer reads two changes of the first epoch and dies: its
	// connection is cut, not closed.
	a := mustConnectAs(t, ts, "consumer")
	execAll(t, a, "DECLARE cur SUBSCRIPTION CURSOR FOR sub SINCE begin()")
	seen := fetchSub(t, a, "FETCH 2 FROM cur WITH (timeout = '1s')")
	if len(seen) != 2 {
		t.Fatalf("first FETCH 2: %v", seen)
	}
	a.PgConn().Conn().Close()

	// It comes back and resumes after the last change it processed.
	b := mustConnectAs(t, ts, "consumer")
	last := seen[len(seen)-1].pos
	execAll(t, b, fmt.Sprintf("DECLARE cur SUBSCRIPTION CURSOR FOR sub SINCE '%s'", last))
	rest := fetchSub(t, b, "FETCH 100 FROM cur WITH (timeout = '1s')")
	if g, w := strings.Join(subOps(append(seen, rest...)), "|"), strings.Join(subOps(all), "|"); g != w {
		t.Fatalf("before the kill and after resuming SINCE '%s':\n%s\nwant every change once:\n%s", last, g, w)
	}
	for i, c := range rest {
		if c.pos != all[i+2].pos {
			t.Errorf("resumed change %d has position %s, want %s", i, c.pos, all[i+2].pos)
		}
	}
	// Live changes follow.
	execAll(t, w, "UPDATE ev SET v = 0 WHERE id = 1")
	live := fetchSubAtLeast(t, b, "FETCH 10 FROM cur WITH (timeout = '5s')", 2)
	if g := strings.Join(subOps(live), "|"); g != "UpdateDelete 1,10|UpdateInsert 1,0" {
		t.Fatalf("live after resuming: %s", g)
	}

	// The end of an epoch ("epoch" alone) resumes at the next epoch.
	firstEpoch, _ := positionKey(t, all[0].pos)
	execAll(t, b, fmt.Sprintf("DECLARE next SUBSCRIPTION CURSOR FOR sub SINCE '%d'", firstEpoch))
	next := fetchSub(t, b, "FETCH 3 FROM next WITH (timeout = '1s')")
	if g, w := strings.Join(subOps(next), "|"), strings.Join(subOps(all[6:]), "|"); g != w {
		t.Fatalf("SINCE '%d': %s, want %s", firstEpoch, g, w)
	}
	// The last change of the log: nothing until a new one.
	execAll(t, b, fmt.Sprintf("DECLARE tail SUBSCRIPTION CURSOR FOR sub SINCE '%s'", live[len(live)-1].pos))
	if cs := fetchSub(t, b, "FETCH 10 FROM tail WITH (timeout = '0s')"); len(cs) != 0 {
		t.Fatalf("after the last change: %v", cs)
	}

	// Positions that are not, that are not committed yet, or that the
	// log does not hold (before the subscription existed).
	for _, bad := range []string{"x", "12/", "/3", "-1/0", "1/4294967295", "+1/2"} {
		_, err := b.Exec(ctx, fmt.Sprintf("DECLARE bad SUBSCRIPTION CURSOR FOR sub SINCE '%s'", bad))
		wantCode(t, err, "22023")
	}
	_, err := b.Exec(ctx, "DECLARE bad SUBSCRIPTION CURSOR FOR sub SINCE ''")
	wantCode(t, err, "42601")
	_, err = b.Exec(ctx, "DECLARE bad SUBSCRIPTION CURSOR FOR sub SINCE '99999999/0'")
	wantCode(t, err, "22023")
	_, err = b.Exec(ctx, "DECLARE bad SUBSCRIPTION CURSOR FOR sub SINCE '1/0'")
	wantCode(t, err, "55000")
}

// A FULL cursor returns the view's contents (Insert rows, no commit
// time, each carrying its row's position but the last, which carries the
// snapshot's), then the changes
// committed after it; resuming at the snapshot's position returns only
// those changes.
func TestSubscriptionCursorFull(t *testing.T) {
	ts, w := startWithConn(t, "sub",
		"CREATE TABLE ev (id int PRIMARY KEY, v int)",
		"INSERT INTO ev SELECT g, g FROM generate_series(1, 2000) g",
		"CREATE MATERIALIZED VIEW evs AS SELECT id, v FROM ev",
		"CREATE SUBSCRIPTION sub FROM evs")
	r := mustConnectAs(t, ts, "reader")
	execAll(t, r, "DECLARE cur SUBSCRIPTION CURSOR FOR sub FULL")
	// Changes after the DECLARE come after the snapshot.
	execAll(t, w, "DELETE FROM ev WHERE id = 7", "INSERT INTO ev VALUES (5000, 1)", "FLUSH")
	var snap []subChange
	for len(snap) < 2000 {
		cs := fetchSub(t, r, fmt.Sprintf("FETCH %d FROM cur WITH (timeout = '2s')", min(700, 2000-len(snap))))
		if len(cs) == 0 {
			t.Fatalf("snapshot ends after %d rows", len(snap))
		}
		snap = append(snap, cs...)
	}
	if len(snap) != 2000 {
		t.Fatalf("snapshot and changes mixed: %d rows", len(snap))
	}
	ids := map[string]bool{}
	for i, c := range snap {
		if c.op != "Insert" || c.ts != 0 || (strings.Contains(c.pos, "@") != (i < len(snap)-1)) {
			t.Fatalf("snapshot row %d: %+v; want Insert, no rw_timestamp, a row position (epoch@key) on all but the last", i, c)
		}
		ids[c.row] = true
	}
	if len(ids) != 2000 || !ids["7,7"] || ids["5000,1"] {
		t.Fatalf("snapshot: %d distinct rows, has 7: %v, has 5000: %v", len(ids), ids["7,7"], ids["5000,1"])
	}
	if _, err := strconv.ParseUint(snap[len(snap)-1].pos, 10, 64); err != nil {
		t.Fatalf("snapshot position %q is not an epoch", snap[len(snap)-1].pos)
	}
	changes := fetchSub(t, r, "FETCH 10 FROM cur WITH (timeout = '2s')")
	if g := strings.Join(sortedStrings(subOps(changes)), "|"); g != "Delete 7,7|Insert 5000,1" {
		t.Fatalf("changes after the snapshot: %s", g)
	}
	execAll(t, w, fmt.Sprintf("DECLARE again SUBSCRIPTION CURSOR FOR sub SINCE '%s'", snap[len(snap)-1].pos))
	again := fetchSub(t, w, "FETCH 10 FROM again WITH (timeout = '2s')")
	if g, want := strings.Join(subOps(again), "|"), strings.Join(subOps(changes), "|"); g != want {
		t.Fatalf("SINCE the snapshot's position: %s, want %s", g, want)
	}
}

// ALTER SUBSCRIPTION renames a subscription (its log and its readers'
// positions stay) and changes its retention, for its owner only; reading
// a subscription takes SELECT on its view, as creating one does.
func TestSubscriptionAlterAndPrivileges(t *testing.T) {
	ctx := context.Background()
	ts, w := startWithConn(t, "admin", evFeed("", "retention = '1 hour'")...)
	execAll(t, w, "INSERT INTO ev VALUES (1)", "FLUSH",
		"CREATE ROLE reader LOGIN", "GRANT USAGE ON SCHEMA public TO reader", "GRANT CREATE ON SCHEMA public TO reader")

	execAll(t, w, "DECLARE c SUBSCRIPTION CURSOR FOR sub SINCE begin()")
	before := fetchSub(t, w, "FETCH 10 FROM c WITH (timeout = '1s')")
	execAll(t, w, "ALTER SUBSCRIPTION sub RENAME TO feed", "ALTER SUBSCRIPTION feed SET (retention = '2 hours')")
	var name, from, ret string
	if err := w.QueryRow(ctx, "SHOW SUBSCRIPTIONS").Scan(&name, &from, &ret); err != nil {
		t.Fatal(err)
	}
	if name != "feed" || from != "evs" || ret != "2 hours" {
		t.Fatalf("after ALTER: %s %s %s", name, from, ret)
	}
	execAll(t, w, fmt.Sprintf("DECLARE d SUBSCRIPTION CURSOR FOR feed SINCE '%s'", before[0].pos), "INSERT INTO ev VALUES (2)")
	if cs := fetchSub(t, w, "FETCH 10 FROM d WITH (timeout = '5s')"); len(cs) != 1 || cs[0].row != "2" {
		t.Fatalf("the renamed subscription after the old position: %v", cs)
	}
	_, err := w.Exec(ctx, "ALTER SUBSCRIPTION feed SET (retention = 'never')")
	wantCode(t, err, "22023")
	_, err = w.Exec(ctx, "ALTER SUBSCRIPTION feed SET (color = 'red')")
	wantCode(t, err, "22023")
	_, err = w.Exec(ctx, "ALTER SUBSCRIPTION nosuch RENAME TO x")
	wantCode(t, err, "42704")
	execAll(t, w, "CREATE TABLE other (x int)")
	_, err = w.Exec(ctx, "ALTER SUBSCRIPTION feed RENAME TO other")
	wantCode(t, err, "42P07")

	// Without SELECT on the view, a role reads no subscription of it and
	// creates none; with it, it does both. Only the owner alters.
	r := mustConnectAs(t, ts, "reader")
	_, err = r.Exec(ctx, "DECLARE c SUBSCRIPTION CURSOR FOR feed SINCE begin()")
	wantCode(t, err, "42501")
	_, err = r.Exec(ctx, "CREATE SUBSCRIPTION mine FROM evs")
	wantCode(t, err, "42501")
	execAll(t, w, "GRANT SELECT ON evs TO reader")
	execAll(t, r, "DECLARE c SUBSCRIPTION CURSOR FOR feed SINCE begin()", "CREATE SUBSCRIPTION mine FROM evs")
	if cs := fetchSub(t, r, "FETCH 10 FROM c WITH (timeout = '1s')"); len(cs) != 2 {
		t.Fatalf("granted reader: %v", cs)
	}
	_, err = r.Exec(ctx, "ALTER SUBSCRIPTION feed SET (retention = '1 minute')")
	wantCode(t, err, "42501")
	execAll(t, r, "ALTER SUBSCRIPTION mine RENAME TO my_feed")
}

// A consumer that stops in the middle of a FULL cursor's snapshot resumes
// SINCE the position of the last row it processed, even after the view
// changed on both sides of that row: it gets the rest of the same
// snapshot, then every change after it, and ends with every row exactly
// once. Resuming again inside the resumed snapshot works the same way.
func TestSubscriptionCursorFullResumeMidSnapshot(t *testing.T) {
	ctx := context.Background()
	ts, w := startWithConn(t, "sub",
		"CREATE TABLE ev (id int PRIMARY KEY, v int)",
		"INSERT INTO ev SELECT g, g FROM generate_series(1, 3000) g",
		"CREATE MATERIALIZED VIEW evs AS SELECT id, v FROM ev",
		"CREATE SUBSCRIPTION sub FROM evs")
	state := map[string]string{} // id -> v, as the consumer builds it
	apply := func(stage string, cs []subChange) {
		t.Helper()
		for _, c := range cs {
			id, v, _ := strings.Cut(c.row, ",")
			switch c.op {
			case "Insert", "UpdateInsert":
				if old, dup := state[id]; dup {
					t.Fatalf("%s: %s %s but the consumer has %s,%s", stage, c.op, c.row, id, old)
				}
				state[id] = v
			default:
				if state[id] != v {
					t.Fatalf("%s: %s %s but the consumer has %s,%s", stage, c.op, c.row, id, state[id])
				}
				delete(state, id)
			}
		}
	}

	a := mustConnectAs(t, ts, "consumer")
	execAll(t, a, "DECLARE cur SUBSCRIPTION CURSOR FOR sub FULL")
	first := fetchSub(t, a, "FETCH 1000 FROM cur WITH (timeout = '2s')")
	if len(first) != 1000 {
		t.Fatalf("first FETCH: %d rows", len(first))
	}
	for i, c := range first {
		if !strings.Contains(c.pos, "@") || i > 0 && c.pos == first[i-1].pos {
			t.Fatalf("snapshot row %d has position %q", i, c.pos)
		}
	}
	apply("first 1000 of the snapshot", first)
	a.PgConn().Conn().Close()
	if first[999].row != "1000,1000" {
		t.Fatalf("the snapshot is not in key order: row 1000 is %s", first[999].row)
	}

	// The view changes before and after the consumer's place: deletes,
	// updates and inserts on both sides, some twice.
	execAll(t, w,
		"DELETE FROM ev WHERE id IN (5, 2500)",
		"UPDATE ev SET v = -v WHERE id IN (10, 2600, 1001)",
		"INSERT INTO ev VALUES (0, 0), (5000, 5000)", "FLUSH",
		"UPDATE ev SET v = 7 WHERE id IN (2600, 5000)",
		"DELETE FROM ev WHERE id = 2700",
		"INSERT INTO ev VALUES (2700, 1)", "FLUSH")

	b := mustConnectAs(t, ts, "consumer")
	execAll(t, b, fmt.Sprintf("DECLARE cur SUBSCRIPTION CURSOR FOR sub SINCE '%s'", first[999].pos))
	second := fetchSub(t, b, "FETCH 1600 FROM cur WITH (timeout = '2s')")
	if len(second) != 1600 {
		t.Fatalf("resumed FETCH: %d rows", len(second))
	}
	for i, c := range second {
		if c.op != "Insert" || !strings.Contains(c.pos, "@") {
			t.Fatalf("resumed snapshot row %d: %+v", i, c)
		}
	}
	apply("rows 1001-2600 of the snapshot", second)
	if second[0].row != "1001,1001" || second[1499].row != "2500,2500" || second[1599].row != "2600,2600" {
		t.Fatalf("the resumed snapshot is not the one at the epoch: %s, %s, %s", second[0].row, second[1499].row, second[1599].row)
	}
	b.PgConn().Conn().Close()

	c := mustConnectAs(t, ts, "consumer")
	execAll(t, c, fmt.Sprintf("DECLARE cur SUBSCRIPTION CURSOR FOR sub SINCE '%s'", second[1599].pos))
	var rest []subChange
	for {
		cs := fetchSub(t, c, "FETCH 1000 FROM cur WITH (timeout = '0s')")
		if len(cs) == 0 {
			break
		}
		rest = append(rest, cs...)
	}
	snapRows := 0
	for _, r := range rest {
		if r.ts == 0 {
			snapRows++
		}
	}
	if snapRows != 400 {
		t.Fatalf("the rest of the snapshot has %d rows, want 400", snapRows)
	}
	apply("the rest", rest)
	want := idValues(t, w, "SELECT id, v FROM evs")
	if len(state) != len(want) {
		t.Fatalf("the consumer has %d rows, the view %d", len(state), len(want))
	}
	for id, v := range want {
		if state[id] != v {
			t.Fatalf("id %s: consumer %q, view %q", id, state[id], v)
		}
	}

	_, err := c.Exec(ctx, "DECLARE bad SUBSCRIPTION CURSOR FOR sub SINCE '99999999@00'")
	wantCode(t, err, "22023")
	_, err = c.Exec(ctx, "DECLARE bad SUBSCRIPTION CURSOR FOR sub SINCE '12@zz'")
	wantCode(t, err, "22023")
}
