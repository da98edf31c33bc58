package engine_test

// Lock waits between sessions: table locks, row locks and advisory locks,
// and what pg_locks shows of them.

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"streamsql/engine"
	"streamsql/internal/testserver"
)

// execAsync runs sql on conn in the background; the channel gets its
// error when it returns.
func execAsync(conn *pgx.Conn, sql string) chan error {
	done := make(chan error, 1)
	go func() {
		_, err := conn.Exec(context.Background(), sql)
		done <- err
	}()
	return done
}

// stillWaiting fails t if done reports within 200 ms.
func stillWaiting(t *testing.T, done chan error, what string) {
	t.Helper()
	select {
	case err := <-done:
		t.Fatalf("%s returned (%v) while the lock was held", what, err)
	case <-time.After(200 * time.Millisecond):
	}
}

// finishes fails t unless done reports success within 5 s.
func finishes(t *testing.T, done chan error, what string) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("%s still waits after the lock was released", what)
	}
}

// waitsUntil runs sql on waiter in the background, checks that it waits,
// runs release on holder (giving up what sql waits for) and checks that
// sql then finishes.
func waitsUntil(t *testing.T, waiter *pgx.Conn, sql string, holder *pgx.Conn, release ...string) {
	t.Helper()
	done := execAsync(waiter, sql)
	stillWaiting(t, done, sql)
	execAll(t, holder, release...)
	finishes(t, done, sql+" after "+release[len(release)-1])
}

// TestLockTable: LOCK TABLE only in a transaction block (25P01); EXCLUSIVE
// lets readers through and makes writers wait until the block ends; ACCESS
// EXCLUSIVE (the default) makes readers wait; SHARE makes writers wait and
// lets other SHARE holders in; a DROP TABLE waits for an open transaction
// that read the table; NOWAIT and lock_timeout fail with 55P03, a cancel
// with 57014; a missing table is 42P01.
func TestLockTable(t *testing.T) {
	ts, a := startConn(t, engine.Options{}, "CREATE TABLE lt (id int PRIMARY KEY, v int)", "INSERT INTO lt VALUES (1, 0), (2, 0)")
	b := connect(t, ts, nil)
	c := connect(t, ts, nil)
	ctx := context.Background()

	_, err := a.Exec(ctx, "LOCK TABLE lt")
	wantPgErr(t, err, "25P01", "LOCK TABLE can only be used in transaction blocks")
	execAll(t, a, "BEGIN")
	_, err = a.Exec(ctx, "LOCK TABLE nosuch")
	wantPgErr(t, err, "42P01", "")
	execAll(t, a, "ROLLBACK")

	// EXCLUSIVE: reads go on, writes wait for the end of the block.
	execAll(t, a, "BEGIN", "LOCK TABLE lt IN EXCLUSIVE MODE")
	if got := queryInt(t, b, "SELECT count(*) FROM lt"); got != 2 {
		t.Fatalf("count under EXCLUSIVE = %d", got)
	}
	done := execAsync(b, "UPDATE lt SET v = v + 1 WHERE id = 1")
	stillWaiting(t, done, "UPDATE under EXCLUSIVE")
	doneIns := execAsync(c, "INSERT INTO lt VALUES (3, 0)")
	stillWaiting(t, doneIns, "INSERT under EXCLUSIVE")
	execAll(t, a, "COMMIT")
	finishes(t, done, "UPDATE after COMMIT")
	finishes(t, doneIns, "INSERT after COMMIT")

	// ACCESS EXCLUSIVE: reads wait too; ROLLBACK releases.
	execAll(t, a, "BEGIN", "LOCK lt")
	waitsUntil(t, b, "SELECT count(*) FROM lt", a, "ROLLBACK")

	// SHARE: two holders at once, writers wait for both.
	execAll(t, a, "BEGIN", "LOCK TABLE ONLY lt IN SHARE MODE")
	execAll(t, b, "BEGIN", "LOCK TABLE lt IN SHARE MODE NOWAIT")
	done = execAsync(c, "DELETE FROM lt WHERE id = 3")
	stillWaiting(t, done, "DELETE under SHARE")
	execAll(t, a, "COMMIT")
	stillWaiting(t, done, "DELETE under the second SHARE")
	execAll(t, b, "COMMIT")
	finishes(t, done, "DELETE after both COMMITs")

	// A DROP TABLE waits for a transaction that read the table.
	execAll(t, a, "CREATE TABLE ld (id int PRIMARY KEY)", "BEGIN")
	queryInt(t, a, "SELECT count(*) FROM ld")
	waitsUntil(t, b, "DROP TABLE ld", a, "COMMIT")

	// NOWAIT, lock_timeout and cancel.
	execAll(t, a, "BEGIN", "LOCK TABLE lt IN ROW EXCLUSIVE MODE")
	execAll(t, b, "BEGIN")
	_, err = b.Exec(ctx, "LOCK TABLE lt IN SHARE MODE NOWAIT")
	wantPgErr(t, err, "55P03", `could not obtain lock on relation "lt"`)
	execAll(t, b, "ROLLBACK", "SET lock_timeout = '150ms'", "BEGIN")
	_, err = b.Exec(ctx, "LOCK TABLE lt IN SHARE MODE")
	wantPgErr(t, err, "55P03", "canceling statement due to lock timeout")
	execAll(t, b, "ROLLBACK", "SET lock_timeout = 0", "BEGIN")
	time.AfterFunc(200*time.Millisecond, func() { _ = b.PgConn().CancelRequest(context.Background()) })
	_, err = b.Exec(ctx, "LOCK TABLE lt IN ACCESS EXCLUSIVE MODE")
	wantPgErr(t, err, "57014", "canceling statement due to user request")
	execAll(t, b, "ROLLBACK")
	// The waits that ended left nothing queued: another writer goes on.
	execAll(t, c, "INSERT INTO lt VALUES (4, 0)")
	execAll(t, a, "COMMIT")
}

