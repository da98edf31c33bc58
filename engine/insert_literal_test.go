package engine_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"streamsql/engine"
)

// litRows makes n rows from the row template f, which gets the row number.
func litRows(n int, f func(i int) string) string {
	rows := make([]string, n)
	for i := range rows {
		rows[i] = f(i)
	}
	return strings.Join(rows, ", ")
}

// TestLiteralInsertSameAsGrammar runs multi-row INSERTs of literal values
// (which skip the grammar: insert_literal.go) and the same statements
// made to go through the grammar (a trailing comment does that), each
// into its own copy of a table, and checks that both give the same
// result: the same rows, or the same error with the same SQLSTATE,
// message, detail and position.
func TestLiteralInsertSameAsGrammar(t *testing.T) {
	_, conn := startConn(t, engine.Options{})
	ctx := context.Background()
	const ddl = `CREATE TABLE %s (id int PRIMARY KEY, name text NOT NULL, price numeric(8,2), qty int2,
		ratio float8, ok bool, day date, at timestamptz, doc jsonb, code varchar(3), big bigint DEFAULT 7,
		CHECK (qty >= 0))`
	n := 0
	cases := []string{
		// Every type, signs, exponents, quotes, NULLs, the default.
		"INSERT INTO %s (id, name, price, qty, ratio, ok, day, at, doc, code) VALUES " + litRows(40, func(i int) string {
			return fmt.Sprintf("(%d, 'it''s %d', %d.255, %d, -%de-2, %v, '2024-02-%02d', '2024-03-01 12:00:%02d+02', '{\"a\": %d}', 'c%d')",
				i, i, i, i%100, i, i%2 == 0, i%28+1, i%60, i, i%10)
		}),
		"INSERT INTO %s VALUES " + litRows(20, func(i int) string {
			return fmt.Sprintf("(%d, 'n', NULL, NULL, '-0', NULL, NULL, NULL, NULL, NULL, %d)", i, -i)
		}),
		// Fewer values than columns; uppercase keywords, a quoted name.
		`insert into "%s" (ID, "name") values ` + litRows(20, func(i int) string { return fmt.Sprintf("(%d, 'x')", i) }) + ";",
		// Conversions the grammar makes: a decimal rounds into an integer
		// column, a number becomes text, a string becomes a number.
		"INSERT INTO %s (id, name, qty, price) VALUES " + litRows(20, func(i int) string { return fmt.Sprintf("(%d.6, %d, '%d', '%d.5')", i, i, i, i) }),
		// Errors: a repeated key, NULL into NOT NULL, a CHECK, a bad
		// integer, an integer out of range, a string too long, a boolean
		// into an integer, too many values, an unknown column and table.
		"INSERT INTO %s (id, name) VALUES " + litRows(20, func(i int) string { return fmt.Sprintf("(%d, 'a')", i%15) }),
		"INSERT INTO %s (id, name) VALUES " + litRows(20, func(i int) string {
			if i == 17 {
				return "(17, NULL)"
			}
			return fmt.Sprintf("(%d, 'a')", i)
		}),
		"INSERT INTO %s (id, name, qty) VALUES " + litRows(20, func(i int) string { return fmt.Sprintf("(%d, 'a', %d)", i, 10-i) }),
		"INSERT INTO %s (id, name, qty) VALUES " + litRows(20, func(i int) string {
			if i == 5 {
				return "(5, 'a', 'five')"
			}
			return fmt.Sprintf("(%d, 'a', %d)", i, i)
		}),
		"INSERT INTO %s (id, name, qty) VALUES " + litRows(20, func(i int) string { return fmt.Sprintf("(%d, 'a', %d)", i, i*3000) }),
		"INSERT INTO %s (id, name, code) VALUES " + litRows(20, func(i int) string { return fmt.Sprintf("(%d, 'a', 'abcd')", i) }),
		"INSERT INTO %s (id, name, qty) VALUES " + litRows(20, func(i int) string { return fmt.Sprintf("(%d, 'a', true)", i) }),
		"INSERT INTO %s (id, name) VALUES " + litRows(20, func(i int) string { return fmt.Sprintf("(%d, 'a', 1)", i) }),
		"INSERT INTO %s (id, nosuch) VALUES " + litRows(20, func(i int) string { return fmt.Sprintf("(%d, 'a')", i) }),
		"INSERT INTO %s_nosuch VALUES " + litRows(20, func(i int) string { return fmt.Sprintf("(%d, 'a')", i) }),
		// More rows than one chunk.
		"INSERT INTO %s (id, name, ratio) VALUES " + litRows(10000, func(i int) string { return fmt.Sprintf("(%d, 'r%d', %d.25)", i, i%7, i) }),
	}
	for _, c := range cases {
		n++
		fast, slow := fmt.Sprintf("lf%d", n), fmt.Sprintf("ls%d", n)
		execAll(t, conn, fmt.Sprintf(ddl, fast), fmt.Sprintf(ddl, slow))
		// Some rows there already, for the conflicts.
		execAll(t, conn, fmt.Sprintf("INSERT INTO %s (id, name) VALUES (1000, 'old')", fast),
			fmt.Sprintf("INSERT INTO %s (id, name) VALUES (1000, 'old')", slow))
		_, errFast := conn.Exec(ctx, fmt.Sprintf(c, fast))
		_, errSlow := conn.Exec(ctx, fmt.Sprintf(c, slow)+" -- through the grammar")
		if got, want := describeErr(errFast, fast), describeErr(errSlow, slow); got != want {
			t.Errorf("case %d: literal insert gave %s, the grammar %s", n, got, want)
		}
		got := tableDump(t, conn, fast)
		if want := tableDump(t, conn, slow); got != want {
			t.Errorf("case %d: rows differ:\n%s\nwant\n%s", n, trim(got), trim(want))
		}
	}

	// In a transaction block the rows go with the block.
	execAll(t, conn, fmt.Sprintf(ddl, "lt"))
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "INSERT INTO lt (id, name) VALUES "+litRows(50, func(i int) string { return fmt.Sprintf("(%d, 'a')", i) })); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if got := tableDump(t, conn, "lt"); got != "" {
		t.Fatalf("rows kept after ROLLBACK: %s", trim(got))
	}
}

