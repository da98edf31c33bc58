package batch

// MATCH_RECOGNIZE in ad-hoc queries: the operator materializes its input,
// orders the rows by (partition columns, order columns), drops rows whose
// first order column is NULL (they have no place in the sequence), and
// runs the shared matcher (exec/match) over every partition at once: each
// round gives every partition with rows left its next row, so that the
// DEFINE conditions of one round are evaluated as vectors over all of
// them. Matches come out per partition in match order, a batch of up to
// exec.BatchSize at a time.

import (
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/exec"
	"streamsql/exec/expr"
	"streamsql/exec/match"
	"streamsql/sql/types"
)

// MatchRecognizeOp is the batch operator of MATCH_RECOGNIZE.
type MatchRecognizeOp struct {
	in     exec.Operator
	spec   match.Spec
	order  []int
	within expr.Expr // nil without WITHIN
	ts     []types.T
	desc   string

	data    *table
	times   []int64
	matches []match.Match
	m       *match.Matcher
	pos     int
	done    bool
}

// NewMatchRecognize returns the operator over in; spec's Within is set
// from within (an interval expression of constants and parameters) when
// the operator opens. outTypes are the output's types, desc its EXPLAIN.
func NewMatchRecognize(in exec.Operator, spec match.Spec, order []int, within expr.Expr, outTypes []types.T, desc string) *MatchRecognizeOp {
	return &MatchRecognizeOp{in: in, spec: spec, order: order, within: within, ts: outTypes, desc: desc}
}

func (o *MatchRecognizeOp) Open(ctx *exec.Ctx) error {
	o.reset()
	if o.within != nil {
		w, err := match.WithinMicros(ctx, o.within)
		if err != nil {
			return err
		}
		o.spec.Within = w
	}
	return o.in.Open(ctx)
}

func (o *MatchRecognizeOp) reset() {
	o.data.release()
	o.data, o.times, o.matches, o.m, o.pos, o.done = nil, nil, nil, nil, 0, false
}

// Gather implements match.Rows over the materialized input.
func (o *MatchRecognizeOp) Gather(col int, handles []int64) (arrow.Array, error) {
	return match.GatherArray(o.data.cols[col], handles), nil
}

// Time implements match.Rows.
func (o *MatchRecognizeOp) Time(h int64) int64 { return o.times[h] }

func (o *MatchRecognizeOp) Next(ctx *exec.Ctx) (*exec.Batch, error) {
	if err := checkCtx(ctx); err != nil {
		return nil, err
	}
	if !o.done {
		if err := o.run(ctx); err != nil {
			return nil, err
		}
		o.done = true
	}
	if o.pos >= len(o.matches) {
		return nil, nil
	}
	hi := min(o.pos+exec.BatchSize, len(o.matches))
	b, err := o.m.Output(o.matches[o.pos:hi])
	if err != nil {
		return nil, err
	}
	o.pos = hi
	return b, nil
}

// run matches every partition.
func (o *MatchRecognizeOp) run(ctx *exec.Ctx) error {
	t, err := materialize(ctx, o.in, o.in.Types(), "MatchRecognize")
	if err != nil {
		return err
	}
	o.data = t
	in := o.in.Types()
	first := t.cols[o.order[0]]
	perm := make([]int32, 0, t.n)
	for i := 0; i < t.n; i++ {
		if first.IsValid(i) {
			perm = append(perm, int32(i))
		}
	}
	keys := make([]SortKey, 0, len(o.spec.Partition)+len(o.order))
	for _, c := range o.spec.Partition {
		keys = append(keys, SortKey{Col: c, T: in[c]})
	}
	part := newRowCmp(t.cols, keys)
	for _, c := range o.order {
		keys = append(keys, SortKey{Col: c, T: in[c]})
	}
	all := newRowCmp(t.cols, keys)
	slices.SortStableFunc(perm, func(a, b int32) int { return all.compare(int(a), int(b)) })
	if o.spec.Within > 0 {
		ts, ok := first.(*array.Timestamp)
		if !ok {
			return fmt.Errorf("match_recognize: WITHIN over a %s column", first.DataType())
		}
		o.times = make([]int64, t.n)
		for i, v := range ts.TimestampValues() {
			o.times[i] = int64(v)
		}
	}
	var parts []*match.Partition
	for k, r := range perm {
		if k == 0 || len(o.spec.Partition) > 0 && part.compare(int(perm[k-1]), int(r)) != 0 {
			parts = append(parts, &match.Partition{})
		}
		parts[len(parts)-1].Append(int64(r))
	}
	o.m = match.New(ctx, o.spec, o)
	// Every row is there: a partition that runs out is finished.
	if err := o.m.StepAll(slices.Clone(parts), func() error { return checkCtx(ctx) }, o.m.Finish); err != nil {
		return err
	}
	o.matches = o.m.TakeMatches()
	// Partition by partition, in match order.
	index := make(map[*match.Partition]int, len(parts))
	for i, p := range parts {
		index[p] = i
	}
	slices.SortStableFunc(o.matches, func(a, b match.Match) int {
		if c := index[a.Part] - index[b.Part]; c != 0 {
			return c
		}
		return int(a.Number - b.Number)
	})
	return nil
}

func (o *MatchRecognizeOp) Close() {
	o.reset()
	o.in.Close()
}

func (o *MatchRecognizeOp) Types() []types.T          { return o.ts }
func (o *MatchRecognizeOp) Explain() string           { return "MatchRecognize " + o.desc }
func (o *MatchRecognizeOp) Children() []exec.Operator { return []exec.Operator{o.in} }
