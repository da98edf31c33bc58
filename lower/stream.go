package lower

import (
	"fmt"
	"slices"
	"strings"
	"time"

	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/catalog"
	"streamsql/exec"
	"streamsql/exec/batch"
	"streamsql/exec/expr"
	"streamsql/exec/stream"
	"streamsql/exec/stream/agg"
	"streamsql/exec/stream/join"
	"streamsql/sql/plan"
	"streamsql/sql/planner"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/storage"
)

// The stream planner turns a query into an incremental dataflow. It
// walks the query's logical plan (sql/plan), after the logical rewrites
// that hold for streams (optimize), and builds the streaming operator of
// every node, and every stream gets its properties: the stream key (the columns that
// identify a changelog row, added as hidden columns where the query does
// not output them), whether it is append-only, and which columns carry
// watermarks. Operators the engine cannot maintain incrementally are
// rejected here, at CREATE time, with the reason.

// StreamPlan is a planned materialized view.
type StreamPlan struct {
	// Root is the view's materialize node.
	Root *stream.Node
	// Cols are the view's columns.
	Cols []planner.Output
	// Upstreams are the views the plan reads; Tables the tables.
	Upstreams, Tables []uint32
	// AppendOnly: the view only ever gains rows.
	AppendOnly bool
	// Key lists the view columns whose key encoding is the storage key of
	// a view row (the stream key, when every key column is visible), in
	// key order; nil when the key has a hidden column. Point and range
	// reads of the view narrow its scan by it.
	Key []int
	// Watermarks are the view columns that carry a watermark (views on
	// the view receive it).
	Watermarks []int
	// Logical is the logical plan the job was lowered from, after the
	// stream rules (EXPLAIN (LOGICAL) prints it).
	Logical plan.Rel
	// Notices are warnings for the user who creates the view: operators
	// whose state is unbounded (stream_state_bounds.go).
	Notices []StateWarning
}

// StreamOptions say what view is being planned.
type StreamOptions struct {
	ViewID   uint32
	Name     string
	ColNames []string // CREATE MATERIALIZED VIEW v (a, b) names, or nil
	// EmitOnWindowClose asks for final, append-only results.
	EmitOnWindowClose bool
	// DropLate drops rows behind their watermark (counted only) instead
	// of keeping them in the job's late row log.
	DropLate bool
	// AllowedLateness, in microseconds, lowers the watermark of every
	// table and source the view reads by that much (late_rows =
	// 'reopen'): rows up to it behind the declared watermark update their
	// window's result instead of being late (stream.WatermarkFilterSpec).
	AllowedLateness int64
	// IdleTimeout moves the watermark of every table and source the view
	// reads on with the epoch time once it brought no row for that long
	// (stream_idle.go); a table's or source's own idle_timeout wins.
	IdleTimeout time.Duration
	// Parallelism is how many instances each keyed operator runs in.
	Parallelism int
	// NoSharing plans every reference to an aggregation on its own
	// (stream_share.go): the plan of a view whose state was written
	// before aggregations were shared.
	NoSharing bool
	// TwoPhaseAgg says when a parallel aggregation splits into a local
	// and a global half (stream_two_phase.go); "" is off.
	TwoPhaseAgg string
	// Sources returns the connector of a source.
	Sources func(r *catalog.Relation) (stream.SourceSpec, error)
	// Read returns the reader a subquery in the job's scalars reads
	// through (lowered with Batch).
	Read func() storage.Reader
	// Sink, when set, makes the plan a sink job: its last operator is
	// the spec Sink returns for the visible input columns instead of a
	// view.
	Sink func(visible []int, ts []types.T) stream.Spec
}

