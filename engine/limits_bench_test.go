package engine_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"streamsql/engine"
)

// chain is a count over chain_t whose WHERE clause is the n terms
// term(0) .. term(n-1) joined by sep, between open and close.
func chain(n int, open, sep, close string, term func(i int) string) string {
	var b strings.Builder
	b.WriteString("SELECT count(*) FROM chain_t WHERE " + open)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(term(i))
	}
	b.WriteString(close)
	return b.String()
}

// andChain is a WHERE clause of n inequality tests joined by AND.
func andChain(n int) string {
	return chain(n, "", " AND ", "", func(i int) string { return fmt.Sprintf("a <> %d", -i-1) })
}

// orChain is n equality tests joined by OR.
func orChain(n int) string {
	return chain(n, "", " OR ", "", func(i int) string { return fmt.Sprintf("a = %d", i) })
}

// inList is an IN list of n constants.
func inList(n int) string {
	return chain(n, "a IN (", ", ", ")", strconv.Itoa)
}

// BenchmarkLongChains plans and runs AND chains, OR chains and IN lists of
// growing length over a 1,000-row table: time per query should grow
// linearly with the length.
func BenchmarkLongChains(b *testing.B) {
	_, conn := startConn(b, engine.Options{})
	ctx := context.Background()
	execAll(b, conn,
		"CREATE TABLE chain_t (a int PRIMARY KEY, b text)",
		"INSERT INTO chain_t SELECT g, 'x' || g FROM generate_series(1, 1000) g")
	for _, shape := range []struct {
		name string
		gen  func(int) string
	}{{"and", andChain}, {"or", orChain}, {"in", inList}} {
		for _, n := range []int{1000, 10000, 100000} {
			sql := shape.gen(n)
			b.Run(fmt.Sprintf("%s/%d", shape.name, n), func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					if _, err := conn.Exec(ctx, sql, pgx.QueryExecModeSimpleProtocol); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
