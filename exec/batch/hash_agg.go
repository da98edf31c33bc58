package batch

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/exec"
	"streamsql/sql/types"
	"streamsql/udf"
)

// AggSpec is one aggregate call of a HashAgg: Agg over the input columns
// Args (of types ArgTypes), result type T. Distinct feeds each distinct
// argument tuple once per group; Filter is a boolean input column that
// must be true for a row to feed the aggregate, or -1.
type AggSpec struct {
	Agg      *udf.Aggregate
	Args     []int
	ArgTypes []types.T
	Distinct bool
	Filter   int
	T        types.T
	// Order is the call's ordering (plan.AggCall.Order), Col an input
	// column of the operator.
	Order []AggOrder
}

// AggOrder is one key of an aggregate call's ordering.
type AggOrder struct {
	Col              int
	T                types.T
	Desc, NullsFirst bool
}

// NewAccumulator returns the call's accumulator; an ordered call must be
// in OrderFirst form.
func (a AggSpec) NewAccumulator(env *udf.Env) udf.Accumulator {
	if a.Ordered() {
		return newOrderedAcc(a)
	}
	acc := udf.NewAccumulator(a.Agg, a.ArgTypes, a.Agg.WithinGroup && len(a.Order) > 0 && a.Order[0].Desc)
	if e, ok := acc.(udf.EnvAccumulator); ok && env != nil {
		e.SetEnv(env) // user aggregates call functions that read settings
	}
	return acc
}

// HashAgg groups its input by the group columns and computes aggregates
// per group. Output: the group columns in order, then one column per
// aggregate, one row per group in order of first appearance. Without group
// columns it outputs exactly one row, even for empty input.
//
// State: a groupTable (key -> group id), the group key values of each
// group (gathered when the group is created), one groups-accumulator per
// aggregate indexed by group id, and for DISTINCT aggregates a set of
// (group id, argument tuple) keys already fed. All of it lives from the
// first Next to Close.
//
// Memory: the groups' keys, table entries and accumulators are reserved
// in the statement's account. When the account refuses a batch's new
// groups, the aggregation spills (hash_agg_spill.go): the groups it has
// keep aggregating in memory, the rows of any other group go to one of
// spillParts partition files by a hash of their key, and each partition
// is aggregated after the in-memory groups are out, by a HashAgg of its
// own (which may spill again, with another hash).
type HashAgg struct {
	in         exec.Operator
	groupCols  []int
	groupTypes []types.T
	aggs       []AggSpec
	ts         []types.T

	done bool
	out  tableReader

	groups   *groupTable
	accs     []udf.Accumulator
	keyParts [][]arrow.Array
	seen     []map[string]struct{}
	ids      []uint32
	gv       []uint32
	newRows  []int32
	argKeys  rowKeys
	keyBuf   []byte
	keyCols  []arrow.Array

	spill aggSpill
}

// NewHashAgg returns a hash aggregation of in.
func NewHashAgg(in exec.Operator, groupCols []int, groupTypes []types.T, aggs []AggSpec) exec.Operator {
	ts := append([]types.T(nil), groupTypes...)
	for _, a := range aggs {
		ts = append(ts, a.T)
	}
	return &HashAgg{in: in, groupCols: groupCols, groupTypes: groupTypes, aggs: aggs, ts: ts}
}

func (h *HashAgg) Open(ctx *exec.Ctx) error {
	h.reset()
	if h.spill.registered != ctx.Mem && len(h.groupCols) > 0 {
		ctx.Mem.AddSpiller()
		h.spill.registered = ctx.Mem
	}
	return h.in.Open(ctx)
}

func (h *HashAgg) reset() {
	h.releaseGroups()
	h.done = false
	h.spill.reset()
}

// releaseGroups drops the in-memory groups and their output.
func (h *HashAgg) releaseGroups() {
	h.out.release()
	for _, a := range h.accs {
		if a != nil {
			a.Release()
		}
	}
	h.accs = nil
	for _, p := range h.keyParts {
		releaseAll(p)
	}
	h.keyParts, h.seen, h.groups = nil, nil, nil
}

func (h *HashAgg) Next(ctx *exec.Ctx) (*exec.Batch, error) {
	if !h.done {
		if err := h.run(ctx); err != nil {
			return nil, err
		}
		h.done = true
	}
	if h.out.done() {
		if h.spill.active() {
			return h.nextPartition(ctx)
		}
		return nil, nil
	}
	return h.out.next(), nil
}

// numGroups is the number of groups so far (always one without group
// columns).
func (h *HashAgg) numGroups() int {
	if len(h.groupCols) == 0 {
		return 1
	}
	return h.groups.n
}

