package engine

import (
	"context"
	"fmt"
	"maps"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/catalog"
	"streamsql/connector"
	"streamsql/exec"
	"streamsql/exec/stream"
	"streamsql/lower"
	"streamsql/pgwire"
	"streamsql/sql/parser"
	sqlplan "streamsql/sql/plan"
	"streamsql/sql/planner"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/storage"
	"streamsql/udf"
)

// startStreaming resumes every materialized view's job from its last
// committed epoch (views that never committed start afresh) and starts
// the barrier coordinator.
func (e *Engine) startStreaming() error {
	c, err := stream.NewCoordinator(stream.CoordinatorOptions{
		DB:              e.db,
		Logger:          e.log,
		StateMemory:     e.stateMemory,
		Clock:           e.clock,
		ViewLogMaxBytes: e.viewLogMax,
		NewCtx: func(spec stream.JobSpec) *exec.Ctx {
			// Jobs run as their owner (job_catalog.go), with the server's
			// defaults of the settings (the limits of user functions:
			// udf_timeout, udf_memory_limit; the runs of a recursive
			// query's term: max_recursive_iterations).
			var search []string
			if r, ok := e.cat.ByOID(spec.ID); ok {
				search = r.SearchPath
			}
			return &exec.Ctx{Env: udf.Env{Context: context.Background(), Location: time.UTC, Catalog: e.newJobCatalog(spec.Role, search), Settings: func(name string) (string, bool) {
				switch name {
				case "udf_timeout", "udf_memory_limit", "max_recursive_iterations":
					v, ok := e.defaults[name]
					return v, ok
				}
				return "", false
			}}}
		},
		Tables: func() []uint32 {
			var ids []uint32
			for _, r := range e.cat.Relations() {
				if r.Kind == catalog.KindTable {
					ids = append(ids, r.OID)
				}
			}
			return ids
		},
	})
	if err != nil {
		return err
	}
	e.coord = c
	// Subscriptions end with the process: delete what the temporary jobs
	// of a crashed one left.
	if err := c.DropTemporary(tempJobBase); err != nil {
		return err
	}
	e.startChangeLogs()
	views := e.matViews()
	var fresh []*catalog.Relation
	for _, r := range views {
		ok, err := c.HasCommitted(r.OID)
		if err != nil {
			return err
		}
		if !ok {
			fresh = append(fresh, r)
			continue
		}
		spec, err := e.jobSpec(r)
		if err == nil && r.StateLayout != "" && r.StateLayout != stream.StateLayout(spec.Plan) {
			err = fmt.Errorf("its state was written for a plan this version no longer makes from its definition; drop it and create it again")
		}
		if err == nil {
			err = c.Resume(spec)
		}
		if err != nil {
			e.log.Error("cannot resume materialized view", "view", r.Name, "err", err)
		}
	}
	freshFeeds := e.resumeTableSubscriptions()
	go c.Run()
	for _, r := range fresh {
		spec, err := e.jobSpec(r)
		if err == nil {
			err = c.Add(context.Background(), spec)
		}
		if err != nil {
			e.log.Error("cannot start materialized view", "view", r.Name, "err", err)
		}
	}
	e.startTableFeeds(freshFeeds)
	return nil
}

// matViews lists the materialized views and sinks, upstream ones first (a view's
// OID is larger than those of the relations it reads).
func (e *Engine) matViews() []*catalog.Relation {
	var out []*catalog.Relation
	for _, r := range e.cat.Relations() {
		if r.Kind == catalog.KindMatView || r.Kind == catalog.KindSink {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].OID < out[j].OID })
	return out
}

// streamPlanner returns a planner for a view definition owned by owner:
// the view reads with its owner's rights (rowsecurity.go).
func (e *Engine) streamPlanner(sql, owner string) *planner.Planner {
	p := &planner.Planner{Catalog: e.cat, SearchPath: []string{"public"}, SQL: sql, RowSecurity: e.ownerQual, Role: owner,
		UserFuncs: e.udfs, GoFuncs: e.goFuncs, CompileScalar: compileScalar}
	return p
}

