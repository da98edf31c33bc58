package concurrency

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"streamsql/internal/testserver"
)

// blockedValue runs sql on c in the background like blocked, and reports
// its first column as text (or, for a statement without rows, its command
// tag).
func (d *tdb) blockedValue(c *pgx.Conn, sql string, wait time.Duration) <-chan valueOrErr {
	d.t.Helper()
	done := make(chan valueOrErr, 1)
	go func() {
		rows, err := c.Query(context.Background(), d.q(sql))
		if err != nil {
			done <- valueOrErr{err: err}
			return
		}
		var v string
		for rows.Next() {
			if vals, err := rows.Values(); err == nil && len(vals) > 0 && v == "" {
				v = fmt.Sprint(vals[0])
			}
		}
		rows.Close()
		if v == "" {
			v = rows.CommandTag().String()
		}
		done <- valueOrErr{v: v, err: rows.Err()}
	}()
	select {
	case r := <-done:
		d.t.Fatalf("%s did not wait for the lock (%q, %v)", d.q(sql), r.v, r.err)
	case <-time.After(wait):
	}
	return done
}

type valueOrErr struct {
	v   string
	err error
}

// got waits for a blockedValue result and fails unless it is want.
func (d *tdb) got(r <-chan valueOrErr, what, want string) {
	d.t.Helper()
	select {
	case v := <-r:
		if v.err != nil {
			d.t.Fatalf("%s: %v", what, v.err)
		}
		if v.v != want {
			d.t.Errorf("%s: %q, want %q", what, v.v, want)
		}
	case <-time.After(10 * time.Second):
		d.t.Fatalf("%s still waits after the lock was released", what)
	}
}

// TestLockBeforeSnapshot: a READ COMMITTED statement takes its relation
// locks before its snapshot, as PostgreSQL does (it locks while analysing
// the query and takes the snapshot when the portal starts), so one that
// waited for a table held in ACCESS EXCLUSIVE reads what the holder
// changed and committed meanwhile. A REPEATABLE READ transaction's
// snapshot is taken by the analysis of its first statement, before that
// statement's locks, unless the transaction begins with LOCK TABLE, which
// takes no snapshot.
func TestLockBeforeSnapshot(t *testing.T) {
	each(t, func(t *testing.T, d *tdb) {
		d.setup([]string{"lbs"}, "CREATE TABLE {t}lbs (id int PRIMARY KEY, v int NOT NULL)", "INSERT INTO {t}lbs VALUES (1, 0)")
		a, b := d.conn(), d.conn()
		const wait = 200 * time.Millisecond

		// lockedWhile runs bSQL on b while a holds the table in ACCESS
		// EXCLUSIVE, runs aSQL on a and commits: b's statement must wait.
		lockedWhile := func(bSQL, aSQL string) <-chan valueOrErr {
			d.exec(a, "BEGIN")
			d.exec(a, "LOCK TABLE {t}lbs IN ACCESS EXCLUSIVE MODE")
			r := d.blockedValue(b, bSQL, wait)
			d.exec(a, aSQL)
			d.exec(a, "COMMIT")
			return r
		}

		// READ COMMITTED SELECT outside a block.
		d.got(lockedWhile("SELECT count(*) FROM {t}lbs", "INSERT INTO {t}lbs VALUES (2, 0)"),
			"read committed SELECT after the lock", "2")
		// READ COMMITTED UPDATE: the row inserted while it waited is
		// updated too.
		d.got(lockedWhile("UPDATE {t}lbs SET v = v + 1", "INSERT INTO {t}lbs VALUES (3, 0)"),
			"read committed UPDATE after the lock", "UPDATE 3")

		// REPEATABLE READ: the transaction's snapshot is taken when its
		// first statement is analysed, before that statement's locks, and
		// kept: the first SELECT does not see what the holder committed
		// while it waited, and the first UPDATE of a row the holder
		// changed fails with 40001.
		d.exec(b, "BEGIN ISOLATION LEVEL REPEATABLE READ")
		d.got(lockedWhile("SELECT count(*) FROM {t}lbs", "INSERT INTO {t}lbs VALUES (4, 0)"),
			"repeatable read first SELECT after the lock", "3")
		d.exec(b, "COMMIT")
		d.exec(b, "BEGIN ISOLATION LEVEL REPEATABLE READ")
		r := lockedWhile("UPDATE {t}lbs SET v = v + 1 WHERE id = 1", "UPDATE {t}lbs SET v = 10 WHERE id = 1")
		if v := <-r; code(v.err) != "40001" {
			t.Errorf("repeatable read first UPDATE of a row changed while it waited: %v, want 40001", v.err)
		}
		d.exec(b, "ROLLBACK")

		// REPEATABLE READ beginning with LOCK TABLE, which takes no
		// snapshot: the lock waits for a writer, and the snapshot (the
		// SELECT's) sees its rows.
		d.exec(a, "BEGIN")
		d.exec(a, "INSERT INTO {t}lbs VALUES (5, 0)")
		d.exec(b, "BEGIN ISOLATION LEVEL REPEATABLE READ")
		r = d.blockedValue(b, "LOCK TABLE {t}lbs IN SHARE MODE", wait)
		d.exec(a, "COMMIT")
		d.got(r, "LOCK TABLE in SHARE MODE", "LOCK TABLE")
		if n := d.int(b, "SELECT count(*) FROM {t}lbs"); n != 5 {
			t.Errorf("repeatable read after LOCK TABLE: %d rows, want 5", n)
		}
		d.exec(b, "COMMIT")
	})
}

