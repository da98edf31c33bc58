package engine_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"streamsql/engine"
)

// Nexmark q14 (bench/nexmark/queries/q14.sql) with count_char written in
// JavaScript, as RisingWave's users write it, next to the same view with
// the query's own LANGUAGE sql count_char: over the same bids both views
// hold the same rows.
func TestNexmarkQ14JavaScript(t *testing.T) {
	q14, err := os.ReadFile("../bench/nexmark/queries/q14.sql")
	if err != nil {
		t.Fatal(err)
	}
	_, conn := startConn(t, engine.Options{})
	const events = 20_000
	execAll(t, conn,
		`CREATE SOURCE bid (auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR,
		   date_time TIMESTAMP, extra VARCHAR, WATERMARK FOR date_time AS date_time - INTERVAL '4' SECOND)
		 WITH (connector = 'nexmark', nexmark.table.type = 'bid', nexmark.event.num = '20000', nexmark.event.rate = '1000000')`,
		`CREATE FUNCTION count_char_js(s varchar, c varchar) RETURNS integer LANGUAGE javascript AS $$
		   if (s === null || c === null) return null;
		   let n = 0;
		   for (const ch of s) if (ch === c) n++;
		   return n;
		 $$`,
		"CREATE MATERIALIZED VIEW bids AS SELECT count(*) AS n FROM bid")
	for _, stmt := range splitStatements(string(q14)) {
		if st := strings.TrimSpace(stmt); st != "" {
			execAll(t, conn, st)
		}
	}
	// The same view over the JavaScript function.
	view := string(q14)[strings.Index(string(q14), "CREATE MATERIALIZED VIEW"):]
	execAll(t, conn, strings.NewReplacer("nexmark_q14", "nexmark_q14_js", "count_char(", "count_char_js(").Replace(view))

	// Event n is a bid unless n%50 is 0 to 3.
	want := int64(events - 4*events/50)
	deadline := time.Now().Add(90 * time.Second)
	for {
		execAll(t, conn, "FLUSH")
		n := queryInt(t, conn, "SELECT coalesce(max(n), 0) FROM bids")
		if n == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d bids arrived, want %d", n, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Each view reads the source through a job of its own: the bids view
	// being complete does not make the two q14 views so. The generator
	// is finite and deterministic, so they must come to hold the same rows.
	var rows, chars, only, onlyJS, rowsJS int64
	for {
		execAll(t, conn, "FLUSH")
		rows = queryInt(t, conn, "SELECT count(*) FROM nexmark_q14")
		chars = queryInt(t, conn, "SELECT coalesce(sum(c_counts), 0) FROM nexmark_q14")
		rowsJS = queryInt(t, conn, "SELECT count(*) FROM nexmark_q14_js")
		only = queryInt(t, conn, "SELECT count(*) FROM (SELECT * FROM nexmark_q14 EXCEPT ALL SELECT * FROM nexmark_q14_js) d")
		onlyJS = queryInt(t, conn, "SELECT count(*) FROM (SELECT * FROM nexmark_q14_js EXCEPT ALL SELECT * FROM nexmark_q14) d")
		if rows > 0 && chars > 0 && only == 0 && onlyJS == 0 && rows == rowsJS {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("q14 holds %d rows counting %d characters, the JavaScript q14 %d rows; %d rows only in q14, %d only in the JavaScript one",
				rows, chars, rowsJS, only, onlyJS)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("q14: %d rows, %d characters counted, equal in SQL and JavaScript", rows, chars)
}
