package udf_test

import (
	"fmt"

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

	ctx, conn, done := embed(fns)
	defer done()
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
