package batch

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/exec"
	"streamsql/exec/expr"
	"streamsql/sql/types"
)

// HashJoin is an equi-join that builds a hash table on its right input and
// probes it with left batches. NULL keys never match. The residual, if
// any, is evaluated over the concatenated row (left columns, then right).
// Output: left columns then right columns; SEMI and ANTI output only the
// left columns.
//
// State: the materialized right input, a map from join key to the first
// right row with that key and a next-row chain (rows of equal keys in input
// order); rebuilt at every Open.
type HashJoin struct {
	joinCore
	leftKeys, rightKeys []int
}

// NewHashJoin returns a hash join of left and right on leftKeys[i] =
// rightKeys[i].
func NewHashJoin(left, right exec.Operator, kind JoinKind, leftKeys, rightKeys []int, residual expr.Expr) exec.Operator {
	h := &HashJoin{leftKeys: leftKeys, rightKeys: rightKeys}
	h.init(left, right, kind, residual)
	h.build = h.buildTable
	h.opName, h.spillable = "HashJoin", true
	h.partition = h.partitionSides
	return h
}

func (h *HashJoin) Explain() string {
	s := "HashJoin " + h.kind.String() + " on " + strings.Join(h.equalities(h.leftKeys, h.rightKeys), " AND ")
	if h.residual != nil {
		s += " filter " + h.residual.String()
	}
	return s
}

// intKeyed reports whether the join key is one integer column on both
// sides, which is hashed as an int64 rather than encoded.
func (h *HashJoin) intKeyed() bool {
	if len(h.leftKeys) != 1 {
		return false
	}
	isInt := func(id arrow.Type) bool {
		return id == arrow.INT64 || id == arrow.INT32 || id == arrow.INT16
	}
	return isInt(h.leftTypes[h.leftKeys[0]].ArrowType().ID()) && isInt(h.rightTypes[h.rightKeys[0]].ArrowType().ID())
}

func (h *HashJoin) buildTable(ctx *exec.Ctx, rt *table) (pairSource, error) {
	p := &hashProbe{core: &h.joinCore, leftKeys: h.leftKeys, next: make([]int32, rt.n)}
	p.firstOnly = (h.kind == SemiJoin || h.kind == AntiJoin) && h.residual == nil
	// Insert in reverse so each chain lists rows in input order.
	if h.intKeyed() {
		p.ints = make(map[int64]int32, rt.n)
		vals, nulls := loadInts(rt.cols[h.rightKeys[0]], nil, nil)
		for i := rt.n - 1; i >= 0; i-- {
			if nulls != nil && nulls[i] {
				continue
			}
			head, ok := p.ints[vals[i]]
			if !ok {
				head = -1
			}
			p.next[i] = head
			p.ints[vals[i]] = int32(i)
		}
		return p, nil
	}
	rk := rt.keyRows(h.rightKeys, h.rightTypes)
	p.strs = make(map[string]int32, rt.n)
	for i := rt.n - 1; i >= 0; i-- {
		if rk.hasNull[i] {
			continue
		}
		head, ok := p.strs[string(rk.keys[i])]
		if !ok {
			head = -1
		}
		p.next[i] = head
		p.strs[string(rk.keys[i])] = int32(i)
	}
	p.keyTypes = make([]types.T, len(h.leftKeys))
	for k, c := range h.leftKeys {
		p.keyTypes[k] = h.leftTypes[c]
	}
	return p, nil
}

// loadInts copies an integer column into int64s, with a NULL flag per row
// (nil when there are no NULLs).
func loadInts(arr arrow.Array, buf []int64, nulls []bool) ([]int64, []bool) {
	n := arr.Len()
	if cap(buf) < n {
		buf = make([]int64, n)
	}
	buf = buf[:n]
	switch a := arr.(type) {
	case *array.Int64:
		copy(buf, a.Int64Values())
	case *array.Int32:
		for i, v := range a.Int32Values() {
			buf[i] = int64(v)
		}
	case *array.Int16:
		for i, v := range a.Int16Values() {
			buf[i] = int64(v)
		}
	case *array.Null:
		nulls = allTrue(nulls, n)
		return buf, nulls
	default:
		panic(fmt.Sprintf("batch: integer join key is %T", arr))
	}
	if arr.NullN() == 0 {
		return buf, nil
	}
	if cap(nulls) < n {
		nulls = make([]bool, n)
	}
	nulls = nulls[:n]
	for i := range nulls {
		nulls[i] = arr.IsNull(i)
	}
	return buf, nulls
}

func allTrue(b []bool, n int) []bool {
	if cap(b) < n {
		b = make([]bool, n)
	}
	b = b[:n]
	for i := range b {
		b[i] = true
	}
	return b
}

// hashProbe yields, for each left row, the right rows with an equal key.
type hashProbe struct {
	core      *joinCore
	leftKeys  []int
	keyTypes  []types.T
	firstOnly bool // semi/anti without residual: one match decides
	ints      map[int64]int32
	strs      map[string]int32
	next      []int32

	n      int
	row    int
	cur    int32 // next right row in the current row's chain, -1 = none
	inRow  bool
	lvals  []int64
	lnulls []bool
	lkeys  rowKeys
	kcols  []arrow.Array
}

func (p *hashProbe) begin(lb *exec.Batch) {
	p.n, p.row, p.inRow = lb.N, 0, false
	if p.ints != nil {
		p.lvals, p.lnulls = loadInts(lb.Cols[p.leftKeys[0]], p.lvals, p.lnulls[:0])
		return
	}
	p.kcols = p.kcols[:0]
	for _, c := range p.leftKeys {
		p.kcols = append(p.kcols, lb.Cols[c])
	}
	p.lkeys.encode(p.kcols, p.keyTypes, lb.N)
}

// lookup returns the head of row i's chain, or -1.
func (p *hashProbe) lookup(i int) int32 {
	if p.ints != nil {
		if p.lnulls != nil && p.lnulls[i] {
			return -1
		}
		if h, ok := p.ints[p.lvals[i]]; ok {
			return h
		}
		return -1
	}
	if p.lkeys.hasNull[i] {
		return -1
	}
	if h, ok := p.strs[string(p.lkeys.keys[i])]; ok {
		return h
	}
	return -1
}

func (p *hashProbe) fill(li, ri []int32, max int) ([]int32, []int32) {
	matched := p.core.leftMatched
	for len(li) < max {
		if !p.inRow {
			if p.row >= p.n {
				break
			}
			p.cur = p.lookup(p.row)
			p.inRow = true
		}
		if p.cur < 0 || matched[p.row] && (p.firstOnly || p.core.kind == SemiJoin || p.core.kind == AntiJoin) {
			p.row++
			p.inRow = false
			continue
		}
		li = append(li, int32(p.row))
		ri = append(ri, p.cur)
		if p.firstOnly {
			// One candidate decides a semi/anti row without residual.
			matched[p.row] = true
			p.cur = -1
			continue
		}
		p.cur = p.next[p.cur]
	}
	return li, ri
}
