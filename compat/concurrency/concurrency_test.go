// Package concurrency is the transaction suite: concurrent clients over the
// wire against a real StreamSQL server, and, when SLT_PG_DSN names a
// PostgreSQL 15 server, against PostgreSQL too, so that every expected
// outcome is PostgreSQL's. It covers lost updates under concurrent
// increments, each isolation level's answer to a read-modify-write race
// (wait and re-check, or 40001), SELECT ... FOR UPDATE queues, NOWAIT,
// SKIP LOCKED, lock_timeout, deadlocks (40P01) and a bank workload whose
// total must hold in every snapshot and every view.
package concurrency

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"streamsql/engine"
	"streamsql/internal/testserver"
)

// target is a database to run a scenario on.
type target struct {
	name string
	url  string
	pg   bool // PostgreSQL itself: no streaming views
}

// targets returns StreamSQL and, with SLT_PG_DSN, PostgreSQL.
func targets(t *testing.T) []target {
	ts := testserver.Start(t, engine.Options{})
	out := []target{{name: "streamsql", url: ts.URL("streamsql", "streamsql")}}
	if dsn := os.Getenv("SLT_PG_DSN"); dsn != "" {
		out = append(out, target{name: "postgres", url: dsn, pg: true})
	}
	return out
}

// each runs f as a subtest on every target, with a table name prefix of
// its own so that runs on a shared PostgreSQL do not collide.
func each(t *testing.T, f func(t *testing.T, db *tdb)) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			prefix := fmt.Sprintf("cc%d_", time.Now().UnixNano()%1e9)
			f(t, &tdb{t: t, target: tg, prefix: prefix})
		})
	}
}

type tdb struct {
	t      *testing.T
	target target
	prefix string
}

// q replaces {t} with the test's table prefix.
func (d *tdb) q(sql string) string { return strings.ReplaceAll(sql, "{t}", d.prefix) }

func (d *tdb) conn() *pgx.Conn {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, d.target.url)
	if err != nil {
		d.t.Fatal(err)
	}
	d.t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func (d *tdb) exec(c *pgx.Conn, sql string) {
	d.t.Helper()
	if _, err := c.Exec(context.Background(), d.q(sql)); err != nil {
		d.t.Fatalf("%s: %v", d.q(sql), err)
	}
}

// setup runs statements on a fresh connection and drops the tables named
// in drops when the test ends.
func (d *tdb) setup(drops []string, stmts ...string) {
	d.t.Helper()
	c := d.conn()
	for _, s := range stmts {
		d.exec(c, s)
	}
	d.t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), d.target.url)
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		for _, tb := range drops {
			c.Exec(context.Background(), d.q("DROP MATERIALIZED VIEW IF EXISTS {t}"+tb+"_v"))
			c.Exec(context.Background(), d.q("DROP TABLE IF EXISTS {t}"+tb))
		}
	})
}

func (d *tdb) int(c *pgx.Conn, sql string) int64 {
	d.t.Helper()
	var v int64
	if err := c.QueryRow(context.Background(), d.q(sql)).Scan(&v); err != nil {
		d.t.Fatalf("%s: %v", d.q(sql), err)
	}
	return v
}

func code(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// blocked runs sql on c in the background and reports its error on the
// returned channel; it fails the test if sql finishes within wait (it was
// supposed to block).
func (d *tdb) blocked(c *pgx.Conn, sql string, wait time.Duration) <-chan error {
	d.t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := c.Exec(context.Background(), d.q(sql))
		done <- err
	}()
	select {
	case err := <-done:
		d.t.Fatalf("%s did not wait for the lock (err %v)", d.q(sql), err)
	case <-time.After(wait):
	}
	return done
}

func TestConcurrentIncrements(t *testing.T) {
	each(t, func(t *testing.T, d *tdb) {
		d.setup([]string{"acct"}, "CREATE TABLE {t}acct (id int PRIMARY KEY, v int NOT NULL)",
			"INSERT INTO {t}acct VALUES (1, 0), (2, 0)")
		const clients, each = 20, 100
		var wg sync.WaitGroup
		errs := make(chan error, clients)
		for i := 0; i < clients; i++ {
			c := d.conn()
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				for j := 0; j < each; j++ {
					sql := "UPDATE {t}acct SET v = v + 1 WHERE id = 1"
					if i%2 == 1 {
						sql = "INSERT INTO {t}acct VALUES (2, 1) ON CONFLICT (id) DO UPDATE SET v = {t}acct.v + 1"
					}
					if _, err := c.Exec(context.Background(), d.q(sql)); err != nil {
						errs <- err
						return
					}
				}
			}(i)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		c := d.conn()
		if got := d.int(c, "SELECT v FROM {t}acct WHERE id = 1"); got != clients/2*each {
			t.Errorf("UPDATE increments: v = %d, want %d", got, clients/2*each)
		}
		if got := d.int(c, "SELECT v FROM {t}acct WHERE id = 2"); got != clients/2*each {
			t.Errorf("upsert increments: v = %d, want %d", got, clients/2*each)
		}
	})
}

