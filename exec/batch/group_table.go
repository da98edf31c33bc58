package batch

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/exec"
	"streamsql/sql/types"
)

// groupTable numbers the distinct keys it sees, 0, 1, 2, ... in order of
// first appearance. NULL equals NULL, so NULL keys form one group. A
// single integer key column is hashed as an integer; any other key is
// encoded into a byte string (keys.go) and hashed as a string.
//
// State: a map from key to group id; it grows with the number of groups
// and is dropped with the table.
type groupTable struct {
	ts     []types.T
	ints   map[int64]uint32
	nullID int64 // group of the NULL key in the integer path, -1 if none
	strs   map[string]uint32
	n      int
	keys   rowKeys
	intKey bool // the last assign took the integer path

	// mem, when set, is charged for the groups (charge) as operator op.
	mem  *exec.MemAccount
	op   string
	held int64
}

// accounted returns a groupTable of ts whose groups are reserved in mem
// as operator op.
func accountedGroupTable(ts []types.T, mem *exec.MemAccount, op string) *groupTable {
	g := newGroupTable(ts)
	g.mem, g.op = mem, op
	return g
}

// charge reserves the memory of the groups the last assign created
// (newRows): the key and a map entry each. Past the statement's limit it
// fails with 53200.
func (g *groupTable) charge(newRows []int32) error {
	if g == nil || g.mem == nil || len(newRows) == 0 {
		return nil
	}
	n := int64(len(newRows)) * 40
	if !g.intKey {
		for _, r := range newRows {
			n += int64(len(g.keys.keys[r])) + 16
		}
	}
	if err := g.mem.Grow(g.op, n); err != nil {
		return err
	}
	g.held += n
	return nil
}

// release gives back what charge reserved.
func (g *groupTable) release() {
	if g == nil {
		return
	}
	g.mem.Shrink(g.held)
	g.held = 0
}

func newGroupTable(ts []types.T) *groupTable {
	return &groupTable{ts: ts, ints: map[int64]uint32{}, strs: map[string]uint32{}, nullID: -1}
}

// assign sets ids[i] to the group of row i (0 <= i < n) of cols, creating
// groups as needed, and appends the rows that created a group to newRows.
func (g *groupTable) assign(cols []arrow.Array, n int, ids []uint32, newRows []int32) []int32 {
	if len(cols) == 1 {
		switch a := cols[0].(type) {
		case *array.Int64:
			g.intKey = true
			return assignInts(g, a, a.Int64Values(), n, ids, newRows)
		case *array.Int32:
			g.intKey = true
			return assignInts(g, a, a.Int32Values(), n, ids, newRows)
		}
	}
	g.intKey = false
	g.keys.encode(cols, g.ts, n)
	for i, k := range g.keys.keys {
		id, ok := g.strs[string(k)]
		if !ok {
			id = uint32(g.n)
			g.n++
			g.strs[string(k)] = id
			newRows = append(newRows, int32(i))
		}
		ids[i] = id
	}
	return newRows
}

func assignInts[V int32 | int64](g *groupTable, arr arrow.Array, vals []V, n int, ids []uint32, newRows []int32) []int32 {
	nulls := arr.NullN() > 0
	for i := 0; i < n; i++ {
		if nulls && arr.IsNull(i) {
			if g.nullID < 0 {
				g.nullID = int64(g.n)
				g.n++
				newRows = append(newRows, int32(i))
			}
			ids[i] = uint32(g.nullID)
			continue
		}
		v := int64(vals[i])
		id, ok := g.ints[v]
		if !ok {
			id = uint32(g.n)
			g.n++
			g.ints[v] = id
			newRows = append(newRows, int32(i))
		}
		ids[i] = id
	}
	return newRows
}
