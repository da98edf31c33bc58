package agg

// approx_count_distinct in a view: a HyperLogLog sketch that can forget.
//
// A plain sketch keeps only the largest rho per register, so deleting a
// row cannot lower a register again. This state keeps, per group, a count
// of the live rows per (register, rho) pair, as a multiset whose entry key
// is the pair (persisted one state-table row per pair, like min/max
// values); a register's value is the largest rho with a positive count.
// When the count of a register's largest rho falls to zero, the next
// smaller live rho of that register is found by at most 50 probes. The
// histogram of register values, from which udf.HLLEstimate computes the
// estimate, is kept up to date, so a result costs O(51).
//
// Memory per group is bounded by the number of distinct (register, rho)
// pairs seen: at most the number of distinct values, and at most
// 2^14 * 51 whatever the cardinality (in practice a few per register).
// The estimate equals the ad-hoc aggregate's over the same rows (same
// hash, same estimator).

import (
	"encoding/binary"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/exec/stream"
	"streamsql/sql/types"
	"streamsql/udf"
)

// hllRegs is a group's register values, derived from its multiset.
type hllRegs struct {
	max  map[uint32]uint8
	hist [udf.HLLMaxRho + 1]int64 // hist[0] unused: registers not in max
}

// aggHLL is approx_count_distinct over a retracting input.
type aggHLL struct {
	t types.T
	aggSetState
	regs []*hllRegs // nil: rebuild from the multiset
	key  []byte
	null [1]types.Datum
}

func (a *aggHLL) grow(n int) {
	a.sets.grow(n)
	a.regs = stream.Grow(a.regs, n)
}

func (a *aggHLL) reset(g uint32) {
	a.sets.reset(g)
	a.regs[g] = nil
}

func (a *aggHLL) load(g uint32, key []byte, n int64, vals []types.Datum) error {
	a.sets.loadEntry(g, key, n, vals)
	a.regs[g] = nil
	return nil
}

func hllPairKey(buf []byte, reg uint32, rho uint8) []byte {
	return types.AppendIntKey(buf[:0], int64(reg)<<6|int64(rho))
}

// fold counts hash h into group g with weight w.
func (a *aggHLL) fold(g uint32, h uint64, w int64) {
	reg, rho := udf.HLLSplit(h)
	a.key = hllPairKey(a.key, reg, rho)
	set := a.sets.get(g)
	e, before := set.add(a.key, w)
	if e.vals == nil {
		e.vals = a.null[:]
	}
	r := a.regs[g]
	if r == nil {
		return // rebuilt when the result is asked for
	}
	switch cur := r.max[reg]; {
	case before <= 0 && e.n > 0 && rho > cur:
		if cur > 0 {
			r.hist[cur]--
		}
		r.hist[rho]++
		r.max[reg] = rho
	case before > 0 && e.n <= 0 && rho == cur:
		r.hist[cur]--
		delete(r.max, reg)
		for k := rho - 1; k >= 1; k-- {
			a.key = hllPairKey(a.key, reg, k)
			if x := set.m[string(a.key)]; x != nil && x.n > 0 {
				r.hist[k]++
				r.max[reg] = k
				break
			}
		}
	}
}

func (a *aggHLL) update(ids []uint32, w []int64, args []arrow.Array) error {
	col := args[0]
	nulls := col.NullN() > 0
	switch c := col.(type) {
	case *array.Int64:
		vals := c.Int64Values()
		for i, g := range ids {
			if w[i] != 0 && !(nulls && c.IsNull(i)) {
				a.fold(g, udf.HLLHashInt(vals[i]), w[i])
			}
		}
		return nil
	case *array.Int32:
		vals := c.Int32Values()
		for i, g := range ids {
			if w[i] != 0 && !(nulls && c.IsNull(i)) {
				a.fold(g, udf.HLLHashInt(int64(vals[i])), w[i])
			}
		}
		return nil
	case *array.Null:
		return nil
	}
	for i, g := range ids {
		if w[i] == 0 || col.IsNull(i) {
			continue
		}
		a.fold(g, udf.HLLHash(types.GetDatum(col, i, a.t), a.t), w[i])
	}
	return nil
}

func (a *aggHLL) updateRow(g uint32, args []types.Datum, w int64) error {
	if args[0] != nil {
		a.fold(g, udf.HLLHash(args[0], a.t), w)
	}
	return nil
}

// registers returns group g's register values, rebuilding them from the
// multiset when needed.
func (a *aggHLL) registers(g uint32) *hllRegs {
	if r := a.regs[g]; r != nil {
		return r
	}
	r := &hllRegs{max: map[uint32]uint8{}}
	if s := a.sets.set(g); s != nil {
		for _, e := range s.m {
			if e.n <= 0 {
				continue
			}
			if len(e.key) != 9 {
				continue // not a (register, rho) key
			}
			v := int64(binary.BigEndian.Uint64([]byte(e.key[1:])) ^ (1 << 63))
			reg, rho := uint32(v>>6), uint8(v&63)
			if rho > r.max[reg] {
				r.max[reg] = rho
			}
		}
	}
	for _, rho := range r.max {
		r.hist[rho]++
	}
	a.regs[g] = r
	return r
}

func (a *aggHLL) result(g uint32) (types.Datum, error) {
	r := a.registers(g)
	hist := r.hist
	hist[0] = udf.HLLRegisters - int64(len(r.max))
	return udf.HLLEstimate(&hist), nil
}
