package engine_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"streamsql/internal/sqltest"
	"streamsql/internal/testserver"
	"streamsql/storage"
)

// change is one SUBSCRIBE row reduced to what tests compare.
type change struct {
	epoch int64
	diff  int64
	row   string
}

// readChanges reads n rows of a SUBSCRIBE (ss_epoch, ss_diff, then the
// relation's columns) within the deadline, skipping progress rows.
func readChanges(t *testing.T, rows pgx.Rows, n int) []change {
	t.Helper()
	var out []change
	data := 2
	if rows.FieldDescriptions()[2].Name == "ss_progressed" {
		data = 3
	}
	for len(out) < n && rows.Next() {
		v, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		if data == 3 && v[2].(bool) {
			continue
		}
		c := change{epoch: v[0].(int64), diff: v[1].(int64)}
		var parts []string
		for _, x := range v[data:] {
			parts = append(parts, fmt.Sprint(x))
		}
		c.row = strings.Join(parts, ",")
		out = append(out, c)
	}
	if len(out) < n {
		t.Fatalf("got %d changes, want %d (%v): %v", len(out), n, out, rows.Err())
	}
	return out
}

func diffs(cs []change) []string {
	var out []string
	for _, c := range cs {
		out = append(out, fmt.Sprintf("%+d %s", c.diff, c.row))
	}
	return out
}

// SUBSCRIBE over pgx: the snapshot at one epoch, then every committed
// insert, update and delete of the view as diffs in epoch order.
func TestSubscribeViewPgx(t *testing.T) {
	ctx := context.Background()
	ts, w := startWithConn(t, "sub",
		"CREATE TABLE trades (id int PRIMARY KEY, sym text, qty int)",
		"INSERT INTO trades VALUES (1, 'A', 10), (2, 'B', 20)",
		"CREATE MATERIALIZED VIEW totals AS SELECT sym, sum(qty) AS qty FROM trades GROUP BY sym")
	r := mustConnectAs(t, ts, "sub")
	qctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	rows, err := r.Query(qctx, "SUBSCRIBE totals")
	if err != nil {
		t.Fatal(err)
	}
	fields := rows.FieldDescriptions()
	var names []string
	for _, f := range fields {
		names = append(names, f.Name)
	}
	if got := strings.Join(names, ","); got != "ss_epoch,ss_diff,sym,qty" {
		t.Fatalf("columns %s", got)
	}
	snap := readChanges(t, rows, 2)
	if snap[0].epoch != snap[1].epoch {
		t.Errorf("snapshot spans epochs: %v", snap)
	}
	got := strings.Join(sortedStrings(diffs(snap)), ";")
	if got != "+1 A,10;+1 B,20" {
		t.Errorf("snapshot %s", got)
	}
	execAll(t, w, "INSERT INTO trades VALUES (3, 'A', 5)")
	ins := readChanges(t, rows, 2)
	if got := strings.Join(sortedStrings(diffs(ins)), ";"); got != "+1 A,15;-1 A,10" {
		t.Errorf("after insert %s", got)
	}
	if ins[0].epoch <= snap[0].epoch || ins[0].epoch != ins[1].epoch {
		t.Errorf("epochs: snapshot %d, insert %v", snap[0].epoch, ins)
	}
	execAll(t, w, "UPDATE trades SET qty = 25 WHERE id = 2")
	upd := readChanges(t, rows, 2)
	if got := strings.Join(sortedStrings(diffs(upd)), ";"); got != "+1 B,25;-1 B,20" {
		t.Errorf("after update %s", got)
	}
	execAll(t, w, "DELETE FROM trades WHERE sym = 'B'")
	del := readChanges(t, rows, 1)
	if got := strings.Join(diffs(del), ";"); got != "-1 B,25" {
		t.Errorf("after delete %s", got)
	}
	if !(snap[0].epoch < ins[0].epoch && ins[0].epoch < upd[0].epoch && upd[0].epoch < del[0].epoch) {
		t.Errorf("epochs not increasing: %d %d %d %d", snap[0].epoch, ins[0].epoch, upd[0].epoch, del[0].epoch)
	}
}

