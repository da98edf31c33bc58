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
			LogMaxBytes: logMax, LogMaxSetting: logSetting}
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
	if _, ok := s.e.cat.Relation(schema, cs.Name.Name); ok {
		if cs.IfNotExists {
			s.skipping(string(sqlerr.DuplicateTable), "relation %q already exists", cs.Name.Name)
			return "CREATE SINK", nil
		}
		return "", sqlerr.New(sqlerr.DuplicateTable, "relation %q already exists", cs.Name.Name)
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
		Parallelism: s.streamingParallelism()}
	for _, o := range cs.Options {
		r.Options[strings.ToLower(o.Key)] = o.Value
	}
	if len(cs.EncodeOptions) > 0 {
		r.EncodeOptions = map[string]string{}
		for _, o := range cs.EncodeOptions {
			r.EncodeOptions[strings.ToLower(o.Key)] = o.Value
		}
	}
	mk, err := s.e.sinkFactory(r)
	if err != nil {
		return "", err
	}
	p := s.e.streamPlanner(def, s.currentUser())
	p.SearchPath = s.searchPath()
	p.Deps = map[uint32]bool{}
	p.ColDeps = map[uint32]map[int16]bool{}
	r.SearchPath = p.SearchPath
	plan, err := s.e.planStream(p, sel, lower.StreamOptions{Name: r.Name, Parallelism: r.Parallelism, Sink: mk})
	if err != nil {
		return "", err
	}
	// The sink sends out what its query reads, with its owner's rights:
	// its creator must be able to read it (as for a materialized view).
	if err := s.checkReads(depList(p.Deps), p.ColDeps, p.ViewReads); err != nil {
		return "", err
	}
	for _, c := range plan.Cols {
		t := c.Type
		if t.Kind == types.Unknown {
			t = types.TText
		}
		r.Columns = append(r.Columns, catalog.Column{Name: c.Name, Type: t})
	}
	for oid := range p.Deps {
		r.DependsOn = append(r.DependsOn, oid)
	}
	sort.Slice(r.DependsOn, func(i, j int) bool { return r.DependsOn[i] < r.DependsOn[j] })
	r.ColumnDeps = s.e.columnDeps(r.DependsOn, sel)
	if err := s.e.allocState(r, plan.Root); err != nil {
		return "", err
	}
	created, err := s.e.cat.CreateRelation(r)
	if err != nil {
		return "", err
	}
	spec, err := s.e.jobSpec(created)
	if err == nil {
		err = s.e.coord.Add(ctx, spec)
	}
	if err != nil {
		s.e.cat.DropRelation(created.OID, false)
		s.e.coord.Drop(created.OID, created.StateTables)
		return "", err
	}
	return "CREATE SINK", nil
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
	r, err := s.resolve(nil, &pg.RangeVar{Schemaname: a.Name.Schema, Relname: a.Name.Name})
	if err != nil {
		return "", sqlerr.New(sqlerr.UndefinedTable, "sink %q does not exist", a.Name.Name)
	}
	if r.Kind != catalog.KindSink {
		return "", sqlerr.New(sqlerr.WrongObjectType, "%q is not a sink", r.Name)
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
	return "ALTER SINK", nil
}
