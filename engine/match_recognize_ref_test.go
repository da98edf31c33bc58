package engine_test

// A reference matcher for MATCH_RECOGNIZE, written apart from the engine's
// (exec/match) in the most direct form: for each start row in order, a
// backtracking search over the pattern in preference order finds the
// first non-empty match; AFTER MATCH SKIP picks the next start. The
// differential tests run random patterns over random rows through the
// server and compare.

import (
	"fmt"
	"math/rand"
	"strings"
)

// refRow is one input row: partition k, time ts (seconds), value v.
type refRow struct {
	k, ts, v int
}

// refPat is a pattern node: a variable, a sequence, an alternation or a
// quantifier over items[0].
type refPat struct {
	kind      byte // 'v', 's', '|', 'q'
	v         int
	items     []*refPat
	min, max  int // max < 0: unbounded
	reluctant bool
}

func (p *refPat) sql(vars []string) string {
	switch p.kind {
	case 'v':
		return vars[p.v]
	case 's', '|':
		parts := make([]string, len(p.items))
		for i, it := range p.items {
			parts[i] = it.sql(vars)
		}
		if p.kind == 's' {
			return "(" + strings.Join(parts, " ") + ")"
		}
		return "(" + strings.Join(parts, " | ") + ")"
	}
	in := p.items[0].sql(vars)
	if p.items[0].kind == 'q' {
		in = "(" + in + ")"
	}
	var q string
	switch {
	case p.min == 0 && p.max < 0:
		q = "*"
	case p.min == 1 && p.max < 0:
		q = "+"
	case p.min == 0 && p.max == 1:
		q = "?"
	case p.max < 0:
		q = fmt.Sprintf("{%d,}", p.min)
	case p.min == p.max:
		q = fmt.Sprintf("{%d}", p.min)
	default:
		q = fmt.Sprintf("{%d,%d}", p.min, p.max)
	}
	if p.reluctant {
		q += "?"
	}
	return in + q
}

// refCond is a DEFINE condition the reference can compute.
type refCond struct {
	kind  int // see refConds
	c     int
	other int // a second variable
}

var refCondSQL = []string{
	"%[1]s.v > PREV(%[1]s.v)",
	"%[1]s.v < PREV(%[1]s.v)",
	"%[1]s.v > %[2]d",
	"%[1]s.v < %[2]d",
	"%[1]s.v %% 2 = 0",
	"%[1]s.v > LAST(%[3]s.v)",
	"sum(%[1]s.v) < %[2]d",
	"count(%[1]s.*) <= %[2]d",
	"%[1]s.v >= FIRST(%[1]s.v)",
}

func (c refCond) sql(vars []string, v int) string {
	return fmt.Sprintf(refCondSQL[c.kind], vars[v], c.c, vars[c.other])
}

// refStep is one row of a match: its index in the partition and variable.
type refStep struct{ i, v int }

// holds evaluates condition c of variable v for row i of rows, with hist
// the match so far including row i as v.
func (c refCond) holds(rows []refRow, hist []refStep, v, i int) bool {
	cur := rows[i].v
	switch c.kind {
	case 0, 1:
		if i == 0 {
			return false
		}
		if c.kind == 0 {
			return cur > rows[i-1].v
		}
		return cur < rows[i-1].v
	case 2:
		return cur > c.c
	case 3:
		return cur < c.c
	case 4:
		return cur%2 == 0
	case 5:
		for k := len(hist) - 1; k >= 0; k-- {
			if hist[k].v == c.other {
				return cur > rows[hist[k].i].v
			}
		}
		return false
	case 6, 7:
		sum, n := 0, 0
		for _, s := range hist {
			if s.v == v {
				sum += rows[s.i].v
				n++
			}
		}
		if c.kind == 6 {
			return sum < c.c
		}
		return n <= c.c
	case 8:
		for _, s := range hist {
			if s.v == v {
				return cur >= rows[s.i].v
			}
		}
	}
	return false
}

// refQuery is one random MATCH_RECOGNIZE query.
type refQuery struct {
	vars    []string
	pat     *refPat
	conds   []*refCond // nil: no DEFINE
	skip    int        // 0 past last row, 1 to next row, 2 to first var, 3 to last var
	skipVar int
	within  int // seconds, 0 none
	used    map[int]bool
}

