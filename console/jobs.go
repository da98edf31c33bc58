package console

// The jobs page's APIs. GET /v1/jobs lists every job (a materialized
// view's, a sink's, a connector table's ingest) with its counters and the
// epoch coordinator's metrics; GET /v1/jobs/{id} adds the job's operator
// graph: its operators, the exchanges between its fragments and how many
// instances each fragment runs.
//
// Counters are cumulative (rows in, rows out, late rows, evictions,
// rejects, barrier latency and epoch commit time sums and counts) or
// gauges (state bytes, committed epoch, pending epoch wait); the page
// draws rates and sparklines from the differences between two polls, so
// the server keeps no history. Each operator of a running job carries
// its own counters (stats), as the runtime counts them per operator and
// sums them over the operator's instances, current as of the job's last
// barrier. With ?state=true each operator also gets what its own state
// tables hold as of the last committed epoch (entries and bytes, counted
// in storage).

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"streamsql/engine"
	"streamsql/exec/stream"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

type jobCounters struct {
	ID            uint32 `json:"id"`
	Schema        string `json:"schema,omitempty"`
	Name          string `json:"name"`
	Kind          string `json:"kind,omitempty"`
	Status        string `json:"status"`
	Error         string `json:"error,omitempty"`
	RowsIn        int64  `json:"rows_in"`
	RowsOut       int64  `json:"rows_out"`
	LateRows      int64  `json:"late_rows"`
	Committed     uint64 `json:"committed_epoch"`
	StateBytes    int64  `json:"state_bytes"`
	StateEvicted  int64  `json:"state_evicted"`
	StateReads    int64  `json:"state_reads"`
	StateCleaned  int64  `json:"state_cleaned"`
	Rejects       int64  `json:"rejects"`
	SourceLag     int64  `json:"source_lag"`
	SinkLagEpochs int64  `json:"sink_lag_epochs,omitempty"`
	SinkLagRows   int64  `json:"sink_lag_rows,omitempty"`
	SinkError     string `json:"sink_error,omitempty"`
}

func countersOf(j engine.JobStatus) jobCounters {
	c := jobCounters{ID: j.ID, Schema: j.Schema, Name: j.Name, Kind: j.Kind, Status: j.Status,
		RowsIn: j.RowsIn, RowsOut: j.RowsOut, LateRows: j.Late, Committed: j.Committed, StateBytes: j.StateBytes,
		StateEvicted: j.StateEvicted, StateReads: j.StateReads, StateCleaned: j.StateCleaned, Rejects: j.Rejects,
		SourceLag: j.Lag(), SinkLagEpochs: j.SinkLagEpochs, SinkLagRows: j.SinkLagRows, SinkError: j.SinkError}
	if j.Err != nil {
		c.Error = j.Err.Error()
	}
	if strings.HasPrefix(c.Status, "failed") {
		c.Status = "failed"
		if c.Error == "" {
			c.Error = strings.TrimPrefix(j.Status, "failed: ")
		}
	}
	return c
}

// coordinatorMetrics are the epoch coordinator's counters.
type coordinatorMetrics struct {
	// Time is when they were read (Unix milliseconds), for rates.
	Time           int64   `json:"time"`
	CommittedEpoch int64   `json:"committed_epoch"`
	Epochs         int64   `json:"epochs"`
	BarrierCount   int64   `json:"barrier_latency_count"`
	BarrierSum     float64 `json:"barrier_latency_sum_seconds"`
	CommitCount    int64   `json:"commit_time_count"`
	CommitSum      float64 `json:"commit_time_sum_seconds"`
	PendingSeconds float64 `json:"pending_seconds"`
	StateBytes     int64   `json:"state_memory_bytes"`
	StateLimit     int64   `json:"state_memory_limit_bytes"`
}