// TestReadModifyWrite is the two-transaction race at each level: the
// first transaction updates a row and the second updates it too before
// the first commits.
func TestReadModifyWrite(t *testing.T) {
	each(t, func(t *testing.T, d *tdb) {
		d.setup([]string{"rmw"}, "CREATE TABLE {t}rmw (id int PRIMARY KEY, v int NOT NULL)", "INSERT INTO {t}rmw VALUES (1, 10), (2, 10)")
		a, b, c := d.conn(), d.conn(), d.conn()

		// READ COMMITTED: the second waits, then applies to the new value.
		d.exec(a, "BEGIN")
		d.exec(a, "UPDATE {t}rmw SET v = v + 1 WHERE id = 1")
		d.exec(b, "BEGIN ISOLATION LEVEL READ COMMITTED")
		done := d.blocked(b, "UPDATE {t}rmw SET v = v * 2 WHERE id = 1 AND v >= 10", 150*time.Millisecond)
		d.exec(a, "COMMIT")
		if err := <-done; err != nil {
			t.Fatalf("read committed: %v", err)
		}
		d.exec(b, "COMMIT")
		if got := d.int(c, "SELECT v FROM {t}rmw WHERE id = 1"); got != 22 {
			t.Errorf("read committed: v = %d, want 22 ((10+1)*2)", got)
		}

		// READ COMMITTED re-check: the new version no longer matches.
		d.exec(a, "BEGIN")
		d.exec(a, "UPDATE {t}rmw SET v = 0 WHERE id = 2")
		done = d.blocked(b, "UPDATE {t}rmw SET v = 100 WHERE id = 2 AND v = 10", 150*time.Millisecond)
		d.exec(a, "COMMIT")
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if got := d.int(c, "SELECT v FROM {t}rmw WHERE id = 2"); got != 0 {
			t.Errorf("re-check: v = %d, want 0 (the waiting update no longer matches)", got)
		}

		for _, level := range []string{"REPEATABLE READ", "SERIALIZABLE"} {
			d.exec(c, "UPDATE {t}rmw SET v = 10 WHERE id = 1")
			// The second waits for the first and fails once it commits.
			d.exec(a, "BEGIN")
			d.exec(a, "UPDATE {t}rmw SET v = v + 1 WHERE id = 1")
			d.exec(b, "BEGIN ISOLATION LEVEL "+level)
			if got := d.int(b, "SELECT v FROM {t}rmw WHERE id = 1"); got != 10 {
				t.Fatalf("%s snapshot: v = %d", level, got)
			}
			done := d.blocked(b, "UPDATE {t}rmw SET v = v + 1 WHERE id = 1", 150*time.Millisecond)
			d.exec(a, "COMMIT")
			if err := <-done; code(err) != "40001" {
				t.Errorf("%s after a concurrent commit: %v, want 40001", level, err)
			}
			d.exec(b, "ROLLBACK")

			// If the first rolls back, the second goes on.
			d.exec(c, "UPDATE {t}rmw SET v = 10 WHERE id = 1")
			d.exec(a, "BEGIN")
			d.exec(a, "UPDATE {t}rmw SET v = v + 1 WHERE id = 1")
			d.exec(b, "BEGIN ISOLATION LEVEL "+level)
			d.int(b, "SELECT v FROM {t}rmw WHERE id = 1")
			done = d.blocked(b, "UPDATE {t}rmw SET v = v + 5 WHERE id = 1", 150*time.Millisecond)
			d.exec(a, "ROLLBACK")
			if err := <-done; err != nil {
				t.Errorf("%s after a rollback: %v", level, err)
			}
			d.exec(b, "COMMIT")
			if got := d.int(c, "SELECT v FROM {t}rmw WHERE id = 1"); got != 15 {
				t.Errorf("%s: v = %d, want 15", level, got)
			}

			// A snapshot does not move: a change committed after it is
			// not seen, and changing that row fails at once.
			d.exec(b, "BEGIN ISOLATION LEVEL "+level)
			if got := d.int(b, "SELECT v FROM {t}rmw WHERE id = 1"); got != 15 {
				t.Fatalf("v = %d", got)
			}
			d.exec(c, "UPDATE {t}rmw SET v = 99 WHERE id = 1")
			if got := d.int(b, "SELECT v FROM {t}rmw WHERE id = 1"); got != 15 {
				t.Errorf("%s: the snapshot moved to %d", level, got)
			}
			if _, err := b.Exec(context.Background(), d.q("DELETE FROM {t}rmw WHERE id = 1")); code(err) != "40001" {
				t.Errorf("%s: delete of a row changed since the snapshot: %v, want 40001", level, err)
			}
			d.exec(b, "ROLLBACK")
			d.exec(c, "UPDATE {t}rmw SET v = 15 WHERE id = 1")
		}
		var iso string
		if err := c.QueryRow(context.Background(), "SHOW transaction_isolation").Scan(&iso); err != nil || iso != "read committed" {
			t.Errorf("SHOW transaction_isolation = %q, %v", iso, err)
		}
		d.exec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ")
		if err := c.QueryRow(context.Background(), "SHOW transaction_isolation").Scan(&iso); err != nil || iso != "repeatable read" {
			t.Errorf("in a repeatable read block: %q, %v", iso, err)
		}
		d.exec(c, "COMMIT")
		d.exec(c, "BEGIN")
		d.exec(c, "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")
		if err := c.QueryRow(context.Background(), "SHOW transaction_isolation").Scan(&iso); err != nil || iso != "serializable" {
			t.Errorf("after SET TRANSACTION: %q, %v", iso, err)
		}
		d.int(c, "SELECT count(*) FROM {t}rmw")
		if _, err := c.Exec(context.Background(), "SET TRANSACTION ISOLATION LEVEL READ COMMITTED"); code(err) != "25001" {
			t.Errorf("SET TRANSACTION after a query: %v, want 25001", err)
		}
		d.exec(c, "ROLLBACK")
	})
}