func (q *refQuery) sql(table string) string {
	var defs []string
	for v, c := range q.conds {
		if c != nil {
			defs = append(defs, q.vars[v]+" AS "+c.sql(q.vars, v))
		}
	}
	var meas []string
	meas = append(meas, "MATCH_NUMBER() AS mn", "FIRST(ts) AS s", "LAST(ts) AS e", "count(*) AS n")
	for i, v := range q.vars {
		if q.used[i] {
			meas = append(meas, fmt.Sprintf("count(%s.*) AS n_%s", v, v))
		}
	}
	meas = append(meas, "sum(v) AS sv")
	skip := []string{"PAST LAST ROW", "TO NEXT ROW", "TO FIRST " + q.vars[q.skipVar], "TO LAST " + q.vars[q.skipVar]}[q.skip]
	s := fmt.Sprintf("SELECT * FROM %s MATCH_RECOGNIZE (PARTITION BY k ORDER BY ts MEASURES %s ONE ROW PER MATCH AFTER MATCH SKIP %s PATTERN %s",
		table, strings.Join(meas, ", "), skip, q.pat.sql(q.vars))
	if q.within > 0 {
		s += fmt.Sprintf(" WITHIN INTERVAL '%d' SECOND", q.within)
	}
	if len(defs) > 0 {
		s += " DEFINE " + strings.Join(defs, ", ")
	}
	return s + ") AS m"
}

// randPattern returns a random pattern over nv variables.
func randPattern(r *rand.Rand, nv, depth int) *refPat {
	k := r.Intn(10)
	if depth <= 0 || k < 3 {
		return &refPat{kind: 'v', v: r.Intn(nv)}
	}
	switch {
	case k < 6:
		n := 2 + r.Intn(2)
		p := &refPat{kind: 's'}
		for i := 0; i < n; i++ {
			p.items = append(p.items, randPattern(r, nv, depth-1))
		}
		return p
	case k < 7:
		return &refPat{kind: '|', items: []*refPat{randPattern(r, nv, depth-1), randPattern(r, nv, depth-1)}}
	}
	p := &refPat{kind: 'q', items: []*refPat{randPattern(r, nv, depth-1)}, reluctant: r.Intn(3) == 0}
	switch r.Intn(6) {
	case 0:
		p.min, p.max = 0, -1
	case 1:
		p.min, p.max = 1, -1
	case 2:
		p.min, p.max = 0, 1
	case 3:
		p.min = 1 + r.Intn(2)
		p.max = p.min
	case 4:
		p.min, p.max = r.Intn(3), -1
	default:
		p.min = r.Intn(2)
		p.max = p.min + 1 + r.Intn(2)
	}
	return p
}

// randQuery returns a random query.
func randQuery(r *rand.Rand) *refQuery {
	nv := 1 + r.Intn(3)
	q := &refQuery{vars: []string{"a", "b", "c"}[:nv]}
	q.pat = &refPat{kind: 's', items: []*refPat{randPattern(r, nv, 3), randPattern(r, nv, 2)}}
	q.conds = make([]*refCond, nv)
	for v := range q.conds {
		if r.Intn(5) == 0 {
			continue
		}
		c := &refCond{kind: r.Intn(len(refCondSQL)), c: r.Intn(10), other: r.Intn(nv)}
		if c.kind == 6 {
			c.c = 5 + r.Intn(20)
		}
		if c.kind == 7 {
			c.c = 1 + r.Intn(3)
		}
		q.conds[v] = c
	}
	used := map[int]bool{}
	var walk func(p *refPat)
	walk = func(p *refPat) {
		if p.kind == 'v' {
			used[p.v] = true
		}
		for _, it := range p.items {
			walk(it)
		}
	}
	walk(q.pat)
	q.used = used
	for _, c := range q.conds {
		for c != nil && !used[c.other] {
			c.other = (c.other + 1) % nv
		}
	}
	for v := range q.conds {
		if !used[v] {
			q.conds[v] = nil
		}
	}
	q.skip = r.Intn(4)
	for q.skipVar = r.Intn(nv); !used[q.skipVar]; q.skipVar = (q.skipVar + 1) % nv {
	}
	if r.Intn(2) == 0 {
		q.within = 3 + r.Intn(10)
	}
	return q
}

// refMatch is one match: its first and last row and its steps.
type refMatch struct {
	steps []refStep
}

// refMatcher searches one partition.
type refMatcher struct {
	q     *refQuery
	rows  []refRow
	start int
	found []refStep
	// budget bounds the search: backtracking is exponential on ambiguous
	// patterns; a query that exhausts it is not compared.
	budget int
}