func coordinatorOf(e *engine.Engine) coordinatorMetrics {
	m := e.StreamMetrics()
	c := coordinatorMetrics{Time: time.Now().UnixMilli(), CommittedEpoch: m.Committed, Epochs: m.Epochs,
		BarrierSum: m.BarrierSum, PendingSeconds: m.Pending.Seconds(), StateBytes: m.StateUsed, StateLimit: m.StateLimit}
	for _, n := range m.BarrierCounts {
		c.BarrierCount += n
	}
	for _, n := range m.CommitCounts {
		c.CommitCount += n
	}
	c.CommitSum = m.CommitSum
	return c
}

func (s *server) jobs(w http.ResponseWriter, r *http.Request) {
	list := []jobCounters{}
	for _, j := range s.e.Jobs() {
		list = append(list, countersOf(j))
	}
	writeJSON(w, http.StatusOK, map[string]any{"jobs": list, "coordinator": coordinatorOf(s.e)})
}

// graphNode is one operator (or exchange) of a job's graph.
type graphNode struct {
	ID int `json:"id"`
	// Operator is the node's EXPLAIN line; Name its first word
	// (StreamHashAgg, Exchange, ...).
	Operator string `json:"operator"`
	Name     string `json:"name"`
	// Fragment is the fragment the node runs in (exchanges: the fragment
	// they feed); Instances how many instances of it run.
	Fragment  int      `json:"fragment"`
	Instances int      `json:"instances"`
	Exchange  bool     `json:"exchange,omitempty"`
	Source    bool     `json:"source,omitempty"`
	State     []string `json:"state,omitempty"`
	Columns   []string `json:"columns"`
	// Inputs are the ids of the nodes feeding this one.
	Inputs []int `json:"inputs"`
	// Stats are the operator's own counters while its job runs (absent
	// for a job that is not running, or whose definition now plans into
	// a different graph than the running one).
	Stats *operatorStats `json:"stats,omitempty"`
	// Kept is the operator's committed state in storage, over all its
	// instances and state tables (with ?state=true).
	Kept *keptState `json:"kept,omitempty"`
	// Watermark is a watermark filter's watermark as of the last
	// committed epoch (the lowest of its instances'), in PostgreSQL's
	// text form; WatermarkLagMs how far it is behind the wall clock, for
	// a timestamp watermark (with ?state=true).
	Watermark      string   `json:"watermark,omitempty"`
	WatermarkLagMs *float64 `json:"watermark_lag_ms,omitempty"`
}

// operatorStats are one operator's counters, summed over its instances:
// rows received and sent, rows dropped or set aside as late, rejects
// (messages a source could not decode, rows a user function failed on),
// the estimated memory of its state and the entries it evicted, and the
// last timestamp watermark it sent with its lag behind the clock.
type operatorStats struct {
	RowsIn         int64    `json:"rows_in"`
	RowsOut        int64    `json:"rows_out"`
	LateRows       int64    `json:"late_rows"`
	Rejects        int64    `json:"rejects"`
	StateBytes     int64    `json:"state_bytes"`
	StateEvicted   int64    `json:"state_evicted"`
	Watermark      string   `json:"watermark,omitempty"`
	WatermarkLagMs *float64 `json:"watermark_lag_ms,omitempty"`
}

// addStats gives each node of g the counters of the running job's
// operator with its number, when the running plan is the graph's: the
// same operators in the same order.
func addStats(g *jobGraph, ops []stream.OperatorStats) {
	if len(ops) != len(g.Nodes) {
		return
	}
	for i, o := range ops {
		if o.Operator != g.Nodes[i].Operator {
			return
		}
	}
	now := time.Now()
	for i, o := range ops {
		st := &operatorStats{RowsIn: o.RowsIn, RowsOut: o.RowsOut, LateRows: o.LateRows, Rejects: o.Rejects,
			StateBytes: o.StateBytes, StateEvicted: o.StateEvicted}
		if !o.Watermark.IsZero() {
			st.Watermark = types.FormatText(types.Timestamp(o.Watermark.UnixMicro()), types.TTimestampTZ, time.UTC)
			lag := float64(now.Sub(o.Watermark).Microseconds()) / 1000
			st.WatermarkLagMs = &lag
		}
		g.Nodes[i].Stats = st
	}
}

