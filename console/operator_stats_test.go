package console_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// Per-operator counters move with real rows: a TUMBLE view over a table
// with a watermark, through a JavaScript function that throws on
// negative quantities. Rows behind the watermark are late at the
// watermark filter, the rows the function failed on are rejects at the
// operator that calls it, and every operator's rows are counted on its
// edges. The same counters show in /v1/jobs/{id}, in the
// streamsql_operator_stats relation over the wire and in /metrics.
func TestOperatorStatsMoveWithRows(t *testing.T) {
	e := start(t)
	e.exec(t,
		`CREATE TABLE trades (id bigint PRIMARY KEY, sym text, qty int, ts timestamptz, WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) APPEND ONLY`,
		`CREATE FUNCTION checked_qty(q int) RETURNS int LANGUAGE javascript AS $$
		   if (q < 0) throw new Error('negative quantity ' + q);
		   return q;
		 $$`,
		`CREATE MATERIALIZED VIEW per_min AS SELECT sym, window_start, sum(checked_qty(qty)) AS qty FROM TUMBLE(trades, ts, INTERVAL '1' MINUTE) GROUP BY sym, window_start`,
		`INSERT INTO trades VALUES (1, 'A', 10, '2026-01-01 10:00:01+00'), (2, 'A', -5, '2026-01-01 10:00:30+00'), (3, 'B', 7, '2026-01-01 10:05:00+00')`,
		`FLUSH`,
		// Behind the watermark (10:04:59): late at the watermark filter.
		`INSERT INTO trades VALUES (4, 'A', 1, '2026-01-01 10:00:02+00'), (5, 'B', 2, '2026-01-01 10:03:00+00')`,
		// On time, one rejected by the function.
		`INSERT INTO trades VALUES (6, 'B', -1, '2026-01-01 10:05:10+00'), (7, 'B', 3, '2026-01-01 10:05:20+00')`,
		`FLUSH`,
	)
	type stats struct{ in, out, late, rejects int64 }
	byName := func(j jobAnswer) map[string]stats {
		out := map[string]stats{}
		for _, n := range j.Graph.Nodes {
			if n.Stats == nil {
				t.Fatalf("node %s has no stats: %+v", n.Operator, j.Graph.Nodes)
			}
			s := out[n.Name]
			s.in += n.Stats.RowsIn
			s.out += n.Stats.RowsOut
			s.late += n.Stats.LateRows
			s.rejects += n.Stats.Rejects
			out[n.Name] = s
		}
		return out
	}
	var j jobAnswer
	if st := e.getJSON(t, "/v1/jobs/per_min", &j); st != 200 || j.Graph == nil {
		t.Fatalf("status %d, graph %v", st, j.Graph)
	}
	ops := byName(j)
	if s := ops["StreamTableScan"]; s.in != 7 || s.out != 7 {
		t.Errorf("scan: %+v, want 7 rows in and out", s)
	}
	if s := ops["StreamWatermarkFilter"]; s.in != 7 || s.out != 5 || s.late != 2 {
		t.Errorf("watermark filter: %+v, want 7 rows in, 5 out, 2 late", s)
	}
	var rejects int64
	var rejecting []string
	for name, s := range ops {
		if s.rejects > 0 {
			rejecting = append(rejecting, name)
			rejects += s.rejects
		}
	}
	// One operator evaluates checked_qty: its rejects are the job's.
	if len(rejecting) != 1 || rejects != 2 {
		t.Errorf("rejects at %v: %d, want 2 at one operator; %+v", rejecting, rejects, ops)
	}
	for _, n := range j.Graph.Nodes {
		// The aggregation's groups, as it reports them to the state
		// budget (the server's default budget is half the memory).
		if n.Name == "StreamHashAgg" && n.Stats.StateBytes <= 0 {
			t.Errorf("hash agg state bytes %d", n.Stats.StateBytes)
		}
	}
	if s := ops["StreamMaterialize"]; s.out != j.Job.RowsOut || s.out == 0 || s.in != s.out {
		t.Errorf("materialize: %+v, the job wrote %d rows", s, j.Job.RowsOut)
	}
	for _, n := range j.Graph.Nodes {
		if n.Name == "StreamWatermarkFilter" && (n.Stats.Watermark != "2026-01-01 10:05:19+00" || n.Stats.WatermarkLagMs == nil || *n.Stats.WatermarkLagMs <= 0) {
			t.Errorf("watermark filter's watermark %q lag %v", n.Stats.Watermark, fmtLag(n.Stats.WatermarkLagMs))
		}
	}

	// The relation, over the wire, as the same counters.
	ctx := context.Background()
	rows, err := e.conn.Query(ctx, `SELECT operator, rows_in, rows_out, late_rows, rejects, watermark IS NOT NULL, watermark_lag > interval '0'
		FROM streamsql_operator_stats WHERE job = 'per_min' ORDER BY node`)
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	for rows.Next() {
		var op string
		var in, out, lateRows, rej int64
		var hasWM bool
		var lagPositive *bool
		if err := rows.Scan(&op, &in, &out, &lateRows, &rej, &hasWM, &lagPositive); err != nil {
			t.Fatal(err)
		}
		if i >= len(j.Graph.Nodes) {
			t.Fatalf("more operators in SQL than in the graph")
		}
		n := j.Graph.Nodes[i]
		t.Logf("%d | %s | %d | %d | %d | %d | %v", i, op, in, out, lateRows, rej, hasWM)
		if op != n.Operator || in != n.Stats.RowsIn || out != n.Stats.RowsOut || lateRows != n.Stats.LateRows || rej != n.Stats.Rejects ||
			hasWM != (n.Stats.Watermark != "") || hasWM && (lagPositive == nil || !*lagPositive) {
			t.Errorf("row %d: %s %d %d %d %d %v, graph node %+v %+v", i, op, in, out, lateRows, rej, hasWM, n.Operator, *n.Stats)
		}
		i++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if i != len(j.Graph.Nodes) {
		t.Fatalf("%d operators in SQL, %d in the graph", i, len(j.Graph.Nodes))
	}

	// /metrics: the watermark filter's late rows with the job's and the
	// operator's labels.
	resp, err := http.Get(e.web.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := fmt.Sprintf(`streamsql_operator_late_rows_total{job="per_min",id="%d",node="%d",operator="StreamWatermarkFilter"} 2`, j.Job.ID, nodeOf(j, "StreamWatermarkFilter"))
	if !strings.Contains(string(body), want+"\n") {
		t.Errorf("/metrics lacks %s", want)
	}
	if !strings.Contains(string(body), "streamsql_epoch_commit_seconds_count ") {
		t.Errorf("/metrics lacks the epoch commit time")
	}

	// The commit time of epochs, apart from the barrier latency.
	var c struct {
		Coordinator struct {
			BarrierCount int64   `json:"barrier_latency_count"`
			BarrierSum   float64 `json:"barrier_latency_sum_seconds"`
			CommitCount  int64   `json:"commit_time_count"`
			CommitSum    float64 `json:"commit_time_sum_seconds"`
		} `json:"coordinator"`
	}
	e.getJSON(t, "/v1/jobs", &c)
	if k := c.Coordinator; k.CommitCount == 0 || k.CommitCount != k.BarrierCount || k.CommitSum <= 0 || k.CommitSum > k.BarrierSum {
		t.Errorf("coordinator: %+v: every committed epoch has a commit time, within its barrier latency", k)
	}
}

func nodeOf(j jobAnswer, name string) int {
	for _, n := range j.Graph.Nodes {
		if n.Name == name {
			return n.ID
		}
	}
	return -1
}
