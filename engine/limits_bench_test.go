package engine_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"streamsql/engine"
	"streamsql/internal/testserver"
)

// andChain is a WHERE clause of n equality tests joined by AND.
func andChain(n int) string {
	var b strings.Builder
	b.WriteString("SELECT count(*) FROM chain_t WHERE ")
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(" AND ")
		}
		fmt.Fprintf(&b, "a <> %d", -i-1)
	}
	return b.String()
}

// orChain is n equality tests joined by OR.
func orChain(n int) string {
	var b strings.Builder
	b.WriteString("SELECT count(*) FROM chain_t WHERE ")
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(" OR ")
		}
		fmt.Fprintf(&b, "a = %d", i)
	}
	return b.String()
}

// inList is an IN list of n constants.
func inList(n int) string {
	var b strings.Builder
	b.WriteString("SELECT count(*) FROM chain_t WHERE a IN (")
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%d", i)
	}
	b.WriteString(")")
	return b.String()
}

// BenchmarkLongChains plans and runs AND chains, OR chains and IN lists of
// growing length over a 1,000-row table: time per query should grow
// linearly with the length.
func BenchmarkLongChains(b *testing.B) {
	ts := testserver.Start(b, engine.Options{})
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, ts.URL("bench", "streamsql"))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, q := range []string{
		"CREATE TABLE chain_t (a int PRIMARY KEY, b text)",
		"INSERT INTO chain_t SELECT g, 'x' || g FROM generate_series(1, 1000) g",
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
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