// PlanStream plans the query of a materialized view or sink: p binds it
// (as a plan for a stream, see planner.Planner.Stream) into a logical
// plan, which is lowered into a stream job.
func PlanStream(p *planner.Planner, s *pg.SelectStmt, o StreamOptions) (*StreamPlan, error) {
	p.Stream = true
	q, err := p.PlanSelect(s)
	if err != nil {
		return nil, err
	}
	cols := q.Cols
	if len(o.ColNames) > 0 {
		if len(o.ColNames) > len(cols) {
			return nil, sqlerr.New(sqlerr.SyntaxError, "CREATE MATERIALIZED VIEW specifies more column names than columns")
		}
		if len(o.ColNames) < len(cols) {
			return nil, sqlerr.New(sqlerr.SyntaxError, "CREATE MATERIALIZED VIEW specifies fewer column names than columns")
		}
		for i := range cols {
			cols[i].Name = o.ColNames[i]
		}
	}
	sp := &streamPlanner{p: p, sourceSpec: o.Sources, eowc: o.EmitOnWindowClose, noShare: o.NoSharing, parallel: o.Parallelism > 1, dropLate: o.DropLate,
		lateness: o.AllowedLateness, idle: o.IdleTimeout, splitMode: o.TwoPhaseAgg, tables: map[uint32]bool{}, views: map[uint32]bool{}, sources: map[uint32]bool{}}
	sp.compiler = sp.batchCompiler(o.Read)
	logical := sp.optimize(q.Plan)
	n, m, err := sp.convert(logical)
	if err != nil {
		return nil, sp.procTimeEOWC(err, o.EmitOnWindowClose, logical)
	}
	if o.EmitOnWindowClose && !sp.eowcDone {
		if len(n.Watermarks) == 0 {
			return nil, sp.procTimeEOWC(noOutputWatermark(n), true, logical)
		}
		if err := sp.reopenEOWC(operatorName(n)); err != nil {
			return nil, err
		}
		n = sp.eowcBuffer(n)
	}
	if o.Parallelism > 1 {
		sp.settleSplits()
		n = parallelize(n, o.Parallelism, sp.splits)
		if n.Instances() > 1 {
			n = exchange(n, nil, 0)
		}
	}
	visible := make([]int, 0, len(cols))
	for _, i := range q.Visible {
		visible = append(visible, m[i])
	}
	var top stream.Spec = &stream.MaterializeSpec{ViewID: o.ViewID, Name: o.Name, Visible: visible, KeyCols: n.StreamKey, Types: n.Types}
	if o.Sink != nil {
		top = o.Sink(visible, n.Types)
	}
	root := &stream.Node{Spec: top, Inputs: []*stream.Node{n}, StreamKey: n.StreamKey, AppendOnly: n.AppendOnly}
	for _, c := range cols {
		root.Types = append(root.Types, c.Type)
		root.Names = append(root.Names, c.Name)
	}
	plan := &StreamPlan{Root: root, Cols: cols, AppendOnly: n.AppendOnly, Key: viewKey(n.StreamKey, visible, n.Types), Logical: logical,
		Notices: StateWarnings(root)}
	for i, c := range visible {
		if slices.Contains(n.Watermarks, c) {
			plan.Watermarks = append(plan.Watermarks, i)
		}
	}
	for id := range sp.tables {
		plan.Tables = append(plan.Tables, id)
	}
	for id := range sp.views {
		plan.Upstreams = append(plan.Upstreams, id)
	}
	return plan, nil
}

// viewKey maps the stream key columns to view column positions, or nil if
// one of them is not a view column.
func viewKey(streamKey, visible []int, ts []types.T) []int {
	if len(streamKey) == 0 {
		return nil
	}
	key := make([]int, 0, len(streamKey))
	for _, kc := range streamKey {
		pos := slices.Index(visible, kc)
		if pos < 0 || ts[kc].Kind == types.Unknown {
			return nil
		}
		key = append(key, pos)
	}
	return key
}

// ExplainStream prints a stream plan, one operator per line with its
// stream properties and state tables.
func ExplainStream(n *stream.Node) []string {
	var lines []string
	shared := stream.SharedNodes(n)
	printed := map[*stream.Node]bool{}
	var walk func(n *stream.Node, depth int)
	walk = func(n *stream.Node, depth int) {
		var desc string
		if n.Source != nil {
			desc = n.Source.Explain()
		} else if ex, ok := n.Spec.(*stream.ExchangeSpec); ok {
			desc = explainExchange(n, ex)
		} else {
			desc = n.Spec.Explain()
		}

		var props []string
		key := make([]string, len(n.StreamKey))
		for i, k := range n.StreamKey {
			key[i] = colLabel(n, k)
		}
		props = append(props, "key: ["+strings.Join(key, ", ")+"]")
		if shared[n] {
			if printed[n] {
				// Its operator and inputs are printed at its first reader.
				lines = append(lines, explainIndent(depth)+desc+" {shared: as above}")
				return
			}
			printed[n] = true
			props = append(props, "shared")
		}
		if _, ex := n.Spec.(*stream.ExchangeSpec); !ex && n.Instances() > 1 {
			props = append(props, fmt.Sprintf("instances: %d", n.Instances()))
		}
		if n.AppendOnly {
			props = append(props, "append-only")
		}
		if len(n.Watermarks) > 0 {
			wm := make([]string, len(n.Watermarks))
			for i, w := range n.Watermarks {
				wm[i] = colLabel(n, w)
			}
			props = append(props, "watermark: ["+strings.Join(wm, ", ")+"]")
		}
		lines = append(lines, explainIndent(depth)+desc+" {"+strings.Join(props, "; ")+"}")
		for _, st := range n.StateTables {
			lines = append(lines, strings.Repeat("  ", depth+1)+"state: "+st)
		}
		for _, w := range nodeStateWarnings(n) {
			lines = append(lines, strings.Repeat("  ", depth+1)+"warning: unbounded state: "+w.Reason)
		}
		for _, in := range n.Inputs {
			walk(in, depth+1)
		}
	}
	walk(n, 0)
	return lines
}

// explainIndent is the start of an EXPLAIN line at depth.
func explainIndent(depth int) string {
	if depth > 0 {
		return strings.Repeat("  ", depth-1) + "└─"
	}
	return ""
}

func colLabel(n *stream.Node, i int) string {
	if i < len(n.Names) && n.Names[i] != "" {
		return n.Names[i]
	}
	return fmt.Sprintf("#%d", i)
}

