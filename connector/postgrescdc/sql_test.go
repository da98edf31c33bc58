package postgrescdc_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"streamsql/internal/testpg"
	"streamsql/internal/testserver"
)

// These tests run the connector through SQL: CREATE TABLE ... WITH
// (connector = 'postgres-cdc') on a StreamSQL server, following a table
// of the PostgreSQL of SLT_PG_DSN (wal_level = logical).

// upstreamDB connects to SLT_PG_DSN or skips the test.
func upstreamDB(t *testing.T) (*pgx.ConnConfig, *pgx.Conn) {
	t.Helper()
	c, cfg := testpg.ConnectLogical(t)
	return cfg, c
}

// followed makes an upstream table named name (unique per run) with
// columns id bigint PRIMARY KEY, v int, s text, and returns its name and
// the WITH options of a StreamSQL table that follows it; the slot and
// publication go at the end.
func followed(t *testing.T, cfg *pgx.ConnConfig, up *pgx.Conn, rows int) (string, string) {
	t.Helper()
	name := fmt.Sprintf("sqlcdc_%d", time.Now().UnixNano()%1e9)
	mustExec(t, up, fmt.Sprintf("CREATE TABLE %s (id bigint PRIMARY KEY, v int, s text)", name))
	mustExec(t, up, fmt.Sprintf("INSERT INTO %s SELECT g, g %% 100, 'r' || g FROM generate_series(1, %d) g", name, rows))
	dropWhenDone(t, up, name)
	with := fmt.Sprintf(`connector = 'postgres-cdc', hostname = '%s', port = '%d', username = '%s', password = '%s',
		database.name = '%s', table.name = '%s', slot.name = '%s_slot', publication.name = '%s_pub', ssl.mode = 'disable'`,
		cfg.Host, cfg.Port, cfg.User, cfg.Password, cfg.Database, name, name, name)
	return name, with
}

