package engine_test

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"streamsql/engine"
)

// mrInsert inserts rows into table (k int, ts timestamp, v int), ts as
// seconds after the epoch.
func mrInsert(t *testing.T, conn *pgx.Conn, table string, rows []refRow) {
	t.Helper()
	execAll(t, conn, mrInsertSQL(table, rows))
}

// mrInsertSQL is the INSERT of rows into table.
func mrInsertSQL(table string, rows []refRow) string {
	var sb strings.Builder
	for i, r := range rows {
		if i > 0 {
			sb.WriteString(", ")
		}
		fmt.Fprintf(&sb, "(%d, '%s', %d)", r.k, time.Unix(int64(r.ts), 0).UTC().Format("2006-01-02 15:04:05"), r.v)
	}
	return "INSERT INTO " + table + " VALUES " + sb.String()
}

// mrOutput runs q wrapped to print the reference's columns, in order.
func mrOutput(conn *pgx.Conn, q *refQuery, table string) ([]string, error) {
	return mrSelect(conn, q, "("+q.sql(table)+") x")
}

// mrSelect prints the reference's columns of from (q's query or a view
// of it), in order.
func mrSelect(conn *pgx.Conn, q *refQuery, from string) ([]string, error) {
	cols := "k, mn, extract(epoch from s)::int8, extract(epoch from e)::int8, n"
	for i, v := range q.vars {
		if q.used[i] {
			cols += ", n_" + v
		}
	}
	cols += ", sv"
	rows, err := conn.Query(context.Background(), "SELECT "+cols+" FROM "+from+" ORDER BY k, mn")
	if err != nil {
		return nil, err
	}
	return scanRows(rows, joinValues(" ", func(v any) string { return fmt.Sprint(v) }))
}

// mrSeed is the differential tests' seed: MR_SEED, or a fixed one.
func mrSeed(t *testing.T) int64 {
	if s := os.Getenv("MR_SEED"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	return 20261207
}

// TestMatchRecognizeDifferential runs random patterns over random rows in
// ad-hoc queries and compares with the reference matcher.
func TestMatchRecognizeDifferential(t *testing.T) {
	_, conn := startConn(t, engine.Options{})
	r := rand.New(rand.NewSource(mrSeed(t)))
	execAll(t, conn, "CREATE TABLE ev (k int, ts timestamp, v int)")
	rows := randRows(r, 3, 25)
	mrInsert(t, conn, "ev", rows)
	queries := 100
	if testing.Short() {
		queries = 40
	}
	matched, skipped := 0, 0
	for i := 0; i < queries; i++ {
		q := randQuery(r)
		want, ok := refResults(q, rows)
		if !ok {
			skipped++
			continue
		}
		got, err := mrOutput(conn, q, "ev")
		if err != nil {
			t.Fatalf("%s: %v", q.sql("ev"), err)
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("query %d: %s\ngot:\n%s\nwant:\n%s", i, q.sql("ev"), strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		matched += len(want)
	}
	if matched == 0 {
		t.Fatal("no query matched anything: the test checks nothing")
	}
	if skipped > queries/10 {
		t.Fatalf("%d of %d queries too costly for the reference", skipped, queries)
	}
	t.Logf("%d queries (%d too costly for the reference), %d matches", queries, skipped, matched)
}