// TestWriteSkew is the textbook anomaly that snapshot isolation allows and
// serializable refuses: two doctors on call each go off call after seeing
// the other still on.
func TestWriteSkew(t *testing.T) {
	each(t, func(t *testing.T, d *tdb) {
		d.setup([]string{"doctors"}, "CREATE TABLE {t}doctors (name text PRIMARY KEY, on_call bool NOT NULL)",
			"INSERT INTO {t}doctors VALUES ('alice', true), ('bob', true)")
		a, b, c := d.conn(), d.conn(), d.conn()
		run := func(level string) (errA, errB error) {
			d.exec(c, "UPDATE {t}doctors SET on_call = true")
			d.exec(a, "BEGIN ISOLATION LEVEL "+level)
			d.exec(b, "BEGIN ISOLATION LEVEL "+level)
			if n := d.int(a, "SELECT count(*) FROM {t}doctors WHERE on_call"); n != 2 {
				t.Fatalf("a sees %d on call", n)
			}
			if n := d.int(b, "SELECT count(*) FROM {t}doctors WHERE on_call"); n != 2 {
				t.Fatalf("b sees %d on call", n)
			}
			d.exec(a, "UPDATE {t}doctors SET on_call = false WHERE name = 'alice'")
			d.exec(b, "UPDATE {t}doctors SET on_call = false WHERE name = 'bob'")
			_, errA = a.Exec(context.Background(), "COMMIT")
			_, errB = b.Exec(context.Background(), "COMMIT")
			return errA, errB
		}
		if ea, eb := run("REPEATABLE READ"); ea != nil || eb != nil {
			t.Errorf("repeatable read (snapshot isolation) commits both: %v, %v", ea, eb)
		}
		ea, eb := run("SERIALIZABLE")
		if (code(ea) == "40001") == (code(eb) == "40001") {
			t.Errorf("serializable: exactly one must fail with 40001: %v, %v", ea, eb)
		}
		if n := d.int(c, "SELECT count(*) FROM {t}doctors WHERE on_call"); n != 1 {
			t.Errorf("after serializable: %d on call, want 1", n)
		}
	})
}