// TestCopyAndCursorLocks: COPY FROM holds ROW EXCLUSIVE while its data
// comes in, so SHARE waits for it; COPY TO takes ACCESS SHARE, so it waits
// for ACCESS EXCLUSIVE, and (as PostgreSQL's, which takes its snapshot
// before it opens the table) copies the rows of before the wait; DECLARE
// CURSOR holds ACCESS SHARE until the transaction ends, so ACCESS
// EXCLUSIVE waits for it, and a WITH HOLD cursor declared outside a block
// takes its snapshot after its lock.
func TestCopyAndCursorLocks(t *testing.T) {
	each(t, func(t *testing.T, d *tdb) {
		d.setup([]string{"cpl"}, "CREATE TABLE {t}cpl (id int PRIMARY KEY, v int NOT NULL)", "INSERT INTO {t}cpl VALUES (1, 0)")
		a, b, c := d.conn(), d.conn(), d.conn()
		ctx := context.Background()
		const wait = 200 * time.Millisecond

		// COPY FROM: ROW EXCLUSIVE until the copy ends.
		pr, pw := io.Pipe()
		t.Cleanup(func() { pw.Close() }) // before the connection closes
		copied := make(chan error, 1)
		go func() {
			_, err := b.PgConn().CopyFrom(ctx, pr, d.q("COPY {t}cpl FROM STDIN"))
			copied <- err
		}()
		if _, err := pw.Write([]byte("2\t0\n")); err != nil {
			t.Fatal(err)
		}
		held := "SELECT count(*) FROM pg_locks WHERE relation = '{t}cpl'::regclass AND mode = 'RowExclusiveLock' AND granted"
		for deadline := time.Now().Add(5 * time.Second); d.int(c, held) != 1; {
			if time.Now().After(deadline) {
				t.Fatalf("COPY FROM's ROW EXCLUSIVE is not in pg_locks")
			}
			time.Sleep(20 * time.Millisecond)
		}
		d.exec(a, "BEGIN")
		done := d.blocked(a, "LOCK TABLE {t}cpl IN SHARE MODE", wait)
		pw.Close()
		if err := <-copied; err != nil {
			t.Fatalf("COPY FROM: %v", err)
		}
		if err := <-done; err != nil {
			t.Fatalf("SHARE after COPY FROM: %v", err)
		}
		d.exec(a, "COMMIT")

		// COPY TO waits for ACCESS EXCLUSIVE and copies the committed rows.
		d.exec(a, "BEGIN")
		d.exec(a, "LOCK TABLE {t}cpl")
		var out strings.Builder
		copiedTo := make(chan error, 1)
		go func() {
			_, err := b.PgConn().CopyTo(ctx, &out, d.q("COPY {t}cpl TO STDOUT"))
			copiedTo <- err
		}()
		select {
		case err := <-copiedTo:
			t.Fatalf("COPY TO did not wait for ACCESS EXCLUSIVE (%v)", err)
		case <-time.After(wait):
		}
		d.exec(a, "INSERT INTO {t}cpl VALUES (3, 0)")
		d.exec(a, "COMMIT")
		if err := <-copiedTo; err != nil {
			t.Fatalf("COPY TO: %v", err)
		}
		if got := strings.Count(out.String(), "\n"); got != 2 {
			t.Errorf("COPY TO after the lock: %d rows (%q), want 2", got, out.String())
		}

		// DECLARE CURSOR: ACCESS SHARE to the end of the transaction.
		d.exec(b, "BEGIN")
		d.exec(b, "DECLARE cur CURSOR FOR SELECT id FROM {t}cpl")
		d.exec(b, "FETCH 1 FROM cur")
		d.exec(b, "CLOSE cur")
		d.exec(a, "BEGIN")
		if _, err := a.Exec(ctx, d.q("LOCK TABLE {t}cpl NOWAIT")); code(err) != "55P03" {
			t.Errorf("ACCESS EXCLUSIVE NOWAIT while a cursor's transaction is open: %v, want 55P03", err)
		}
		d.exec(a, "ROLLBACK")
		d.exec(a, "BEGIN")
		done = d.blocked(a, "LOCK TABLE {t}cpl", wait)
		d.exec(b, "COMMIT")
		if err := <-done; err != nil {
			t.Fatalf("ACCESS EXCLUSIVE after the cursor's transaction: %v", err)
		}
		d.exec(a, "COMMIT")

		// DECLARE ... WITH HOLD outside a block: its snapshot is taken
		// after its lock.
		d.exec(a, "BEGIN")
		d.exec(a, "LOCK TABLE {t}cpl")
		done = d.blocked(b, "DECLARE held CURSOR WITH HOLD FOR SELECT id FROM {t}cpl", wait)
		d.exec(a, "INSERT INTO {t}cpl VALUES (4, 0)")
		d.exec(a, "COMMIT")
		if err := <-done; err != nil {
			t.Fatalf("DECLARE WITH HOLD after the lock: %v", err)
		}
		if n := d.int(b, "SELECT count(*) FROM {t}cpl"); n != 4 {
			t.Fatalf("rows: %d", n)
		}
		rows, err := b.Query(ctx, "FETCH ALL FROM held")
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for rows.Next() {
			n++
		}
		rows.Close()
		if n != 4 {
			t.Errorf("WITH HOLD cursor declared after the lock: %d rows, want 4", n)
		}
		d.exec(b, "CLOSE held")
	})
}

