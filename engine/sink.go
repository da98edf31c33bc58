package engine

import (
	"context"
	"errors"
	"fmt"
	"sort"
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
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/udf"
)

// sinkFactory returns the function that makes a sink relation's last
// operator, after checking its connector and options.
func (e *Engine) sinkFactory(r *catalog.Relation) (func(visible []int, ts []types.T) stream.Spec, error) {
	if strings.TrimSpace(r.Options["connector"]) == "" {
		return nil, sqlerr.New(sqlerr.InvalidParameterValue, "sink %q has no connector: add WITH (connector = '...')", r.Name)
	}
	c, err := e.connectors.Lookup("sink", r.Options)
	if err != nil {
		return nil, err
	}
	c = c.ForSink()
	if err := c.CheckFormat(r.Format, r.Encode); err != nil {
		return nil, err
	}
	// sink.log.max_bytes belongs to the sink log, not to the connector.
	logMax, logSetting := e.sinkLogMax, "the server's sink log bound (-sink-log-max-size)"
	copts := r.Options
	if v, ok := r.Options[sinkLogMaxOption]; ok {
		n, err := exec.ParseSize(v, exec.PlainBytes)
		if err != nil || n < 0 {
			return nil, sqlerr.New(sqlerr.InvalidParameterValue, "invalid value for sink option %s: %q", sinkLogMaxOption, v).
				WithHint("Give a size such as '64MB', or 0 for no bound.")
		}
		logMax, logSetting = n, sinkLogMaxOption
		copts = make(map[string]string, len(r.Options))
		for k, v := range r.Options {
			if k != sinkLogMaxOption {
				copts[k] = v
			}
		}
	}
	opts, err := c.Validate(copts)
	if err != nil {
		return nil, err
	}
	open, err := c.Sink(&connector.SinkConfig{Relation: r.Name, ID: r.OID, Identity: fmt.Sprintf("%d-%x", r.OID, r.Created.UnixMicro()), Options: opts,
		Format: strings.ToUpper(r.Format), Encode: strings.ToUpper(r.Encode), EncodeOptions: r.EncodeOptions})
	if err != nil {
		return nil, err
	}
	return func(visible []int, ts []types.T) stream.Spec {
		return &stream.SinkSpec{ID: r.OID, Name: r.Name, Connector: c.Name, Visible: visible, Types: ts, Open: open,
			LogMaxBytes: logMax, LogMaxSetting: logSetting, Format: strings.ToUpper(r.Format)}
	}, nil
}

// sinkLogMaxOption is the sink option that bounds the undelivered bytes
// of the sink's log (Options.SinkLogMaxBytes for the server's default).
const sinkLogMaxOption = "sink.log.max_bytes"

// sinkQuery returns the SELECT a CREATE SINK runs: its AS query, or all
// columns of its FROM relation.
func sinkQuery(cs *parser.CreateSink) (*pg.SelectStmt, string, error) {
	def := cs.QuerySQL
	if cs.From != nil {
		def = "SELECT * FROM "
		if cs.From.Schema != "" {
			def += udf.QuoteIdent(cs.From.Schema) + "."
		}
		def += udf.QuoteIdent(cs.From.Name)
	}
	stmts, err := parser.Parse(def)
	if err != nil {
		return nil, "", err
	}
	if len(stmts) != 1 || stmts[0].AST.GetSelectStmt() == nil {
		return nil, "", sqlerr.New(sqlerr.FeatureNotSupported, "a sink must be defined by a SELECT or FROM a relation")
	}
	def, err = parser.Deparse(stmts[0].AST)
	if err != nil {
		return nil, "", err
	}
	return stmts[0].AST.GetSelectStmt(), def, nil
}