// planStream plans the query of a view or sink as a stream job.
func (e *Engine) planStream(p *planner.Planner, sel *pg.SelectStmt, o lower.StreamOptions) (*lower.StreamPlan, error) {
	o.Sources = e.sourceSpec
	o.Read = func() storage.Reader { return e.db.Latest() }
	plan, err := lower.PlanStream(p, sel, o)
	if err != nil {
		return nil, err
	}
	stream.PruneSourceColumns(plan.Root)
	return plan, nil
}

// jobSpec re-plans a stored materialized view.
func (e *Engine) jobSpec(r *catalog.Relation) (stream.JobSpec, error) {
	spec, err := e.jobSpecWith(r, false)
	if err == nil && r.StateLayout != "" && r.StateLayout != stream.StateLayout(spec.Plan) {
		// State written before an aggregation read twice was planned
		// once: the view goes on with the plan it was created with.
		if old, oerr := e.jobSpecWith(r, true); oerr == nil && r.StateLayout == stream.StateLayout(old.Plan) {
			return old, nil
		}
	}
	return spec, err
}

// createWithoutSharing makes new views plan every reference to an
// aggregation on its own, as views created before aggregations were
// shared (tests set it to create such a view).
var createWithoutSharing bool

// jobSpecWith is jobSpec, with sharing of aggregations read twice turned
// off when noSharing is set (lower.StreamOptions.NoSharing).
func (e *Engine) jobSpecWith(r *catalog.Relation, noSharing bool) (stream.JobSpec, error) {
	stmts, err := parser.Parse(r.Definition)
	if err != nil || len(stmts) != 1 || stmts[0].AST.GetSelectStmt() == nil {
		return stream.JobSpec{}, fmt.Errorf("%s has an unreadable definition", r.Name)
	}
	p := e.streamPlanner(r.Definition, catalog.OwnerOf(r))
	if len(r.SearchPath) > 0 {
		p.SearchPath = r.SearchPath
	}
	var names []string
	for _, c := range r.VisibleColumns() {
		names = append(names, c.Name)
	}
	opts := lower.StreamOptions{ViewID: r.OID, Name: r.Name, ColNames: names, EmitOnWindowClose: r.EmitOnWindowClose, Parallelism: r.Parallelism,
		TwoPhaseAgg: r.TwoPhaseAgg, NoSharing: noSharing}
	lateOptionsOf(r).streamOptions(&opts)
	if r.Kind == catalog.KindSink {
		opts.ColNames = nil
		if opts.Sink, err = e.sinkFactory(r); err != nil {
			return stream.JobSpec{}, err
		}
	}
	plan, err := e.planStream(p, stmts[0].AST.GetSelectStmt(), opts)
	if err != nil {
		return stream.JobSpec{}, err
	}
	return jobSpecOf(r, plan), nil
}

func jobSpecOf(r *catalog.Relation, plan *lower.StreamPlan) stream.JobSpec {
	return stream.JobSpec{ID: r.OID, Name: r.Name, Plan: plan.Root, StateIDs: r.StateTables, Upstreams: plan.Upstreams, Tables: plan.Tables,
		Role: catalog.OwnerOf(r), LateRowsMax: r.LateRowsMax}
}

// streamingParallelism is the session's streaming_parallelism: how many
// instances the keyed operators of a new view run in (0: the core count).
func (s *Session) streamingParallelism() int {
	n, _ := strconv.Atoi(s.vars["streaming_parallelism"])
	if n <= 0 {
		n = runtime.NumCPU()
	}
	return min(n, 256)
}