// waitProgress reads up to the first progress row: the subscription is
// live, and changes committed from now on come as changes.
func waitProgress(t *testing.T, rows pgx.Rows) {
	t.Helper()
	for rows.Next() {
		v, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		if v[2].(bool) {
			return
		}
	}
	t.Fatalf("no progress row: %v", rows.Err())
}

func sortedStrings(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// SUBSCRIBE to a table and to a query runs a temporary job; SNAPSHOT =
// false starts at the changes; PROGRESS marks epochs; the job goes away
// with the subscriber.
func TestSubscribeTableQueryProgress(t *testing.T) {
	ctx := context.Background()
	ts, w := startWithConn(t, "sub", "CREATE TABLE t (id int PRIMARY KEY, v text)", "INSERT INTO t VALUES (1, 'one')")

	r := mustConnectAs(t, ts, "sub")
	qctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	sctx, stop := context.WithCancel(qctx)
	rows, err := r.Query(sctx, "SUBSCRIBE t WITH (SNAPSHOT = false, PROGRESS = true)")
	if err != nil {
		t.Fatal(err)
	}
	waitProgress(t, rows)
	if n := jobCount(t, w); n != 1 {
		t.Errorf("%d jobs while subscribed to a table, want 1", n)
	}
	execAll(t, w, "INSERT INTO t VALUES (2, 'two')", "UPDATE t SET v = 'uno' WHERE id = 1", "DELETE FROM t WHERE id = 2")
	got := diffs(readChanges(t, rows, 4))
	want := "+1 2,two;-1 1,one;+1 1,uno;-1 2,two"
	if strings.Join(got[:1], ";") != "+1 2,two" || strings.Join(sortedStrings(got[1:3]), ";") != "+1 1,uno;-1 1,one" || got[3] != "-1 2,two" {
		t.Errorf("table changes %v, want %s", got, want)
	}
	// Cancelling the query (pgx sends a CancelRequest) ends the
	// subscription.
	stop()
	rows.Close()
	r.Close(ctx)
	deadline := time.Now().Add(5 * time.Second)
	for jobCount(t, w) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the temporary job is still running after the subscriber left")
		}
		time.Sleep(20 * time.Millisecond)
	}

	r2 := mustConnectAs(t, ts, "sub")
	rows, err = r2.Query(qctx, "SUBSCRIBE (SELECT upper(v) AS u FROM t WHERE id > 0) WITH (PROGRESS)")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range rows.FieldDescriptions() {
		names = append(names, f.Name)
	}
	if got := strings.Join(names, ","); got != "ss_epoch,ss_diff,ss_progressed,u" {
		t.Fatalf("columns %s", got)
	}
	// The snapshot row, then a progress row for its epoch, then more
	// progress rows as epochs pass with no change.
	var sawData, progressAfter int
	var last int64
	for progressAfter < 3 && rows.Next() {
		v, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		e := v[0].(int64)
		if e < last {
			t.Fatalf("epoch went back: %d after %d", e, last)
		}
		last = e
		if v[2].(bool) {
			if v[1] != nil || v[3] != nil {
				t.Errorf("progress row with data: %v", v)
			}
			if sawData > 0 {
				progressAfter++
			}
			continue
		}
		if v[3] != "UNO" || v[1].(int64) != 1 {
			t.Errorf("row %v", v)
		}
		sawData++
	}
	if sawData != 1 || progressAfter < 3 {
		t.Fatalf("data rows %d, progress rows %d: %v", sawData, progressAfter, rows.Err())
	}
	// A subscriber that goes without cancelling: the server notices the
	// closed connection.
	r2.Close(ctx)
}

func jobCount(t *testing.T, conn *pgx.Conn) int {
	t.Helper()
	_, jobs := sqltest.Jobs(t, conn)
	return len(jobs)
}

