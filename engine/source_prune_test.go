package engine_test

import (
	"testing"

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
	checkViewOn(t, conn, "pruned", "p_narrow", `SELECT auction, price, date_time FROM p_wide`, 18400)
}