func (h *HashAgg) run(ctx *exec.Ctx) error {
	h.spill.mem = ctx.Mem
	h.groups = newGroupTable(h.groupTypes)
	h.keyParts = make([][]arrow.Array, len(h.groupCols))
	h.accs = make([]udf.Accumulator, len(h.aggs))
	h.seen = make([]map[string]struct{}, len(h.aggs))
	for i, a := range h.aggs {
		h.accs[i] = a.NewAccumulator(&ctx.Env)
		if a.Distinct {
			h.seen[i] = map[string]struct{}{}
		}
	}
	for {
		b, err := next(ctx, h.in)
		if err != nil {
			return err
		}
		if b == nil {
			break
		}
		err = h.consume(ctx, b)
		b.Release()
		if err != nil {
			return err
		}
	}
	if err := h.spill.finishWriting(); err != nil {
		return err
	}
	return h.finish(ctx)
}

// consume folds one input batch into the groups.
func (h *HashAgg) consume(ctx *exec.Ctx, b *exec.Batch) error {
	n := b.N
	if n == 0 {
		return nil
	}
	if cap(h.ids) < n {
		h.ids = make([]uint32, n)
		h.gv = make([]uint32, n)
	}
	ids := h.ids[:n]
	if len(h.groupCols) == 0 {
		clear(ids)
	} else {
		h.keyCols = h.keyCols[:0]
		for _, c := range h.groupCols {
			h.keyCols = append(h.keyCols, b.Cols[c])
		}
		// At most every row makes a new group: reserve that much first.
		// With growing accumulators a quarter of the memory stays free
		// for the groups already in memory.
		keyBytes := h.keyBytes(h.keyCols)
		bound := keyBytes + int64(n)*h.entryBytes()
		headroom := h.spill.headroom(h)
		if !h.spill.spilling {
			switch {
			case h.groups.n > 0 && h.spill.canSpill() && h.spill.mem.OverBudget(h.spill.held, bound+headroom):
				h.spill.spilling = true
			case h.spill.mem.TryGrow(bound + headroom):
				h.spill.mem.Shrink(headroom)
			case !h.spill.canSpill():
				return h.spill.mem.OutOfMemory("HashAgg", bound+headroom)
			default:
				h.spill.spilling = true
			}
		}
		if h.spill.spilling {
			var err error
			if ids, err = h.spill.route(ctx, h, b, ids); err != nil {
				return err
			}
		} else {
			h.newRows = h.groups.assign(h.keyCols, n, ids, h.newRows[:0])
			if len(h.newRows) > 0 {
				for j, c := range h.keyCols {
					h.keyParts[j] = append(h.keyParts[j], takeColumn(c, h.newRows))
				}
			}
			// Keep what the new groups take, give back the rest.
			k := int64(len(h.newRows))
			used := keyBytes*k/int64(n) + k*h.entryBytes()
			h.spill.mem.Shrink(bound - used)
			h.spill.held += used
		}
	}
	numGroups := h.numGroups()
	var args []arrow.Array
	for i, a := range h.aggs {
		gv := ids
		if a.Filter >= 0 || a.Distinct {
			gv = h.gv[:n]
			copy(gv, ids)
		}
		if a.Filter >= 0 {
			if err := skipUnless(b.Cols[a.Filter], gv); err != nil {
				return err
			}
		}
		args = args[:0]
		for _, c := range a.Args {
			args = append(args, b.Cols[c])
		}
		if a.Distinct {
			h.skipSeen(h.seen[i], args, a.ArgTypes, gv)
		}
		if err := h.accs[i].Update(gv, numGroups, args, n); err != nil {
			return err
		}
	}
	return h.accountGrowth()
}

// keyBytes is the memory of the key values of cols.
func (h *HashAgg) keyBytes(cols []arrow.Array) int64 {
	var keys int64
	for _, c := range cols {
		keys += arrayBytes(c)
	}
	return keys
}

// entryBytes is the memory of one group besides its key values: a table
// entry and a state slot per aggregate.
func (h *HashAgg) entryBytes() int64 { return int64(64 + 24*len(h.aggs)) }

// accountGrowth reserves what accumulators of growing size (string_agg,
// array_agg) and DISTINCT sets took in the last batch. That memory is
// already taken: past the limit the statement fails, as a group's state
// cannot spill.
func (h *HashAgg) accountGrowth() error {
	var size int64
	for i, a := range h.accs {
		if s, ok := a.(udf.SizedAccumulator); ok {
			size += s.Size()
		}
		if h.seen[i] != nil {
			size += int64(len(h.seen[i])) * 48
		}
	}
	if d := size - h.spill.accSize; d > 0 {
		if !h.spill.mem.TryGrow(d) {
			if h.spill.spilling || !h.spill.canSpill() {
				return h.spill.mem.OutOfMemory("HashAgg", d)
			}
			// Taken already: count it, and keep new groups on disk.
			h.spill.mem.ForceGrow(d)
			h.spill.spilling = true
		}
		h.spill.accSize = size
		h.spill.held += d
	}
	return nil
}

