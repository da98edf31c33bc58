package postgrescdc

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"streamsql/connector"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

var kvCols = []connector.Column{{Name: "id", Type: types.TInt8}, {Name: "v", Type: types.TInt4}, {Name: "s", Type: types.TText}}

const kvDDL = "CREATE TABLE %s (id bigint PRIMARY KEY, v int, s text)"

func kvTable() *table { return newTable([]types.T{types.TInt8, types.TInt4, types.TText}, []int{0}) }

// crashRounds is how many times the crash test restarts the source:
// PGCDC_CRASH_ROUNDS, or 4.
func crashRounds() int {
	if n, err := strconv.Atoi(os.Getenv("PGCDC_CRASH_ROUNDS")); err == nil && n > 0 {
		return n
	}
	return 4
}

// TestSnapshotStreamingCrashes reads a table of 8,000 rows while four
// clients change it at random, and restarts the source from its last
// committed epoch again and again: first in the middle of the snapshot,
// then while streaming, and once cuts the replication connection on the
// server's side. Every chunk is applied strictly (a doubled or lost change
// fails at once), and at the end the table equals the upstream table.
func TestSnapshotStreamingCrashes(t *testing.T) {
	u := newUpstream(t, kvDDL)
	u.exec("INSERT INTO " + u.table + " SELECT g, g % 97, 'r' || g FROM generate_series(1, 8000) g")
	spec := u.spec(kvCols, []int{0}, "max.batch.rows", "100")
	ep := newEpochs()

	dmlCtx, stopDML := context.WithCancel(context.Background())
	defer stopDML()
	wg := randomDML(dmlCtx, t, u, 4, 4000)

	st, pos := kvTable(), []byte(nil)
	r := start(t, spec, ep, st, pos, 20*time.Millisecond)
	// Crash in the middle of the snapshot.
	for deadline := time.Now().Add(10 * time.Second); ; {
		r.mu.Lock()
		p, _ := decodePosition(r.pos)
		r.mu.Unlock()
		if p != nil && len(p.ranges) > 0 && !p.snapshotDone {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no snapshot batches")
		}
		time.Sleep(time.Millisecond)
	}
	var err error
	if st, pos, err = r.crash(); err != nil {
		t.Fatal(err)
	}
	p, _ := decodePosition(pos)
	if p == nil || p.snapshotDone {
		t.Fatalf("the first crash was meant to hit the snapshot, position %+v", p)
	}
	t.Logf("crashed mid-snapshot with %d rows committed", len(st.rows))

	rng := time.Now().UnixNano()
	for round := range crashRounds() {
		r = start(t, spec, ep, st, pos, 20*time.Millisecond)
		time.Sleep(time.Duration(100+rng%200) * time.Millisecond)
		rng = rng*6364136223846793005 + 1442695040888963407
		if round == 1 {
			// The server ends the replication connection: the reader
			// reconnects with backoff and goes on from its position.
			u.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_replication WHERE application_name = 'streamsql'")
			time.Sleep(300 * time.Millisecond)
		}
		if st, pos, err = r.crash(); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
	}
	r = start(t, spec, ep, st, pos, 20*time.Millisecond)
	defer r.crash()
	time.Sleep(200 * time.Millisecond)
	stopDML()
	wg.Wait()
	r.waitEqual(t, func() []string { return u.rows(kvCols) }, 15*time.Second)
	t.Logf("table equals upstream: %d rows", len(u.rows(kvCols)))

	// The slot's confirmed position follows the committed epochs.
	for deadline := time.Now().Add(5 * time.Second); ; {
		r.mu.Lock()
		p, _ := decodePosition(r.pos)
		r.mu.Unlock()
		if cf := u.confirmedFlush(); p != nil && cf >= p.lsn && cf > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("confirmed_flush_lsn %X did not reach the committed position %X", u.confirmedFlush(), p.lsn)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestConfirmOnlyAfterCommit holds the epoch commits: the slot's
// confirmed_flush_lsn must not move while changes are read but not
// committed, and must move once the epochs commit.
func TestConfirmOnlyAfterCommit(t *testing.T) {
	u := newUpstream(t, kvDDL)
	spec := u.spec(kvCols, []int{0})
	ep := newEpochs()
	r := start(t, spec, ep, kvTable(), nil, 20*time.Millisecond)
	defer r.crash()
	u.exec("INSERT INTO " + u.table + " VALUES (1, 1, 'a')")
	r.waitEqual(t, func() []string { return u.rows(kvCols) }, 10*time.Second)
	ep.mu.Lock()
	ep.hold = true
	ep.mu.Unlock()
	// Let the confirmations of the epochs committed so far arrive.
	time.Sleep(300 * time.Millisecond)
	before := u.confirmedFlush()
	for i := 2; i < 50; i++ {
		u.exec("INSERT INTO "+u.table+" VALUES ($1::bigint, $1::int, 'b')", i)
	}
	r.waitEqual(t, func() []string { return u.rows(kvCols) }, 10*time.Second)
	time.Sleep(300 * time.Millisecond)
	if held := u.confirmedFlush(); held != before {
		t.Fatalf("confirmed_flush_lsn moved from %X to %X with no epoch committed", before, held)
	}

	ep.mu.Lock()
	ep.hold = false
	ep.mu.Unlock()
	for deadline := time.Now().Add(5 * time.Second); u.confirmedFlush() <= before; {
		if time.Now().After(deadline) {
			t.Fatalf("confirmed_flush_lsn stayed at %X after the epochs committed", before)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestCrashInsideTransaction restarts the source after an epoch that
// committed part of a large upstream transaction: PostgreSQL sends the
// whole transaction again and the source skips the changes it handed on.
func TestCrashInsideTransaction(t *testing.T) {
	u := newUpstream(t, kvDDL)
	spec := u.spec(kvCols, []int{0}, "max.batch.rows", "100")
	ep := newEpochs()
	st, pos := kvTable(), []byte(nil)
	r := start(t, spec, ep, st, pos, 5*time.Millisecond)
	r.waitPos(t, func(p *position) bool { return p.snapshotDone })
	for attempt := 0; ; attempt++ {
		if attempt == 20 {
			t.Fatal("no epoch committed inside the transaction")
		}
		u.exec("INSERT INTO "+u.table+" SELECT g, g, 'x' FROM generate_series($1::bigint, $1::bigint + 4999) g", attempt*5000)
		var p *position
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			r.mu.Lock()
			p, _ = decodePosition(r.pos)
			r.mu.Unlock()
			if p != nil && p.txnRows > 0 {
				break
			}
		}
		var err error
		if st, pos, err = r.crash(); err != nil {
			t.Fatal(err)
		}
		r = start(t, spec, ep, st, pos, 5*time.Millisecond)
		if p != nil && p.txnRows > 0 {
			t.Logf("restarted after %d of the transaction's changes", p.txnRows)
			break
		}
	}
	defer r.crash()
	r.waitEqual(t, func() []string { return u.rows(kvCols) }, 10*time.Second)
}

// TestSlotInUse starts a second source on a slot another one streams
// from (as a restarted server does while PostgreSQL has not yet noticed
// the old connection died): it waits for the slot instead of failing,
// and takes over once the first one stops.
func TestSlotInUse(t *testing.T) {
	u := newUpstream(t, kvDDL)
	u.exec("INSERT INTO " + u.table + " VALUES (1, 1, 'a')")
	spec := u.spec(kvCols, []int{0})
	a := start(t, spec, newEpochs(), kvTable(), nil, 20*time.Millisecond)
	a.waitEqual(t, func() []string { return u.rows(kvCols) }, 10*time.Second)
	a.waitPos(t, func(p *position) bool { return p.snapshotDone })
	b := start(t, spec, newEpochs(), kvTable(), nil, 20*time.Millisecond)
	defer b.crash()
	time.Sleep(300 * time.Millisecond)
	select {
	case err := <-b.done:
		t.Fatalf("the second source stopped: %v", err)
	default:
	}
	if _, _, err := a.crash(); err != nil {
		t.Fatal(err)
	}
	u.exec("INSERT INTO " + u.table + " VALUES (2, 2, 'b')")
	b.waitEqual(t, func() []string { return u.rows(kvCols) }, 10*time.Second)
}

// TestMissingUpstreamTable: a source over a table the upstream database
// does not have stops with 42P01 (no reconnecting: a retry cannot fix
// it).
func TestMissingUpstreamTable(t *testing.T) {
	u := newUpstream(t, kvDDL)
	u.table = "no_such_" + u.table
	r := start(t, u.spec(kvCols, []int{0}), newEpochs(), kvTable(), nil, 20*time.Millisecond)
	select {
	case err := <-r.done:
		var se *sqlerr.Error
		if !errors.As(err, &se) || se.Code != sqlerr.UndefinedTable || !strings.Contains(err.Error(), u.table) {
			t.Fatalf("got %v, want 42P01 naming %s", err, u.table)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the source is still running")
	}
}