// dropWhenDone drops, when t ends, the upstream table name and the slot
// (name_slot) and publication (name_pub) a source made for it; the slot
// stays busy for a moment after the source stops.
func dropWhenDone(t *testing.T, up *pgx.Conn, name string) {
	t.Cleanup(func() {
		ctx := context.Background()
		for range 50 {
			if _, err := up.Exec(ctx, "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1", name+"_slot"); err == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		up.Exec(ctx, "DROP PUBLICATION IF EXISTS "+name+"_pub")
		up.Exec(ctx, "DROP TABLE IF EXISTS "+name)
	})
}

func mustExec(t *testing.T, c *pgx.Conn, sql string) {
	t.Helper()
	if _, err := c.Exec(context.Background(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// text runs q and returns its rows, one line each, cells separated by
// spaces.
func text(c *pgx.Conn, q string) (string, error) { return textSep(c, q, " ") }

// textSep is text with cells separated by sep.
func textSep(c *pgx.Conn, q, sep string) (string, error) {
	rows, err := c.Query(context.Background(), q, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var cells []string
		for _, v := range rows.RawValues() {
			cells = append(cells, string(v))
		}
		lines = append(lines, strings.Join(cells, sep))
	}
	return strings.Join(lines, "\n"), rows.Err()
}

// converge waits until q gives the same rows on StreamSQL and upstream.
func converge(t *testing.T, ss *pgx.Conn, q string, up *pgx.Conn, upq string, within time.Duration) string {
	t.Helper()
	var got, want string
	var err error
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if want, err = text(up, upq); err != nil {
			t.Fatal(err)
		}
		got, err = text(ss, q)
		if err == nil && got == want {
			return got
		}
	}
	t.Fatalf("%s: StreamSQL and upstream differ (err %v)\nStreamSQL: %.300s\nupstream:  %.300s", q, err, got, want)
	return ""
}

// randomDML changes table name from clients connections until ctx ends.
func randomDML(ctx context.Context, t *testing.T, cfg *pgx.ConnConfig, name string, clients, keys int) *sync.WaitGroup {
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := pgx.ConnectConfig(context.Background(), cfg)
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close(context.Background())
			rng := rand.New(rand.NewPCG(uint64(c), uint64(time.Now().UnixNano())))
			for ctx.Err() == nil {
				k, k2 := rng.IntN(keys), rng.IntN(keys)
				var q string
				switch rng.IntN(6) {
				case 0, 1:
					q = fmt.Sprintf("INSERT INTO %s VALUES (%d, %d, 'i%d') ON CONFLICT (id) DO NOTHING", name, k, rng.IntN(1000), c)
				case 2, 3:
					q = fmt.Sprintf("UPDATE %s SET v = v + 1, s = 'u%d' WHERE id = %d", name, c, k)
				case 4:
					q = fmt.Sprintf("UPDATE %s SET id = %d WHERE id = %d AND NOT EXISTS (SELECT 1 FROM %s WHERE id = %d)", name, k2, k, name, k2)
				default:
					q = fmt.Sprintf("DELETE FROM %s WHERE id = %d", name, k)
				}
				conn.Exec(context.Background(), q)
				time.Sleep(time.Millisecond)
			}
		}()
	}
	return &wg
}

// TestSQLTable follows an upstream table from SQL: the table and a view
// over it equal the upstream table under random DML from three clients,
// the slot's confirmed_flush_lsn advances as the table commits, and bad
// statements fail with PostgreSQL-style errors.
func TestSQLTable(t *testing.T) {
	cfg, up := upstreamDB(t)
	name, with := followed(t, cfg, up, 2000)
	ss := streamsqlConn(t)

	// Errors at CREATE.
	for _, tc := range []struct{ sql, code, msg string }{
		{"CREATE TABLE nokey (id bigint, v int) WITH (" + with + ")", "42P16", "PRIMARY KEY"},
		{"CREATE TABLE badopt (id bigint PRIMARY KEY) WITH (" + with + ", slot.nmae = 'x')", "22023", "slot.nmae"},
		{"CREATE SOURCE src (id bigint) WITH (" + with + ")", "0A000", "feeds tables only"},
		{"CREATE TABLE fmt (id bigint PRIMARY KEY) WITH (" + with + ") FORMAT PLAIN ENCODE JSON", "22023", "takes no FORMAT"},
	} {
		_, err := ss.Exec(context.Background(), tc.sql)
		pe, ok := err.(*pgconn.PgError)
		if !ok || pe.Code != tc.code || !strings.Contains(pe.Message+pe.Hint, tc.msg) {
			t.Errorf("%.60s: got %v, want %s about %s", tc.sql, err, tc.code, tc.msg)
		}
	}

	// A table whose upstream table does not exist is not created.
	_, err := ss.Exec(context.Background(), "CREATE TABLE missing (id bigint PRIMARY KEY) WITH ("+strings.Replace(with, "table.name = '"+name, "table.name = 'no_such_"+name, 1)+")")
	if pe, ok := err.(*pgconn.PgError); !ok || pe.Code != "42P01" || !strings.Contains(pe.Message, "no_such_"+name+"\" does not exist") {
		t.Fatalf("CREATE TABLE over a missing upstream table: %v", err)
	}
	if _, err := text(ss, "SELECT * FROM missing"); err == nil {
		t.Fatal("the failed CREATE TABLE left table missing behind")
	}

	mustExec(t, ss, "CREATE TABLE orders (id bigint, v int, s text, PRIMARY KEY (id)) WITH ("+with+")")
	mustExec(t, ss, "CREATE MATERIALIZED VIEW totals AS SELECT count(*) AS n, sum(v) AS sv, count(DISTINCT s) AS ns FROM orders")
	ctx, stop := context.WithCancel(context.Background())
	wg := randomDML(ctx, t, cfg, name, 3, 3000)
	time.Sleep(1500 * time.Millisecond)
	stop()
	wg.Wait()
	converge(t, ss, "SELECT id, v, s FROM orders ORDER BY id", up, "SELECT id, v, s FROM "+name+" ORDER BY id", 20*time.Second)
	got := converge(t, ss, "SELECT n, sv, ns FROM totals", up, "SELECT count(*), sum(v), count(DISTINCT s) FROM "+name, 10*time.Second)
	t.Logf("totals: %s", got)

	// The slot's confirmed position reaches the upstream's WAL position
	// of the last change once the table has committed it.
	var last string
	if err := up.QueryRow(context.Background(), "SELECT pg_current_wal_lsn()::text").Scan(&last); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var ok bool
		if err := up.QueryRow(context.Background(), "SELECT confirmed_flush_lsn >= $1::pg_lsn FROM pg_replication_slots WHERE slot_name = $2",
			last, name+"_slot").Scan(&ok); err != nil {
			t.Fatal(err)
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("confirmed_flush_lsn did not reach %s", last)
		}
	}

	// A TRUNCATE upstream empties the table, and the view follows; the
	// rows after it arrive.
	mustExec(t, up, "TRUNCATE "+name)
	mustExec(t, up, "INSERT INTO "+name+" VALUES (-1, 0, 'after truncate')")
	converge(t, ss, "SELECT id, v, s FROM orders ORDER BY id", up, "SELECT id, v, s FROM "+name+" ORDER BY id", 10*time.Second)
	converge(t, ss, "SELECT n, sv, ns FROM totals", up, "SELECT count(*), sum(v), count(DISTINCT s) FROM "+name, 10*time.Second)
	if got, err := text(ss, `SELECT count(*) FROM rejects WHERE relation = 'orders'`); err != nil || got != "0" {
		t.Fatalf("rejects: %q, %v", got, err)
	}
}

