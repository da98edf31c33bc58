package engine

import (
	"context"
	"strings"
	"time"

	pg "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/proto"

	"streamsql/catalog"
	"streamsql/pgwire"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/storage"
)

// CREATE [TEMP] TABLE t [(names)] AS query [WITH [NO] DATA] and SELECT
// ... INTO [TEMP] t: a table with the query's columns, filled by an
// INSERT INTO t of the query in the statement's transaction. The table is
// made when the statement runs (its columns are the query's as planned
// then); if filling it fails, it is dropped again.

// selectInto is SELECT ... INTO t as the CREATE TABLE AS it means.
func selectInto(sel *pg.SelectStmt) *pg.CreateTableAsStmt {
	q := proto.Clone(sel).(*pg.SelectStmt)
	q.IntoClause = nil
	return &pg.CreateTableAsStmt{Query: &pg.Node{Node: &pg.Node_SelectStmt{SelectStmt: q}}, Into: sel.IntoClause, Objtype: pg.ObjectType_OBJECT_TABLE}
}

// writesTable reports CREATE TABLE AS and SELECT INTO, which write the
// rows of the table they make.
func writesTable(n *pg.Node) bool {
	if c := n.GetCreateTableAsStmt(); c != nil {
		return c.Objtype == pg.ObjectType_OBJECT_TABLE
	}
	return n.GetSelectStmt() != nil && n.GetSelectStmt().IntoClause != nil
}

func (s *Session) planCreateTableAs(st *statement, ctas *pg.CreateTableAsStmt) (*prepared, error) {
	sel := ctas.Query.GetSelectStmt()
	if sel == nil {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "CREATE TABLE AS supports SELECT and VALUES only")
	}
	into := ctas.Into
	return simple(func(ctx context.Context, x *execution) (pgwire.Result, error) {
		rd := func() storage.Reader { return x.reader }
		if into.AccessMethod != "" || len(into.Options) > 0 || into.TableSpaceName != "" {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "CREATE TABLE AS with storage options is not supported")
		}
		schema, err := s.creationSchema(into.Rel)
		if err != nil {
			return nil, err
		}
		if err := checkOnCommit(into.OnCommit, catalog.IsTempSchema(schema)); err != nil {
			return nil, err
		}
		if _, ok := s.e.cat.Relation(schema, into.Rel.Relname); ok && ctas.IfNotExists {
			s.skipping(string(sqlerr.DuplicateTable), "relation %q already exists", into.Rel.Relname)
			return tagResult("CREATE TABLE AS"), nil
		}
		if err := s.checkCreateIn(schema); err != nil {
			return nil, err
		}
		p := s.newPlannerFn(st, nil, x.args, rd)
		p.Context = ctx
		q, err := p.PlanSelect(sel)
		if err != nil {
			return nil, err
		}
		if len(into.ColNames) > len(q.Cols) {
			return nil, sqlerr.New(sqlerr.SyntaxError, "too many column names were specified")
		}
		r := &catalog.Relation{Schema: schema, Name: into.Rel.Relname, Kind: catalog.KindTable, Owner: s.currentUser(), Created: time.Now()}
		for i, c := range q.Cols {
			name, t := c.Name, c.Type
			if i < len(into.ColNames) {
				name = into.ColNames[i].GetString_().Sval
			}
			if t.Kind == types.Unknown {
				t = types.TText
			}
			r.Columns = append(r.Columns, catalog.Column{Name: name, Type: t})
		}
		created, err := s.e.cat.CreateRelation(r)
		if err != nil {
			return nil, err
		}
		if created.Temporary() {
			s.noteTempCreated(created, into.OnCommit)
		}
		if into.SkipData {
			return tagResult("CREATE TABLE AS"), nil
		}
		n, err := s.fillCreatedTable(ctx, st, rd, x, created, ctas.Query)
		if err != nil {
			if !created.Temporary() {
				// A temporary one goes with its transaction (tempTxnEnd).
				_ = s.e.dropTempRelation(created.OID)
			}
			return nil, err
		}
		return tagResult("SELECT " + n), nil
	}), nil
}

// fillCreatedTable runs INSERT INTO r query in x and returns the row count.
func (s *Session) fillCreatedTable(ctx context.Context, st *statement, rd func() storage.Reader, x *execution, r *catalog.Relation, query *pg.Node) (string, error) {
	ins := &pg.Node{Node: &pg.Node_InsertStmt{InsertStmt: &pg.InsertStmt{
		Relation:   &pg.RangeVar{Schemaname: r.Schema, Relname: r.Name, Inh: true, Relpersistence: "p"},
		SelectStmt: query,
	}}}
	p := s.newPlannerFn(st, nil, x.args, rd)
	p.Context = ctx
	p.Deps = map[uint32]bool{}
	p.ColDeps = map[uint32]map[int16]bool{}
	pr, err := s.planWrite(p, ins, rd)
	if err != nil {
		return "", err
	}
	res, err := pr.run(ctx, x)
	if err != nil {
		return "", err
	}
	defer res.Close()
	tag := res.Tag()
	return tag[strings.LastIndexByte(tag, ' ')+1:], nil
}