func TestForUpdate(t *testing.T) {
	each(t, func(t *testing.T, d *tdb) {
		d.setup([]string{"jobs"}, "CREATE TABLE {t}jobs (id int PRIMARY KEY, state text NOT NULL)",
			"INSERT INTO {t}jobs VALUES (1, 'new'), (2, 'new'), (3, 'new')")
		a, b, c := d.conn(), d.conn(), d.conn()

		// FOR UPDATE queues writers and other lockers.
		d.exec(a, "BEGIN")
		var id int64
		if err := a.QueryRow(context.Background(), d.q("SELECT id FROM {t}jobs WHERE id = 1 FOR UPDATE")).Scan(&id); err != nil || id != 1 {
			t.Fatalf("FOR UPDATE: %d %v", id, err)
		}
		done := d.blocked(b, "UPDATE {t}jobs SET state = 'b' WHERE id = 1", 150*time.Millisecond)
		d.exec(c, "BEGIN")
		done2 := d.blocked(c, "SELECT * FROM {t}jobs WHERE id = 1 FOR SHARE", 100*time.Millisecond)
		d.exec(a, "UPDATE {t}jobs SET state = 'a' WHERE id = 1")
		d.exec(a, "COMMIT")
		// The share lock comes first: the UPDATE may be granted before or
		// after it (PostgreSQL does not promise an order), and if after, it
		// waits for c's transaction to end.
		if err := <-done2; err != nil {
			t.Fatal(err)
		}
		d.exec(c, "COMMIT")
		if err := <-done; err != nil {
			t.Fatal(err)
		}

		// NOWAIT fails at once; FOR SHARE does not block FOR SHARE.
		d.exec(a, "BEGIN")
		d.exec(a, "SELECT * FROM {t}jobs WHERE id = 2 FOR SHARE")
		d.exec(b, "BEGIN")
		d.exec(b, "SELECT * FROM {t}jobs WHERE id = 2 FOR SHARE NOWAIT")
		d.exec(b, "ROLLBACK")
		if _, err := b.Exec(context.Background(), d.q("SELECT * FROM {t}jobs WHERE id = 2 FOR UPDATE NOWAIT")); code(err) != "55P03" {
			t.Errorf("NOWAIT: %v, want 55P03", err)
		}
		// lock_timeout.
		d.exec(b, "SET lock_timeout = '100ms'")
		start := time.Now()
		if _, err := b.Exec(context.Background(), d.q("UPDATE {t}jobs SET state = 'x' WHERE id = 2")); code(err) != "55P03" {
			t.Errorf("lock_timeout: %v, want 55P03", err)
		}
		if el := time.Since(start); el > 3*time.Second {
			t.Errorf("lock_timeout of 100ms took %v", el)
		}
		d.exec(b, "SET lock_timeout = 0")
		d.exec(a, "ROLLBACK")

		// SKIP LOCKED: two workers take different jobs.
		d.exec(a, "BEGIN")
		d.exec(b, "BEGIN")
		var ja, jb int64
		if err := a.QueryRow(context.Background(), d.q("SELECT id FROM {t}jobs ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED")).Scan(&ja); err != nil {
			t.Fatal(err)
		}
		if err := b.QueryRow(context.Background(), d.q("SELECT id FROM {t}jobs ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED")).Scan(&jb); err != nil {
			t.Fatal(err)
		}
		if ja != 1 || jb != 2 {
			t.Errorf("SKIP LOCKED took jobs %d and %d, want 1 and 2", ja, jb)
		}
		rows, err := c.Query(context.Background(), d.q("SELECT id FROM {t}jobs FOR UPDATE SKIP LOCKED"))
		if err != nil {
			t.Fatal(err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
		if err != nil || len(ids) != 1 || ids[0] != 3 {
			t.Errorf("a third worker gets %v (%v), want [3]", ids, err)
		}
		d.exec(a, "COMMIT")
		d.exec(b, "COMMIT")
	})
}

// Rows of a table without a primary key are locked one by one (two equal
// rows are two rows), and a locker that waited re-checks the row's newest
// version, as for a table with a key.
func TestForUpdateWithoutPrimaryKey(t *testing.T) {
	each(t, func(t *testing.T, d *tdb) {
		d.setup([]string{"q"}, "CREATE TABLE {t}q (job int, state text)",
			"INSERT INTO {t}q VALUES (1, 'new'), (1, 'new'), (2, 'new')")
		a, b := d.conn(), d.conn()
		ctx := context.Background()

		// Equal rows are locked separately: SKIP LOCKED takes the other.
		d.exec(a, "BEGIN")
		rows, err := a.Query(ctx, d.q("SELECT * FROM {t}q WHERE job = 1 LIMIT 1 FOR UPDATE"))
		if err != nil {
			t.Fatal(err)
		}
		if n := len(rows.FieldDescriptions()); n != 2 {
			t.Errorf("SELECT * ... FOR UPDATE has %d columns, want 2", n)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		tag, err := b.Exec(ctx, d.q("SELECT job FROM {t}q WHERE job = 1 FOR UPDATE SKIP LOCKED"))
		if err != nil || tag.RowsAffected() != 1 {
			t.Errorf("SKIP LOCKED beside one locked duplicate: %v rows (%v), want 1", tag.RowsAffected(), err)
		}
		if _, err := b.Exec(ctx, d.q("SELECT * FROM {t}q WHERE job = 1 FOR UPDATE NOWAIT")); code(err) != "55P03" {
			t.Errorf("NOWAIT on a locked row: %v, want 55P03", err)
		}
		d.exec(b, "SELECT * FROM {t}q WHERE job = 2 FOR UPDATE NOWAIT")
		d.exec(a, "ROLLBACK")

		// A waiting locker sees the newest version: a row that no
		// longer matches drops out.
		d.exec(a, "BEGIN")
		d.exec(a, "SELECT * FROM {t}q WHERE job = 1 FOR UPDATE")
		d.exec(b, "BEGIN")
		type res struct {
			n   int
			err error
		}
		done := make(chan res, 1)
		go func() {
			rows, err := b.Query(ctx, d.q("SELECT job FROM {t}q WHERE state = 'new' ORDER BY job FOR UPDATE"))
			if err != nil {
				done <- res{err: err}
				return
			}
			ids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
			done <- res{len(ids), err}
		}()
		select {
		case r := <-done:
			t.Fatalf("FOR UPDATE did not wait for the locked rows: %+v", r)
		case <-time.After(150 * time.Millisecond):
		}
		d.exec(a, "UPDATE {t}q SET state = 'done' WHERE job = 1")
		d.exec(a, "COMMIT")
		r := <-done
		if r.err != nil {
			t.Fatal(r.err)
		}
		if r.n != 1 {
			t.Errorf("after the wait: %d rows, want 1 (job 2; job 1 rows changed to done)", r.n)
		}
		d.exec(b, "COMMIT")
	})
}

func TestDeadlock(t *testing.T) {
	each(t, func(t *testing.T, d *tdb) {
		d.setup([]string{"dl"}, "CREATE TABLE {t}dl (id int PRIMARY KEY, v int)", "INSERT INTO {t}dl VALUES (1, 0), (2, 0)")
		a, b := d.conn(), d.conn()
		d.exec(a, "BEGIN")
		d.exec(b, "BEGIN")
		d.exec(a, "UPDATE {t}dl SET v = 1 WHERE id = 1")
		d.exec(b, "UPDATE {t}dl SET v = 2 WHERE id = 2")
		done := d.blocked(a, "UPDATE {t}dl SET v = 1 WHERE id = 2", 100*time.Millisecond)
		_, errB := b.Exec(context.Background(), d.q("UPDATE {t}dl SET v = 2 WHERE id = 1"))
		if code(errB) == "40P01" {
			b.Exec(context.Background(), "ROLLBACK")
			if err := <-done; err != nil {
				t.Fatalf("the survivor: %v", err)
			}
			d.exec(a, "COMMIT")
		} else {
			// PostgreSQL may pick the other one.
			errA := <-done
			if code(errA) != "40P01" {
				t.Fatalf("no deadlock reported: %v / %v", errA, errB)
			}
			a.Exec(context.Background(), "ROLLBACK")
			d.exec(b, "COMMIT")
		}
	})
}

// TestBank is Jepsen's bank workload: transfers between accounts from many
// clients, while readers check that the total never changes in any
// snapshot (and, on StreamSQL, in a view over the accounts).
func TestBank(t *testing.T) {
	each(t, func(t *testing.T, d *tdb) {
		const accounts, total = 8, 8000
		stmts := []string{"CREATE TABLE {t}bank (id int PRIMARY KEY, balance int NOT NULL)"}
		for i := 0; i < accounts; i++ {
			stmts = append(stmts, fmt.Sprintf("INSERT INTO {t}bank VALUES (%d, %d)", i, total/accounts))
		}
		if !d.target.pg {
			stmts = append(stmts, "CREATE MATERIALIZED VIEW {t}bank_v AS SELECT sum(balance) AS total, count(*) AS n FROM {t}bank")
		}
		d.setup([]string{"bank"}, stmts...)
		levels := []string{"READ COMMITTED", "REPEATABLE READ", "SERIALIZABLE"}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		var transfers, retries atomic.Int64
		var wg sync.WaitGroup
		errs := make(chan error, 32)
		for w := 0; w < 6; w++ {
			c := d.conn()
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				level := levels[w%len(levels)]
				for i := 0; ctx.Err() == nil; i++ {
					from, to := (w+i)%accounts, (w*3+i*5+1)%accounts
					if from == to {
						continue
					}
					amt := 1 + (w+i)%7
					err := transfer(c, d, level, from, to, amt)
					switch code(err) {
					case "":
						if err != nil {
							errs <- err
							return
						}
						transfers.Add(1)
					case "40001", "40P01":
						retries.Add(1)
						c.Exec(context.Background(), "ROLLBACK")
					default:
						errs <- err
						return
					}
				}
			}(w)
		}
		for r := 0; r < 2; r++ {
			c := d.conn()
			wg.Add(1)
			go func(r int) {
				defer wg.Done()
				for ctx.Err() == nil {
					var sum int64
					q := "SELECT sum(balance) FROM {t}bank"
					if r == 1 && !d.target.pg {
						q = "SELECT total FROM {t}bank_v"
					}
					if err := c.QueryRow(context.Background(), d.q(q)).Scan(&sum); err != nil {
						errs <- err
						return
					}
					if sum != total {
						errs <- fmt.Errorf("%s saw a total of %d, want %d", q, sum, total)
						return
					}
				}
			}(r)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		c := d.conn()
		if got := d.int(c, "SELECT sum(balance) FROM {t}bank"); got != total {
			t.Errorf("final total %d, want %d", got, total)
		}
		if !d.target.pg {
			d.exec(c, "FLUSH")
			if got := d.int(c, "SELECT total FROM {t}bank_v"); got != total {
				t.Errorf("view total %d, want %d", got, total)
			}
		}
		if transfers.Load() == 0 {
			t.Error("no transfer committed")
		}
		t.Logf("%d transfers, %d retried", transfers.Load(), retries.Load())
	})
}

func transfer(c *pgx.Conn, d *tdb, level string, from, to, amt int) error {
	ctx := context.Background()
	if _, err := c.Exec(ctx, "BEGIN ISOLATION LEVEL "+level); err != nil {
		return err
	}
	var bal int64
	if err := c.QueryRow(ctx, d.q("SELECT balance FROM {t}bank WHERE id = $1"), from).Scan(&bal); err != nil {
		return err
	}
	if bal < int64(amt) {
		_, err := c.Exec(ctx, "ROLLBACK")
		return err
	}
	if _, err := c.Exec(ctx, d.q("UPDATE {t}bank SET balance = balance - $1 WHERE id = $2"), amt, from); err != nil {
		return err
	}
	if _, err := c.Exec(ctx, d.q("UPDATE {t}bank SET balance = balance + $1 WHERE id = $2"), amt, to); err != nil {
		return err
	}
	_, err := c.Exec(ctx, "COMMIT")
	return err
}

// TestTransactionTooLarge: a transaction past -max-transaction-size fails
// with 54000 and leaves nothing behind; smaller ones go on.
func TestTransactionTooLarge(t *testing.T) {
	ts := testserver.Start(t, engine.Options{MaxTransactionBytes: 1 << 20})
	d := &tdb{t: t, target: target{name: "streamsql", url: ts.URL("streamsql", "streamsql")}, prefix: "big_"}
	c := d.conn()
	d.exec(c, "CREATE TABLE {t}t (id int PRIMARY KEY, pad text)")
	_, err := c.Exec(context.Background(), d.q("INSERT INTO {t}t SELECT g, repeat('x', 100) FROM generate_series(1, 100000) g"))
	if code(err) != "54000" {
		t.Fatalf("a 10 MB insert under a 1 MB bound: %v, want 54000", err)
	}
	d.exec(c, "BEGIN")
	d.exec(c, "INSERT INTO {t}t SELECT g, repeat('x', 100) FROM generate_series(1, 5000) g")
	if _, err := c.Exec(context.Background(), d.q("INSERT INTO {t}t SELECT g, repeat('x', 100) FROM generate_series(5001, 20000) g")); code(err) != "54000" {
		t.Fatalf("the block's second insert: %v, want 54000", err)
	}
	d.exec(c, "ROLLBACK")
	d.exec(c, "INSERT INTO {t}t SELECT g, 'y' FROM generate_series(1, 1000) g")
	if n := d.int(c, "SELECT count(*) FROM {t}t"); n != 1000 {
		t.Fatalf("%d rows, want 1000", n)
	}
}
