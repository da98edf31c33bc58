package engine_test

import (
	"context"
	"strings"
	"testing"

	"streamsql/engine"
)

// CREATE MATERIALIZED VIEW sends a NOTICE naming the operator whose
// state grows without bound over an append-only stream and what would
// bound it, and EXPLAIN shows the same warning under the operator; the
// bounded forms (windowed aggregates, interval joins and ASOF joins with
// watermarks, GROUP BY a column of a fixed domain, joins of tables) get
// neither.
func TestUnboundedStateWarnings(t *testing.T) {
	s := openStack(t, engine.Options{})
	s.execAll(t,
		"CREATE TABLE ticks (id bigint PRIMARY KEY, sym text, px bigint, ts timestamp, WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) APPEND ONLY",
		"CREATE TABLE fills (id bigint PRIMARY KEY, sym text, qty bigint, ts timestamp, WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) APPEND ONLY",
		"CREATE TABLE orders (id bigint PRIMARY KEY, sym text, qty bigint, ts timestamp) APPEND ONLY",
		"CREATE TABLE instruments (sym text PRIMARY KEY, venue text)",
		"CREATE TABLE accounts (id bigint PRIMARY KEY, sym text)")
	conn, noticed := connectNoticed(t, s.url)
	ctx := context.Background()
	for _, c := range []struct {
		query string
		// operator and hint name the warning; empty: none.
		operator, reason, hint string
	}{
		// A regular join keeping an append-only stream.
		{query: "SELECT t.id, i.venue FROM ticks t JOIN instruments i ON t.sym = i.sym",
			operator: "HashJoin", reason: "keeps every row of its append-only left input (StreamTableScan ticks)", hint: "BETWEEN"},
		// GROUP BY a key that grows with time, and DISTINCT over a stream.
		{query: "SELECT date_trunc('minute', ts) AS m, count(*) AS n FROM orders GROUP BY 1",
			operator: "StreamHashAgg", reason: "(GROUP BY) keeps a group for every value of", hint: "TUMBLE"},
		{query: "SELECT DISTINCT id, sym FROM orders",
			operator: "StreamHashAgg", reason: "(DISTINCT) keeps a group for every value of id", hint: "window_start"},
		// An ASOF join of append-only inputs without watermarks.
		{query: "SELECT o.id, t.px FROM orders o ASOF JOIN ticks t MATCH_CONDITION (o.ts >= t.ts) ON o.sym = t.sym",
			operator: "AsofJoin", reason: "keeps every row of its append-only inputs", hint: "WATERMARK FOR"},
		// Bounded forms.
		{query: "SELECT sym, window_start, count(*) AS n, max(px) AS hi FROM TUMBLE(ticks, ts, INTERVAL '1' MINUTE) GROUP BY sym, window_start"},
		{query: "SELECT f.id, t.id AS tid FROM fills f JOIN ticks t ON f.sym = t.sym WHERE t.ts BETWEEN f.ts - INTERVAL '5' SECOND AND f.ts"},
		{query: "SELECT f.id, t.px FROM fills f ASOF JOIN ticks t MATCH_CONDITION (f.ts >= t.ts) ON f.sym = t.sym"},
		{query: "SELECT sym, count(*) AS n, sum(px) AS s FROM ticks GROUP BY sym"},
		// The watermark of ts passes through date_trunc: a minute's group
		// is dropped once the watermark passes it.
		{query: "SELECT date_trunc('minute', ts) AS m, count(*) AS n FROM ticks GROUP BY 1"},
		{query: "SELECT a.id, i.venue FROM accounts a JOIN instruments i ON a.sym = i.sym"},
	} {
		*noticed = nil
		if _, err := conn.Exec(ctx, "CREATE MATERIALIZED VIEW m AS "+c.query); err != nil {
			t.Fatalf("%s: %v", c.query, err)
		}
		var plan []string
		rows, err := conn.Query(ctx, "EXPLAIN CREATE MATERIALIZED VIEW m2 AS "+c.query)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, line)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, "DROP MATERIALIZED VIEW m"); err != nil {
			t.Fatal(err)
		}
		explained := strings.Join(plan, "\n")
		if c.operator == "" {
			if len(*noticed) != 0 {
				t.Errorf("%s: unexpected notice %q", c.query, (*noticed)[0].Message)
			}
			if strings.Contains(explained, "warning:") {
				t.Errorf("%s: unexpected warning in\n%s", c.query, explained)
			}
			continue
		}
		if len(*noticed) != 1 {
			t.Errorf("%s: %d notices, want one", c.query, len(*noticed))
			continue
		}
		n := (*noticed)[0]
		if n.Severity != "NOTICE" || !strings.Contains(n.Message, "state of this materialized view is unbounded: "+c.operator+" "+c.reason) ||
			!strings.Contains(n.Hint, c.hint) {
			t.Errorf("%s: notice %q hint %q", c.query, n.Message, n.Hint)
		}
		if !strings.Contains(explained, "warning: unbounded state: "+c.reason) {
			t.Errorf("%s: EXPLAIN shows no warning:\n%s", c.query, explained)
		}
	}
}
