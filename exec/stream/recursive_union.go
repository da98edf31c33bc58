package stream

import (
	"fmt"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"streamsql/exec"
	"streamsql/exec/batch"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// RecursiveUnionSpec maintains WITH RECURSIVE: "anchor UNION [ALL]
// recursive term", where the term reads the previous iteration's rows
// (the working table) and other relations. Input 0 is the anchor's
// changelog; inputs 1.. are the relations the term reads besides itself,
// each the changelog of an ordinary stream plan. The operator keeps every
// input's rows and the result; at each barrier that follows changes it
// brings the result up to date by running the recursive term, a batch
// executor, over the rows it keeps, and emits the difference.
//
// When the term is multilinear (Incremental: only projections, filters,
// set-returning functions and inner joins between the working table and
// the inputs), the update costs the rows that change, not the result:
//
//   - UNION ALL keeps counts (the result is the sum over k of
//     term^k(anchor), so a change propagates as a signed change): the
//     change of the anchor plus the term run over the old result with
//     each input's change in turn (the delta rule of a join) is run
//     through the term until it is empty.
//   - UNION keeps a set: inserts are semi-naive evaluation (only the
//     rows new in the last iteration are run through the term, until no
//     row is new); deletes are DRed: every row that has a derivation
//     through a deleted row is deleted (over-deletion, run to a fixed
//     point), then those that are still derivable from what remains are
//     put back and their consequences derived again.
//
// Any other term (an outer or anti join, an aggregate over the working
// table) is recomputed whole at such a barrier, which is always right.
// Every fixed-point loop stops after max_recursive_iterations runs
// (batch.DefaultMaxRecursiveIterations) and fails the view with SQLSTATE
// 54001, as the query fails ad hoc: a UNION ALL over a cycle never ends.
//
// # State layout
//
// One table per input: (every column of the row) -> its count; and one
// for the result: (every column) -> its count (1 for UNION). Rows are
// kept in memory as well (the term runs over them); the tables are
// loaded back at restart.
//
// Output: the result's columns and, for UNION ALL, the copy number
// (1..count), so that equal rows have distinct stream keys; the stream
// key is every column.
type RecursiveUnionSpec struct {
	// Name names the query in EXPLAIN.
	Name  string
	Types []types.T
	All   bool
	// InputCols are, per input, the columns that make its rows (of types
	// InputTypes).
	InputCols  [][]int
	InputTypes [][]types.T
	// Term builds the recursive term over tables: tables[0] is the
	// working table, tables[j] input j's rows.
	Term func(tables []exec.Operator) (exec.Operator, error)
	// Incremental says the term is multilinear (see above).
	Incremental bool
}

// RecursiveUnionStateTables describes the state tables for
// Node.StateTables.
func RecursiveUnionStateTables(inputs int) []string {
	out := []string{"the anchor's rows with their counts (unbounded: every row is kept)"}
	for j := 1; j < inputs; j++ {
		out = append(out, fmt.Sprintf("the rows of the term's input %d with their counts (unbounded: every row is kept)", j))
	}
	return append(out, "the result's rows with their counts")
}

// Explain implements Spec.
func (s *RecursiveUnionSpec) Explain() string {
	var sb strings.Builder
	sb.WriteString("StreamRecursiveUnion ")
	if s.All {
		sb.WriteString("all ")
	}
	sb.WriteString(s.Name)
	if s.Incremental {
		sb.WriteString(" (incremental)")
	} else {
		sb.WriteString(" (recomputed on change)")
	}
	return sb.String()
}

// Build implements Spec.
func (s *RecursiveUnionSpec) Build(b *BuildCtx, out Output) (Operator, error) {
	r := &recursiveUnion{spec: s, env: b.Env, out: out}
	for _, ts := range s.InputTypes {
		r.ins = append(r.ins, newRowBag(ts, b.NewStateTable(AscKeys(ts...), []types.T{types.TInt8})))
		r.deltas = append(r.deltas, newRowBag(ts, nil))
		r.keys = append(r.keys, nil)
	}
	r.res = newRowBag(s.Types, b.NewStateTable(AscKeys(s.Types...), []types.T{types.TInt8}))
	r.res.orig = map[string]int64{}
	// The tables the term reads: the working table, then the inputs
	// after the anchor; and one for the anchor, for a recomputation.
	var scans []exec.Operator
	r.tables = append(r.tables, batch.NewWorkTable(s.Types))
	scans = append(scans, batch.NewWorkTableScan(r.tables[0]))
	for _, ts := range s.InputTypes[1:] {
		wt := batch.NewWorkTable(ts)
		r.tables = append(r.tables, wt)
		scans = append(scans, batch.NewWorkTableScan(wt))
	}
	term, err := s.Term(scans)
	if err != nil {
		return nil, err
	}
	r.term = term
	if !s.Incremental {
		r.anchorTable = batch.NewWorkTable(s.InputTypes[0])
		r.whole = batch.NewRecursiveUnion(batch.NewWorkTableScan(r.anchorTable), term, r.tables[0], s.All, 0)
	}
	r.acct = r.res.st.Account()
	if b.Env.Fresh {
		return r, nil
	}
	for _, bag := range append(slices.Clone(r.ins), r.res) {
		if err := r.load(bag); err != nil {
			return nil, err
		}
	}
	r.report()
	return r, nil
}

type recursiveUnion struct {
	spec *RecursiveUnionSpec
	env  *Env
	out  Output
	// ins are the inputs' rows, deltas their changes this epoch; res the
	// result.
	ins, deltas []*rowBag
	res         *rowBag
	keys        [][][]byte // scratch keys per input
	outKeys     [][]byte
	// tables are what the term reads (working table first); term runs
	// the term over them. A recomputation runs whole, the recursive
	// union of the anchor's rows (anchorTable) and term.
	tables      []*batch.WorkTable
	term        exec.Operator
	anchorTable *batch.WorkTable
	whole       exec.Operator
	acct        *StateAccount
	iter        int
	// forget keeps the rows of the keys that left the result this epoch.
	forget map[string][]types.Datum
}

func (r *recursiveUnion) load(bag *rowBag) error {
	return bag.st.Scan(r.env.State, nil, func(k, v []byte) error {
		row, _, err := bag.st.DecodeKey(k, len(bag.ts))
		if err != nil {
			return err
		}
		val, err := bag.st.DecodeValue(v)
		if err != nil {
			return err
		}
		n, _ := val[0].(int64)
		bag.rows[string(k)] = &bagRow{row: row, n: n}
		bag.bytes += int64(len(k))*2 + 64
		return nil
	})
}

func (r *recursiveUnion) report() {
	var n int64
	for _, b := range r.ins {
		n += b.bytes
	}
	r.acct.Report(n + r.res.bytes)
}

// Chunk implements Operator: the changes wait for the barrier.
func (r *recursiveUnion) Chunk(side int, c *Chunk) error {
	defer c.Release()
	spec := r.spec
	cols := make([]arrow.Array, len(spec.InputCols[side]))
	for j, k := range spec.InputCols[side] {
		cols[j] = c.Cols[k]
	}
	keys := r.keys[side][:0]
	for range c.N {
		keys = append(keys, nil)
	}
	r.ins[side].st.AppendKeys(keys, cols)
	r.keys[side] = keys
	ts := spec.InputTypes[side]
	d := r.deltas[side]
	for i, k := range keys {
		d.add(string(k), func() []types.Datum {
			row := make([]types.Datum, len(cols))
			for j, a := range cols {
				row[j] = types.GetDatum(a, i, ts[j])
			}
			return row
		}, c.Ops[i].Sign())
	}
	return nil
}

// Watermark implements Operator: the result carries none.
func (r *recursiveUnion) Watermark(int, Watermark) error { return nil }

// Barrier implements Operator.
func (r *recursiveUnion) Barrier(b *Barrier) error {
	changed := false
	for _, d := range r.deltas {
		changed = changed || !d.empty()
	}
	if changed {
		var err error
		r.iter = 0
		switch {
		case !r.spec.Incremental:
			err = r.recompute()
		case r.spec.All:
			err = r.counting()
		default:
			err = r.dred()
		}
		if err != nil {
			return err
		}
		for j, d := range r.deltas {
			r.deltas[j] = newRowBag(d.ts, nil)
		}
		if err := r.emit(); err != nil {
			return err
		}
		r.report()
	}
	for _, bag := range append(slices.Clone(r.ins), r.res) {
		if err := r.persist(bag, b); err != nil {
			return err
		}
	}
	return r.out.Barrier(b)
}

func (r *recursiveUnion) persist(bag *rowBag, b *Barrier) error {
	var val []byte
	for k := range bag.dirty {
		var err error
		if row := bag.rows[k]; row != nil {
			val = bag.st.AppendValue(val[:0], []types.Datum{row.n})
			err = bag.st.Insert(b.Writes, []byte(k), val)
		} else {
			err = bag.st.Delete(b.Writes, []byte(k))
		}
		if err != nil {
			return err
		}
	}
	clear(bag.dirty)
	return nil
}

// emit sends the result's changes of the epoch.
func (r *recursiveUnion) emit() error {
	keys := make([]string, 0, len(r.res.orig))
	for k, old := range r.res.orig {
		if r.res.count(k) != old {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var dels, ins [][]types.Datum
	for _, k := range keys {
		old, now := r.res.orig[k], r.res.count(k)
		if now < 0 {
			return sqlerr.New(sqlerr.InternalError, "recursive union %s: a row's count fell to %d", r.spec.Name, now)
		}
		row := r.rowOf(k)
		if !r.spec.All {
			if old > 0 && now == 0 {
				dels = append(dels, row)
			} else if old == 0 && now > 0 {
				ins = append(ins, row)
			}
			continue
		}
		for c := now + 1; c <= old; c++ {
			dels = append(dels, append(slices.Clone(row), c))
		}
		for c := old + 1; c <= now; c++ {
			ins = append(ins, append(slices.Clone(row), c))
		}
	}
	clear(r.res.orig)
	r.forget = nil
	rows := append(dels, ins...)
	if len(rows) == 0 {
		return nil
	}
	ops := make([]Op, len(rows))
	for i := range ops {
		if i >= len(dels) {
			ops[i] = Insert
		} else {
			ops[i] = Delete
		}
	}
	ts := r.spec.Types
	if r.spec.All {
		ts = append(slices.Clone(ts), types.TInt8)
	}
	for lo := 0; lo < len(rows); lo += exec.BatchSize {
		hi := min(lo+exec.BatchSize, len(rows))
		b := datumBatch(ts, rows[lo:hi])
		if err := r.out.Chunk(NewChunk(b.Cols, ops[lo:hi])); err != nil {
			return err
		}
	}
	return nil
}

// rowOf returns the row of a result key, also of one no longer in the
// result (forget keeps those of the epoch).
func (r *recursiveUnion) rowOf(k string) []types.Datum {
	if row := r.res.rows[k]; row != nil {
		return row.row
	}
	return r.forget[k]
}

// ---------------------------------------------------------------- runs

// limit is the cap on the runs of the term per barrier.
func (r *recursiveUnion) limit() int {
	if ctx := r.env.Ctx; ctx != nil && ctx.Settings != nil {
		if v, ok := ctx.Settings("max_recursive_iterations"); ok {
			var n int
			if _, err := fmt.Sscan(v, &n); err == nil && n > 0 {
				return n
			}
		}
	}
	return batch.DefaultMaxRecursiveIterations
}

// step counts one iteration of a fixed-point loop.
func (r *recursiveUnion) step() error {
	r.iter++
	if max := r.limit(); r.iter > max {
		return sqlerr.New(sqlerr.StatementTooComplex, "recursive query %s exceeded %d iterations", r.spec.Name, max).
			WithHint("A UNION ALL over cyclic data never ends; UNION (without ALL) stops at rows already seen. The limit is the max_recursive_iterations setting.")
	}
	return nil
}

// run runs the term once over work (the working table) and tables[j]
// for input j (nil: input j's rows), and adds sign times its rows to
// into.
func (r *recursiveUnion) run(work []*exec.Batch, tables map[int][]*exec.Batch, sign int64, into *rowBag) error {
	if len(work) == 0 {
		return nil
	}
	r.tables[0].Set(retained(work))
	for j := 1; j < len(r.tables); j++ {
		bs, ok := tables[j]
		if !ok {
			bs = r.ins[j].batches()
		}
		r.tables[j].Set(retained(bs))
	}
	defer func() {
		for _, t := range r.tables {
			t.Set(nil)
		}
	}()
	ctx := r.env.Ctx
	if err := r.term.Open(ctx); err != nil {
		r.term.Close()
		return err
	}
	defer r.term.Close()
	for {
		b, err := r.term.Next(ctx)
		if err != nil {
			return err
		}
		if b == nil {
			return nil
		}
		r.collect(b, sign, into)
		b.Release()
	}
}

// collect adds sign times the rows of b to into.
func (r *recursiveUnion) collect(b *exec.Batch, sign int64, into *rowBag) {
	keys := r.outKeys[:0]
	for range b.N {
		keys = append(keys, nil)
	}
	r.res.st.AppendKeys(keys, b.Cols)
	r.outKeys = keys
	for i, k := range keys {
		into.add(string(k), func() []types.Datum { return b.Row(i, r.spec.Types) }, sign)
	}
}

// runSigned runs the term over both parts of a signed change of the
// working table.
func (r *recursiveUnion) runSigned(work *rowBag, tables map[int][]*exec.Batch, sign int64, into *rowBag) error {
	for _, s := range []int64{1, -1} {
		bs := work.part(s)
		err := r.run(bs, tables, s*sign, into)
		releaseAll(bs)
		if err != nil {
			return err
		}
	}
	return nil
}

func releaseAll(bs []*exec.Batch) {
	for _, b := range bs {
		b.Release()
	}
}

// apply applies input j's change (or the part of it of sign sign, 0 for
// all) to its rows.
func (r *recursiveUnion) apply(j int, sign int64) {
	for k, row := range r.deltas[j].rows {
		if sign == 0 || row.n*sign > 0 {
			r.ins[j].add(k, func() []types.Datum { return row.row }, row.n)
		}
	}
}

// setResult adds n copies of key's row to the result, keeping the row
// of a key that leaves it for emit.
func (r *recursiveUnion) setResult(k string, row []types.Datum, n int64) {
	if old := r.res.rows[k]; old != nil && old.n+n == 0 {
		if r.forget == nil {
			r.forget = map[string][]types.Datum{}
		}
		r.forget[k] = old.row
	}
	r.res.add(k, func() []types.Datum { return row }, n)
}

// ---------------------------------------------------------------- UNION ALL

// counting updates a UNION ALL result. With R = anchor + term(R), the
// change is dR = dAnchor + [term_new(R) - term_old(R)] + term_new(dR):
// the first two terms are d0, and dR is the sum of term_new^k(d0).
func (r *recursiveUnion) counting() error {
	d := newRowBag(r.spec.Types, nil)
	d.addBag(r.deltas[0], 1)
	old := r.res.batches()
	for j := 1; j < len(r.ins); j++ {
		if r.deltas[j].empty() {
			continue
		}
		// The term over the old result with input j's change, the inputs
		// before j already changed and those after not yet.
		for _, s := range []int64{1, -1} {
			part := r.deltas[j].part(s)
			err := r.run(old, map[int][]*exec.Batch{j: part}, s, d)
			releaseAll(part)
			if err != nil {
				return err
			}
		}
		r.apply(j, 0)
	}
	r.apply(0, 0)
	for !d.empty() {
		for k, row := range d.rows {
			r.setResult(k, row.row, row.n)
		}
		if err := r.step(); err != nil {
			return err
		}
		next := newRowBag(r.spec.Types, nil)
		if err := r.runSigned(d, nil, 1, next); err != nil {
			return err
		}
		d = next
	}
	return nil
}

// ---------------------------------------------------------------- UNION

// dred updates a UNION result: the deletes of the epoch first (DRed),
// then its inserts (semi-naive).
func (r *recursiveUnion) dred() error {
	if err := r.deletes(); err != nil {
		return err
	}
	return r.inserts()
}

// deletes removes what the epoch's deletes take away. Over-deletion: the
// rows that have a derivation through a deleted row (the anchor's rows
// that are gone, the term over the result with an input's deleted rows,
// and what the term derives from those, all with the old inputs); then
// the over-deleted rows still derivable from the rest are put back, with
// what follows from them.
func (r *recursiveUnion) deletes() error {
	gone := newRowBag(r.spec.Types, nil) // the over-deleted rows
	found := newRowBag(r.spec.Types, nil)
	for k, row := range r.deltas[0].rows {
		if row.n < 0 && r.ins[0].count(k)+row.n <= 0 {
			found.add(k, func() []types.Datum { return row.row }, 1)
		}
	}
	old := r.res.batches()
	for j := 1; j < len(r.ins); j++ {
		part := r.deltas[j].part(-1)
		if len(part) == 0 {
			continue
		}
		err := r.run(old, map[int][]*exec.Batch{j: part}, 1, found)
		releaseAll(part)
		if err != nil {
			return err
		}
	}
	frontier := r.newIn(found, gone)
	for !frontier.empty() {
		gone.addBag(frontier, 1)
		if err := r.step(); err != nil {
			return err
		}
		found = newRowBag(r.spec.Types, nil)
		if err := r.runSigned(frontier, nil, 1, found); err != nil {
			return err
		}
		frontier = r.newIn(found, gone)
	}
	for j := range r.ins {
		r.apply(j, -1)
	}
	if gone.empty() {
		return nil
	}
	for k, row := range gone.rows {
		r.setResult(k, row.row, -1)
	}
	// Put back what is still derivable: from the anchor, or by the term
	// from the rows that remain.
	back := newRowBag(r.spec.Types, nil)
	for k, row := range gone.rows {
		if r.ins[0].count(k) > 0 {
			back.add(k, func() []types.Datum { return row.row }, 1)
		}
	}
	found = newRowBag(r.spec.Types, nil)
	if err := r.run(r.res.batches(), nil, 1, found); err != nil {
		return err
	}
	for k, row := range found.rows {
		if row.n > 0 && gone.count(k) > 0 && back.count(k) == 0 {
			back.add(k, func() []types.Datum { return row.row }, 1)
		}
	}
	return r.seminaive(back)
}

// newIn returns the rows of found with a positive count that are in the
// result and not in except.
func (r *recursiveUnion) newIn(found, except *rowBag) *rowBag {
	out := newRowBag(r.spec.Types, nil)
	for k, row := range found.rows {
		if row.n > 0 && r.res.count(k) > 0 && except.count(k) == 0 {
			out.add(k, func() []types.Datum { return row.row }, 1)
		}
	}
	return out
}

// inserts adds what the epoch's inserts bring: the anchor's new rows and
// the term over the result with each input's new rows (the inputs
// before it already changed), then semi-naive evaluation from those.
func (r *recursiveUnion) inserts() error {
	fresh := newRowBag(r.spec.Types, nil)
	for k, row := range r.deltas[0].rows {
		if row.n > 0 {
			fresh.add(k, func() []types.Datum { return row.row }, 1)
		}
	}
	r.apply(0, 1)
	cur := r.res.batches()
	for j := 1; j < len(r.ins); j++ {
		part := r.deltas[j].part(1)
		if len(part) == 0 {
			continue
		}
		err := r.run(cur, map[int][]*exec.Batch{j: part}, 1, fresh)
		releaseAll(part)
		if err != nil {
			return err
		}
		r.apply(j, 1)
	}
	return r.seminaive(r.newOut(fresh))
}

// newOut returns the rows of found with a positive count that are not in
// the result.
func (r *recursiveUnion) newOut(found *rowBag) *rowBag {
	out := newRowBag(r.spec.Types, nil)
	for k, row := range found.rows {
		if row.n > 0 && r.res.count(k) == 0 {
			out.add(k, func() []types.Datum { return row.row }, 1)
		}
	}
	return out
}

// seminaive adds the rows of d (not in the result) to the result and
// runs the term over each iteration's new rows until none is new.
func (r *recursiveUnion) seminaive(d *rowBag) error {
	for !d.empty() {
		for k, row := range d.rows {
			r.setResult(k, row.row, 1)
		}
		if err := r.step(); err != nil {
			return err
		}
		found := newRowBag(r.spec.Types, nil)
		if err := r.runSigned(d, nil, 1, found); err != nil {
			return err
		}
		d = r.newOut(found)
	}
	return nil
}

// ---------------------------------------------------------------- recompute

// recompute runs the whole recursive query over the inputs' new rows
// and sets the result to what it returns.
func (r *recursiveUnion) recompute() error {
	for j := range r.ins {
		r.apply(j, 0)
	}
	for j := 1; j < len(r.tables); j++ {
		r.tables[j].Set(retained(r.ins[j].batches()))
	}
	r.anchorTable.Set(retained(r.ins[0].batches()))
	defer func() {
		for _, t := range r.tables {
			t.Set(nil)
		}
		r.anchorTable.Set(nil)
	}()
	now := newRowBag(r.spec.Types, nil)
	ctx := r.env.Ctx
	if err := r.whole.Open(ctx); err != nil {
		r.whole.Close()
		return err
	}
	for {
		b, err := r.whole.Next(ctx)
		if err != nil {
			r.whole.Close()
			return err
		}
		if b == nil {
			break
		}
		r.collect(b, 1, now)
		b.Release()
	}
	r.whole.Close()
	diff := newRowBag(r.spec.Types, nil)
	diff.addBag(now, 1)
	diff.addBag(r.res, -1)
	for k, row := range diff.rows {
		r.setResult(k, row.row, row.n)
	}
	return nil
}
