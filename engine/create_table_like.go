package engine

import (
	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/catalog"
	"streamsql/sql/parser"
	"streamsql/sql/sqlerr"
)

// CREATE TABLE t (LIKE src [INCLUDING | EXCLUDING what] ..., other
// elements), as PostgreSQL 15 has it: the LIKE clause is replaced by
// src's columns (names, types and NOT NULL, always), with INCLUDING
// DEFAULTS their defaults, IDENTITY their identity (a new sequence of the
// new table), CONSTRAINTS the CHECK constraints, INDEXES the primary key
// and the UNIQUE constraints and indexes; then the statement goes on as
// if those had been written out. COMMENTS, GENERATED, STATISTICS, STORAGE
// and COMPRESSION copy nothing here (no column has such a property).

// The CREATE TABLE LIKE options (PostgreSQL's CreateTableLikeOption bits).
const (
	likeConstraints = 1 << 2
	likeDefaults    = 1 << 3
	likeIdentity    = 1 << 5
	likeIndexes     = 1 << 6
)

// expandLike replaces cs's LIKE clauses by what they copy.
func (s *Session) expandLike(cs *pg.CreateStmt) error {
	var out []*pg.Node
	for _, el := range cs.TableElts {
		lc := el.GetTableLikeClause()
		if lc == nil {
			out = append(out, el)
			continue
		}
		src, err := s.resolve(nil, lc.Relation)
		if err != nil {
			return err
		}
		if src.Kind != catalog.KindTable && src.Kind != catalog.KindView && src.Kind != catalog.KindMatView {
			return sqlerr.New(sqlerr.WrongObjectType, "%q is not a table, view, materialized view, composite type, or foreign table", src.Name)
		}
		if err := s.checkPrivilege(src, 'r'); err != nil {
			return err
		}
		elts, err := likeElements(src, lc.Options)
		if err != nil {
			return err
		}
		out = append(out, elts...)
	}
	cs.TableElts = out
	return nil
}

// likeElements are the column definitions and constraints that LIKE src
// with options copies.
func likeElements(src *catalog.Relation, options uint32) ([]*pg.Node, error) {
	var out []*pg.Node
	names := map[int]string{}
	for i, c := range src.Columns {
		if c.Dropped || c.Hidden {
			continue
		}
		names[i] = c.Name
		tn, err := typeNameOf(c.Type.String())
		if err != nil {
			return nil, err
		}
		cd := &pg.ColumnDef{Colname: c.Name, TypeName: tn, IsLocal: true}
		if c.NotNull {
			cd.Constraints = append(cd.Constraints, constraintNode(&pg.Constraint{Contype: pg.ConstrType_CONSTR_NOTNULL}))
		}
		switch {
		case c.Identity != 0 && options&likeIdentity != 0:
			cd.Constraints = append(cd.Constraints, constraintNode(&pg.Constraint{Contype: pg.ConstrType_CONSTR_IDENTITY, GeneratedWhen: string(c.Identity)}))
		case c.Identity == 0 && c.Default != "" && options&likeDefaults != 0:
			e, err := exprOf(c.Default)
			if err != nil {
				return nil, err
			}
			cd.RawDefault = e
		}
		out = append(out, &pg.Node{Node: &pg.Node_ColumnDef{ColumnDef: cd}})
	}
	keys := func(cols []int) []*pg.Node {
		var ks []*pg.Node
		for _, i := range cols {
			ks = append(ks, pg.MakeStrNode(names[i]))
		}
		return ks
	}
	if options&likeIndexes != 0 {
		if len(src.PrimaryKey) > 0 {
			out = append(out, constraintNode(&pg.Constraint{Contype: pg.ConstrType_CONSTR_PRIMARY, Keys: keys(src.PrimaryKey)}))
		}
		for _, ix := range src.Indexes {
			if ix.Unique {
				out = append(out, constraintNode(&pg.Constraint{Contype: pg.ConstrType_CONSTR_UNIQUE, Keys: keys(ix.Columns)}))
			}
		}
	}
	if options&likeConstraints != 0 {
		for _, ch := range src.Checks {
			e, err := exprOf(ch.Expr)
			if err != nil {
				return nil, err
			}
			out = append(out, constraintNode(&pg.Constraint{Contype: pg.ConstrType_CONSTR_CHECK, Conname: ch.Name, RawExpr: e, InitiallyValid: true}))
		}
	}
	return out, nil
}

func constraintNode(c *pg.Constraint) *pg.Node {
	return &pg.Node{Node: &pg.Node_Constraint{Constraint: c}}
}

// exprOf parses the SQL text of an expression.
func exprOf(text string) (*pg.Node, error) {
	stmts, err := parser.Parse("SELECT " + text)
	if err != nil {
		return nil, err
	}
	return stmts[0].AST.GetSelectStmt().TargetList[0].GetResTarget().Val, nil
}

// typeNameOf parses the SQL name of a type.
func typeNameOf(name string) (*pg.TypeName, error) {
	e, err := exprOf("NULL::" + name)
	if err != nil {
		return nil, err
	}
	return e.GetTypeCast().TypeName, nil
}