// TestLockTablePrivileges: PostgreSQL 15's rule, ACCESS SHARE needs
// SELECT, ROW EXCLUSIVE one of INSERT, UPDATE, DELETE, TRUNCATE, every
// other mode one of UPDATE, DELETE, TRUNCATE (42501 otherwise).
func TestLockTablePrivileges(t *testing.T) {
	ts, admin := startConn(t, engine.Options{}, "CREATE TABLE lp (id int PRIMARY KEY)", "CREATE ROLE lpu LOGIN", "GRANT INSERT ON lp TO lpu")
	u := mustConnectAs(t, ts, "lpu")
	ctx := context.Background()
	try := func(mode string) error {
		execAll(t, u, "BEGIN")
		_, err := u.Exec(ctx, "LOCK TABLE lp IN "+mode+" MODE")
		execAll(t, u, "ROLLBACK")
		return err
	}
	wantPgErr(t, try("ACCESS SHARE"), "42501", "permission denied for table lp")
	if err := try("ROW EXCLUSIVE"); err != nil {
		t.Fatalf("ROW EXCLUSIVE with INSERT: %v", err)
	}
	wantPgErr(t, try("SHARE"), "42501", "permission denied for table lp")
	execAll(t, admin, "GRANT SELECT, UPDATE ON lp TO lpu")
	for _, m := range []string{"ACCESS SHARE", "SHARE", "ACCESS EXCLUSIVE"} {
		if err := try(m); err != nil {
			t.Fatalf("%s with SELECT, UPDATE: %v", m, err)
		}
	}
}