type streamPlanner struct {
	p          *planner.Planner
	sourceSpec func(r *catalog.Relation) (stream.SourceSpec, error)
	compiler   *expr.Compiler
	eowc       bool
	eowcDone   bool
	// parallel: keyed operators run in several instances.
	parallel bool
	// dropLate: late rows are not kept (StreamOptions.DropLate).
	dropLate bool
	// lateness is StreamOptions.AllowedLateness.
	lateness int64
	// idle is StreamOptions.IdleTimeout.
	idle time.Duration
	// splitMode is StreamOptions.TwoPhaseAgg; splits are the aggregations
	// to split, splitRefused says one could not be.
	splitMode    string
	splits       map[*agg.HashAggSpec]bool
	splitRefused bool
	tables       map[uint32]bool
	views        map[uint32]bool
	sources      map[uint32]bool
	// shared are the aggregations planned so far (stream_share.go);
	// noShare turns sharing off.
	shared  []sharedRel
	noShare bool
}

func notIncremental(format string, args ...any) error {
	return sqlerr.New(sqlerr.FeatureNotSupported, "materialized views cannot yet maintain "+format, args...)
}

// convert builds the stream node of the logical relation r. m maps r's
// output columns to the node's (the node may carry extra hidden key
// columns).
func (sp *streamPlanner) convert(r plan.Rel) (n *stream.Node, m []int, err error) {
	defer func() {
		if err == nil {
			nameLateRelation(n, r)
		}
	}()
	switch x := r.(type) {
	case *plan.Scan:
		return sp.scan(x)
	case *plan.SourceScan:
		return sp.source(x)
	case *plan.Filter:
		if n, m, ok, err := sp.topN(x); ok || err != nil {
			return n, m, err
		}
		if n, m, ok, err := sp.temporalFilter(x); ok || err != nil {
			return n, m, err
		}
		child, cm, err := sp.convert(x.Input)
		if err != nil {
			return nil, nil, err
		}
		pe, err := remapProcTime(x.Pred, cm, child)
		if err != nil {
			return nil, nil, err
		}
		if js, ok := child.Spec.(*join.HashJoinSpec); ok && js.Kind == plan.InnerJoin {
			// A WHERE over an inner join bounds its matches like ON does.
			joinCleanupCond(child, pe)
			joinCleanupStates(child)
			joinWatermarks(child)
		}
		cpe, err := sp.compiler.Compile(pe)
		if err != nil {
			return nil, nil, err
		}
		n := inherit(child, &stream.FilterSpec{Pred: cpe})
		return n, cm, nil
	case *plan.Project:
		child, cm, err := sp.convert(x.Input)
		if err != nil {
			return nil, nil, err
		}
		return sp.project(child, cm, x.Exprs)
	case *plan.Sort:
		// A view has no order: ORDER BY only matters to readers.
		return sp.convert(x.Input)
	case *plan.Limit:
		return sp.limit(x)
	case *plan.Aggregate:
		if n, m, ok, err := sp.sessionAgg(x); ok || err != nil {
			return n, m, err
		}
		if n, m, ok := sp.sharedAgg(x); ok {
			return n, m, nil
		}
		n, m, err := sp.agg(x)
		if err == nil {
			sp.share(x, n, m)
		}
		return n, m, err
	case *plan.Distinct:
		if x.On != nil {
			return sp.distinctOn(x)
		}
		child, cm, err := sp.convert(x.Input)
		if err != nil {
			return nil, nil, err
		}
		ts := x.Input.OutputTypes()
		group := make([]int, len(ts))
		for i := range ts {
			group[i] = cm[i]
		}
		return sp.aggNode(child, group, ts, nil)
	case *plan.Join:
		return sp.join(x)
	case *plan.LookupJoin:
		return sp.lookupJoin(x)
	case *plan.AsofJoin:
		return sp.asofJoin(x)
	case *plan.ProjectSet:
		return sp.projectSet(x)
	case *plan.Expand:
		return sp.expand(x)
	case *plan.Window:
		return sp.overWindow(x)
	case *plan.SetOp:
		if x.Kind == plan.Union && x.All {
			return sp.union(x)
		}
		return sp.setOp(x)
	case *plan.Values:
		return sp.values(x)
	case *plan.WindowTVF:
		return sp.windowTVF(x)
	case *plan.SessionWindow:
		// An aggregation over SESSION is planned with it (sessionAgg).
		return nil, nil, sqlerr.New(sqlerr.FeatureNotSupported, "materialized views cannot yet maintain SESSION without aggregation").
			WithHint("Aggregate it: GROUP BY the partition columns and window_start and/or window_end.")
	case *plan.RecursiveUnion:
		return sp.recursiveUnion(x)
	case *plan.MatchRecognize:
		return sp.matchRecognize(x)
	}
	return nil, nil, notIncremental("%s", relKind(r))
}

// inherit returns a node over child with the same columns and stream
// properties.
func inherit(child *stream.Node, spec stream.Spec) *stream.Node {
	return &stream.Node{Spec: spec, Inputs: []*stream.Node{child}, Types: child.Types, Names: child.Names,
		StreamKey: child.StreamKey, AppendOnly: child.AppendOnly, Watermarks: child.Watermarks}
}

func identity(n int) []int {
	m := make([]int, n)
	for i := range m {
		m[i] = i
	}
	return m
}

