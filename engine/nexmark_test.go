package engine_test

// End to end over the wire: the three Nexmark sources of
// docs/connectors/nexmark.md, a pass-through view (q0) and a tumbling
// window count with EMIT ON WINDOW CLOSE, on a bounded run. The bounded
// source's final watermark must close every window.

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"streamsql/engine"
)

// nexmarkDocStatements are the statements of the example in
// docs/connectors/nexmark.md.
var nexmarkDocStatements = []string{
	`CREATE SOURCE person (id BIGINT, name VARCHAR, email_address VARCHAR, credit_card VARCHAR,
                    city VARCHAR, state VARCHAR, date_time TIMESTAMP, extra VARCHAR,
                    WATERMARK FOR date_time AS date_time - INTERVAL '4' SECOND)
WITH (connector = 'nexmark', nexmark.table.type = 'person',
      nexmark.event.num = '50000', nexmark.event.rate = '1000')`,
	`CREATE SOURCE auction (id BIGINT, item_name VARCHAR, description VARCHAR, initial_bid BIGINT,
                     reserve BIGINT, date_time TIMESTAMP, expires TIMESTAMP, seller BIGINT,
                     category BIGINT, extra VARCHAR,
                     WATERMARK FOR date_time AS date_time - INTERVAL '4' SECOND)
WITH (connector = 'nexmark', nexmark.table.type = 'auction',
      nexmark.event.num = '50000', nexmark.event.rate = '1000')`,
	`CREATE SOURCE bid (auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR,
                 date_time TIMESTAMP, extra VARCHAR,
                 WATERMARK FOR date_time AS date_time - INTERVAL '4' SECOND)
WITH (connector = 'nexmark', nexmark.table.type = 'bid',
      nexmark.event.num = '50000', nexmark.event.rate = '1000')`,
	`CREATE MATERIALIZED VIEW nexmark_q0 AS
SELECT auction, bidder, price, date_time FROM bid`,
	`CREATE MATERIALIZED VIEW bids_per_10s AS
SELECT window_start, count(*) AS bids
FROM TUMBLE(bid, date_time, INTERVAL '10' SECOND)
GROUP BY window_start
EMIT ON WINDOW CLOSE`,
	`CREATE MATERIALIZED VIEW people AS SELECT count(*) AS n, min(id) AS first, max(id) AS last FROM person`,
	`CREATE MATERIALIZED VIEW auctions AS SELECT count(*) AS n, min(id) AS first, max(id) AS last FROM auction`,
}

func TestNexmarkEndToEnd(t *testing.T) {
	_, conn := startConn(t, engine.Options{})
	ctx := context.Background()

	for _, s := range nexmarkDocStatements {
		execAll(t, conn, s)
	}

	// Events 1..50000, one per millisecond of event time: event n is a
	// bid unless n%50 is 0 to 3, and falls in the 10 s window n/10000.
	const events = 50_000
	var want [events/10_000 + 1]int64
	wantBids := int64(0)
	for n := 1; n <= events; n++ {
		if n%50 > 3 {
			want[n/10_000]++
			wantBids++
		}
	}
	if wantBids != 46_000 {
		t.Fatalf("the n%%50 rule gives %d bids", wantBids)
	}
	// The sources run on their own; wait for the last bid to arrive.
	deadline := time.Now().Add(60 * time.Second)
	var got int64
	for {
		execAll(t, conn, "FLUSH")
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM nexmark_q0").Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got == wantBids {
			break
		}
		if got > wantBids || time.Now().After(deadline) {
			t.Fatalf("nexmark_q0 has %d rows, want %d", got, wantBids)
		}
		time.Sleep(50 * time.Millisecond)
	}
	execAll(t, conn, "FLUSH")
	var distinct, minPrice, maxPrice int64
	if err := conn.QueryRow(ctx, "SELECT count(DISTINCT date_time), min(price), max(price) FROM nexmark_q0").Scan(&distinct, &minPrice, &maxPrice); err != nil {
		t.Fatal(err)
	}
	if distinct != wantBids || minPrice < 100 || maxPrice > 100_000_000 {
		t.Fatalf("q0: %d distinct times, prices %d..%d", distinct, minPrice, maxPrice)
	}

	// Every window is out, the last one included: the final watermark
	// (+infinity) closed it although no later event did.
	rows, err := conn.Query(ctx, "SELECT window_start, bids FROM bids_per_10s ORDER BY window_start")
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2015, 7, 15, 0, 0, 0, 0, time.UTC)
	var k int
	for rows.Next() {
		var start time.Time
		var n int64
		if err := rows.Scan(&start, &n); err != nil {
			t.Fatal(err)
		}
		if k >= len(want) || !start.Equal(base.Add(time.Duration(k)*10*time.Second)) || n != want[k] {
			t.Fatalf("window %d: %v with %d bids, want %v with %d", k, start, n, base.Add(time.Duration(k)*10*time.Second), want[min(k, len(want)-1)])
		}
		k++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	// want has a slot for event 50000 (a person) only: no bid window.
	if k != len(want)-1 {
		t.Fatalf("%d windows emitted, want %d", k, len(want)-1)
	}

	// The person and auction sources follow the same event sequence.
	for _, c := range []struct {
		view           string
		n, first, last int64
	}{{"people", events / 50, 1000, 1000 + events/50 - 1}, {"auctions", 3 * events / 50, 1000, 1000 + 3*events/50 - 1}} {
		var n, first, last int64
		if err := conn.QueryRow(ctx, "SELECT n, first, last FROM "+c.view).Scan(&n, &first, &last); err != nil {
			t.Fatal(err)
		}
		if n != c.n || first != c.first || last != c.last {
			t.Errorf("%s: %d rows, ids %d..%d; want %d, %d..%d", c.view, n, first, last, c.n, c.first, c.last)
		}
	}

	// Bad options are refused with the connector's SQLSTATE.
	_, err = conn.Exec(ctx, `CREATE SOURCE b2 (auction BIGINT, price INT) WITH (connector = 'nexmark', nexmark.table.type = 'bid')`)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "42804" {
		t.Fatalf("wrong column type: %v", err)
	}
	_, err = conn.Exec(ctx, `CREATE SOURCE b3 (auction BIGINT) WITH (connector = 'nexmark', nexmark.table.type = 'bids')`)
	if !errors.As(err, &pe) || pe.Code != "22023" {
		t.Fatalf("bad table type: %v", err)
	}
}