// TestSavepointReleasesLocks: ROLLBACK TO SAVEPOINT releases the relation
// locks, row locks and transaction-level advisory locks taken after the
// savepoint, and keeps those taken before it, as PostgreSQL does.
func TestSavepointReleasesLocks(t *testing.T) {
	ts, a := startConn(t, engine.Options{}, "CREATE TABLE ls (id int PRIMARY KEY, v int)", "CREATE TABLE ls2 (id int PRIMARY KEY)",
		"INSERT INTO ls VALUES (1, 0), (2, 0)")
	b := connect(t, ts, nil)
	ctx := context.Background()
	execAll(t, a, "BEGIN", "LOCK TABLE ls2 IN EXCLUSIVE MODE", "SELECT * FROM ls WHERE id = 2 FOR UPDATE",
		"SELECT pg_advisory_xact_lock(7)", "SAVEPOINT sp",
		"LOCK TABLE ls IN ACCESS EXCLUSIVE MODE", "SELECT * FROM ls WHERE id = 1 FOR UPDATE",
		"SELECT pg_advisory_xact_lock(8)", "ROLLBACK TO SAVEPOINT sp")
	execAll(t, b, "SET lock_timeout = '2s'")
	// Taken after the savepoint: free again.
	execAll(t, b, "UPDATE ls SET v = 1 WHERE id = 1", "SELECT pg_advisory_xact_lock(8)")
	// Taken before it: still held.
	execAll(t, b, "SET lock_timeout = '100ms'")
	for _, q := range []string{"INSERT INTO ls2 VALUES (1)", "UPDATE ls SET v = 1 WHERE id = 2", "SELECT pg_advisory_xact_lock(7)"} {
		_, err := b.Exec(ctx, q)
		wantPgErr(t, err, "55P03", "canceling statement due to lock timeout")
	}
	execAll(t, a, "COMMIT")
	execAll(t, b, "INSERT INTO ls2 VALUES (1)", "UPDATE ls SET v = 1 WHERE id = 2", "SELECT pg_advisory_xact_lock(7)")
}

// TestDeadlockAcrossLockKinds: a cycle through a row lock and a relation
// lock, and one through a relation lock and an advisory lock, is found:
// one session gets 40P01 and the other goes on.
func TestDeadlockAcrossLockKinds(t *testing.T) {
	ts, a := startConn(t, engine.Options{}, "CREATE TABLE dr (id int PRIMARY KEY, v int)", "CREATE TABLE du (id int PRIMARY KEY)",
		"INSERT INTO dr VALUES (1, 0)")
	b := connect(t, ts, nil)
	ctx := context.Background()

	// Each case: a takes its first lock, b its own, b then waits for a,
	// and a's last request closes the cycle.
	for _, c := range []struct{ name, aFirst, bFirst, bWaits, aCloses string }{
		// a holds row 1 of dr; b holds du and waits for the row; a reads du.
		{"row, then relation", "UPDATE dr SET v = 1 WHERE id = 1", "LOCK TABLE du IN ACCESS EXCLUSIVE MODE",
			"UPDATE dr SET v = 2 WHERE id = 1", "SELECT count(*) FROM du"},
		// b waits for a relation lock first; a's row wait closes the cycle.
		{"relation, then row", "LOCK TABLE du IN SHARE MODE", "UPDATE dr SET v = 3 WHERE id = 1",
			"INSERT INTO du VALUES (1)", "UPDATE dr SET v = 4 WHERE id = 1"},
		// An advisory lock and a relation lock.
		{"advisory and relation", "SELECT pg_advisory_xact_lock(42)", "LOCK TABLE du",
			"SELECT pg_advisory_xact_lock(42)", "LOCK TABLE du IN ROW SHARE MODE"},
	} {
		execAll(t, a, "BEGIN", c.aFirst)
		execAll(t, b, "BEGIN", c.bFirst)
		done := execAsync(b, c.bWaits)
		stillWaiting(t, done, c.name+": b's "+c.bWaits)
		_, err := a.Exec(ctx, c.aCloses)
		if pe := wantPgErr(t, err, "40P01", "deadlock detected"); pe.Detail == "" {
			t.Errorf("%s: no detail in %v", c.name, pe)
		}
		execAll(t, a, "ROLLBACK")
		finishes(t, done, c.name+": b's "+c.bWaits+" after a's deadlock")
		execAll(t, b, "COMMIT")
	}
}

