package engine_test

import (
	"testing"
	"time"

	"streamsql/engine"
	"streamsql/internal/loopback"
	"streamsql/internal/testclient"
	"streamsql/pgwire"
)

// TestSourcePrunedColumns: a view reading some columns of a generator
// source (whose other columns the source then leaves NULL) holds exactly
// the rows a view reading every column holds, projected.
func TestSourcePrunedColumns(t *testing.T) {
	srv, err := loopback.Start(engine.Options{StateMemory: -1, DataDir: t.TempDir()}, pgwire.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop() })
	conn := testclient.Connect(t, srv.URL("test", "streamsql"), nil)
	execAll(t, conn,
		`CREATE SOURCE pbid (auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR,
			date_time TIMESTAMP, extra VARCHAR) WITH (connector = 'nexmark', nexmark.table.type = 'bid', nexmark.event.num = '20000')`,
		`CREATE MATERIALIZED VIEW p_narrow AS SELECT auction, price, date_time FROM pbid`,
		`CREATE MATERIALIZED VIEW p_wide AS SELECT auction, bidder, price, channel, url, date_time, extra FROM pbid WHERE url IS NOT NULL`,
		"FLUSH", "FLUSH")
	// Each view reads the bounded source in a job of its own: wait until
	// both have read all of its 18,400 bids.
	deadline := time.Now().Add(60 * time.Second)
	for queryInt(t, conn, "SELECT count(*) FROM p_narrow") < 18400 || queryInt(t, conn, "SELECT count(*) FROM p_wide") < 18400 {
		if time.Now().After(deadline) {
			t.Fatal("the views did not reach 18400 rows")
		}
		time.Sleep(50 * time.Millisecond)
	}
	checkViewOn(t, conn, "pruned", "p_narrow", `SELECT auction, price, date_time FROM p_wide`, 18400)
}

// TestDatagenPrunedColumns: the same for a datagen source, whose unread
// columns include the sequence that ends it.
func TestDatagenPrunedColumns(t *testing.T) {
	_, conn := startConn(t, engine.Options{StateMemory: -1, DataDir: t.TempDir()},
		`CREATE SOURCE dg (id int, v double precision, name varchar, ts timestamp) WITH (connector = 'datagen',
			fields.id.kind = 'sequence', fields.id.start = '1', fields.id.end = '20000',
			fields.v.max = '100', fields.v.seed = '7', fields.name.length = '30', fields.ts.max_past = '1h')`,
		`CREATE MATERIALIZED VIEW dg_narrow AS SELECT v, ts FROM dg`,
		`CREATE MATERIALIZED VIEW dg_wide AS SELECT id, v, name, ts FROM dg WHERE name IS NOT NULL`)
	deadline := time.Now().Add(60 * time.Second)
	for queryInt(t, conn, "SELECT count(*) FROM dg_narrow") < 20000 || queryInt(t, conn, "SELECT count(*) FROM dg_wide") < 20000 {
		if time.Now().After(deadline) {
			t.Fatal("the views did not reach 20000 rows")
		}
		time.Sleep(50 * time.Millisecond)
	}
	checkViewOn(t, conn, "pruned", "dg_narrow", `SELECT v, ts FROM dg_wide`, 20000)
	if n := queryInt(t, conn, "SELECT count(*) FROM dg_narrow"); n != 20000 {
		t.Fatalf("dg_narrow has %d rows, want 20000", n)
	}
}