// filterConds puts a filter of the conjuncts conds, whose column
// references m maps to n's columns, on n.
func (sp *streamPlanner) filterConds(n *stream.Node, conds []plan.Scalar, m []int) (*stream.Node, error) {
	pe, err := remap(plan.AndAll(conds), m)
	if err != nil {
		return nil, err
	}
	cpe, err := sp.compiler.Compile(pe)
	if err != nil {
		return nil, err
	}
	return inherit(n, &stream.FilterSpec{Pred: cpe}), nil
}

// remap rewrites e's column references through m; expressions the
// streaming engine cannot evaluate per row are rejected.
func remap(e plan.Scalar, m []int) (plan.Scalar, error) {
	out := plan.Rewrite(e, func(x plan.Scalar) (plan.Scalar, bool) {
		if c, ok := x.(*plan.ColRef); ok {
			return &plan.ColRef{Idx: m[c.Idx], T: c.T, Name: c.Name}, true
		}
		return nil, false
	})
	return out, perRowError(e)
}

// perRowError says why the streaming engine cannot evaluate e per row,
// or is nil when it can.
func perRowError(e plan.Scalar) error {
	var bad error
	plan.Visit(e, func(x plan.Scalar) {
		switch c := x.(type) {
		case *plan.Subquery:
			bad = subqueryRefusal(c)
		case *plan.Param:
			bad = sqlerr.New(sqlerr.FeatureNotSupported, "materialized views cannot have parameters")
		case *plan.Call:
			if isProcTimeCall(c) {
				bad = procTimeMisplaced()
			}
			switch c.Fn.Name {
			case "now", "current_timestamp", "localtimestamp", "current_date", "current_time", "localtime", "clock_timestamp", "statement_timestamp", "transaction_timestamp":
				bad = notIncremental("%s(): its value changes with time", c.Fn.Name)
			}
		}
	})
	return bad
}

func (sp *streamPlanner) scan(x *plan.Scan) (*stream.Node, []int, error) {
	r, tbl, cols := x.Rel, x.Rel.Table(), x.Cols
	switch r.Kind {
	case catalog.KindMatView:
		sp.views[r.OID] = true
		n := &stream.Node{Source: &stream.ViewSourceSpec{Table: tbl, ViewID: r.OID}}
		for i, t := range tbl.Types {
			n.Types = append(n.Types, t)
			n.Names = append(n.Names, tbl.ColNames[i])
		}
		n.Types = append(n.Types, types.TBytea)
		n.Names = append(n.Names, "_key")
		n.StreamKey = []int{len(tbl.Types)}
		// The view's own watermarks reach its readers (materialize
		// forwards them).
		for _, c := range r.ViewWatermarks {
			if c < len(tbl.Types) {
				n.Watermarks = append(n.Watermarks, c)
			}
		}
		return n, append([]int(nil), cols...), nil
	case catalog.KindTable:
	default:
		return nil, nil, notIncremental("reads of %s %q", r.Kind.String(), r.Name)
	}
	sp.tables[r.OID] = true
	outCols := append([]int(nil), cols...)
	find := func(c int) int {
		for i, oc := range outCols {
			if oc == c {
				return i
			}
		}
		outCols = append(outCols, c)
		return len(outCols) - 1
	}
	var key []int
	for _, pk := range tbl.PK {
		key = append(key, find(pk))
	}
	wmIdx, err := watermarkColumns(r, find)
	if err != nil {
		return nil, nil, err
	}
	spec := &stream.TableSourceSpec{Table: tbl, Cols: outCols, RowID: len(tbl.PK) == 0}
	n := &stream.Node{Source: spec, AppendOnly: r.AppendOnly}
	for _, c := range outCols {
		n.Types = append(n.Types, tbl.Types[c])
		n.Names = append(n.Names, tbl.ColNames[c])
	}
	if spec.RowID {
		n.Types = append(n.Types, types.TInt8)
		n.Names = append(n.Names, "_row_id")
		key = []int{len(outCols)}
	}
	n.StreamKey = key
	if n, err = sp.watermarks(r, n, wmIdx); err != nil {
		return nil, nil, err
	}
	if len(wmIdx) == 1 && r.Options["connector"] != "" && sp.sourceSpec != nil {
		// A table fed by a connector that generates its watermark per
		// split (Kafka: per partition): the table's ingest loop commits
		// that watermark with the rows, the scan passes it on and the
		// filter takes it instead of a maximum of its own.
		src, err := sp.sourceSpec(r)
		if err != nil {
			return nil, nil, err
		}
		if _, ok := src.(stream.SplitWatermarker); ok {
			f := n.Spec.(*stream.WatermarkFilterSpec)
			f.FromSource = true
			spec.Watermark = &stream.TableWatermark{Col: f.Col, Type: f.Type}
		}
	}
	return n, identity(len(cols)), nil
}