// TestPgLocks: pg_locks lists held and awaited relation, advisory and
// transaction locks with PostgreSQL's columns, the usual "who blocks whom"
// query finds the blocker of a relation, a row and an advisory wait, and
// pg_blocking_pids agrees.
func TestPgLocks(t *testing.T) {
	ts, a := startConn(t, engine.Options{}, "CREATE TABLE pl (id int PRIMARY KEY, v int)", "INSERT INTO pl VALUES (1, 0)")
	b := connect(t, ts, nil)
	c := connect(t, ts, nil)
	pidA := queryInt(t, a, "SELECT pg_backend_pid()")
	pidB := queryInt(t, b, "SELECT pg_backend_pid()")
	check := func(what string, wantMode string) {
		t.Helper()
		rows := queryStrings(t, c, `SELECT x.bpid || ' ' || x.kpid || ' ' || a.query FROM (`+testserver.WhoBlocksWhom+`) AS x(bpid, kpid)
			JOIN pg_catalog.pg_stat_activity a ON a.pid = x.bpid`)
		want := []string{strconv.FormatInt(pidB, 10) + " " + strconv.FormatInt(pidA, 10) + " " + what}
		if len(rows) != 1 || rows[0] != want[0] {
			t.Errorf("who blocks whom while %s: %q, want %q", what, rows, want)
		}
		if got := queryStrings(t, c, "SELECT pg_blocking_pids($1)::text", pidB); len(got) != 1 || got[0] != "{"+strconv.FormatInt(pidA, 10)+"}" {
			t.Errorf("pg_blocking_pids while %s: %q", what, got)
		}
		modes := queryStrings(t, c, "SELECT mode FROM pg_locks WHERE pid = $1 AND NOT granted", pidB)
		if len(modes) != 1 || modes[0] != wantMode {
			t.Errorf("b's awaited lock while %s: %q, want %s", what, modes, wantMode)
		}
	}

	// A relation lock.
	execAll(t, a, "BEGIN", "LOCK TABLE pl IN SHARE MODE")
	got := queryStrings(t, c, `SELECT locktype || ' ' || (relation = 'pl'::regclass) || ' ' || mode || ' ' || granted || ' ' || fastpath || ' ' || (waitstart IS NULL) || ' ' || (database IS NOT NULL)
		FROM pg_locks WHERE pid = $1 AND locktype = 'relation'`, pidA)
	if len(got) != 1 || got[0] != "relation true ShareLock true false true true" {
		t.Fatalf("a's relation lock in pg_locks: %q", got)
	}
	done := execAsync(b, "UPDATE pl SET v = 1 WHERE id = 1")
	stillWaiting(t, done, "UPDATE under SHARE")
	check("UPDATE pl SET v = 1 WHERE id = 1", "RowExclusiveLock")
	if got := queryStrings(t, c, "SELECT count(*) FROM pg_locks WHERE pid = $1 AND NOT granted AND waitstart IS NOT NULL", pidB); got[0] != "1" {
		t.Errorf("waitstart of b's wait: %q", got)
	}
	execAll(t, a, "COMMIT")
	finishes(t, done, "UPDATE after COMMIT")

	// A row lock: b waits for a's transaction.
	execAll(t, a, "BEGIN", "UPDATE pl SET v = 2 WHERE id = 1")
	done = execAsync(b, "SELECT * FROM pl WHERE id = 1 FOR UPDATE")
	stillWaiting(t, done, "FOR UPDATE of a's row")
	check("SELECT * FROM pl WHERE id = 1 FOR UPDATE", "ShareLock")
	execAll(t, a, "COMMIT")
	finishes(t, done, "FOR UPDATE after COMMIT")

	// An advisory lock.
	execAll(t, a, "SELECT pg_advisory_lock(1, 2)")
	done = execAsync(b, "SELECT pg_advisory_lock_shared(1, 2)")
	stillWaiting(t, done, "advisory lock")
	check("SELECT pg_advisory_lock_shared(1, 2)", "ShareLock")
	if got := queryStrings(t, c, "SELECT classid || ' ' || objid || ' ' || objsubid FROM pg_locks WHERE locktype = 'advisory' AND pid = $1", pidA); len(got) != 1 || got[0] != "1 2 2" {
		t.Errorf("a's advisory lock in pg_locks: %q", got)
	}
	execAll(t, a, "SELECT pg_advisory_unlock(1, 2)")
	finishes(t, done, "advisory lock after unlock")

	// Nothing waits any more; a session outside a transaction holds no
	// relation lock.
	if got := queryStrings(t, c, "SELECT count(*) FROM pg_locks WHERE NOT granted OR (pid = $1 AND locktype = 'relation')", pidA); got[0] != "0" {
		t.Errorf("locks left: %q", got)
	}
}

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