// createMatView runs CREATE MATERIALIZED VIEW: it plans the query as a
// dataflow, records the view, and returns once the view holds the query's
// result over its inputs' current contents, with a notice for each
// operator whose state is unbounded.
func (s *Session) createMatView(ctx context.Context, ctas *pg.CreateTableAsStmt, ext *parser.MatViewExt) (string, []pgwire.Notice, error) {
	into := ctas.Into
	schema := s.schemaFor(into.Rel)
	if skip, err := s.relationNameFree(schema, into.Rel.Relname, ctas.IfNotExists); skip || err != nil {
		return "CREATE MATERIALIZED VIEW", nil, err
	}
	sel := ctas.Query.GetSelectStmt()
	if sel == nil {
		return "", nil, sqlerr.New(sqlerr.FeatureNotSupported, "a materialized view must be defined by a SELECT")
	}
	def, err := parser.Deparse(ctas.Query)
	if err != nil {
		return "", nil, err
	}
	var names []string
	for _, c := range into.ColNames {
		names = append(names, c.GetString_().Sval)
	}
	eowc := ext != nil && ext.EmitOnWindowClose
	late, err := viewOptions(into)
	if err != nil {
		return "", nil, err
	}
	p := s.e.streamPlanner(def, s.currentUser())
	p.SearchPath = s.searchPath()
	p.Deps = map[uint32]bool{}
	p.ColDeps = map[uint32]map[int16]bool{}
	opts := lower.StreamOptions{Name: into.Rel.Relname, ColNames: names, EmitOnWindowClose: eowc, Parallelism: s.streamingParallelism(),
		TwoPhaseAgg: s.vars["streaming_two_phase_agg"], NoSharing: createWithoutSharing}
	late.streamOptions(&opts)
	plan, err := s.e.planStream(p, sel, opts)
	if err != nil {
		return "", nil, err
	}
	if err := s.e.refuseTempDeps(p.Deps, "materialized views"); err != nil {
		return "", nil, err
	}
	// The view runs its query with its owner's rights: the creator must
	// be able to read what it reads, as PostgreSQL's CREATE MATERIALIZED
	// VIEW, which runs the query, requires.
	if err := s.checkReads(depList(p.Deps), p.ColDeps, p.ViewReads); err != nil {
		return "", nil, err
	}
	if err := s.checkCreateIn(schema); err != nil {
		return "", nil, err
	}
	// ACCESS SHARE on what it reads while it is created, as PostgreSQL's
	// CREATE MATERIALIZED VIEW takes (table_lock.go).
	if err := s.lockRelations(ctx, depList(p.Deps), lockAccessShare); err != nil {
		return "", nil, err
	}
	r := &catalog.Relation{Schema: schema, Name: into.Rel.Relname, Kind: catalog.KindMatView, Definition: def,
		Owner: s.currentUser(), Created: time.Now(), AppendOnly: plan.AppendOnly, EmitOnWindowClose: eowc,
		Parallelism: opts.Parallelism, TwoPhaseAgg: opts.TwoPhaseAgg, SearchPath: persistentPath(p.SearchPath), ViewKey: plan.Key, ViewWatermarks: plan.Watermarks}
	late.store(r)
	if err := s.e.createStream(ctx, r, plan, p.Deps, sel); err != nil {
		return "", nil, err
	}
	return "CREATE MATERIALIZED VIEW", unboundedNotices(plan.Notices), nil
}

