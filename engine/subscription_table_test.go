package engine_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"streamsql/engine"
)

// A subscription on a plain table (with and without a primary key) logs
// its inserts, updates and deletes from the moment it is created, serves
// FULL cursors (the table's rows, then the changes after them), keeps its
// log across a restart, and takes SELECT on the table to read.
func TestSubscriptionOnTable(t *testing.T) {
	s := openStack(t, engine.Options{})
	ctx := context.Background()
	s.execAll(t,
		"CREATE TABLE acct (id int PRIMARY KEY, owner text, bal int)",
		"CREATE TABLE notes (body text)",
		"INSERT INTO acct VALUES (1, 'ann', 10), (2, 'bob', 20)",
		"INSERT INTO notes VALUES ('old')",
		"CREATE SUBSCRIPTION acct_feed FROM acct WITH (retention = '1 hour')",
		"CREATE SUBSCRIPTION notes_feed FROM notes",
		"INSERT INTO acct VALUES (3, 'cy', 30)",
		"UPDATE acct SET bal = 25 WHERE id = 2",
		"DELETE FROM acct WHERE id = 1",
		"INSERT INTO notes VALUES ('new')", "DELETE FROM notes WHERE body = 'old'",
		"FLUSH")
	w := s.connect(t)
	execAll(t, w, "DECLARE c SUBSCRIPTION CURSOR FOR acct_feed SINCE begin()")
	got := fetchSub(t, w, "FETCH 100 FROM c WITH (timeout = '1s')")
	// The rows there before the subscription are not changes of it.
	if g := strings.Join(sortedStrings(subOps(got)), "|"); g != "Delete 1,ann,10|Insert 3,cy,30|UpdateDelete 2,bob,20|UpdateInsert 2,bob,25" {
		t.Fatalf("changes of acct: %s", g)
	}
	execAll(t, w, "DECLARE n SUBSCRIPTION CURSOR FOR notes_feed SINCE begin()")
	if g := strings.Join(sortedStrings(subOps(fetchSub(t, w, "FETCH 100 FROM n WITH (timeout = '1s')"))), "|"); g != "Delete old|Insert new" {
		t.Fatalf("changes of notes (no primary key): %s", g)
	}
	execAll(t, w, "DECLARE f SUBSCRIPTION CURSOR FOR acct_feed FULL")
	snap := fetchSub(t, w, "FETCH 2 FROM f WITH (timeout = '1s')")
	if g := strings.Join(subOps(snap), "|"); g != "Insert 2,bob,25|Insert 3,cy,30" {
		t.Fatalf("FULL snapshot of acct: %s", g)
	}
	execAll(t, w, "UPDATE acct SET owner = 'dee' WHERE id = 3")
	live := fetchSubAtLeast(t, w, "FETCH 2 FROM f WITH (timeout = '5s')", 2)
	if g := strings.Join(subOps(live), "|"); g != "UpdateDelete 3,cy,30|UpdateInsert 3,dee,30" {
		t.Fatalf("after the FULL snapshot: %s", g)
	}
	last := live[len(live)-1].pos
	var name, from, ret string
	if err := w.QueryRow(ctx, "SHOW SUBSCRIPTIONS").Scan(&name, &from, &ret); err != nil || name != "acct_feed" || from != "acct" {
		t.Fatalf("SHOW SUBSCRIPTIONS: %s %s %s %v", name, from, ret, err)
	}
	// A column added to the table later is not logged: the subscription
	// keeps the columns it was created with.
	execAll(t, w, "ALTER TABLE acct ADD COLUMN note text")
	w.Close(ctx)

	s.restart(t)
	s.execAll(t, "INSERT INTO acct VALUES (4, 'eve', 40, 'x')", "FLUSH")
	w = s.connect(t)
	execAll(t, w, fmt.Sprintf("DECLARE r SUBSCRIPTION CURSOR FOR acct_feed SINCE '%s'", last))
	if g := strings.Join(subOps(fetchSub(t, w, "FETCH 10 FROM r WITH (timeout = '5s')")), "|"); g != "Insert 4,eve,40" {
		t.Fatalf("after the restart, SINCE the last position: %s", g)
	}
	if n := runningJobs(t, w); n != 2 {
		t.Fatalf("%d jobs run after the restart, want the two subscriptions' feeds", n)
	}

	// Reading takes SELECT on the table; with row-level security binding
	// the reader, only the subscription's owner reads it.
	execAll(t, w, "CREATE ROLE reader LOGIN", "GRANT USAGE ON SCHEMA public TO reader")
	r := mustConnectAs(t, s.Server, "reader")
	_, err := r.Exec(ctx, "DECLARE c SUBSCRIPTION CURSOR FOR acct_feed SINCE begin()")
	wantCode(t, err, "42501")
	execAll(t, w, "GRANT SELECT ON acct TO reader")
	execAll(t, r, "DECLARE c SUBSCRIPTION CURSOR FOR acct_feed SINCE begin()", "CLOSE c")
	execAll(t, w, "CREATE POLICY own ON acct USING (owner = current_user)", "ALTER TABLE acct ENABLE ROW LEVEL SECURITY")
	_, err = r.Exec(ctx, "DECLARE c SUBSCRIPTION CURSOR FOR acct_feed SINCE begin()")
	wantCode(t, err, "42501")

	// A source is neither a table nor a view; DROP TABLE needs CASCADE,
	// which drops the subscriptions and stops their feed jobs.
	_, err = w.Exec(ctx, "DROP TABLE notes")
	wantCode(t, err, "2BP01")
	execAll(t, w, "DROP TABLE notes CASCADE", "DROP SUBSCRIPTION acct_feed")
	if n := runningJobs(t, w); n != 0 {
		t.Fatalf("%d jobs run after the subscriptions were dropped", n)
	}
	execAll(t, w, "CREATE SOURCE gen (x int) WITH (connector = 'datagen', datagen.rows.limit = '1')")
	_, err = w.Exec(ctx, "CREATE SUBSCRIPTION g FROM gen")
	wantCode(t, err, "42809")
}
