package udf_test

import (
	"errors"
	"fmt"
	"strings"

	"streamsql/udf"
)

// A program that embeds StreamSQL registers functions written in Go
// before it opens the engine; SQL then calls them like built-ins, in
// queries and in materialized views.
func ExampleRegisterScalar() {
	fns := udf.NewGoFunctions()
	// band(bigint) returns text
	if err := udf.RegisterScalar(fns, "band", func(notional int64) (string, error) {
		switch {
		case notional < 0:
			return "", errors.New("negative notional")
		case notional < 10_000:
			return "small", nil
		}
		return "large", nil
	}); err != nil {
		panic(err)
	}
	// words(text) returns SETOF text, one column named word
	if err := udf.RegisterTable(fns, "words", "word", func(s string, yield func(string) bool) error {
		for _, w := range strings.Fields(s) {
			if !yield(w) {
				break
			}
		}
		return nil
	}); err != nil {
		panic(err)
	}

	ctx, conn, done := embed(fns)
	defer done()
	for _, q := range []string{
		"CREATE TABLE trades (id int PRIMARY KEY, px bigint, qty bigint)",
		"INSERT INTO trades VALUES (1, 100, 50), (2, 100, 500)",
		"CREATE MATERIALIZED VIEW bands AS SELECT id, band(px * qty) AS band FROM trades",
		"FLUSH",
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			panic(err)
		}
	}
	rows, _ := conn.Query(ctx, "SELECT id, band FROM bands ORDER BY id")
	for rows.Next() {
		var id int32
		var band string
		rows.Scan(&id, &band)
		fmt.Println(id, band)
	}
	var n int
	conn.QueryRow(ctx, "SELECT count(*) FROM words('buy 100 ACME at market')").Scan(&n)
	fmt.Println(n, "words")
	_, err := conn.Exec(ctx, "SELECT band(-1)")
	fmt.Println(err)
	// Output:
	// 1 small
	// 2 large
	// 5 words
	// ERROR: negative notional (SQLSTATE 38000)
}