// dropStreaming stops the jobs of dropped materialized views and frees
// their state; for dropped tables it deletes their changelog.
func (e *Engine) dropStreaming(dropped []*catalog.Relation) error {
	// Downstream views first.
	sort.Slice(dropped, func(i, j int) bool { return dropped[i].OID > dropped[j].OID })
	for _, r := range dropped {
		switch r.Kind {
		case catalog.KindMatView, catalog.KindSink:
			if err := e.coord.Drop(r.OID, r.StateTables); err != nil {
				return err
			}
		case catalog.KindSubscription:
			if err := e.dropSubscription(r); err != nil {
				return err
			}
		case catalog.KindTable:
			e.stopIngest(r.OID)
			e.db.ForgetTableKeys(r.OID)
			if r.Options["connector"] != "" {
				e.releaseUpstream(r)
			}
			b := e.db.Pebble().NewBatch()
			lo, hi := storage.LogSpan(r.OID, 0, ^uint64(0))
			err := b.DeleteRange(lo, hi, nil)
			if err == nil {
				ilo, ihi := ingestSpan(r.OID)
				err = b.DeleteRange(ilo, ihi, nil)
			}
			if err == nil {
				err = e.db.CommitBatch(b)
			}
			b.Close()
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// explainStream prints the stream plan of CREATE MATERIALIZED VIEW, or
// with logical the logical plan it is lowered from, with each node's
// stream properties.
func (s *Session) explainStream(ctas *pg.CreateTableAsStmt, ext *parser.MatViewExt, logical bool) (*prepared, error) {
	sel := ctas.Query.GetSelectStmt()
	if sel == nil {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "a materialized view must be defined by a SELECT")
	}
	def, err := parser.Deparse(ctas.Query)
	if err != nil {
		return nil, err
	}
	p := s.e.streamPlanner(def, s.currentUser())
	p.SearchPath = s.searchPath()
	plan, err := s.e.planStream(p, sel, lower.StreamOptions{Name: ctas.Into.Rel.Relname, EmitOnWindowClose: ext != nil && ext.EmitOnWindowClose,
		Parallelism: s.streamingParallelism(), TwoPhaseAgg: s.vars["streaming_two_phase_agg"]})
	if err != nil {
		return nil, err
	}
	cols := []pgwire.Column{{Name: "QUERY PLAN", Type: types.TText}}
	var rows [][]types.Datum
	lines := lower.ExplainStream(plan.Root)
	if logical {
		lines = strings.Split(strings.TrimRight(sqlplan.RelTreeProps(plan.Logical), "\n"), "\n")
	}
	for _, l := range lines {
		rows = append(rows, []types.Datum{l})
	}
	return &prepared{cols: cols, run: func(ctx context.Context, x *execution) (pgwire.Result, error) {
		return memResult(cols, rows, "EXPLAIN"), nil
	}}, nil
}

// showJobs is SHOW JOBS.
func (s *Session) showJobs() (*prepared, error) {
	cols := []pgwire.Column{{Name: "Id", Type: types.TInt8}, {Name: "Name", Type: types.TText}, {Name: "Status", Type: types.TText},
		{Name: "Rows in", Type: types.TInt8}, {Name: "Rows out", Type: types.TInt8}, {Name: "Late rows", Type: types.TInt8}, {Name: "Committed epoch", Type: types.TInt8},
		{Name: "State bytes", Type: types.TInt8}, {Name: "State evicted", Type: types.TInt8}, {Name: "State reads", Type: types.TInt8}, {Name: "State cleaned", Type: types.TInt8},
		{Name: "Sink lag epochs", Type: types.TInt8}, {Name: "Sink lag rows", Type: types.TInt8},
		{Name: "Rejects", Type: types.TInt8}, {Name: "Source lag", Type: types.TInt8}, {Name: "Sink lag bytes", Type: types.TInt8}}
	return &prepared{cols: cols, run: func(ctx context.Context, x *execution) (pgwire.Result, error) {
		var rows [][]types.Datum
		for _, j := range s.e.jobs() {
			rows = append(rows, []types.Datum{int64(j.ID), s.e.jobName(j), j.Status, j.RowsIn, j.RowsOut, j.Late, int64(j.Committed),
				j.StateBytes, j.StateEvicted, j.StateReads, j.StateCleaned, j.SinkLagEpochs, j.SinkLagRows, j.Rejects, j.Lag(), j.SinkLagBytes})
		}
		return memResult(cols, rows, "SHOW"), nil
	}}, nil
}

// jobName is the job's view or sink name; a failed job's comes from the
// catalog.
func (e *Engine) jobName(j stream.JobInfo) string {
	if j.Name == "" {
		if r, ok := e.cat.ByOID(j.ID); ok {
			return r.Name
		}
	}
	return j.Name
}

// implicitFlush reports whether DML waits for the views (SET
// implicit_flush = on).
func (s *Session) implicitFlush() bool { return s.settings().implicitFlush }

// createTableExt is CREATE TABLE with streaming clauses: WATERMARK FOR
// and APPEND ONLY.
func (s *Session) createTableExt(ctx context.Context, p *planner.Planner, cs *pg.CreateStmt, ext *parser.CreateTableExt) (string, error) {
	if ext.Format != "" && len(ext.Options) == 0 {
		return "", sqlerr.New(sqlerr.InvalidParameterValue, "FORMAT ... ENCODE on a table needs WITH (connector = '...')")
	}
	if len(ext.Watermarks) > 1 {
		return "", sqlerr.New(sqlerr.FeatureNotSupported, "a table can have one watermark")
	}
	if cs.Relation.Relpersistence == "t" || cs.Relation.Schemaname == catalog.TempAlias {
		// Streaming jobs never read temporary tables.
		return "", sqlerr.New(sqlerr.FeatureNotSupported, "temporary tables cannot have connectors, watermarks or APPEND ONLY")
	}
	schema := s.schemaFor(cs.Relation)
	existed := false
	if _, ok := s.e.cat.Relation(schema, cs.Relation.Relname); ok {
		existed = true
	}
	tag, err := s.createTable(p, cs)
	if err != nil || existed {
		return tag, err
	}
	r, _ := s.e.cat.Relation(schema, cs.Relation.Relname)
	nr := r.Clone()
	nr.AppendOnly = ext.AppendOnly
	for _, w := range ext.Watermarks {
		nr.Watermarks = append(nr.Watermarks, catalog.Watermark{Column: w.Column, Expr: w.ExprSQL})
	}
	if err := s.checkWatermarks(nr); err != nil {
		s.e.cat.DropRelation(r.OID, false)
		return "", err
	}
	// A table without a connector has its WITH list as storage options
	// in the CreateStmt; idle_timeout is the one it takes.
	for _, o := range cs.GetOptions() {
		d := o.GetDefElem()
		if d == nil || !strings.EqualFold(d.Defname, lower.IdleTimeoutOption) {
			continue
		}
		if nr.Options == nil {
			nr.Options = map[string]string{}
		}
		nr.Options[lower.IdleTimeoutOption] = defElemText(d)
	}
	if err := checkIdleTimeout(nr); err != nil {
		s.e.cat.DropRelation(r.OID, false)
		return "", err
	}
	if len(ext.Options) > 0 {
		nr.Options = map[string]string{}
		for _, o := range ext.Options {
			nr.Options[strings.ToLower(o.Key)] = o.Value
		}
		nr.Format, nr.Encode = ext.Format, ext.Encode
		if len(ext.EncodeOptions) > 0 {
			nr.EncodeOptions = optionMap(ext.EncodeOptions)
		}
		nr.Parallelism = s.streamingParallelism()
		spec, err := s.e.sourceSpec(nr)
		if err != nil {
			s.e.cat.DropRelation(r.OID, false)
			return "", err
		}
		// A connector with objects upstream checks it now: a table that
		// cannot follow its upstream is not created.
		if up, ok := spec.(upstreamSource); ok {
			cctx, cancel := context.WithTimeout(ctx, upstreamTimeout)
			err := up.CheckUpstream(cctx)
			cancel()
			if err != nil {
				s.e.cat.DropRelation(r.OID, false)
				return "", err
			}
		}
	}
	updated, err := s.e.cat.UpdateRelation(nr)
	if err == nil && len(ext.Options) > 0 {
		err = s.e.startIngest(updated)
	}
	if err != nil {
		s.e.cat.DropRelation(r.OID, false)
		if len(ext.Options) > 0 {
			s.e.releaseUpstream(nr)
		}
		return "", err
	}
	return tag, nil
}

// checkIdleTimeout checks the idle_timeout option of a table or source:
// a positive interval, over a timestamp watermark.
func checkIdleTimeout(r *catalog.Relation) error {
	v, ok := r.Options[lower.IdleTimeoutOption]
	if !ok {
		return nil
	}
	if _, err := lower.ParseIdleTimeout(v); err != nil {
		return err
	}
	if len(r.Watermarks) == 0 {
		return sqlerr.New(sqlerr.InvalidParameterValue, "%s needs a watermark: %q has no WATERMARK FOR", lower.IdleTimeoutOption, r.Name).
			WithHint("An idle timeout moves a watermark on; declare one, as in WATERMARK FOR ts AS ts - INTERVAL '5' SECOND.")
	}
	for _, w := range r.Watermarks {
		if ci := r.ColumnIndex(w.Column); ci >= 0 && !stream.IdleTimeoutType(r.Columns[ci].Type) {
			return sqlerr.New(sqlerr.FeatureNotSupported, "%s needs a timestamp watermark column: %q of %q is %s", lower.IdleTimeoutOption, w.Column, r.Name, r.Columns[ci].Type)
		}
	}
	return nil
}

// checkWatermarks checks that each watermark expression binds over the
// table and has its column's type.
func (s *Session) checkWatermarks(r *catalog.Relation) error {
	for _, w := range r.Watermarks {
		ci := r.ColumnIndex(w.Column)
		if ci < 0 {
			return sqlerr.New(sqlerr.UndefinedColumn, "column %q named in WATERMARK FOR does not exist", w.Column)
		}
		sql := "SELECT " + w.Expr + " FROM " + udf.QuoteIdent(r.Schema) + "." + udf.QuoteIdent(r.Name)
		stmts, err := parser.Parse(sql)
		if err != nil {
			return err
		}
		p := s.e.streamPlanner(sql, s.currentUser())
		q, err := p.PlanSelect(stmts[0].AST.GetSelectStmt())
		if err != nil {
			return err
		}
		// Lowered as well, for what only the lowering refuses.
		if err := lowerCheck(p, q.Plan); err != nil {
			return err
		}
		got, want := q.Cols[0].Type, r.Columns[ci].Type
		if !got.Equal(want) {
			return sqlerr.New(sqlerr.DatatypeMismatch,
				"The return value type of the watermark expression must be identical to the watermark column data type. Current data type of watermark return value: `%s`, column `%s`",
				got.String(), want.String())
		}
	}
	return nil
}

// sourceSpec returns the stream source of a source relation (or of a
// table fed by a connector), made by its registered connector.
func (e *Engine) sourceSpec(r *catalog.Relation) (stream.SourceSpec, error) {
	cfg, c, err := e.sourceConfig(r)
	if err != nil {
		return nil, err
	}
	return c.Source(cfg)
}

// sourceConfig validates r's connector options and FORMAT clause against
// its registered connector and returns what the connector is made from.
func (e *Engine) sourceConfig(r *catalog.Relation) (*connector.SourceConfig, *connector.Connector, error) {
	c, err := e.connectors.Lookup("source", r.Options)
	if err != nil {
		if r.Options["connector"] == "" {
			return nil, nil, sqlerr.New(sqlerr.InvalidParameterValue, "source %q has no connector: add WITH (connector = '...')", r.Name)
		}
		return nil, nil, err
	}
	// auto.schema.change belongs to the table's FORMAT (the envelope
	// carries the DDL), not to the connector.
	connOpts, encOpts := r.Options, r.EncodeOptions
	// idle_timeout belongs to the relation's watermark, not to the
	// connector (lower/stream_idle.go).
	if _, ok := r.Options[lower.IdleTimeoutOption]; ok {
		if err := checkIdleTimeout(r); err != nil {
			return nil, nil, err
		}
		connOpts = maps.Clone(r.Options)
		delete(connOpts, lower.IdleTimeoutOption)
	}
	if v, ok := r.Options[autoSchemaChange]; ok {
		if r.Kind != catalog.KindTable {
			return nil, nil, sqlerr.New(sqlerr.InvalidParameterValue, "option %q applies to tables only", autoSchemaChange).
				WithHint("Use CREATE TABLE ... FORMAT DEBEZIUM | CANAL | MAXWELL ENCODE JSON to follow upstream schema changes.")
		}
		switch strings.ToUpper(r.Format) {
		case "DEBEZIUM", "CANAL", "MAXWELL":
		default:
			return nil, nil, sqlerr.New(sqlerr.InvalidParameterValue, "option %q needs FORMAT DEBEZIUM, CANAL or MAXWELL", autoSchemaChange).
				WithHint("Only these envelopes carry the upstream DDL.")
		}
		connOpts = maps.Clone(connOpts)
		delete(connOpts, autoSchemaChange)
		encOpts = maps.Clone(r.EncodeOptions)
		if encOpts == nil {
			encOpts = map[string]string{}
		}
		encOpts[autoSchemaChange] = v
	}
	opts, err := c.Validate(connOpts)
	if err != nil {
		return nil, nil, err
	}
	check := c.CheckFormat
	if r.Kind == catalog.KindTable {
		check = c.CheckTableFormat
	}
	if err := check(r.Format, r.Encode); err != nil {
		return nil, nil, err
	}
	cfg := &connector.SourceConfig{Relation: r.Name, RelationID: r.OID, Options: opts, Format: r.Format, Encode: r.Encode,
		EncodeOptions: encOpts, Parallelism: max(r.Parallelism, 1)}
	phys := map[int]int{}
	for i, col := range r.Columns {
		if !col.Dropped {
			phys[i] = len(cfg.Columns)
			cfg.Columns = append(cfg.Columns, connector.Column{Name: col.Name, Type: col.Type})
		}
	}
	for _, k := range r.PrimaryKey {
		cfg.PrimaryKey = append(cfg.PrimaryKey, phys[k])
	}
	for _, w := range r.Watermarks {
		cfg.Watermarks = append(cfg.Watermarks, w.Column)
	}
	for _, inc := range r.Includes {
		cfg.Includes = append(cfg.Includes, connector.Include{What: inc.What, Header: inc.Header, Column: inc.Column})
	}
	return cfg, c, nil
}

// includeTypes are the column types of INCLUDE clauses.
var includeTypes = map[string]types.T{
	"partition": types.TInt4, "offset": types.TInt8, "timestamp": types.TTimestampTZ,
	"key": types.TBytea, "header": types.TBytea,
}

// createSource is CREATE SOURCE.
func (s *Session) createSource(p *planner.Planner, cs *parser.CreateSource) (string, error) {
	schema := s.currentSchema()
	if cs.Name.Schema != "" {
		schema = cs.Name.Schema
	}
	if skip, err := s.relationNameFree(schema, cs.Name.Name, cs.IfNotExists); skip || err != nil {
		return "CREATE SOURCE", err
	}
	if err := s.checkCreateIn(schema); err != nil {
		return "", err
	}
	r := &catalog.Relation{Schema: schema, Name: cs.Name.Name, Kind: catalog.KindSource, AppendOnly: true,
		Options: map[string]string{}, Format: cs.Format, Encode: cs.Encode, Owner: s.currentUser(), Created: time.Now(),
		Parallelism: s.streamingParallelism()}
	r.EncodeOptions = optionMap(cs.EncodeOptions)
	if cs.Table == nil || len(cs.Table.TableElts) == 0 {
		return "", sqlerr.New(sqlerr.FeatureNotSupported, "a source needs a column list")
	}
	for _, el := range cs.Table.TableElts {
		cd := el.GetColumnDef()
		if cd == nil {
			return "", sqlerr.New(sqlerr.FeatureNotSupported, "constraints on sources are not supported")
		}
		col, _, err := s.columnDef(p, r.Name, cd)
		if err != nil {
			return "", err
		}
		if col.Identity != 0 {
			return "", sqlerr.New(sqlerr.FeatureNotSupported, "identity columns are not supported on sources")
		}
		if r.ColumnIndex(col.Name) >= 0 {
			return "", sqlerr.New(sqlerr.DuplicateColumn, "column %q specified more than once", col.Name)
		}
		r.Columns = append(r.Columns, col)
	}
	for _, inc := range cs.Includes {
		t, ok := includeTypes[inc.What]
		if !ok {
			return "", sqlerr.New(sqlerr.SyntaxError, "INCLUDE %s is not supported", inc.What)
		}
		if r.ColumnIndex(inc.Column) >= 0 {
			return "", sqlerr.New(sqlerr.DuplicateColumn, "column %q specified more than once", inc.Column)
		}
		r.Columns = append(r.Columns, catalog.Column{Name: inc.Column, Type: t})
		r.Includes = append(r.Includes, catalog.Include{What: inc.What, Header: inc.Header, Column: inc.Column})
	}
	for _, o := range cs.Options {
		k := strings.ToLower(o.Key)
		if _, dup := r.Options[k]; dup {
			return "", sqlerr.New(sqlerr.InvalidParameterValue, "option %q specified more than once", k)
		}
		r.Options[k] = o.Value
	}
	for _, w := range cs.Watermarks {
		r.Watermarks = append(r.Watermarks, catalog.Watermark{Column: w.Column, Expr: w.ExprSQL})
	}
	if _, err := s.e.sourceSpec(r); err != nil {
		return "", err
	}
	created, err := s.e.cat.CreateRelation(r)
	if err != nil {
		return "", err
	}
	if err := s.checkWatermarks(created); err != nil {
		s.e.cat.DropRelation(created.OID, false)
		return "", err
	}
	return "CREATE SOURCE", nil
}

// dropObjects is DROP SOURCE | SINK.
// alterRename renames a source or sink (ALTER SOURCE | SINK name RENAME
// TO new_name). A running job keeps running; the things a sink leaves
// outside StreamSQL (a Kafka transactional id, a progress row) are keyed
// by its identity, which a rename does not change, so delivery goes on
// where it was.
func (s *Session) alterRename(a *parser.AlterRename) (string, error) {
	kind, word := catalog.KindSource, "source"
	if a.Kind == "sink" {
		kind, word = catalog.KindSink, "sink"
	}
	r, err := s.resolve(nil, &pg.RangeVar{Schemaname: a.Name.Schema, Relname: a.Name.Name})
	if err != nil {
		return "", sqlerr.New(sqlerr.UndefinedTable, "%s %q does not exist", word, a.Name.Name)
	}
	if r.Kind != kind {
		return "", sqlerr.New(sqlerr.WrongObjectType, "%q is not a %s", r.Name, word)
	}
	if _, err := s.e.cat.RenameRelation(r.OID, a.NewName); err != nil {
		return "", err
	}
	return "ALTER " + strings.ToUpper(word), nil
}

func (s *Session) dropObjects(d *parser.DropObjects) (string, error) {
	kind, word := catalog.KindSource, "source"
	switch d.Kind {
	case "sink":
		kind, word = catalog.KindSink, "sink"
	case "subscription":
		kind, word = catalog.KindSubscription, "subscription"
	}
	for _, n := range d.Names {
		r, err := s.resolve(nil, &pg.RangeVar{Schemaname: n.Schema, Relname: n.Name})
		if err != nil {
			if d.IfExists && sqlerr.Code(err) == sqlerr.UndefinedTable {
				s.skipping("00000", "%s %q does not exist", word, n.Name)
				continue
			}
			if kind == catalog.KindSubscription {
				return "", sqlerr.New(sqlerr.UndefinedObject, "subscription %q does not exist", n.Name)
			}
			return "", sqlerr.New(sqlerr.UndefinedTable, "%s %q does not exist", word, n.Name)
		}
		if r.Kind != kind {
			return "", sqlerr.New(sqlerr.WrongObjectType, "%q is not a %s", r.Name, word)
		}
		var also []string
		if d.Cascade {
			also = s.e.cascadeFrom(r.OID, map[uint32]bool{r.OID: true}, nil)
		}
		dropped, err := s.e.cat.DropRelation(r.OID, d.Cascade)
		if err != nil {
			return "", err
		}
		if err := s.e.dropStreaming(dropped); err != nil {
			return "", err
		}
		s.cascadeNotice(also)
	}
	return "DROP " + strings.ToUpper(word), nil
}

// unboundedNotices are the notices of a view whose plan has operators
// with unbounded state (lower.StreamPlan.Notices).
func unboundedNotices(ws []lower.StateWarning) []pgwire.Notice {
	var out []pgwire.Notice
	for _, w := range ws {
		out = append(out, pgwire.Notice{Code: "00000", Message: "the state of this materialized view is unbounded: " + w.Message(),
			Hint: w.Hint})
	}
	return out
}
