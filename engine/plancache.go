package engine

import (
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"streamsql/pgwire"
	"streamsql/sql/parser"
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
//   - the effective search path (search_path with "$user" filled in
//     and the schemas the current role may not use left out);
//   - once any table has row-level security, the current role and the
//     row_security setting: the policies that bind a role are planned
//     into its plans (rowsecurity.go), so two roles never share one.
//
// The arguments are not part of the key: a plan is generic. Parameters
// stay expressions in it, evaluated when it runs: a key lookup for
// id = $1 or k = $1 % 100 computes its key range when the scan opens, and
// LIMIT $1 its count when the limit opens, a window table function's
// size given as $1 its windows when it opens, so one plan serves every
// set of arguments.
//
// Only SELECT (FOR UPDATE/SHARE included) and INSERT, UPDATE and DELETE
// are cached; other statements are cheap to plan or depend on more than
// the above.

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
	// role is the current role and row_security while some table has
	// row-level security ("" otherwise).
	role string
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
	idle []*cachedPlan
}

// cachedPlan is one plan and the reader its scans read through.
type cachedPlan struct {
	p *prepared
	// ins is the plan of a COPY's batch insert (copyPlanKey).
	ins     *insertPlan
	reader  storage.Reader
	version uint64
}

func (c *cachedPlan) read() storage.Reader { return c.reader }

// cacheable reports statements whose plans the cache keeps.
func cacheable(st *statement) bool {
	if st.st.Ext != nil || st.st.AST == nil || st.lit != nil {
		return false
	}
	n := st.st.AST
	return n.GetSelectStmt() != nil || n.GetInsertStmt() != nil || n.GetUpdateStmt() != nil || n.GetDeleteStmt() != nil
}

// planKey is the cache key of st with parameter types params.
func (s *Session) planKey(st *statement, params []types.T) planKey {
	// The schemas names resolve in: the setting as the current role
	// sees it ("$user", schemas without USAGE left out).
	path := s.searchPathKey()
	var b []byte
	for _, t := range params {
		b = strconv.AppendUint(b, uint64(t.OID()), 10)
		b = append(b, ',')
	}
	role := ""
	if s.e.cat.HasRowSecurity() {
		role = s.currentUser() + "\x00" + s.settings().rowSecurity
	}
	return planKey{sql: st.whole, stmt: st.st.SQL, params: string(b), path: path, role: role}
}

// sync empties the cache when the catalog moved on to version; c.mu is
// held. It reports whether the cache is at version (false when version
// is older: that plan or statement saw a catalog that is gone).
// copyPlanKey is the cache key of the plan COPY FROM uses to insert n
// rows into the columns cols of relation rel: no client statement has
// it, so it cannot meet one.
func (s *Session) copyPlanKey(rel uint32, cols []string, n int) planKey {
	k := s.planKey(&statement{whole: "\x00copy", st: parser.Statement{SQL: strings.Join(cols, "\x00")}}, nil)
	k.stmt = strconv.FormatUint(uint64(rel), 10) + "\x00" + strconv.Itoa(n) + "\x00" + k.stmt
	return k
}

func (c *planCache) sync(version uint64) bool {
	if c.entries == nil || version > c.version {
		c.version, c.entries, c.idle = version, map[planKey]*planEntry{}, 0
		c.described = map[planKey]describedStmt{}
	}
	return version == c.version
}

// take returns an idle plan for key, or nil.
func (c *planCache) take(key planKey, version uint64) *cachedPlan {
	c.mu.Lock()
	defer c.mu.Unlock()
	var e *planEntry
	if c.sync(version) {
		e = c.entries[key]
	}
	if e == nil || len(e.idle) == 0 {
		return nil
	}
	n := len(e.idle)
	cp := e.idle[n-1]
	e.idle = e.idle[:n-1]
	c.idle--
	return cp
}

// put makes cp idle again under key.
func (c *planCache) put(key planKey, cp *cachedPlan) {
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
	if len(e.idle) < maxIdlePerKey {
		e.idle = append(e.idle, cp)
		c.idle++
	}
}

// keepPrepared caches the plan that Prepare made when it serves every
// Execute: every parameter type came from the client
// (an inferred type is settled only by planning).
func (s *Session) keepPrepared(st *statement, cp *cachedPlan, given []types.T) {
	if !cacheable(st) || len(given) != len(cp.p.params) ||
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

// cachedPlan returns a plan for st, reading through r: a cached one, or
// one planned now by plan. done must be called once the plan's result is
// closed; it returns the plan to the cache.
func (s *Session) cachedPlan(st *statement, plan func(rd func() storage.Reader) (*prepared, error), r storage.Reader) (*prepared, func(), error) {
	if !cacheable(st) {
		p, err := plan(func() storage.Reader { return r })
		return p, func() {}, err
	}
	c := &s.e.plans
	version := s.e.cat.Version()
	key := s.planKey(st, st.params)
	cp := c.take(key, version)
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

// takeOrPlan returns an idle plan for key from the engine's cache, or one
// that plan makes (it fills cp.p or cp.ins), with its reader set to
// reader, and the function that gives it back to the cache.
func (s *Session) takeOrPlan(key planKey, reader storage.Reader, plan func(cp *cachedPlan) error) (*cachedPlan, func(), error) {
	cache := &s.e.plans
	version := s.e.cat.Version()
	cp := cache.take(key, version)
	if cp != nil {
		cache.hits.Add(1)
	} else {
		cache.plans.Add(1)
		cp = &cachedPlan{version: version, p: &prepared{}, reader: reader}
		if err := plan(cp); err != nil {
			return nil, nil, err
		}
	}
	cp.reader = reader
	return cp, func() {
		cp.reader = nil
		cache.put(key, cp)
	}, nil
}

// appendParamRows appends n rows of width parameters, "($1,$2),($3,$4)",
// to sb: the VALUES of a batch insert.
func appendParamRows(sb *strings.Builder, n, width int) {
	p := 1
	for r := range n {
		if r > 0 {
			sb.WriteByte(',')
		}
		sb.WriteByte('(')
		for j := range width {
			if j > 0 {
				sb.WriteByte(',')
			}
			sb.WriteByte('$')
			sb.WriteString(strconv.Itoa(p))
			p++
		}
		sb.WriteByte(')')
	}
}