// createSink runs CREATE SINK: a streaming job like a materialized view's
// whose changes go to a connector instead of a view.
func (s *Session) createSink(ctx context.Context, cs *parser.CreateSink) (string, error) {
	schema := s.currentSchema()
	if cs.Name.Schema != "" {
		schema = cs.Name.Schema
	}
	if skip, err := s.relationNameFree(schema, cs.Name.Name, cs.IfNotExists); skip || err != nil {
		return "CREATE SINK", err
	}
	sel, def, err := sinkQuery(cs)
	if err != nil {
		return "", err
	}
	if err := s.checkCreateIn(schema); err != nil {
		return "", err
	}
	r := &catalog.Relation{Schema: schema, Name: cs.Name.Name, Kind: catalog.KindSink, Definition: def,
		Options: map[string]string{}, Format: cs.Format, Encode: cs.Encode, Owner: s.currentUser(), Created: time.Now(),
		Parallelism: s.streamingParallelism(), TwoPhaseAgg: s.vars["streaming_two_phase_agg"]}
	for _, o := range cs.Options {
		r.Options[strings.ToLower(o.Key)] = o.Value
	}
	r.EncodeOptions = optionMap(cs.EncodeOptions)
	mk, err := s.e.sinkFactory(r)
	if err != nil {
		return "", err
	}
	p := s.e.streamPlanner(def, s.currentUser())
	p.SearchPath = s.searchPath()
	p.Deps = map[uint32]bool{}
	p.ColDeps = map[uint32]map[int16]bool{}
	r.SearchPath = persistentPath(p.SearchPath)
	plan, err := s.e.planStream(p, sel, lower.StreamOptions{Name: r.Name, Parallelism: r.Parallelism, TwoPhaseAgg: r.TwoPhaseAgg, Sink: mk})
	if err != nil {
		return "", err
	}
	if err := s.e.refuseTempDeps(p.Deps, "sinks"); err != nil {
		return "", err
	}
	// The sink sends out what its query reads, with its owner's rights:
	// its creator must be able to read it (as for a materialized view).
	if err := s.checkReads(depList(p.Deps), p.ColDeps, p.ViewReads); err != nil {
		return "", err
	}
	// ACCESS SHARE on what it reads while it is created, as for a
	// materialized view.
	if err := s.lockRelations(ctx, depList(p.Deps), lockAccessShare); err != nil {
		return "", err
	}
	if err := s.e.createStream(ctx, r, plan, p.Deps, sel); err != nil {
		return "", err
	}
	return "CREATE SINK", nil
}

// relationNameFree checks that no relation schema.name exists yet. With
// IF NOT EXISTS an existing one is a notice and skip is true.
func (s *Session) relationNameFree(schema, name string, ifNotExists bool) (skip bool, err error) {
	if _, ok := s.e.cat.Relation(schema, name); !ok {
		return false, nil
	}
	if ifNotExists {
		s.skipping(string(sqlerr.DuplicateTable), "relation %q already exists", name)
		return true, nil
	}
	return false, sqlerr.New(sqlerr.DuplicateTable, "relation %q already exists", name)
}

// optionMap is an ENCODE (...) list keyed by lower-cased name, nil when
// the list is empty.
func optionMap(opts []parser.Option) map[string]string {
	if len(opts) == 0 {
		return nil
	}
	m := make(map[string]string, len(opts))
	for _, o := range opts {
		m[strings.ToLower(o.Key)] = o.Value
	}
	return m
}

// createStream creates r, a materialized view or sink, and starts its
// job. It first records on r what its stream plan says: the output columns
// (an unknown type becomes text, as in PostgreSQL), the relations it reads
// (deps, from the planner) and their columns, and its state table ids.
// Then the stored definition is planned again, as a restart will, now with
// the relation's id (its job writes under it): a definition that would not
// re-plan the same way fails here rather than after a restart. On an error
// the relation is dropped again.
func (e *Engine) createStream(ctx context.Context, r *catalog.Relation, plan *lower.StreamPlan, deps map[uint32]bool, sel *pg.SelectStmt) error {
	for _, c := range plan.Cols {
		t := c.Type
		if t.Kind == types.Unknown {
			t = types.TText
		}
		r.Columns = append(r.Columns, catalog.Column{Name: c.Name, Type: t})
	}
	for oid := range deps {
		r.DependsOn = append(r.DependsOn, oid)
	}
	sort.Slice(r.DependsOn, func(i, j int) bool { return r.DependsOn[i] < r.DependsOn[j] })
	r.ColumnDeps = e.columnDeps(r.DependsOn, sel)
	if err := e.allocState(r, plan.Root); err != nil {
		return err
	}
	created, err := e.cat.CreateRelation(r)
	if err != nil {
		return err
	}
	spec, err := e.jobSpec(created)
	if err != nil {
		e.cat.DropRelation(created.OID, false)
		return err
	}
	if err := e.coord.Add(ctx, spec); err != nil {
		e.cat.DropRelation(created.OID, false)
		e.coord.Drop(created.OID, created.StateTables)
		return err
	}
	return nil
}

// allocState gives r the state table ids its plan needs.
func (e *Engine) allocState(r *catalog.Relation, root *stream.Node) error {
	r.StateLayout = stream.StateLayout(root)
	n := stream.CountStateTables(root)
	if n == 0 {
		return nil
	}
	first, err := e.db.NextSequence("stream/state", int64(n))
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		r.StateTables = append(r.StateTables, uint32(first)+uint32(i))
	}
	return nil
}