// m matches p from row i with history hist, then calls k.
func (m *refMatcher) m(p *refPat, i int, hist []refStep, k func(int, []refStep) bool) bool {
	if m.budget--; m.budget < 0 {
		return false
	}
	switch p.kind {
	case 'v':
		if i >= len(m.rows) || m.q.within > 0 && m.rows[i].ts-m.rows[m.start].ts >= m.q.within {
			return false
		}
		h := append(append([]refStep(nil), hist...), refStep{i, p.v})
		if c := m.q.conds[p.v]; c != nil && !c.holds(m.rows, h, p.v, i) {
			return false
		}
		return k(i+1, h)
	case 's':
		var seq func(j, i int, hist []refStep) bool
		seq = func(j, i int, hist []refStep) bool {
			if j == len(p.items) {
				return k(i, hist)
			}
			return m.m(p.items[j], i, hist, func(i2 int, h2 []refStep) bool { return seq(j+1, i2, h2) })
		}
		return seq(0, i, hist)
	case '|':
		for _, it := range p.items {
			if m.m(it, i, hist, k) {
				return true
			}
		}
		return false
	}
	var rep func(n, i int, hist []refStep) bool
	rep = func(n, i int, hist []refStep) bool {
		more := func() bool {
			if p.max >= 0 && n >= p.max {
				return false
			}
			return m.m(p.items[0], i, hist, func(i2 int, h2 []refStep) bool {
				if i2 == i && n >= p.min {
					return false // an empty repetition beyond the minimum adds nothing
				}
				return rep(n+1, i2, h2)
			})
		}
		stop := func() bool { return n >= p.min && k(i, hist) }
		if p.reluctant {
			return stop() || more()
		}
		return more() || stop()
	}
	return rep(0, i, hist)
}

// run returns the partition's matches.
func (m *refMatcher) run() []refMatch {
	var out []refMatch
	for start := 0; start < len(m.rows); {
		m.start = start
		m.found = nil
		ok := m.m(m.q.pat, start, nil, func(i int, h []refStep) bool {
			if i == start {
				return false
			}
			m.found = h
			return true
		})
		if !ok {
			start++
			continue
		}
		out = append(out, refMatch{steps: m.found})
		last := m.found[len(m.found)-1].i
		next := last + 1
		switch m.q.skip {
		case 1:
			next = start + 1
		case 2, 3:
			next = -1
			for _, s := range m.found {
				if s.v == m.q.skipVar {
					if m.q.skip == 3 || next < 0 {
						next = s.i
					}
				}
			}
			if next <= start {
				next = start + 1
			}
		}
		start = next
	}
	return out
}

// refResults renders the reference's rows as the query's output, one
// line per match in (k, match number) order: k mn s e n n_<var>... sv.
// ok is false when the search ran out of budget.
func refResults(q *refQuery, rows []refRow) (_ []string, ok bool) {
	byK := map[int][]refRow{}
	var ks []int
	for _, r := range rows {
		if _, ok := byK[r.k]; !ok {
			ks = append(ks, r.k)
		}
		byK[r.k] = append(byK[r.k], r)
	}
	sortInts(ks)
	var out []string
	for _, k := range ks {
		part := byK[k]
		for i := 1; i < len(part); i++ {
			for j := i; j > 0 && part[j].ts < part[j-1].ts; j-- {
				part[j], part[j-1] = part[j-1], part[j]
			}
		}
		m := &refMatcher{q: q, rows: part, budget: 2_000_000}
		ms := m.run()
		if m.budget < 0 {
			return nil, false
		}
		for n, mt := range ms {
			counts := make([]int, len(q.vars))
			sum := 0
			for _, s := range mt.steps {
				counts[s.v]++
				sum += part[s.i].v
			}
			line := fmt.Sprintf("%d %d %d %d %d", k, n+1, part[mt.steps[0].i].ts, part[mt.steps[len(mt.steps)-1].i].ts, len(mt.steps))
			for v, c := range counts {
				if q.used[v] {
					line += fmt.Sprintf(" %d", c)
				}
			}
			out = append(out, line+fmt.Sprintf(" %d", sum))
		}
	}
	return out, true
}

func sortInts(s []int) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// randRows returns rows in partitions 0..nk-1 with increasing distinct
// times per partition.
// withRandQueries appends random queries to qs until it holds n, each
// with a WITHIN (a random one where it has none), so that the watermark
// closes every partial match.
func withRandQueries(r *rand.Rand, qs []*refQuery, n int) []*refQuery {
	for len(qs) < n {
		q := randQuery(r)
		if q.within == 0 {
			q.within = 3 + r.Intn(10)
		}
		qs = append(qs, q)
	}
	return qs
}

func randRows(r *rand.Rand, nk, per int) []refRow {
	var rows []refRow
	for k := 0; k < nk; k++ {
		ts := r.Intn(5)
		for i := 0; i < per; i++ {
			ts += 1 + r.Intn(4)
			rows = append(rows, refRow{k: k, ts: ts, v: r.Intn(10)})
		}
	}
	r.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
	return rows
}
