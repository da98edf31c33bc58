package udf_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"

	"github.com/jackc/pgx/v5"

	"streamsql/engine"
	"streamsql/pgwire"
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

	dir, _ := os.MkdirTemp("", "streamsql-example-")
	defer os.RemoveAll(dir)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	eng, err := engine.Open(engine.Options{DataDir: dir, Functions: fns, Logger: log})
	if err != nil {
		panic(err)
	}
	defer eng.Close()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	srv := pgwire.NewServer(eng, pgwire.Options{Logger: log})
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go srv.Serve(ctx, ln)

	conn, err := pgx.Connect(ctx, "postgres://streamsql@"+ln.Addr().String()+"/dev?sslmode=disable")
	if err != nil {
		panic(err)
	}
	defer conn.Close(ctx)
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
	_, err = conn.Exec(ctx, "SELECT band(-1)")
	fmt.Println(err)
	// Output:
	// 1 small
	// 2 large
	// 5 words
	// ERROR: negative notional (SQLSTATE 38000)
}
