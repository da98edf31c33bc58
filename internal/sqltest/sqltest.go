// Package sqltest holds what tests do over a PostgreSQL connection, to
// StreamSQL or to an upstream PostgreSQL: run statements, print a result
// as text, and wait until a result reads as expected (a streaming result
// arrives some time after the write that causes it).
package sqltest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Within is how long Eventually waits for a result.
const Within = 20 * time.Second

// Connect connects to url, failing t when it cannot, and closes the
// connection when t ends.
func Connect(t testing.TB, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// Exec runs each statement in turn, failing t at the first error.
func Exec(t testing.TB, conn *pgx.Conn, sqls ...string) {
	t.Helper()
	for _, q := range sqls {
		if _, err := conn.Exec(context.Background(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// Rows runs q and prints its rows, one per line, each value as fmt.Sprint
// prints it and the values separated by spaces.
func Rows(t testing.TB, conn *pgx.Conn, q string) string {
	t.Helper()
	rows, err := conn.Query(context.Background(), q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		cells := make([]string, len(vals))
		for i, v := range vals {
			cells[i] = fmt.Sprint(v)
		}
		out = append(out, strings.Join(cells, " "))
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return strings.Join(out, "\n")
}

// JobRow returns the values of job name's row in SHOW JOBS (name, status,
// ... in the order SHOW JOBS gives them), nil when it has none.
func JobRow(t testing.TB, conn *pgx.Conn, name string) []any {
	t.Helper()
	_, v := jobRow(t, conn, name)
	return v
}

// JobColumns returns job name's row in SHOW JOBS by column name, nil
// when it has none.
func JobColumns(t testing.TB, conn *pgx.Conn, name string) map[string]any {
	t.Helper()
	cols, v := jobRow(t, conn, name)
	if v == nil {
		return nil
	}
	m := make(map[string]any, len(v))
	for i, c := range cols {
		m[c] = v[i]
	}
	return m
}

// jobRow returns the column names of SHOW JOBS and job name's values.
func jobRow(t testing.TB, conn *pgx.Conn, name string) ([]string, []any) {
	t.Helper()
	cols, jobs := Jobs(t, conn)
	for _, v := range jobs {
		if v[1] == name {
			return cols, v
		}
	}
	return cols, nil
}

// Jobs returns the column names of SHOW JOBS and its rows, one a job.
func Jobs(t testing.TB, conn *pgx.Conn) ([]string, [][]any) {
	t.Helper()
	rows, err := conn.Query(context.Background(), "SHOW JOBS")
	if err != nil {
		t.Fatalf("SHOW JOBS: %v", err)
	}
	defer rows.Close()
	var cols []string
	for _, f := range rows.FieldDescriptions() {
		cols = append(cols, f.Name)
	}
	var jobs [][]any
	for rows.Next() {
		v, err := rows.Values()
		if err != nil {
			t.Fatalf("SHOW JOBS: %v", err)
		}
		jobs = append(jobs, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("SHOW JOBS: %v", err)
	}
	return cols, jobs
}

// Eventually polls q until its Rows are want, failing t when they are
// not after Within.
func Eventually(t testing.TB, conn *pgx.Conn, q, want string) {
	t.Helper()
	EventuallyWithin(t, conn, q, want, Within)
}

// EventuallyWithin is Eventually waiting d instead of Within, for tests
// in which how soon a result comes is part of what they check.
func EventuallyWithin(t testing.TB, conn *pgx.Conn, q, want string, d time.Duration) {
	t.Helper()
	var got string
	for deadline := time.Now().Add(d); ; time.Sleep(20 * time.Millisecond) {
		if got = Rows(t, conn, q); got == want {
			return
		}
		if time.Now().After(deadline) {
			break
		}
	}
	t.Fatalf("%s:\ngot  %q\nwant %q", q, got, want)
}

// JobInt is the integer in column col of job name's row in SHOW JOBS,
// failing t when there is no such job or the column holds no integer.
func JobInt(t testing.TB, conn *pgx.Conn, name, col string) int64 {
	t.Helper()
	row := JobColumns(t, conn, name)
	if row == nil {
		t.Fatalf("SHOW JOBS has no %s", name)
	}
	n, ok := row[col].(int64)
	if !ok {
		t.Fatalf("SHOW JOBS: %q of %s is %v, not an integer", col, name, row[col])
	}
	return n
}

// PollJob polls JobInt until done is true of it or d has passed, and
// returns the last value and whether done was true of it.
func PollJob(t testing.TB, conn *pgx.Conn, name, col string, d time.Duration, done func(int64) bool) (int64, bool) {
	t.Helper()
	for deadline := time.Now().Add(d); ; time.Sleep(20 * time.Millisecond) {
		n := JobInt(t, conn, name, col)
		if done(n) {
			return n, true
		}
		if time.Now().After(deadline) {
			return n, false
		}
	}
}