// SourceWatermarks compiles the WATERMARK FOR clauses of r over the
// columns its connector's source fills (those not dropped, in order), for
// a source that generates its watermarks per split: the ingest loop of a
// table fed by a connector.
func SourceWatermarks(p *planner.Planner, r *catalog.Relation) ([]stream.SourceWatermark, error) {
	var names []string
	var ts []types.T
	for _, c := range r.Columns {
		if !c.Dropped {
			names = append(names, c.Name)
			ts = append(ts, c.Type)
		}
	}
	comp := &expr.Compiler{}
	var out []stream.SourceWatermark
	for _, w := range r.Watermarks {
		col := slices.Index(names, w.Column)
		if col < 0 {
			return nil, sqlerr.New(sqlerr.UndefinedColumn, "watermark column %q of %q does not exist", w.Column, r.Name)
		}
		e, err := p.BindExpr(w.Expr, r.Name, names, ts, "WATERMARK")
		if err != nil {
			return nil, err
		}
		ce, err := comp.Compile(e)
		if err != nil {
			return nil, err
		}
		out = append(out, stream.SourceWatermark{Col: col, Expr: ce, Type: ts[col]})
	}
	return out, nil
}

// watermarkColumns finds (adding them with find) the output columns of
// r's watermark columns.
func watermarkColumns(r *catalog.Relation, find func(int) int) ([]int, error) {
	var idx []int
	for _, w := range r.Watermarks {
		ci := r.ColumnIndex(w.Column)
		if ci < 0 {
			return nil, sqlerr.New(sqlerr.UndefinedColumn, "watermark column %q of %q does not exist", w.Column, r.Name)
		}
		idx = append(idx, find(ci))
	}
	return idx, nil
}

// watermarks puts a watermark filter over a source or table node for each
// WATERMARK FOR of r (wmIdx are their columns in n).
func (sp *streamPlanner) watermarks(r *catalog.Relation, n *stream.Node, wmIdx []int) (*stream.Node, error) {
	for i, w := range r.Watermarks {
		e, err := sp.bindWatermark(r, w, n)
		if err != nil {
			return nil, err
		}
		ce, err := sp.compiler.Compile(e)
		if err != nil {
			return nil, err
		}
		col := wmIdx[i]
		lateness, err := sp.allowedLateness(r, w, n.Types[col])
		if err != nil {
			return nil, err
		}
		idle, err := sp.idleTimeout(r, w, n.Types[col])
		if err != nil {
			return nil, err
		}
		wn := inherit(n, &stream.WatermarkFilterSpec{Col: col, Expr: ce, Type: n.Types[col], KeepLate: !sp.dropLate, Relation: r.Name,
			Lateness: lateness, IdleTimeout: idle})
		wn.Watermarks = append(append([]int(nil), n.Watermarks...), col)
		wn.StateTables = []string{"the current watermark"}
		n = wn
	}
	return n, nil
}

// source plans a connector source: its columns, a hidden row id (sources
// are append-only streams without a key) and its watermarks.
func (sp *streamPlanner) source(x *plan.SourceScan) (*stream.Node, []int, error) {
	r := x.Rel
	if sp.sourceSpec == nil {
		return nil, nil, notIncremental("sources here")
	}
	spec, err := sp.sourceSpec(r)
	if err != nil {
		return nil, nil, err
	}
	sp.sources[r.OID] = true
	n := &stream.Node{Source: spec, AppendOnly: true}
	var phys []int
	for i, c := range r.Columns {
		if c.Dropped {
			continue
		}
		phys = append(phys, i)
		n.Types = append(n.Types, c.Type)
		n.Names = append(n.Names, c.Name)
	}
	find := func(ci int) int {
		for i, p := range phys {
			if p == ci {
				return i
			}
		}
		return -1
	}
	m := make([]int, len(x.Cols))
	for i, c := range x.Cols {
		m[i] = find(c)
	}
	wmIdx, err := watermarkColumns(r, find)
	if err != nil {
		return nil, nil, err
	}
	id := inherit(n, &stream.RowIDSpec{})
	id.Types = append(slices.Clone(n.Types), types.TInt8)
	id.Names = append(slices.Clone(n.Names), "_row_id")
	id.StreamKey = []int{len(n.Types)}
	id.StateTables = []string{"the next row id"}
	out, err := sp.watermarks(r, id, wmIdx)
	if err != nil {
		return nil, nil, err
	}
	if sw, ok := spec.(stream.SplitWatermarker); ok && out != id {
		// The source generates its watermarks per split; the filters
		// above it take them instead of a maximum of their own.
		var ws []stream.SourceWatermark
		for x := out; x != id; x = x.Inputs[0] {
			f := x.Spec.(*stream.WatermarkFilterSpec)
			f.FromSource = true
			ws = append(ws, stream.SourceWatermark{Col: f.Col, Expr: f.Expr, Type: f.Type})
		}
		n.Source = sw.WithSplitWatermarks(ws)
	}
	return out, m, nil
}

// bindWatermark binds a WATERMARK FOR expression over the source node's
// columns.
func (sp *streamPlanner) bindWatermark(r *catalog.Relation, w catalog.Watermark, n *stream.Node) (plan.Scalar, error) {
	return sp.p.BindExpr(w.Expr, r.Name, n.Names, n.Types, "WATERMARK")
}

