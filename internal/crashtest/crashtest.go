// Package crashtest holds the kill -9 loop that the exactly-once tests of
// the sinks share: a streamsqld child process writes a table out through a
// sink while a client changes the table, the process is killed with
// SIGKILL at random moments and started again on the same data directory.
// What the sink delivered is then checked by the test against the table,
// each in the terms of its target (a topic, a PostgreSQL table).
package crashtest

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"streamsql/internal/testserver"
)

// Table is the table the loop writes, which the test's sink reads: every
// update raises v, so a row version delivered twice is a duplicate.
const Table = `CREATE TABLE acc (id int PRIMARY KEY, v bigint)`

// Rounds is the number of kills of a loop: 3, or 20 when the environment
// has STREAMSQL_KAFKA_CRASH=long. Loops build and kill a server, so a
// -short run skips the test.
func Rounds(t *testing.T) int {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and kills a server")
	}
	if os.Getenv("STREAMSQL_KAFKA_CRASH") == "long" {
		return 20
	}
	return 3
}

// Row is a row of the table: its key and its value.
type Row struct{ ID, V int64 }

// KillLoop builds streamsqld, starts it on a fresh data directory, creates
// Table and runs setup (the sink), then rounds times lets a writer insert
// new keys and raise the values of old ones until the process is killed
// under it, 300 ms to 1.5 s into the round, and starts it again. It
// returns the rows of the table, read after a FLUSH of the server that
// runs after the last restart (stopped when the test ends).
func KillLoop(t *testing.T, rounds int, setup ...string) []Row {
	t.Helper()
	ctx := context.Background()
	srv := testserver.StartBuilt(t, "error")
	conn := srv.Dial(t)
	for _, q := range append([]string{Table}, setup...) {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	conn.Close(ctx)
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	for round := 0; round < rounds; round++ {
		done := make(chan struct{})
		go func() {
			defer close(done)
			write(ctx, srv.URL(), round)
		}()
		time.Sleep(time.Duration(300+rng.Intn(1200)) * time.Millisecond)
		srv.Kill()
		<-done
		srv = srv.Restart(t)
	}
	conn = srv.Dial(t)
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "FLUSH"); err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(ctx, `SELECT id, v FROM acc ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []Row
	for rows.Next() {
		var r Row
		if err := rows.Scan(&r.ID, &r.V); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// write inserts a new key (every third statement) or raises the value of
// the keys of one residue mod 50, until the server stops answering. The
// keys of a round start at round*100,000, so no two rounds collide.
func write(ctx context.Context, url string, round int) {
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	conn, err := pgx.Connect(dctx, url)
	cancel()
	if err != nil {
		return
	}
	defer conn.Close(ctx)
	for i := 0; ; i++ {
		q := fmt.Sprintf(`INSERT INTO acc VALUES (%d, 1)`, round*100_000+i)
		if i%3 != 0 {
			q = fmt.Sprintf(`UPDATE acc SET v = v + 1 WHERE id %% 50 = %d`, i%50)
		}
		if _, err := conn.Exec(ctx, q); err != nil {
			return
		}
	}
}
