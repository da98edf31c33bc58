package planner

import (
	"slices"

	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/catalog"
	"streamsql/sql/plan"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// Processing-time lookup joins: `JOIN t FOR SYSTEM_TIME AS OF PROCTIME()
// ON ...`. A query run once reads the table's current contents, so there
// the join is a plain hash join. A materialized view turns it into a
// LookupJoin operator: each row of the left stream is joined, as it is
// processed, with the table row the ON condition names by primary key,
// and later changes of the table do not revise emitted rows. So the
// planner requires what the operator needs: the table side is a table
// (rows stored under their primary key, not a source or a view), it is
// the right side of an INNER or LEFT join, and the ON condition gives
// every primary key column by an equality with the left side. A table
// whose row-level security policies bind the role has their predicate
// added to the join's residual condition, so a looked-up row the role
// may not see counts as not found.

// lookupTable is a FROM item written FOR SYSTEM_TIME AS OF PROCTIME().
type lookupTable struct {
	rel  *catalog.Relation
	cols []int // the table's physical column of each of the item's columns
	pos  int
	// policy is the table's row-level security predicate for the role
	// (over the item's columns), nil when no policy binds it.
	policy plan.Scalar
}

// planLookupTable plans a table reference marked FOR SYSTEM_TIME AS OF
// PROCTIME() as a plain scan that remembers the mark.
func (p *Planner) planLookupTable(rv *pg.RangeVar, sc *scope) (*fromItem, error) {
	pos := p.pos(rv.Location)
	if rv.Schemaname == "" && sc.cte(rv.Relname) != nil {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported,
			"FOR SYSTEM_TIME AS OF PROCTIME() needs a table: %q is a WITH query", rv.Relname).WithPosition(pos)
	}
	r, err := p.resolveRelation(rv)
	if err != nil {
		return nil, err
	}
	if r.Kind != catalog.KindTable {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported,
			"FOR SYSTEM_TIME AS OF PROCTIME() needs a table: %q is a %s, which has no rows stored by primary key to look up", r.Name, r.Kind.String()).
			WithPosition(pos)
	}
	if len(r.PrimaryKey) == 0 {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported,
			"FOR SYSTEM_TIME AS OF PROCTIME() needs a table with a primary key: %q has none to look rows up by", r.Name).WithPosition(pos)
	}
	plain := &pg.RangeVar{Catalogname: rv.Catalogname, Schemaname: rv.Schemaname, Relname: rv.Relname, Inh: rv.Inh,
		Relpersistence: "p", Alias: rv.Alias, Location: rv.Location}
	fi, err := p.planRangeVar(plain, sc)
	if err != nil {
		return nil, err
	}
	if fi.scan == nil {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "FOR SYSTEM_TIME AS OF PROCTIME() needs a table: %q is not one", r.Name).WithPosition(pos)
	}
	lt := &lookupTable{rel: r, cols: fi.scan.cols, pos: pos}
	if fi.secured {
		// The policy predicate over the scan's columns (policy.go):
		// the lookup join holds the looked-up row to it.
		f, ok := fi.rel.node.(*plan.Filter)
		if !ok {
			return nil, sqlerr.New(sqlerr.InternalError, "row-level security of %q: expected a filter over the scan", r.Name).WithPosition(pos)
		}
		lt.policy = f.Pred
	}
	fi.lookup = lt
	return fi, nil
}

// lookupNotRight is the error for a marked table anywhere but the right
// side of a join.
func lookupNotRight(lt *lookupTable) error {
	return sqlerr.New(sqlerr.FeatureNotSupported,
		"FOR SYSTEM_TIME AS OF PROCTIME() must mark the right side of a JOIN ... ON: %q is looked up for each row of the left side", lt.rel.Name).
		WithPosition(lt.pos)
}

// planLookupJoin checks a join whose right side is a lookup table and
// returns its plan. keys are the join's equi-key pairs (right sides over
// the right columns), residual the rest of its ON condition.
func (p *Planner) planLookupJoin(left *relPlan, right *fromItem, kind plan.JoinKind, keys *plan.EquiKeys, residual []plan.Scalar) (plan.Rel, error) {
	lt := right.lookup
	if kind != plan.InnerJoin && kind != plan.LeftJoin {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported,
			"a lookup join (FOR SYSTEM_TIME AS OF PROCTIME()) must be an INNER or LEFT join: rows of %q are looked up for the left side's rows, they do not drive the join", lt.rel.Name).
			WithPosition(lt.pos)
	}
	lw := len(left.cols)
	pk := lt.rel.PrimaryKey
	lkeys := make([]plan.Scalar, len(pk))
	rest := slices.Clone(residual)
	for k := range keys.Left {
		i := lookupKeyColumn(keys.Right[k], lt)
		if i >= 0 && lkeys[i] == nil {
			if _, ok := types.LookupKeyType(keys.Left[k].Type(), lt.rel.Columns[pk[i]].Type); ok {
				lkeys[i] = keys.Left[k]
				continue
			}
		}
		// Not a lookup key: it stays a condition on the joined row.
		eq, err := p.binaryOp("=", keys.Left[k], plan.ShiftCols(keys.Right[k], lw), 0)
		if err != nil {
			return nil, err
		}
		rest = append(rest, eq)
	}
	if lt.policy != nil {
		// A row the role may not see is not found: the join drops the
		// left row (INNER) or pads it with NULLs (LEFT), as the plain
		// join over the filtered table does.
		rest = append(rest, plan.ShiftCols(lt.policy, lw))
	}
	for i, e := range lkeys {
		if e == nil {
			col := lt.rel.Columns[pk[i]].Name
			return nil, sqlerr.New(sqlerr.FeatureNotSupported,
				"a lookup join (FOR SYSTEM_TIME AS OF PROCTIME()) needs an equality with the left side on every primary key column of %q: the ON condition gives no %s of type %s",
				lt.rel.Name, col, lt.rel.Columns[pk[i]].Type).
				WithPosition(lt.pos).
				WithHint("JOIN %s FOR SYSTEM_TIME AS OF PROCTIME() ON <left expression> = %s.%s", lt.rel.Name, lt.rel.Name, col)
		}
	}
	return &plan.LookupJoin{Join: join(left, right.rel, kind, false, keys, residual).(*plan.Join), Table: lt.rel,
		Keys: lkeys, RightCols: slices.Clone(lt.cols), Residual: plan.AndAll(rest)}, nil
}

// lookupKeyColumn returns which primary key column e (over the right
// columns) reads, possibly through a widening cast, or -1.
func lookupKeyColumn(e plan.Scalar, lt *lookupTable) int {
	if c, ok := e.(*plan.Cast); ok {
		e = c.Input
	}
	c, ok := e.(*plan.ColRef)
	if !ok || c.Idx >= len(lt.cols) {
		return -1
	}
	return slices.Index(lt.rel.PrimaryKey, lt.cols[c.Idx])
}
