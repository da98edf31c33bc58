package engine_test

import (
	"context"
	"testing"
	"time"

	"streamsql/engine"
)

// TestAdvisoryLockWaits: pg_advisory_lock waits for another session's hold
// and takes it once released (by unlock, by the end of the holder's
// transaction, by the holder's disconnect); lock_timeout ends the wait
// with 55P03, a CancelRequest with 57014; two sessions waiting for each
// other's locks get 40P01 in one of them, and the other goes on; an
// exclusive request queued behind shared holds is not overtaken by later
// shared requests.
func TestAdvisoryLockWaits(t *testing.T) {
	ts, a := startConn(t, engine.Options{})
	b := connect(t, ts, nil)
	ctx := context.Background()

	// Released by unlock.
	execAll(t, a, "SELECT pg_advisory_lock(1)")
	waitsUntil(t, b, "SELECT pg_advisory_lock(1)", a, "SELECT pg_advisory_unlock(1)")
	execAll(t, b, "SELECT pg_advisory_unlock(1)")

	// Released by COMMIT of a transaction-level hold.
	execAll(t, a, "BEGIN", "SELECT pg_advisory_xact_lock(2)")
	waitsUntil(t, b, "SELECT pg_advisory_xact_lock(2)", a, "COMMIT")

	// lock_timeout and cancel end a wait; the lock is then free of the
	// waiter (a's unlock and relock do not block).
	execAll(t, a, "SELECT pg_advisory_lock(3)")
	execAll(t, b, "SET lock_timeout = '150ms'")
	_, err := b.Exec(ctx, "SELECT pg_advisory_lock(3)")
	wantPgErr(t, err, "55P03", "canceling statement due to lock timeout")
	execAll(t, b, "SET lock_timeout = 0")
	time.AfterFunc(200*time.Millisecond, func() { _ = b.PgConn().CancelRequest(context.Background()) })
	_, err = b.Exec(ctx, "SELECT pg_advisory_lock(3)")
	wantPgErr(t, err, "57014", "canceling statement due to user request")

	// Deadlock: a holds 3 and waits for 4; b holds 4 and asks for 3.
	execAll(t, b, "SELECT pg_advisory_lock(4)")
	done := execAsync(a, "SELECT pg_advisory_lock(4)")
	stillWaiting(t, done, "a's pg_advisory_lock(4)")
	_, err = b.Exec(ctx, "SELECT pg_advisory_lock(3)")
	wantPgErr(t, err, "40P01", "deadlock detected")
	execAll(t, b, "SELECT pg_advisory_unlock(4)")
	finishes(t, done, "a's pg_advisory_lock(4) after the deadlock")
	execAll(t, a, "SELECT pg_advisory_unlock_all()")

	// First come, first served: a holds shared, b queues for exclusive,
	// c's later shared request waits behind b.
	c := connect(t, ts, nil)
	execAll(t, a, "SELECT pg_advisory_lock_shared(5)")
	doneB := execAsync(b, "SELECT pg_advisory_lock(5)")
	stillWaiting(t, doneB, "b's exclusive pg_advisory_lock(5)")
	if got := queryStrings(t, c, "SELECT pg_try_advisory_lock_shared(5)"); len(got) != 1 || got[0] != "false" {
		t.Fatalf("a shared request jumped the queued exclusive one: %q", got)
	}
	doneC := execAsync(c, "SELECT pg_advisory_lock_shared(5)")
	stillWaiting(t, doneC, "c's shared pg_advisory_lock(5)")
	execAll(t, a, "SELECT pg_advisory_unlock_shared(5)")
	finishes(t, doneB, "b's exclusive pg_advisory_lock(5)")
	stillWaiting(t, doneC, "c's shared pg_advisory_lock(5) behind b")

	// A session that goes away releases what it holds.
	b.Close(ctx)
	finishes(t, doneC, "c's shared pg_advisory_lock(5) after b disconnected")
}

// TestTxidCurrentGrowsAcrossRestart: txid_current() keeps one id for a
// transaction block, gives each statement outside one its own, and hands
// out larger ids after a restart than before it.
func TestTxidCurrentGrowsAcrossRestart(t *testing.T) {
	s := openStack(t, engine.Options{})
	conn := s.connect(t)
	execAll(t, conn, "BEGIN")
	a := queryInt(t, conn, "SELECT txid_current()")
	if b := queryInt(t, conn, "SELECT txid_current()"); b != a {
		t.Errorf("one block gave ids %d and %d", a, b)
	}
	execAll(t, conn, "COMMIT")
	c := queryInt(t, conn, "SELECT txid_current()")
	d := queryInt(t, conn, "SELECT txid_current()")
	if !(a < c && c < d) {
		t.Errorf("ids %d (block), %d, %d (statements) do not grow", a, c, d)
	}
	conn.Close(context.Background())
	s.restart(t)
	conn = s.connect(t)
	if e := queryInt(t, conn, "SELECT txid_current()"); e <= d {
		t.Errorf("after a restart txid_current() = %d, before it %d", e, d)
	}
}