// TestLiteralInsertReusesPlans: literal inserts of the same shape with
// other values run plans made before (the grammar's path plans every new
// text afresh).
func TestLiteralInsertReusesPlans(t *testing.T) {
	ts, conn := startConn(t, engine.Options{}, "CREATE TABLE lr (id bigint PRIMARY KEY, v text)")
	ins := func(from int) {
		t.Helper()
		tag, err := conn.Exec(context.Background(), "INSERT INTO lr (id, v) VALUES "+litRows(100, func(i int) string { return fmt.Sprintf("(%d, 'v%d')", from+i, i) }))
		if err != nil || tag.String() != "INSERT 0 100" {
			t.Fatalf("%s, %v", tag, err)
		}
	}
	ins(0)
	hits0, misses0 := ts.Engine.PlanCacheStats()
	for k := 1; k <= 5; k++ {
		ins(k * 1000)
	}
	hits, misses := ts.Engine.PlanCacheStats()
	if misses != misses0 || hits-hits0 < 5 {
		t.Fatalf("5 literal inserts of one shape: %d plans made, %d reused", misses-misses0, hits-hits0)
	}
}

// describeErr is err's SQLSTATE, message, detail and position, with the
// table name table shown as T.
func describeErr(err error, table string) string {
	if err == nil {
		return "no error"
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return err.Error()
	}
	return strings.ReplaceAll(fmt.Sprintf("%s %q detail=%q position=%d", pe.Code, pe.Message, pe.Detail, pe.Position), table, "T")
}

// tableDump is every row of table, in key order, one per line.
func tableDump(t *testing.T, conn *pgx.Conn, table string) string {
	t.Helper()
	rows, err := conn.Query(context.Background(), "SELECT * FROM "+table+" ORDER BY 1")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var sb strings.Builder
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(&sb, vals...)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return sb.String()
}

func trim(s string) string {
	if len(s) > 2000 {
		return s[:2000] + "..."
	}
	return s
}
