package udf_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"

	"github.com/jackc/pgx/v5"

	"streamsql/engine"
	"streamsql/pgwire"
	"streamsql/udf"
)

// An aggregate written in Go: the mean of squared price changes, a
// simple volatility measure. With Retract a materialized view keeps each
// group's state (JSON-encoded in its state tables) and takes deleted rows
// back out.
func ExampleRegisterAggregate() {
	type meanSq struct{ Sum, N int64 }
	fns := udf.NewGoFunctions()
	err := udf.RegisterAggregate(fns, "mean_sq", udf.GoAggregate[int64, meanSq, float64]{
		Init:       func() meanSq { return meanSq{} },
		Accumulate: func(s meanSq, v int64) (meanSq, error) { return meanSq{s.Sum + v*v, s.N + 1}, nil },
		Retract:    func(s meanSq, v int64) (meanSq, error) { return meanSq{s.Sum - v*v, s.N - 1}, nil },
		Finish: func(s meanSq) (float64, error) {
			if s.N == 0 {
				return 0, nil
			}
			return float64(s.Sum) / float64(s.N), nil
		},
	})
	if err != nil {
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
		"CREATE TABLE ticks (id int PRIMARY KEY, sym text, chg bigint)",
		"INSERT INTO ticks VALUES (1, 'A', 2), (2, 'A', 4), (3, 'B', 3)",
		"CREATE MATERIALIZED VIEW vol AS SELECT sym, mean_sq(chg) AS ms FROM ticks GROUP BY sym",
		"DELETE FROM ticks WHERE id = 2",
		"FLUSH",
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			panic(err)
		}
	}
	rows, _ := conn.Query(ctx, "SELECT sym, ms FROM vol ORDER BY sym")
	for rows.Next() {
		var sym string
		var ms float64
		rows.Scan(&sym, &ms)
		fmt.Println(sym, ms)
	}
	// Output:
	// A 4
	// B 9
}
