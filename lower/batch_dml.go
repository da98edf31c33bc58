package lower

import (
	"streamsql/catalog"
	"streamsql/exec"
	"streamsql/exec/batch"
	"streamsql/exec/expr"
	"streamsql/sql/plan"
	"streamsql/sql/sqlerr"
	"streamsql/storage"
)

// Conflict says what INSERT does with a row whose key exists.
type Conflict int

// The conflict actions of a lowered INSERT.
const (
	ConflictError Conflict = iota
	ConflictNothing
	ConflictUpdate
)

// Write is an INSERT, UPDATE or DELETE compiled for the engine's writer,
// which applies it to the statement's transaction. Its expressions read
// the table's rows in their physical column order.
type Write struct {
	Rel   *catalog.Relation
	Table *storage.Table
	// INSERT: Source yields whole physical rows.
	Source exec.Operator
	// Conflict handling; Set computes the new row over [existing row,
	// excluded row] and Where filters it (nil = always).
	Conflict Conflict
	Arbiter  plan.ConflictArbiter
	Set      []expr.Expr
	Where    expr.Expr
	// UPDATE/DELETE: Bounds narrow the rows visited to a range of the
	// table's key (nil: every row), Filter (over the physical row) picks
	// rows, and for UPDATE Set computes the new physical row.
	Bounds *batch.KeyBounds
	Filter expr.Expr
	// Returning exprs over the physical row written (or deleted).
	Returning []expr.Expr
	// Checks are the table's CHECK constraints, compiled with the
	// statement when ChecksPlanned (INSERT and UPDATE), so that its
	// executions need not bind them again.
	Checks        []Check
	ChecksPlanned bool
}

// Write lowers the plan of a data-modifying statement (plan.Insert,
// plan.Update, plan.Delete).
func (s *Statement) Write(r plan.Rel) (*Write, error) {
	c := s.Compiler()
	switch x := r.(type) {
	case *plan.Insert:
		w := &Write{Rel: x.Table, Table: x.Table.Table()}
		var err error
		if w.Source, err = Batch(x.Input, c, s.Read); err != nil {
			return nil, err
		}
		if oc := x.OnConflict; oc != nil {
			w.Conflict, w.Arbiter = ConflictNothing, oc.Arbiter
			if oc.Action == plan.DoUpdate {
				w.Conflict = ConflictUpdate
				if w.Set, err = c.CompileAll(oc.Set); err != nil {
					return nil, err
				}
				if w.Where, err = c.Compile(oc.Where); err != nil {
					return nil, err
				}
			}
		}
		if w.Returning, err = c.CompileAll(x.Returning); err != nil {
			return nil, err
		}
		if w.Checks, err = s.Checks(x.Checks); err != nil {
			return nil, err
		}
		w.ChecksPlanned = true
		return w, nil
	case *plan.Update:
		w, err := s.visit(x.Table, &x.Bounds, x.Filter, x.Returning, c)
		if err != nil {
			return nil, err
		}
		if w.Set, err = c.CompileAll(x.Set); err != nil {
			return nil, err
		}
		if w.Checks, err = s.Checks(x.Checks); err != nil {
			return nil, err
		}
		w.ChecksPlanned = true
		return w, nil
	case *plan.Delete:
		return s.visit(x.Table, &x.Bounds, x.Filter, x.Returning, c)
	}
	return nil, sqlerr.New(sqlerr.InternalError, "no write for plan node %T", r)
}

// visit compiles what UPDATE and DELETE share: the rows they visit and
// RETURNING.
func (s *Statement) visit(rel *catalog.Relation, kb *plan.KeyBounds, filter plan.Scalar, returning []plan.Scalar, c *expr.Compiler) (*Write, error) {
	w := &Write{Rel: rel, Table: rel.Table()}
	var err error
	if !kb.Empty() {
		// Key bounds hold constants, parameters and immutable
		// functions of them: no subqueries, no nextval().
		if w.Bounds, err = KeyBounds(kb, w.Table, nil, &expr.Compiler{}); err != nil {
			return nil, err
		}
	}
	if w.Filter, err = c.Compile(filter); err != nil {
		return nil, err
	}
	if w.Returning, err = c.CompileAll(returning); err != nil {
		return nil, err
	}
	return w, nil
}

// Check is a CHECK constraint compiled for the write path.
type Check struct {
	Name string
	Expr expr.Expr
}

// Checks compiles a table's bound CHECK constraints.
func (s *Statement) Checks(cs []plan.Check) ([]Check, error) {
	c := s.Compiler()
	out := make([]Check, len(cs))
	for i, x := range cs {
		e, err := c.Compile(x.Expr)
		if err != nil {
			return nil, err
		}
		out[i] = Check{Name: x.Name, Expr: e}
	}
	return out, nil
}
