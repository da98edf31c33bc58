package engine

import (
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"streamsql/pgwire"
	"streamsql/sql/planner"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/storage"
)

// The plan cache: statements run plans made before instead of planning at
// every Execute, as PostgreSQL's plan cache does for prepared statements.
// The cache is the engine's, shared by all sessions, so that 200 clients
// running the same prepared statements share their plans rather than
// making 200 copies each.
//
// A plan is what the planner returns: an operator tree with its
// expressions. Operators reset themselves in Open and keep per-run state
// in exec.Ctx, a plan reads through a reader slot that each run points at
// its own snapshot or transaction, and its run function takes the session
// from the execution; so one plan serves run after run, in any session.
// A plan runs once at a time: a run takes it out of the cache and puts it
// back when its result is closed, and a statement that finds no idle plan
// plans afresh (two sessions running the same statement at once end up
// with a plan each).
//
// What a plan depends on makes its key:
//
//   - the statement text and its parameter types;
//   - the catalog: the cache holds plans of one catalog version and is
//     emptied when the version moves, which any DDL does (tables, views,
//     indexes, functions, schemas, and changes made by connectors);
//   - the search_path setting and the user (for "$user");
//   - the arguments, where the planner folds them into the plan (a key
//     lookup for id = $1 or k = $1 % 100). The planner records each fold
//     (planner.Fold). A plan without folds is generic and serves any
//     arguments; a plan with folds is custom, kept under the key of its
//     folded values, and used only for arguments that fold to the same
//     values. Other uses of parameters are evaluated from the arguments
//     at run time, so a cached plan always runs with the new arguments.
//
// Only SELECT (without FOR UPDATE/SHARE) and INSERT, UPDATE and DELETE are
// cached; other statements are cheap to plan or depend on more than the
// above.

const (
	// maxIdlePerKey bounds the idle plans kept for one key: about the
	// number of sessions that run one statement at the same moment.
	maxIdlePerKey = 64
	// maxCachedPlans bounds the idle plans kept in all.
	maxCachedPlans = 8192
)

// planKey identifies the statements that can share plans.
type planKey struct {
	sql    string // the whole query string
	stmt   string // the statement within it
	params string // parameter type OIDs
	path   string // search_path and user
}

// planCache holds the idle plans of one catalog version.
type planCache struct {
	mu      sync.Mutex
	version uint64
	entries map[planKey]*planEntry
	idle    int // plans in entries
	// described holds Prepare's answers by the statement's parameter
	// type hints (see described).
	described map[planKey]describedStmt
	hits      atomic.Uint64
	plans     atomic.Uint64
}

// planEntry holds the idle plans of one key.
type planEntry struct {
	generic []*cachedPlan
	// folds are the parameter folds of the key's custom plans (the first
	// custom plan's: every plan of one statement folds the same
	// expressions); custom holds those plans by FoldKey.
	folds  []planner.Fold
	custom map[string][]*cachedPlan
}