// skipUnless marks rows whose filter value is not true as SkipRow.
func skipUnless(filter arrow.Array, gv []uint32) error {
	f, ok := filter.(*array.Boolean)
	if !ok {
		if _, isNull := filter.(*array.Null); isNull {
			for i := range gv {
				gv[i] = udf.SkipRow
			}
			return nil
		}
		return fmt.Errorf("aggregate FILTER column is %s, not boolean", filter.DataType())
	}
	nulls := f.NullN() > 0
	for i := range gv {
		if !f.Value(i) || (nulls && f.IsNull(i)) {
			gv[i] = udf.SkipRow
		}
	}
	return nil
}

// skipSeen marks rows whose (group, arguments) were fed before as SkipRow.
func (h *HashAgg) skipSeen(seen map[string]struct{}, args []arrow.Array, ts []types.T, gv []uint32) {
	h.argKeys.encode(args, ts, len(gv))
	for i, g := range gv {
		if g == udf.SkipRow {
			continue
		}
		h.keyBuf = binary.LittleEndian.AppendUint32(h.keyBuf[:0], g)
		h.keyBuf = append(h.keyBuf, h.argKeys.keys[i]...)
		if _, dup := seen[string(h.keyBuf)]; dup {
			gv[i] = udf.SkipRow
			continue
		}
		seen[string(h.keyBuf)] = struct{}{}
	}
}

func (h *HashAgg) finish(ctx *exec.Ctx) error {
	numGroups := h.numGroups()
	cols := make([]arrow.Array, 0, len(h.ts))
	for j, parts := range h.keyParts {
		var c arrow.Array
		switch len(parts) {
		case 0:
			c = emptyColumn(h.groupTypes[j])
		case 1:
			c = parts[0]
			c.Retain()
		default:
			var err error
			if c, err = array.Concatenate(parts, types.Mem); err != nil {
				releaseAll(cols)
				return fmt.Errorf("group keys: %w", err)
			}
		}
		cols = append(cols, c)
	}
	for i, acc := range h.accs {
		c, err := acc.Finish(&ctx.Env, numGroups)
		if err != nil {
			releaseAll(cols)
			return err
		}
		if c.Len() != numGroups {
			c.Release()
			releaseAll(cols)
			return fmt.Errorf("aggregate %s gave %d values for %d groups", h.aggs[i].Agg.Name, c.Len(), numGroups)
		}
		cols = append(cols, c)
	}
	h.out.set(&table{cols: cols, n: numGroups})
	return nil
}

func (h *HashAgg) Close() {
	h.reset()
	h.in.Close()
}

func (h *HashAgg) Types() []types.T { return h.ts }
func (h *HashAgg) Explain() string {
	var sb strings.Builder
	sb.WriteString("HashAgg")
	if len(h.groupCols) > 0 {
		sb.WriteString(" group by " + ColList(h.groupCols))
	}
	ExplainAggs(&sb, h.aggs)
	return sb.String()
}

// ExplainAggs appends ": agg(#args) [filter #f], ..." to sb, for the
// batch and the stream aggregates alike.
func ExplainAggs(sb *strings.Builder, aggs []AggSpec) { ExplainAggsWith(sb, aggs, AggExplain{}) }

// AggExplain is what an operator adds to its aggregates' EXPLAIN text:
// Inside writes after the arguments, within the parentheses (a stream
// aggregate's ORDER BY); After returns a note shown as " [note]" after
// the call (how a view keeps a user aggregate). Either may be nil.
type AggExplain struct {
	Inside func(sb *strings.Builder, a AggSpec)
	After  func(a AggSpec) string
}

// ExplainAggsWith is ExplainAggs with the additions of x.
func ExplainAggsWith(sb *strings.Builder, aggs []AggSpec, x AggExplain) {
	for i, a := range aggs {
		if i == 0 {
			sb.WriteString(": ")
		} else {
			sb.WriteString(", ")
		}
		sb.WriteString(a.Agg.Name + "(")
		if a.Distinct {
			sb.WriteString("DISTINCT ")
		}
		if len(a.Args) == 0 {
			sb.WriteString("*")
		}
		sb.WriteString(ColList(a.Args))
		if x.Inside != nil {
			x.Inside(sb, a)
		}
		sb.WriteString(")")
		if a.Filter >= 0 {
			fmt.Fprintf(sb, " filter #%d", a.Filter)
		}
		if x.After != nil {
			if m := x.After(a); m != "" {
				sb.WriteString(" [" + m + "]")
			}
		}
	}
}
func (h *HashAgg) Children() []exec.Operator { return []exec.Operator{h.in} }