func (sp *streamPlanner) project(child *stream.Node, cm []int, exprs []plan.Scalar) (*stream.Node, []int, error) {
	out := make([]plan.Scalar, 0, len(exprs)+len(child.StreamKey))
	for _, e := range exprs {
		re, err := remapProcTime(e, cm, child)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, re)
	}
	n := &stream.Node{AppendOnly: child.AppendOnly}
	// Keep the child's key columns (hidden where the query drops them).
	for _, k := range child.StreamKey {
		idx := -1
		for i, e := range out {
			if c, ok := e.(*plan.ColRef); ok && c.Idx == k {
				idx = i
				break
			}
		}
		if idx < 0 {
			idx = len(out)
			out = append(out, &plan.ColRef{Idx: k, T: child.Types[k], Name: child.Names[k]})
		}
		n.StreamKey = append(n.StreamKey, idx)
	}
	var derived []stream.DerivedWatermark
	for i, e := range out {
		n.Types = append(n.Types, e.Type())
		name := ""
		if c, ok := e.(*plan.ColRef); ok {
			name = child.Names[c.Idx]
			for _, w := range child.Watermarks {
				if w == c.Idx {
					n.Watermarks = append(n.Watermarks, i)
				}
			}
		} else if c, ok := monotoneIn(e); ok && slices.Contains(child.Watermarks, c) {
			// An expression that never decreases in a watermarked column
			// (stream_watermark_derive.go).
			n.Watermarks = append(n.Watermarks, i)
			derived = append(derived, stream.DerivedWatermark{In: c, Out: i})
		}
		n.Names = append(n.Names, name)
	}
	cout, err := sp.compiler.CompileAll(out)
	if err != nil {
		return nil, nil, err
	}
	n.Spec = &stream.ProjectSpec{Exprs: cout, Derived: derived}
	n.Inputs = []*stream.Node{child}
	return n, identity(len(exprs)), nil
}

// projectSet plans set-returning functions of a select list: the input
// columns pass through, one column per function follows, then the hidden
// ordinal that extends the input's stream key.
func (sp *streamPlanner) projectSet(x *plan.ProjectSet) (*stream.Node, []int, error) {
	child, cm, err := sp.convert(x.Input)
	if err != nil {
		return nil, nil, err
	}
	spec := &stream.ProjectSetSpec{}
	for _, call := range x.Calls {
		f := batch.SetFunc{Fn: call.Fn, T: call.T, Args: make([]expr.Expr, len(call.Args)), ArgTypes: make([]types.T, len(call.Args))}
		for i, a := range call.Args {
			f.ArgTypes[i] = a.Type()
			ra, err := remapProcTime(a, cm, child)
			if err != nil {
				return nil, nil, err
			}
			if f.Args[i], err = sp.compiler.Compile(ra); err != nil {
				return nil, nil, err
			}
		}
		spec.Funcs = append(spec.Funcs, f)
	}
	nIn := len(child.Types)
	n := &stream.Node{Spec: spec, Inputs: []*stream.Node{child}, AppendOnly: child.AppendOnly,
		Types: slices.Clone(child.Types), Names: slices.Clone(child.Names),
		StreamKey: slices.Clone(child.StreamKey), Watermarks: slices.Clone(child.Watermarks)}
	inW := len(x.Input.OutputTypes())
	m := make([]int, 0, inW+len(x.Calls))
	m = append(m, cm[:inW]...)
	for k, f := range spec.Funcs {
		n.Types = append(n.Types, f.T)
		n.Names = append(n.Names, f.Fn.Name)
		m = append(m, nIn+k)
	}
	n.Types = append(n.Types, types.TInt8)
	n.Names = append(n.Names, "_ordinal")
	n.StreamKey = append(n.StreamKey, len(n.Types)-1)
	return n, m, nil
}

func (sp *streamPlanner) agg(x *plan.Aggregate) (*stream.Node, []int, error) {
	child, cm, err := sp.convert(x.Input)
	if err != nil {
		return nil, nil, err
	}
	group := make([]int, len(x.GroupCols))
	for i, g := range x.GroupCols {
		group[i] = cm[g]
	}
	specs := make([]batch.AggSpec, len(x.Aggs))
	for i, a := range x.Aggs {
		s := batch.AggSpec{Agg: a.Fn, ArgTypes: x.ArgTypes(a), Distinct: a.Distinct, Filter: -1, T: a.T, Order: aggOrder(a.Order, cm)}
		s.Args = make([]int, len(a.Args))
		for j, c := range a.Args {
			s.Args[j] = cm[c]
		}
		if a.Filter >= 0 {
			s.Filter = cm[a.Filter]
		}
		specs[i] = s.OrderFirst()
	}
	return sp.aggNode(child, group, x.GroupTypes(), specs)
}

