package batch

import (
	"bytes"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"streamsql/exec"
	"streamsql/sql/types"
)

// AsofJoin pairs each left row with the right row of equal key that is
// nearest in time on the side its operator names (plan.AsofJoin): for
// ">=" the right row with the greatest time at or before the left row's,
// for ">" strictly before, for "<=" the least time at or after, for "<"
// strictly after. An INNER join drops left rows without such a row, a
// LEFT join pads them with NULLs. Keys or times that are NULL never
// match. Output: left columns then right columns.
//
// State: the materialized right input, and per key the right rows sorted
// by time (their times held in the order-preserving key encoding, so
// that one byte comparison orders any type); a left row costs one map
// lookup and a binary search. Rebuilt at every Open.
type AsofJoin struct {
	joinCore
	leftKeys, rightKeys []int
	leftTime, rightTime int
	op                  string
}

// NewAsofJoin returns an ASOF join of left and right on leftKeys[i] =
// rightKeys[i], matching left column leftTime op right column rightTime
// (two columns of one type).
func NewAsofJoin(left, right exec.Operator, kind JoinKind, leftKeys, rightKeys []int, leftTime, rightTime int, op string) exec.Operator {
	a := &AsofJoin{leftKeys: leftKeys, rightKeys: rightKeys, leftTime: leftTime, rightTime: rightTime, op: op}
	a.init(left, right, kind, nil)
	a.opName = "AsofJoin"
	a.build = a.buildGroups
	return a
}

func (a *AsofJoin) Explain() string {
	conds := append(a.equalities(a.leftKeys, a.rightKeys), fmt.Sprintf("match #%d %s #%d", a.leftTime, a.op, len(a.leftTypes)+a.rightTime))
	return "AsofJoin " + a.kind.String() + " on " + strings.Join(conds, " AND ")
}

// asofGroup is the right rows of one key, by time.
type asofGroup struct {
	rows  []int32
	times [][]byte
}

func (a *AsofJoin) buildGroups(ctx *exec.Ctx, rt *table) (pairSource, error) {
	p := &asofProbe{core: &a.joinCore, a: a, groups: map[string]*asofGroup{}}
	rk := rt.keyRows(a.rightKeys, a.rightTypes)
	tcol := rt.cols[a.rightTime]
	times := types.AppendKeys(make([][]byte, rt.n), tcol, a.rightTypes[a.rightTime], false, false)
	for i := 0; i < rt.n; i++ {
		if rk.hasNull[i] || tcol.IsNull(i) {
			continue
		}
		g := p.groups[string(rk.keys[i])]
		if g == nil {
			g = &asofGroup{}
			p.groups[string(rk.keys[i])] = g
		}
		g.rows = append(g.rows, int32(i))
	}
	for _, g := range p.groups {
		slices.SortStableFunc(g.rows, func(x, y int32) int { return bytes.Compare(times[x], times[y]) })
		g.times = make([][]byte, len(g.rows))
		for k, r := range g.rows {
			g.times[k] = times[r]
		}
	}
	p.keyTypes = make([]types.T, len(a.leftKeys))
	for k, c := range a.leftKeys {
		p.keyTypes[k] = a.leftTypes[c]
	}
	return p, nil
}

// asofProbe yields, for each left row, its nearest right row, if any.
type asofProbe struct {
	core     *joinCore
	a        *AsofJoin
	groups   map[string]*asofGroup
	keyTypes []types.T

	n, row int
	lkeys  rowKeys
	kcols  []arrow.Array
	ltimes [][]byte
	tcol   arrow.Array
}

func (p *asofProbe) begin(lb *exec.Batch) {
	p.n, p.row = lb.N, 0
	p.kcols = p.kcols[:0]
	for _, c := range p.a.leftKeys {
		p.kcols = append(p.kcols, lb.Cols[c])
	}
	p.lkeys.encode(p.kcols, p.keyTypes, lb.N)
	p.tcol = lb.Cols[p.a.leftTime]
	if cap(p.ltimes) < lb.N {
		p.ltimes = make([][]byte, lb.N)
	}
	p.ltimes = p.ltimes[:lb.N]
	for i := range p.ltimes {
		p.ltimes[i] = p.ltimes[i][:0]
	}
	p.ltimes = types.AppendKeys(p.ltimes, p.tcol, p.a.leftTypes[p.a.leftTime], false, false)
}

func (p *asofProbe) fill(li, ri []int32, max int) ([]int32, []int32) {
	for len(li) < max && p.row < p.n {
		i := p.row
		p.row++
		if p.lkeys.hasNull[i] || p.tcol.IsNull(i) {
			continue
		}
		g := p.groups[string(p.lkeys.keys[i])]
		if g == nil {
			continue
		}
		if k := AsofSearch(g.times, p.ltimes[i], p.a.op); k >= 0 {
			li = append(li, int32(i))
			ri = append(ri, g.rows[k])
		}
	}
	return li, ri
}

// AsofSearch returns the position in times (ascending encoded times) of
// the nearest one that t op time admits, or -1: for ">=" the last time at
// or before t, for ">" the last before t, for "<=" the first at or after
// t, for "<" the first after t.
func AsofSearch(times [][]byte, t []byte, op string) int {
	n := len(times)
	switch op {
	case ">=":
		return sort.Search(n, func(k int) bool { return bytes.Compare(times[k], t) > 0 }) - 1
	case ">":
		return sort.Search(n, func(k int) bool { return bytes.Compare(times[k], t) >= 0 }) - 1
	case "<=":
		if k := sort.Search(n, func(k int) bool { return bytes.Compare(times[k], t) >= 0 }); k < n {
			return k
		}
	case "<":
		if k := sort.Search(n, func(k int) bool { return bytes.Compare(times[k], t) > 0 }); k < n {
			return k
		}
	}
	return -1
}