// keptState is what an operator's state tables hold as of the last
// committed epoch: entries and their bytes (keys and values as stored).
// Complete is false when counting stopped at stateCountLimit entries.
type keptState struct {
	Tables   int   `json:"tables"`
	Entries  int64 `json:"entries"`
	Bytes    int64 `json:"bytes"`
	Complete bool  `json:"complete"`
}

// stateCountLimit bounds the entries one request counts in one state
// table, so that a job page's poll stays cheap on a large state.
const stateCountLimit = 100_000

type fragment struct {
	ID        int `json:"id"`
	Instances int `json:"instances"`
	// Nodes are the operators of the fragment (not the exchange above
	// it).
	Nodes []int `json:"nodes"`
}

type jobGraph struct {
	Nodes     []graphNode `json:"nodes"`
	Fragments []fragment  `json:"fragments"`
}

// graphOf flattens a job's plan into nodes in depth-first order (the root
// first) and groups them into fragments split at the exchanges.
func graphOf(root *stream.Node) jobGraph {
	g := jobGraph{Nodes: []graphNode{}, Fragments: []fragment{}}
	var walk func(n *stream.Node, frag int) int
	newFragment := func(instances int) int {
		g.Fragments = append(g.Fragments, fragment{ID: len(g.Fragments), Instances: instances, Nodes: []int{}})
		return len(g.Fragments) - 1
	}
	walk = func(n *stream.Node, frag int) int {
		id := len(g.Nodes)
		gn := graphNode{ID: id, Fragment: frag, Instances: n.Instances(), State: n.StateTables, Columns: n.Names, Inputs: []int{}}
		if gn.Columns == nil {
			gn.Columns = []string{}
		}
		switch {
		case n.Source != nil:
			gn.Operator, gn.Source = n.Source.Explain(), true
		case n.Spec != nil:
			gn.Operator = n.Spec.Explain()
		}
		_, gn.Exchange = n.Spec.(*stream.ExchangeSpec)
		gn.Name, _, _ = strings.Cut(gn.Operator, " ")
		g.Nodes = append(g.Nodes, gn)
		if !gn.Exchange {
			g.Fragments[frag].Nodes = append(g.Fragments[frag].Nodes, id)
		}
		for _, in := range n.Inputs {
			child := frag
			if gn.Exchange {
				child = newFragment(in.Instances())
			}
			g.Nodes[id].Inputs = append(g.Nodes[id].Inputs, walk(in, child))
		}
		return id
	}
	if root != nil {
		walk(root, newFragment(root.Instances()))
	}
	return g
}

// stateTablesOf gives each operator of plan its state table ids, taken
// from ids in the order the job's build takes them: the fragment whose
// top is n, instance by instance, each operator before its inputs, then
// the fragments below its exchanges in the order they were met. It
// returns nil when the plan does not use exactly ids (a definition that
// plans differently now).
func stateTablesOf(plan *stream.Node, ids []uint32) map[*stream.Node][]uint32 {
	out := map[*stream.Node][]uint32{}
	next := 0
	ok := true
	var fragment func(n *stream.Node)
	var node func(n *stream.Node, seen map[*stream.Node]bool, exs *[]*stream.Node)
	node = func(n *stream.Node, seen map[*stream.Node]bool, exs *[]*stream.Node) {
		if _, isEx := n.Spec.(*stream.ExchangeSpec); isEx {
			if !seen[n] {
				seen[n] = true
				*exs = append(*exs, n)
			}
			return
		}
		k := len(n.StateTables)
		if next+k > len(ids) {
			ok = false
			return
		}
		out[n] = append(out[n], ids[next:next+k]...)
		next += k
		if n.Source != nil {
			return
		}
		for _, in := range n.Inputs {
			node(in, seen, exs)
		}
	}
	fragment = func(n *stream.Node) {
		var exs []*stream.Node
		seen := map[*stream.Node]bool{}
		for k := 0; k < n.Instances(); k++ {
			node(n, seen, &exs)
		}
		for _, ex := range exs {
			fragment(ex.Inputs[0])
		}
	}
	fragment(plan)
	if !ok || next != len(ids) {
		return nil
	}
	return out
}