func (sp *streamPlanner) aggNode(child *stream.Node, group []int, groupTypes []types.T, aggs []batch.AggSpec) (*stream.Node, []int, error) {
	for _, a := range aggs {
		if err := agg.Maintainable(a); err != nil {
			return nil, nil, err
		}
	}
	spec := &agg.HashAggSpec{GroupCols: group, GroupTypes: groupTypes, Aggs: aggs, AppendOnly: child.AppendOnly, WindowCol: -1, LateSpec: stream.LateSpec{KeepLate: !sp.dropLate}}
	n := &stream.Node{Spec: spec, Inputs: []*stream.Node{child}}
	for i, g := range group {
		n.Types = append(n.Types, groupTypes[i])
		n.Names = append(n.Names, child.Names[g])
		n.StreamKey = append(n.StreamKey, i)
		for _, w := range child.Watermarks {
			if w == g && spec.WindowCol < 0 {
				spec.WindowCol = i
				n.Watermarks = append(n.Watermarks, i)
			}
		}
	}
	for _, a := range aggs {
		n.Types = append(n.Types, a.T)
		n.Names = append(n.Names, a.Agg.Name)
	}
	if sp.eowc && !sp.eowcDone {
		if spec.WindowCol < 0 {
			return nil, nil, noGroupWatermark(child, group)
		}
		spec.EmitOnClose = true
		sp.eowcDone = true
		// With an allowed lateness an emitted window's row is corrected
		// (retracted and inserted again) while the window is kept.
		spec.Reopen = sp.lateness != 0
		n.AppendOnly = !spec.Reopen
	}
	sp.twoPhase(spec)
	n.StateTables = []string{"groups: group key -> row count and aggregate states (a window's groups are deleted once the watermark passes it)",
		"inputs of min/max/string_agg/DISTINCT: (group key, aggregate, value) -> count"}
	return n, identity(len(n.Types)), nil
}

// join plans an equi-join as a stream hash join over both inputs; joins
// the engine cannot maintain are refused.
func (sp *streamPlanner) join(j *plan.Join) (*stream.Node, []int, error) {
	if j.Lateral {
		if n, m, ok, err := sp.lateralFunction(j); ok || err != nil {
			return n, m, err
		}
		if r, ok := plan.DecorrelateLateral(j); ok {
			return sp.convert(r)
		}
		if r, ok := plan.DecorrelateLateralAggregate(j); ok {
			return sp.convert(r)
		}
		if r, ok := plan.DecorrelateLateralSubquery(j); ok {
			return sp.convert(r)
		}
		if r, ok := plan.DecorrelateLateralProject(j); ok {
			return sp.convert(r)
		}
		if j.Func != "" {
			return nil, nil, notIncremental("a call of set-returning SQL function %s whose arguments read the row before it: its body cannot be inlined as a join (it must read tables filtered by equalities with the arguments in its WHERE clause, and not use them in its select list alone)", j.Func)
		}
		return nil, nil, notIncremental("LATERAL subqueries not correlated with the row before them by equalities in their WHERE clause (or reading it below their select list, or with LIMIT but no ORDER BY)")
	}
	if j.Kind == plan.SemiJoin || j.Kind == plan.AntiJoin || j.Keys.Empty() {
		return sp.otherJoin(j)
	}
	h := hashJoinOf(j)
	// The key expressions' projection merges with one pruning left
	// below it.
	h.left, h.right = mergeProjects(h.left), mergeProjects(h.right)
	n, m, err := sp.hashJoin(h, j.Kind)
	if err != nil || h.out == nil {
		return n, m, err
	}
	return sp.project(n, m, h.out)
}

// hashJoinSpec converts the inputs of h and builds the spec of a hash
// join of kind over them. m maps h's columns (left's, then right's) to
// the columns of left and right side by side; residual is h's residual
// over those.
func (sp *streamPlanner) hashJoinSpec(h hashJoin, kind plan.JoinKind) (spec *join.HashJoinSpec, left, right *stream.Node, m []int, residual plan.Scalar, err error) {
	left, right, lm, rm, err := sp.convertSides(h.left, h.right)
	if err != nil {
		return nil, nil, nil, nil, nil, err
	}
	lw := len(h.left.OutputTypes())
	m = make([]int, 0, lw+len(h.right.OutputTypes()))
	m = append(m, lm[:lw]...)
	for i := range h.right.OutputTypes() {
		m = append(m, len(left.Types)+rm[i])
	}
	spec = &join.HashJoinSpec{Kind: kind, LeftTypes: left.Types, RightTypes: right.Types,
		LeftStreamKey: left.StreamKey, RightStreamKey: right.StreamKey,
		LeftAppendOnly: left.AppendOnly, RightAppendOnly: right.AppendOnly}
	for _, k := range h.leftKeys {
		spec.LeftKeys = append(spec.LeftKeys, lm[k])
	}
	for _, k := range h.rightKeys {
		spec.RightKeys = append(spec.RightKeys, rm[k])
	}
	if h.residual != nil {
		if residual, err = remap(h.residual, m); err != nil {
			return nil, nil, nil, nil, nil, err
		}
		if spec.Residual, err = sp.compiler.Compile(residual); err != nil {
			return nil, nil, nil, nil, nil, err
		}
		if refs, pushable := plan.ColRefs(residual); pushable {
			spec.ResidualCols = append([]int{}, refs...)
		}
	}
	return spec, left, right, m, residual, nil
}

// convertSides converts the two inputs of a join, left then right.
func (sp *streamPlanner) convertSides(l, r plan.Rel) (left, right *stream.Node, lm, rm []int, err error) {
	if left, lm, err = sp.convert(l); err != nil {
		return nil, nil, nil, nil, err
	}
	if right, rm, err = sp.convert(r); err != nil {
		return nil, nil, nil, nil, err
	}
	return left, right, lm, rm, nil
}