// alterSinkResume runs ALTER SINK name RESUME: a failed sink delivers its
// log and starts again from its recorded position (stream.ResumeFailed);
// for a running sink it does nothing.
func (s *Session) alterSinkResume(ctx context.Context, a *parser.AlterSinkResume) (string, error) {
	return s.resumeJob(ctx, a.Name, catalog.KindSink, "sink", "ALTER SINK")
}

// alterMatViewResume runs ALTER MATERIALIZED VIEW name RESUME: a failed
// view starts again from its last committed epoch; the views it reads
// replay what they committed meanwhile from its view log
// (stream.ResumeFailed). For a running view it does nothing.
func (s *Session) alterMatViewResume(ctx context.Context, a *parser.AlterMatViewResume) (string, error) {
	return s.resumeJob(ctx, a.Name, catalog.KindMatView, "materialized view", "ALTER MATERIALIZED VIEW")
}

// resumeJob restarts the failed job of the relation name, which must be
// of kind (called what in errors) and owned by the session's role; tag is
// the command tag. A running job is left as it is.
func (s *Session) resumeJob(ctx context.Context, name parser.ObjectName, kind catalog.RelKind, what, tag string) (string, error) {
	r, err := s.resolve(nil, &pg.RangeVar{Schemaname: name.Schema, Relname: name.Name})
	if err != nil {
		if kind == catalog.KindSink {
			return "", sqlerr.New(sqlerr.UndefinedTable, "sink %q does not exist", name.Name)
		}
		return "", sqlerr.New(sqlerr.UndefinedTable, "relation %q does not exist", name.Name)
	}
	if r.Kind != kind {
		return "", sqlerr.New(sqlerr.WrongObjectType, "%q is not a %s", r.Name, what)
	}
	if err := s.checkOwner(r); err != nil {
		return "", err
	}
	spec, err := s.e.jobSpec(r)
	if err != nil {
		return "", err
	}
	if err := s.e.coord.ResumeFailed(ctx, spec); err != nil && !errors.Is(err, stream.ErrJobRunning) {
		return "", err
	}
	s.resumeReaders(ctx, r.OID)
	return tag, nil
}

// resumeReaders resumes the views and sinks that failed only because the
// view id they read failed (stream.UpstreamFailedError), and theirs in
// turn, each once every view it reads runs again: they replay what they
// missed from their view logs, as at their own RESUME. One that cannot
// start, or fails again on its own, stays failed and is named in a
// WARNING; the statement still succeeds, its view runs.
func (s *Session) resumeReaders(ctx context.Context, id uint32) {
	queue := s.e.coord.FailedReaders(id)
	seen := map[uint32]bool{}
	for len(queue) > 0 {
		var next, waiting []uint32
		for _, d := range queue {
			if seen[d] {
				continue
			}
			r, ok := s.e.cat.ByOID(d)
			if !ok {
				seen[d] = true
				continue
			}
			spec, err := s.e.jobSpec(r)
			if err == nil {
				if s.readsFailedView(spec) {
					waiting = append(waiting, d)
					continue
				}
				seen[d] = true
				err = s.e.coord.ResumeFailed(ctx, spec)
			}
			if err != nil && !errors.Is(err, stream.ErrJobRunning) {
				seen[d] = true
				s.warnNotResumed(r.Name, err)
				continue
			}
			next = append(next, s.e.coord.FailedReaders(d)...)
		}
		if len(next) == 0 {
			// Nothing resumed this round: the ones left read a view that
			// stays failed.
			for _, d := range waiting {
				if r, ok := s.e.cat.ByOID(d); ok && !seen[d] {
					seen[d] = true
					s.warnNotResumed(r.Name, fmt.Errorf("a view it reads is still failed"))
				}
			}
			return
		}
		queue = append(next, waiting...)
	}
}

// readsFailedView says whether spec reads a view whose job is failed.
func (s *Session) readsFailedView(spec stream.JobSpec) bool {
	for _, u := range spec.Upstreams {
		if s.e.coord.JobError(u) != nil {
			return true
		}
	}
	return false
}

func (s *Session) warnNotResumed(name string, err error) {
	s.pendingNotices = append(s.pendingNotices, pgwire.Notice{Severity: "WARNING", Code: sqlerr.Warning,
		Message: fmt.Sprintf("%q, which failed with it, was not resumed: %v", name, err)})
}