// addKeptState fills each operator's Kept from its state tables.
func (s *server) addKeptState(g *jobGraph, plan *stream.Node, jobID uint32) error {
	tables := stateTablesOf(plan, s.e.JobStateTables(jobID))
	if tables == nil {
		return nil
	}
	nodes := flatten(plan)
	for i, n := range nodes {
		ids := tables[n]
		if len(ids) == 0 {
			continue
		}
		k := &keptState{Tables: len(ids), Complete: true}
		for _, id := range ids {
			entries, bytes, complete, err := s.e.StateTableUsage(id, stateCountLimit)
			if err != nil {
				return err
			}
			k.Entries += entries
			k.Bytes += bytes
			k.Complete = k.Complete && complete
		}
		g.Nodes[i].Kept = k
		if wf, ok := n.Spec.(*stream.WatermarkFilterSpec); ok {
			if err := s.addWatermark(&g.Nodes[i], wf, ids); err != nil {
				return err
			}
		}
	}
	return nil
}

// addWatermark reads the watermark each instance of a watermark filter
// stored at the last committed epoch and gives the node the lowest.
func (s *server) addWatermark(gn *graphNode, wf *stream.WatermarkFilterSpec, ids []uint32) error {
	r := s.e.CommittedState()
	var low types.Datum
	for _, id := range ids {
		wm, err := stream.PersistedWatermark{Table: stream.NewStateTable(id, nil, nil), T: wf.Type}.Load(r)
		if err != nil {
			return err
		}
		if wm != nil && (low == nil || types.Compare(wm, low, wf.Type) < 0) {
			low = wm
		}
	}
	if low == nil {
		return nil
	}
	gn.Watermark = types.FormatText(low, wf.Type, time.UTC)
	if ts, ok := low.(types.Timestamp); ok && (wf.Type.Kind == types.TimestampTZ || wf.Type.Kind == types.TimestampKind) {
		lag := float64(time.Now().UnixMicro()-int64(ts)) / 1000
		gn.WatermarkLagMs = &lag
	}
	return nil
}

// flatten lists plan's nodes in the order graphOf numbers them.
func flatten(plan *stream.Node) []*stream.Node {
	var out []*stream.Node
	var walk func(n *stream.Node)
	walk = func(n *stream.Node) {
		out = append(out, n)
		for _, in := range n.Inputs {
			walk(in)
		}
	}
	walk(plan)
	return out
}

// job answers GET /v1/jobs/{id}: the job's counters and graph. {id} is
// the job's id or its (schema-qualified) name.
func (s *server) job(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("id")
	var found *engine.JobStatus
	for _, j := range s.e.Jobs() {
		name := j.Name
		if strconv.FormatUint(uint64(j.ID), 10) == key || name == key || j.Schema+"."+name == key {
			found = &j
			break
		}
	}
	if found == nil {
		writeError(w, http.StatusNotFound, sqlerr.New(sqlerr.UndefinedObject, "job %q does not exist", key))
		return
	}
	out := map[string]any{"job": countersOf(*found), "coordinator": coordinatorOf(s.e)}
	if found.Kind == "materialized view" || found.Kind == "sink" {
		plan, err := s.e.JobPlan(found.ID)
		if err != nil {
			// A job whose definition no longer plans (a failed one, say)
			// still shows its counters and error.
			out["graph_error"] = errorOf(err)
		} else {
			g := graphOf(plan)
			addStats(&g, found.Operators)
			if r.URL.Query().Get("state") == "true" {
				if err := s.addKeptState(&g, plan, found.ID); err != nil {
					writeError(w, http.StatusInternalServerError, err)
					return
				}
			}
			out["graph"] = g
		}
	}
	writeJSON(w, http.StatusOK, out)
}