func (sp *streamPlanner) hashJoin(jp hashJoin, kind plan.JoinKind) (*stream.Node, []int, error) {
	switch kind {
	case plan.InnerJoin, plan.LeftJoin, plan.RightJoin, plan.FullJoin:
	default:
		return nil, nil, notIncremental("semi or anti joins (IN/EXISTS subqueries)")
	}
	spec, left, right, m, residual, err := sp.hashJoinSpec(jp, kind)
	if err != nil {
		return nil, nil, err
	}
	n := &stream.Node{Spec: spec, Inputs: []*stream.Node{left, right}}
	n.Types = append(append([]types.T(nil), left.Types...), right.Types...)
	n.Names = append(append([]string(nil), left.Names...), right.Names...)
	n.StreamKey = append([]int(nil), left.StreamKey...)
	for _, k := range right.StreamKey {
		n.StreamKey = append(n.StreamKey, len(left.Types)+k)
	}
	if sp.parallel {
		// Rows of one output key must come from one join instance, or
		// the instances' changes could reach the view out of order: the
		// join keys (the routing keys) become part of the stream key.
		if kind != plan.RightJoin {
			n.StreamKey = appendMissing(n.StreamKey, spec.LeftKeys, 0)
		}
		if kind == plan.RightJoin || kind == plan.FullJoin {
			n.StreamKey = appendMissing(n.StreamKey, spec.RightKeys, len(left.Types))
		}
	}
	n.AppendOnly = kind == plan.InnerJoin && left.AppendOnly && right.AppendOnly
	if kind == plan.InnerJoin || kind == plan.LeftJoin {
		n.Watermarks = append(n.Watermarks, left.Watermarks...)
	}
	if kind == plan.InnerJoin || kind == plan.RightJoin {
		for _, w := range right.Watermarks {
			n.Watermarks = append(n.Watermarks, len(left.Types)+w)
		}
	}
	n.StateTables = []string{"left rows by join key (with match counts for outer joins)", "right rows by join key (with match counts for outer joins)"}
	joinCleanupKeys(n)
	joinCleanupCond(n, residual)
	joinCleanupStates(n)
	joinWatermarks(n)
	return n, m, nil
}

func (sp *streamPlanner) union(x *plan.SetOp) (*stream.Node, []int, error) {
	inputs := []plan.Rel{x.Left, x.Right}
	ts := x.OutputTypes()
	n := &stream.Node{AppendOnly: true}
	for tag, in := range inputs {
		child, cm, err := sp.convert(in)
		if err != nil {
			return nil, nil, err
		}
		exprs := make([]expr.Expr, 0, len(ts)+1)
		for i, t := range ts {
			exprs = append(exprs, &expr.ColRef{Idx: cm[i], T: t})
		}
		p := taggedKeyProject(child, exprs, tag)
		for i := range ts {
			if slices.Contains(child.Watermarks, cm[i]) {
				p.Watermarks = append(p.Watermarks, i)
			}
		}
		n.Inputs = append(n.Inputs, p)
		if !child.AppendOnly {
			n.AppendOnly = false
		}
	}
	n.Types = append(append([]types.T(nil), ts...), types.TBytea)
	n.Names = make([]string, len(n.Types))
	n.Names[len(ts)] = "_key"
	n.StreamKey = []int{len(ts)}
	n.Spec = &stream.UnionSpec{Types: n.Types}
	// A column keeps a watermark when every input has one on it: the
	// union forwards the smallest of the inputs' watermarks.
	for i := range ts {
		all := true
		for _, in := range n.Inputs {
			all = all && slices.Contains(in.Watermarks, i)
		}
		if all {
			n.Watermarks = append(n.Watermarks, i)
		}
	}
	return n, identity(len(ts)), nil
}

func (sp *streamPlanner) values(x *plan.Values) (*stream.Node, []int, error) {
	ts := x.Types
	ctx := &exec.Ctx{}
	spec := &stream.ValuesSpec{Types: ts}
	for _, r := range x.Rows {
		row := make([]types.Datum, len(r))
		for j, e := range r {
			ce, err := sp.compiler.Compile(e)
			if err != nil {
				return nil, nil, err
			}
			d, err := expr.EvalConst(ctx, ce)
			if err != nil {
				return nil, nil, err
			}
			row[j] = d
		}
		spec.Rows = append(spec.Rows, row)
	}
	n := &stream.Node{Source: spec, AppendOnly: true}
	n.Types = append(append([]types.T(nil), ts...), types.TInt8)
	n.Names = make([]string, len(n.Types))
	n.Names[len(ts)] = "_row"
	n.StreamKey = []int{len(ts)}
	return n, identity(len(ts)), nil
}

// eowcBuffer holds the rows of a non-aggregating EMIT ON WINDOW CLOSE view
// until the watermark passes them.
func (sp *streamPlanner) eowcBuffer(n *stream.Node) *stream.Node {
	b := inherit(n, &stream.EowcBufferSpec{Col: n.Watermarks[0], Types: n.Types, KeyCols: n.StreamKey})
	b.AppendOnly = true
	b.StateTables = []string{"rows not yet passed by the watermark: (watermark column, stream key) -> row"}
	sp.eowcDone = true
	return b
}

// appendMissing appends the columns cols (offset by off) not yet in key.
func appendMissing(key, cols []int, off int) []int {
	for _, c := range cols {
		if !slices.Contains(key, c+off) {
			key = append(key, c+off)
		}
	}
	return key
}