// TestLockView: LOCK on a view locks every relation its query reads, in
// the same mode, through views on views, as PostgreSQL 15 does; the base
// relations need the lock's privilege held by the view's owner (and the
// view itself the locking role's).
func TestLockView(t *testing.T) {
	each(t, func(t *testing.T, d *tdb) {
		d.setup([]string{"vb1", "vb2"}, "CREATE TABLE {t}vb1 (id int PRIMARY KEY)", "CREATE TABLE {t}vb2 (id int PRIMARY KEY)",
			"CREATE VIEW {t}vv1 AS SELECT id FROM {t}vb1",
			"CREATE VIEW {t}vv2 AS SELECT a.id FROM {t}vv1 a JOIN {t}vb2 b ON a.id = b.id")
		a, b, c := d.conn(), d.conn(), d.conn()
		t.Cleanup(func() {
			for _, s := range []string{"DROP VIEW IF EXISTS {t}lov", "DROP VIEW IF EXISTS {t}vv2", "DROP VIEW IF EXISTS {t}vv1",
				"DROP OWNED BY {t}lo, {t}lu", "DROP ROLE IF EXISTS {t}lo", "DROP ROLE IF EXISTS {t}lu"} {
				c.Exec(context.Background(), d.q(s))
			}
		})
		d.exec(a, "BEGIN")
		d.exec(a, "LOCK TABLE {t}vv2 IN SHARE MODE")
		if n := d.int(c, "SELECT count(*) FROM pg_locks WHERE mode = 'ShareLock' AND granted AND relation IN ('{t}vv2'::regclass, '{t}vv1'::regclass, '{t}vb1'::regclass, '{t}vb2'::regclass)"); n != 4 {
			t.Errorf("SHARE locks on the view, the view it reads and both tables: %d, want 4", n)
		}
		done := d.blocked(b, "INSERT INTO {t}vb1 VALUES (1)", 200*time.Millisecond)
		d.exec(a, "COMMIT")
		if err := <-done; err != nil {
			t.Fatalf("INSERT after the view's lock: %v", err)
		}

		// Privileges: the view's owner's on what it reads.
		for _, s := range []string{"CREATE ROLE {t}lo", "CREATE ROLE {t}lu", "GRANT CREATE ON SCHEMA public TO {t}lo",
			"GRANT SELECT ON {t}vb1 TO {t}lo", "SET ROLE {t}lo", "CREATE VIEW {t}lov AS SELECT id FROM {t}vb1",
			"GRANT SELECT, UPDATE ON {t}lov TO {t}lu", "RESET ROLE", "REVOKE SELECT ON {t}vb1 FROM {t}lo"} {
			d.exec(c, s)
		}
		try := func(mode string) error {
			d.exec(c, "SET ROLE {t}lu")
			d.exec(c, "BEGIN")
			_, err := c.Exec(context.Background(), d.q("LOCK TABLE {t}lov IN "+mode+" MODE"))
			d.exec(c, "ROLLBACK")
			d.exec(c, "RESET ROLE")
			return err
		}
		if err := try("ACCESS SHARE"); code(err) != "42501" {
			t.Errorf("ACCESS SHARE on a view whose owner cannot read its table: %v, want 42501", err)
		}
		d.exec(c, "GRANT SELECT ON {t}vb1 TO {t}lo")
		if err := try("ACCESS SHARE"); err != nil {
			t.Errorf("ACCESS SHARE once the owner can read the table: %v", err)
		}
		if err := try("SHARE"); code(err) != "42501" {
			t.Errorf("SHARE on a view whose owner cannot update its table: %v, want 42501", err)
		}
		d.exec(c, "GRANT UPDATE ON {t}vb1 TO {t}lo")
		if err := try("SHARE"); err != nil {
			t.Errorf("SHARE once the owner can update the table: %v", err)
		}
	})
}