// cachedPlan is one plan and the reader its scans read through.
type cachedPlan struct {
	p       *prepared
	reader  storage.Reader
	version uint64
	foldKey string // "" for a generic plan
	// once marks a plan not to cache (its folds give no stable key).
	once bool
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

// planKey is the cache key of st with parameter types params.
func (s *Session) planKey(st *statement, params []types.T) planKey {
	path, _ := s.get("search_path")
	if strings.Contains(path, "$user") {
		path += "\x00" + s.info.User
	}
	var b []byte
	for _, t := range params {
		b = strconv.AppendUint(b, uint64(t.OID()), 10)
		b = append(b, ',')
	}
	return planKey{sql: st.whole, stmt: st.st.SQL, params: string(b), path: path}
}

// sync empties the cache when the catalog moved on to version; c.mu is
// held. It reports whether the cache is at version (false when version
// is older: that plan or statement saw a catalog that is gone).
func (c *planCache) sync(version uint64) bool {
	if c.entries == nil || version > c.version {
		c.version, c.entries, c.idle = version, map[planKey]*planEntry{}, 0
		c.described = map[planKey]describedStmt{}
	}
	return version == c.version
}

// take returns an idle plan for key and args, or nil.
func (c *planCache) take(key planKey, version uint64, args []types.Datum) *cachedPlan {
	c.mu.Lock()
	var e *planEntry
	if c.sync(version) {
		e = c.entries[key]
	}
	if e == nil {
		c.mu.Unlock()
		return nil
	}
	if n := len(e.generic); n > 0 {
		cp := e.generic[n-1]
		e.generic = e.generic[:n-1]
		c.idle--
		c.mu.Unlock()
		return cp
	}
	folds := e.folds
	c.mu.Unlock()
	if folds == nil {
		return nil
	}
	// Folding runs functions: outside the lock.
	fk, ok := planner.FoldKey(folds, args)
	if !ok {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.version != version || c.entries[key] != e {
		return nil
	}
	list := e.custom[fk]
	if len(list) == 0 {
		return nil
	}
	cp := list[len(list)-1]
	e.custom[fk] = list[:len(list)-1]
	c.idle--
	return cp
}

// put makes cp idle again under key.
func (c *planCache) put(key planKey, cp *cachedPlan) {
	if cp.once {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.sync(cp.version) {
		return // made for a catalog that is gone
	}
	if c.idle >= maxCachedPlans {
		// Full: start over rather than track recency on every run.
		c.entries, c.idle = map[planKey]*planEntry{}, 0
	}
	e := c.entries[key]
	if e == nil {
		e = &planEntry{}
		c.entries[key] = e
	}
	if cp.foldKey == "" {
		if len(e.generic) < maxIdlePerKey {
			e.generic = append(e.generic, cp)
			c.idle++
		}
		return
	}
	if e.folds == nil {
		e.folds = cp.p.folds
	}
	if e.custom == nil {
		e.custom = map[string][]*cachedPlan{}
	}
	if list := e.custom[cp.foldKey]; len(list) < maxIdlePerKey {
		e.custom[cp.foldKey] = append(list, cp)
		c.idle++
	}
}

// keep decides under which fold key cp may be cached: "" for a generic
// plan, ok false for a plan not to cache. A custom plan is kept only if
// the key's folds give its recorded key for args (then a later lookup
// finds it exactly when the arguments fold to the same values).
func (c *planCache) keep(key planKey, cp *cachedPlan, args []types.Datum) (foldKey string, ok bool) {
	if len(cp.p.folds) == 0 {
		return "", true
	}
	rk, ok := planner.RecordedKey(cp.p.folds)
	if !ok || rk == "" {
		return "", false
	}
	c.mu.Lock()
	folds := cp.p.folds
	if e := c.entries[key]; e != nil && e.folds != nil {
		folds = e.folds
	}
	c.mu.Unlock()
	fk, ok := planner.FoldKey(folds, args)
	if !ok || fk != rk {
		return "", false
	}
	return rk, true
}

// keepPrepared caches the plan that Prepare made when it serves every
// Execute: no argument folded into it and every parameter type came from
// the client (an inferred type is settled only by planning).
func (s *Session) keepPrepared(st *statement, cp *cachedPlan, given []types.T) {
	if !cacheable(st) || len(cp.p.folds) > 0 || len(given) != len(cp.p.params) ||
		slices.ContainsFunc(given, func(t types.T) bool { return t.Kind == types.Unknown }) {
		return
	}
	s.e.plans.put(s.planKey(st, cp.p.params), cp)
}

// described returns what Prepare answered before for st with the same
// parameter type hints (unknown ones included): the inferred parameter
// types and the result columns, which depend on nothing else but what the
// key holds. A driver that prepares the same statement on each of its
// connections then plans it once.
func (s *Session) described(st *statement, hints []types.T) (key planKey, params []types.T, cols []pgwire.Column, ok bool) {
	if !cacheable(st) {
		return planKey{}, nil, nil, false
	}
	key = s.planKey(st, hints)
	c := &s.e.plans
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.sync(s.e.cat.Version()) {
		return key, nil, nil, false
	}
	d, ok := c.described[key]
	if !ok {
		return key, nil, nil, false
	}
	return key, slices.Clone(d.params), d.cols, true
}

// describedStmt is what Prepare answers.
type describedStmt struct {
	params []types.T
	cols   []pgwire.Column
}

// noteDescribed records Prepare's answer for key, made at version.
func (s *Session) noteDescribed(key planKey, version uint64, params []types.T, cols []pgwire.Column) {
	c := &s.e.plans
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.sync(version) {
		return
	}
	if len(c.described) >= maxCachedPlans {
		clear(c.described)
	}
	c.described[key] = describedStmt{params: slices.Clone(params), cols: cols}
}

// cachedPlan returns a plan for st with args, reading through r: a cached
// one, or one planned now by plan. done must be called once the plan's
// result is closed; it returns the plan to the cache.
func (s *Session) cachedPlan(st *statement, plan func(rd func() storage.Reader) (*prepared, error), args []types.Datum, r storage.Reader) (*prepared, func(), error) {
	if !cacheable(st) {
		p, err := plan(func() storage.Reader { return r })
		return p, func() {}, err
	}
	c := &s.e.plans
	version := s.e.cat.Version()
	key := s.planKey(st, st.params)
	cp := c.take(key, version, args)
	if cp != nil {
		c.hits.Add(1)
	} else {
		c.plans.Add(1)
		cp = &cachedPlan{version: version}
		p, err := plan(cp.read)
		if err != nil {
			return nil, nil, err
		}
		cp.p = p
		cp.foldKey, cp.once = c.keep(key, cp, args)
		cp.once = !cp.once
	}
	if st.cols != nil && !sameResult(st.cols, cp.p.cols) {
		// The client was told the columns at Parse.
		c.put(key, cp)
		return nil, nil, sqlerr.New(sqlerr.FeatureNotSupported, "cached plan must not change result type")
	}
	cp.reader = r
	return cp.p, func() {
		cp.reader = nil
		c.put(key, cp)
	}, nil
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

// PlanCacheStats returns how many executions of SELECT, INSERT, UPDATE
// and DELETE ran a cached plan (hits), and how many plans were made for
// them, at Parse or at Execute (plans).
func (e *Engine) PlanCacheStats() (hits, plans uint64) {
	return e.plans.hits.Load(), e.plans.plans.Load()
}