// ENVELOPE UPSERT: one row per key and epoch, upsert with the new values
// or delete with NULLs.
func TestSubscribeEnvelopeUpsert(t *testing.T) {
	ctx := context.Background()
	ts, w := startWithConn(t, "sub", "CREATE TABLE p (sym text PRIMARY KEY, px int)", "INSERT INTO p VALUES ('A', 1)",
		"CREATE MATERIALIZED VIEW pv AS SELECT sym, px FROM p")
	r := mustConnectAs(t, ts, "sub")
	qctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	rows, err := r.Query(qctx, "SUBSCRIBE pv ENVELOPE UPSERT (KEY (sym))")
	if err != nil {
		t.Fatal(err)
	}
	next := func() string {
		if !rows.Next() {
			t.Fatalf("no row: %v", rows.Err())
		}
		v, _ := rows.Values()
		return fmt.Sprint(v[1:])
	}
	if got := next(); got != "[upsert A 1]" {
		t.Errorf("snapshot %s", got)
	}
	execAll(t, w, "UPDATE p SET px = 2 WHERE sym = 'A'")
	if got := next(); got != "[upsert A 2]" {
		t.Errorf("update %s", got)
	}
	execAll(t, w, "DELETE FROM p")
	if got := next(); got != "[delete A <nil>]" {
		t.Errorf("delete %s", got)
	}
	// Epoch 1 is long gone: no history is kept for SUBSCRIBE.
	_, err = w.Exec(ctx, "SUBSCRIBE pv AS OF 1")
	wantCode(t, err, "55000")
}

// COPY (SUBSCRIBE ...) TO STDOUT in psql prints each change as it
// commits.
func TestSubscribeCopyPsql(t *testing.T) {
	psql, err := exec.LookPath("psql")
	if err != nil {
		t.Skip("psql is not installed")
	}
	ts, w := startWithConn(t, "sub", "CREATE TABLE q (id int PRIMARY KEY, v text)", "INSERT INTO q VALUES (1, 'a')",
		"CREATE MATERIALIZED VIEW qv AS SELECT id, v FROM q")
	// psql writes COPY data through stdio, which buffers a pipe whole:
	// line buffering (as a terminal has) lets the test see each row.
	stdbuf, err := exec.LookPath("stdbuf")
	if err != nil {
		t.Skip("stdbuf is not installed")
	}
	cmd := exec.Command(stdbuf, "-oL", psql, "-X", "-h", ts.Host, "-p", fmt.Sprint(ts.Port), "-U", "sub", "-d", "streamsql",
		"-c", "COPY (SUBSCRIBE qv) TO STDOUT")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	line := func() []string {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("psql ended")
			}
			return strings.Split(l, "\t")
		case <-time.After(10 * time.Second):
			t.Fatal("no line from psql within 10 s")
		}
		return nil
	}
	if l := line(); strings.Join(l[1:], " ") != "1 1 a" {
		t.Errorf("snapshot line %q", l)
	}
	execAll(t, w, "UPDATE q SET v = 'b' WHERE id = 1")
	got := []string{strings.Join(line()[1:], " "), strings.Join(line()[1:], " ")}
	if strings.Join(sortedStrings(got), ";") != "-1 1 a;1 1 b" {
		t.Errorf("update lines %v", got)
	}
}