// crashRounds is PGCDC_CRASH_ROUNDS, or 3.
func crashRounds() int {
	if n, err := strconv.Atoi(os.Getenv("PGCDC_CRASH_ROUNDS")); err == nil && n > 0 {
		return n
	}
	return 3
}

// TestSQLKill9 kills streamsqld (a subprocess) with SIGKILL at random
// moments, the first one during the snapshot, while three clients change
// the upstream table at random, and restarts it each time. At the end the
// table and a view over it equal the upstream table. 3 rounds; set
// PGCDC_CRASH_ROUNDS=20 for the long run.
func TestSQLKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a server")
	}
	cfg, up := upstreamDB(t)
	name, with := followed(t, cfg, up, 30000)
	bin := testserver.Build(t)
	dir := t.TempDir()

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	wg := randomDML(ctx, t, cfg, name, 3, 40000)
	defer wg.Wait()
	defer stop()

	srv := testserver.StartProcess(t, bin, dir, "error")
	defer func() { srv.Kill() }()
	ss := srv.Dial(t)
	mustExec(t, ss, "CREATE TABLE orders (id bigint, v int, s text, PRIMARY KEY (id)) WITH ("+with+", max.batch.rows = '200')")
	mustExec(t, ss, "CREATE MATERIALIZED VIEW totals AS SELECT count(*) AS n, sum(v) AS sv FROM orders")
	ss.Close(context.Background())
	rng := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))
	for round := range crashRounds() {
		wait := time.Duration(200+rng.IntN(800)) * time.Millisecond
		if round == 0 {
			wait = 150 * time.Millisecond // inside the snapshot of 30,000 rows
		}
		time.Sleep(wait)
		srv.Kill()
		srv = testserver.StartProcess(t, bin, dir, "error")
	}
	time.Sleep(300 * time.Millisecond)
	stop()
	wg.Wait()
	ss = srv.Dial(t)
	defer ss.Close(context.Background())
	converge(t, ss, "SELECT id, v, s FROM orders ORDER BY id", up, "SELECT id, v, s FROM "+name+" ORDER BY id", 60*time.Second)
	got := converge(t, ss, "SELECT n, sv FROM totals", up, "SELECT count(*), sum(v) FROM "+name, 20*time.Second)
	t.Logf("after %d kills: totals %s", crashRounds(), got)
}
