package engine

import (
	"slices"
	"sync/atomic"

	"streamsql/pgwire"
	"streamsql/sql/planner"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/storage"
)

// The plan cache of a statement: a prepared statement (named, or the
// unnamed one between its Parse and the next) keeps the plans made for it
// and runs them again instead of planning at every Execute, as
// PostgreSQL's plan cache does.
//
// A plan is what the planner returns: an operator tree with its
// expressions. Operators reset themselves in Open and keep per-run state
// in exec.Ctx, and a plan reads through a reader slot that each run
// points at its own snapshot or transaction, so one plan serves run after
// run. Two things make plans depend on their inputs:
//
//   - The catalog and the search path. A plan is kept with the catalog
//     version and the search_path it was made under, and the cache is
//     emptied when either changed: any DDL (tables, views, indexes,
//     functions, schemas, and changes made by connectors) bumps the
//     version.
//   - The arguments, where the planner folds them into the plan (a key
//     lookup for id = $1 or k = $1 % 100). The planner records each fold
//     (planner.Fold). A plan without folds is generic and serves any
//     arguments; a plan with folds is custom, kept under the key of its
//     folded values and used only for arguments that fold to the same
//     values. Other uses of parameters are evaluated from the arguments
//     at run time, so a cached plan always runs with the new arguments.
//
// A plan runs at most once at a time: a plan still in use (a suspended
// portal of the same statement) makes the next Execute plan afresh.
//
// Only SELECT (without FOR UPDATE/SHARE) and INSERT, UPDATE and DELETE are
// cached; other statements are cheap to plan or depend on more than the
// catalog.

// maxCustomPlans bounds the custom plans kept for one statement.
const maxCustomPlans = 128

// planCache holds the plans of one statement.
type planCache struct {
	version uint64 // catalog version of the plans
	path    string // search_path of the plans
	generic *cachedPlan
	// folds are the parameter folds of the custom plans (the first
	// custom plan's; every plan of one statement folds the same
	// expressions).
	folds  []planner.Fold
	custom map[string]*cachedPlan
}

// cachedPlan is one plan and the reader its scans read through.
type cachedPlan struct {
	p      *prepared
	reader storage.Reader
	busy   bool
}

func (c *cachedPlan) read() storage.Reader { return c.reader }

// cacheable reports statements whose plans the cache keeps.
func cacheable(st *statement) bool {
	if st.st.Ext != nil || st.st.AST == nil {
		return false
	}
	n := st.st.AST
	if n.GetSelectStmt() != nil {
		return !hasLocking(n)
	}
	return n.GetInsertStmt() != nil || n.GetUpdateStmt() != nil || n.GetDeleteStmt() != nil
}

// planKey is what, besides the arguments, the plans depend on.
func (s *Session) planKey() (uint64, string) {
	path, _ := s.get("search_path")
	return s.e.cat.Version(), path
}

// valid empties the cache if the catalog or the search path changed.
func (c *planCache) valid(version uint64, path string) {
	if c.version == version && c.path == path {
		return
	}
	*c = planCache{version: version, path: path}
}

// keepPrepared caches the plan that Prepare made when it serves every
// Execute: no argument folded into it and every parameter type came from
// the client (an inferred type is settled only by planning).
func (st *statement) keepPrepared(cp *cachedPlan, hints []types.T, version uint64, path string) {
	if !cacheable(st) || len(cp.p.folds) > 0 || len(hints) != len(cp.p.params) ||
		slices.ContainsFunc(hints, func(t types.T) bool { return t.Kind == types.Unknown }) {
		return
	}
	st.cache.valid(version, path)
	st.cache.generic = cp
}

// cachedPlan returns a plan for st with args, reading through r, from the
// cache or planned now. done must be called once the plan's result is
// closed.
func (s *Session) cachedPlan(st *statement, plan func(rd func() storage.Reader) (*prepared, error), args []types.Datum, r storage.Reader) (*prepared, func(), error) {
	if !cacheable(st) {
		p, err := plan(func() storage.Reader { return r })
		return p, func() {}, err
	}
	version, path := s.planKey()
	c := &st.cache
	c.valid(version, path)
	use := func(cp *cachedPlan) (*prepared, func(), error) {
		cp.busy, cp.reader = true, r
		return cp.p, func() { cp.busy, cp.reader = false, nil }, nil
	}
	if cp := c.generic; cp != nil && !cp.busy {
		s.e.planStats.hits.Add(1)
		return use(cp)
	}
	if c.folds != nil {
		if key, ok := planner.FoldKey(c.folds, args); ok {
			if cp := c.custom[key]; cp != nil && !cp.busy {
				s.e.planStats.hits.Add(1)
				return use(cp)
			}
		}
	}
	s.e.planStats.misses.Add(1)
	cp := &cachedPlan{}
	p, err := plan(cp.read)
	if err != nil {
		return nil, nil, err
	}
	if st.cols != nil && !sameResult(st.cols, p.cols) {
		// The client was told the columns at Parse.
		return nil, nil, sqlerr.New(sqlerr.FeatureNotSupported, "cached plan must not change result type")
	}
	cp.p = p
	switch {
	case len(p.folds) == 0:
		if c.generic == nil || !c.generic.busy {
			c.generic = cp
		}
	default:
		key, ok := planner.RecordedKey(p.folds)
		if !ok {
			break
		}
		if c.folds == nil {
			c.folds = p.folds
		}
		// The plan is kept only if the cache's folds give its key for
		// these arguments: then a later lookup finds it exactly when the
		// arguments fold to the same values.
		if k, ok := planner.FoldKey(c.folds, args); !ok || k != key {
			break
		}
		if c.custom == nil {
			c.custom = map[string]*cachedPlan{}
		}
		if old := c.custom[key]; old != nil && old.busy {
			break
		}
		if len(c.custom) >= maxCustomPlans {
			for k, old := range c.custom {
				if !old.busy {
					delete(c.custom, k)
					break
				}
			}
		}
		c.custom[key] = cp
	}
	return use(cp)
}

// sameResult reports whether a plan's result columns are those described.
func sameResult(a, b []pgwire.Column) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || a[i].Type.OID() != b[i].Type.OID() {
			return false
		}
	}
	return true
}

// planStats counts the plan cache's work over all sessions.
type planStats struct {
	// hits are executions that ran a cached plan, misses executions of
	// cacheable statements that had to plan.
	hits, misses atomic.Uint64
}

// PlanCacheStats returns how many executions of cacheable statements ran
// a cached plan (hits) and how many planned (misses).
func (e *Engine) PlanCacheStats() (hits, misses uint64) {
	return e.planStats.hits.Load(), e.planStats.misses.Load()
}