// A subscriber that stops reading is cut off with 53400 once its buffer
// is full; the view and a subscriber that reads go on.
func TestSubscribeSlowSubscriberCutOff(t *testing.T) {
	ctx := context.Background()
	ts, w := startWithConn(t, "sub", "CREATE TABLE big (id int PRIMARY KEY, pad text)",
		"CREATE MATERIALIZED VIEW bigv AS SELECT id, pad FROM big")
	qctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()

	slow := mustConnectAs(t, ts, "sub")
	execAll(t, slow, "SET subscribe_buffer_rows = 2000")
	// pgx's Query returns at the first row: PROGRESS gives one at once.
	slowRows, err := slow.Query(qctx, "SUBSCRIBE bigv WITH (PROGRESS)")
	if err != nil {
		t.Fatal(err)
	}
	waitProgress(t, slowRows)
	fast := mustConnectAs(t, ts, "sub")
	fastRows, err := fast.Query(qctx, "SUBSCRIBE bigv WITH (SNAPSHOT = false, PROGRESS)")
	if err != nil {
		t.Fatal(err)
	}
	waitProgress(t, fastRows)
	fastDone := make(chan int)
	const batches, per = 40, 500 // 20,000 rows of 2 kB: more than the sockets hold
	go func() {
		n := 0
		for n < batches*per && fastRows.Next() {
			if v, _ := fastRows.Values(); !v[2].(bool) {
				n++
			}
		}
		fastDone <- n
	}()
	start := time.Now()
	for b := 0; b < batches; b++ {
		execAll(t, w, fmt.Sprintf("INSERT INTO big SELECT g, repeat('x', 2000) FROM generate_series(%d, %d) AS g", b*per+1, (b+1)*per))
	}
	t.Logf("%d inserts with a stalled subscriber took %v", batches, time.Since(start))
	if n := <-fastDone; n != batches*per {
		t.Fatalf("the reading subscriber got %d rows, want %d: %v", n, batches*per, fastRows.Err())
	}
	// The stalled one now reads what reached its socket, then the error.
	n := 0
	for slowRows.Next() {
		if v, _ := slowRows.Values(); !v[2].(bool) {
			n++
		}
	}
	var pe *pgconn.PgError
	if err := slowRows.Err(); !errors.As(err, &pe) || pe.Code != "53400" {
		t.Fatalf("stalled subscriber ended with %v after %d rows, want SQLSTATE 53400", err, n)
	}
	if n >= batches*per {
		t.Fatalf("stalled subscriber got all %d rows", n)
	}
	t.Logf("stalled subscriber cut off after %d rows: %s", n, pe.Message)
}

// A CancelRequest (psql's Ctrl-C) ends a SUBSCRIBE with 57014.
func TestSubscribeCancel(t *testing.T) {
	ctx := context.Background()
	_, c := startWithConn(t, "sub", "CREATE TABLE cx (id int PRIMARY KEY)", "CREATE MATERIALIZED VIEW cxv AS SELECT id FROM cx")
	rows, err := c.Query(ctx, "SUBSCRIBE cxv WITH (PROGRESS)")
	if err != nil {
		t.Fatal(err)
	}
	waitProgress(t, rows)
	start := time.Now()
	if err := c.PgConn().CancelRequest(ctx); err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
	}
	wantCode(t, rows.Err(), "57014")
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("cancel took %v", d)
	}
}

// A subscription's temporary job leaves nothing on disk after kill -9:
// the restart deletes its view rows, state and records.
func TestSubscribeTempJobCrashCleanup(t *testing.T) {
	srv := testserver.StartBuilt(t, "warn")
	ctx := context.Background()
	c := srv.Dial(t)
	execAll(t, c, "CREATE TABLE crashy (id int PRIMARY KEY, v text)", "INSERT INTO crashy SELECT g, 'x' FROM generate_series(1, 100) AS g")
	r := srv.Dial(t)
	rows, err := r.Query(ctx, "SUBSCRIBE (SELECT v, count(*) AS n FROM crashy GROUP BY v)")
	if err != nil {
		t.Fatal(err)
	}
	if cs := readChanges(t, rows, 1); cs[0].row != "x,100" {
		t.Fatalf("snapshot %v", cs)
	}
	srv.Kill()
	temp := func() int {
		db, err := storage.Open(srv.Dir)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		n := 0
		for _, span := range [][2][]byte{
			{storage.TableKey(0xF000_0000, nil), []byte{storage.PrefixTable + 1}},
			{[]byte{storage.PrefixEpoch, 0xF0}, []byte{storage.PrefixEpoch + 1}},
		} {
			it, err := db.Latest().NewIter(span[0], span[1])
			if err != nil {
				t.Fatal(err)
			}
			for ok := it.First(); ok; ok = it.Next() {
				n++
			}
			it.Close()
		}
		return n
	}
	if n := temp(); n == 0 {
		t.Fatal("the killed server left no temporary job keys: the test checks nothing")
	}
	srv = srv.Restart(t)
	c = srv.Dial(t)
	execAll(t, c, "SELECT 1")
	c.Close(ctx)
	srv.Kill()
	if n := temp(); n != 0 {
		t.Fatalf("%d keys of the temporary job remain after the restart", n)
	}
}