// TestDeadlockThreeKinds: three sessions form one cycle over a row lock,
// a relation lock and an advisory lock; exactly one of them fails with
// 40P01 and the two others go on once it rolls back. PostgreSQL picks the
// session whose deadlock_timeout runs out first with the cycle closed;
// StreamSQL checks when a wait starts, so the session that closes the
// cycle is the one that fails, however long the others have waited.
// deadlock_timeout is shown and set as in PostgreSQL.
func TestDeadlockThreeKinds(t *testing.T) {
	each(t, func(t *testing.T, d *tdb) {
		d.setup([]string{"d3r", "d3t"}, "CREATE TABLE {t}d3r (id int PRIMARY KEY, v int)", "CREATE TABLE {t}d3t (id int PRIMARY KEY)",
			"INSERT INTO {t}d3r VALUES (1, 0)")
		ctx := context.Background()
		conns := map[string]*pgx.Conn{"a": d.conn(), "b": d.conn(), "c": d.conn()}
		var shown string
		if err := conns["a"].QueryRow(ctx, "SHOW deadlock_timeout").Scan(&shown); err != nil || shown != "1s" {
			t.Fatalf("SHOW deadlock_timeout: %q, %v", shown, err)
		}
		if _, err := conns["a"].Exec(ctx, "SET deadlock_timeout = 0"); code(err) != "22023" {
			t.Errorf("SET deadlock_timeout = 0: %v, want 22023", err)
		}
		key := time.Now().UnixNano() % 1e9
		for _, c := range conns {
			d.exec(c, "SET deadlock_timeout = '300ms'")
			d.exec(c, "BEGIN")
		}
		if err := conns["a"].QueryRow(ctx, "SHOW deadlock_timeout").Scan(&shown); err != nil || shown != "300ms" {
			t.Fatalf("SHOW deadlock_timeout after SET: %q, %v", shown, err)
		}
		d.exec(conns["a"], "UPDATE {t}d3r SET v = 1 WHERE id = 1")               // a holds the row
		d.exec(conns["b"], "LOCK TABLE {t}d3t IN ACCESS EXCLUSIVE MODE")         // b the table
		d.exec(conns["c"], fmt.Sprintf("SELECT pg_advisory_xact_lock(%d)", key)) // c the advisory lock
		type result struct {
			who string
			err error
		}
		results := make(chan result, 3)
		wait := func(who, sql string) {
			go func() {
				_, err := conns[who].Exec(ctx, d.q(sql))
				results <- result{who, err}
			}()
		}
		wait("a", "SELECT count(*) FROM {t}d3t") // a waits for b
		time.Sleep(100 * time.Millisecond)
		wait("b", fmt.Sprintf("SELECT pg_advisory_xact_lock(%d)", key)) // b waits for c
		time.Sleep(100 * time.Millisecond)
		wait("c", "UPDATE {t}d3r SET v = 3 WHERE id = 1") // c waits for a: the cycle
		var victims, done []string
		for range 3 {
			select {
			case r := <-results:
				switch {
				case code(r.err) == "40P01":
					victims = append(victims, r.who)
					d.exec(conns[r.who], "ROLLBACK")
				case r.err != nil:
					t.Fatalf("%s: %v", r.who, r.err)
				default:
					done = append(done, r.who)
					d.exec(conns[r.who], "COMMIT")
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("the cycle was not resolved: victims %v, finished %v", victims, done)
			}
		}
		if len(victims) != 1 {
			t.Fatalf("victims %v, want exactly one", victims)
		}
		if !d.target.pg && victims[0] != "c" {
			t.Errorf("victim %s, want c (the session that closed the cycle)", victims[0])
		}
	})
}

// TestTupleLocks: pg_locks shows row lock waits as PostgreSQL does: the
// first session waiting for a row holds the row's "tuple" lock (the mode
// of its row lock strength: ExclusiveLock for a plain UPDATE) and waits
// for a ShareLock on the transactionid of the holder; a second one waits
// for the tuple lock. The usual "who blocks whom" query finds both.
func TestTupleLocks(t *testing.T) {
	each(t, func(t *testing.T, d *tdb) {
		d.setup([]string{"tl"}, "CREATE TABLE {t}tl (id int PRIMARY KEY, v int)", "INSERT INTO {t}tl VALUES (1, 0), (2, 0)")
		a, b, c, m := d.conn(), d.conn(), d.conn(), d.conn()
		name := map[int64]string{}
		for n, conn := range map[string]*pgx.Conn{"a": a, "b": b, "c": c} {
			name[d.int(conn, "SELECT pg_backend_pid()")] = n
		}
		d.exec(a, "BEGIN")
		d.exec(a, "UPDATE {t}tl SET v = 1 WHERE id = 1")
		doneB := d.blocked(b, "UPDATE {t}tl SET v = 2 WHERE id = 1", 150*time.Millisecond)
		doneC := d.blocked(c, "UPDATE {t}tl SET v = 3 WHERE id = 1", 150*time.Millisecond)
		rows, err := m.Query(context.Background(), d.q(`SELECT pid, locktype, mode, granted, relation = '{t}tl'::regclass, page IS NOT NULL AND tuple IS NOT NULL
			FROM pg_locks WHERE locktype = 'tuple' OR locktype = 'transactionid' AND NOT granted ORDER BY 1, 2`))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for rows.Next() {
			var pid int64
			var typ, mode string
			var granted bool
			var rel, pos *bool
			if err := rows.Scan(&pid, &typ, &mode, &granted, &rel, &pos); err != nil {
				t.Fatal(err)
			}
			got = append(got, fmt.Sprintf("%s %s %s %v %v %v", name[pid], typ, mode, granted, rel != nil && *rel, pos != nil && *pos))
		}
		rows.Close()
		sort.Strings(got)
		want := []string{"b transactionid ShareLock false false false", "b tuple ExclusiveLock true true true", "c tuple ExclusiveLock false true true"}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("row lock waits in pg_locks:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		var pairs []string
		rows, err = m.Query(context.Background(), testserver.WhoBlocksWhom)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var blocked, blocking int64
			if err := rows.Scan(&blocked, &blocking); err != nil {
				t.Fatal(err)
			}
			pairs = append(pairs, name[blocked]+" by "+name[blocking])
		}
		rows.Close()
		sort.Strings(pairs)
		if strings.Join(pairs, ", ") != "b by a, c by b" {
			t.Errorf("who blocks whom: %v, want [b by a, c by b]", pairs)
		}
		d.exec(a, "COMMIT")
		if err := <-doneB; err != nil {
			t.Fatal(err)
		}
		if err := <-doneC; err != nil {
			t.Fatal(err)
		}
	})
}

// TestCreateMatViewLocks: CREATE MATERIALIZED VIEW takes ACCESS SHARE on
// the tables its query reads, so it waits for a transaction holding one
// in ACCESS EXCLUSIVE, and then shows what that transaction committed.
func TestCreateMatViewLocks(t *testing.T) {
	each(t, func(t *testing.T, d *tdb) {
		d.setup([]string{"mvl"}, "CREATE TABLE {t}mvl (id int PRIMARY KEY)", "INSERT INTO {t}mvl VALUES (1)")
		a, b := d.conn(), d.conn()
		d.exec(a, "BEGIN")
		d.exec(a, "LOCK TABLE {t}mvl")
		done := d.blocked(b, "CREATE MATERIALIZED VIEW {t}mvl_v AS SELECT count(*) AS n FROM {t}mvl", 200*time.Millisecond)
		d.exec(a, "INSERT INTO {t}mvl VALUES (2)")
		d.exec(a, "COMMIT")
		if err := <-done; err != nil {
			t.Fatalf("CREATE MATERIALIZED VIEW after the lock: %v", err)
		}
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			n := d.int(b, "SELECT n FROM {t}mvl_v")
			if n == 2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the view shows %d rows, want 2", n)
			}
		}
	})
}
