package match

import (
	"errors"
	"math/rand"
	"reflect"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/exec"
	"streamsql/sql/plan"
	"streamsql/sql/types"
)

// intRows are rows of one int64 column; a row's handle is its index and
// its event time ten times that.
type intRows []int64

func (r intRows) Gather(_ int, handles []int64) (arrow.Array, error) {
	b := array.NewInt64Builder(types.Mem)
	defer b.Release()
	for _, h := range handles {
		if h < 0 {
			b.AppendNull()
		} else {
			b.Append(r[h])
		}
	}
	return b.NewArray(), nil
}

func (r intRows) Time(h int64) int64 { return h * 10 }

// compare is a DEFINE condition over two navigations: column 0 less than
// (or greater than) column 1, false when either is NULL.
type compare struct{ less bool }

func (c compare) Type() types.T { return types.TBool }
func (c compare) String() string {
	if c.less {
		return "$0 < $1"
	}
	return "$0 > $1"
}
func (c compare) Eval(_ *exec.Ctx, b *exec.Batch) (arrow.Array, error) {
	x, y := b.Cols[0].(*array.Int64), b.Cols[1].(*array.Int64)
	out := array.NewBooleanBuilder(types.Mem)
	defer out.Release()
	for i := 0; i < b.N; i++ {
		if x.IsNull(i) || y.IsNull(i) {
			out.Append(false)
			continue
		}
		if c.less {
			out.Append(x.Value(i) < y.Value(i))
		} else {
			out.Append(x.Value(i) > y.Value(i))
		}
	}
	return out.NewArray(), nil
}

// randPattern returns a random pattern over variables 0..2.
func randPattern(rng *rand.Rand, depth int) *plan.MRPattern {
	if depth == 0 || rng.Intn(3) == 0 {
		return v(rng.Intn(3))
	}
	switch rng.Intn(3) {
	case 0:
		n := 2 + rng.Intn(2)
		p := &plan.MRPattern{Kind: plan.MRConcat}
		for range n {
			p.Items = append(p.Items, randPattern(rng, depth-1))
		}
		return p
	case 1:
		return &plan.MRPattern{Kind: plan.MRAlt, Items: []*plan.MRPattern{randPattern(rng, depth-1), randPattern(rng, depth-1)}}
	default:
		lo := rng.Intn(3)
		hi := -1
		if rng.Intn(2) == 0 {
			hi = lo + rng.Intn(3)
			if hi == 0 {
				hi = 1
			}
		}
		return &plan.MRPattern{Kind: plan.MRQuant, Items: []*plan.MRPattern{randPattern(rng, depth-1)}, Min: lo, Max: hi, Reluctant: rng.Intn(3) == 0}
	}
}

// randSpec returns a spec of the pattern with DEFINE a AS x < PREV(x),
// b AS x > PREV(x), c always, a random skip and WITHIN.
func randSpec(rng *rand.Rand, prog *Program) Spec {
	navs := func(v int) []plan.MRNav {
		return []plan.MRNav{{Kind: plan.NavLast, Var: v, T: types.TInt8}, {Kind: plan.NavLast, Var: v, Phys: -1, T: types.TInt8}}
	}
	s := Spec{Program: prog, Vars: []string{"a", "b", "c"},
		Defines:    []Define{{Cond: compare{less: true}, Navs: navs(0)}, {Cond: compare{less: false}, Navs: navs(1)}, {}},
		InputTypes: []types.T{types.TInt8}}
	s.Skip = []plan.MRSkip{plan.MRSkipPastLastRow, plan.MRSkipToNextRow, plan.MRSkipToFirst, plan.MRSkipToLast}[rng.Intn(4)]
	s.SkipVar = rng.Intn(3)
	if rng.Intn(2) == 0 {
		s.Within = int64(20 + 10*rng.Intn(6))
	}
	return s
}

// matchRows are a match's number and rows (row, variable), first row first.
type matchRows struct {
	Number int64
	Rows   [][2]int64
}

func collect(m *Matcher) []matchRows {
	var out []matchRows
	for _, mt := range m.TakeMatches() {
		r := matchRows{Number: mt.Number}
		for s := mt.hist; s != nil; s = s.prev {
			r.Rows = append([][2]int64{{s.seq, int64(s.v)}}, r.Rows...)
		}
		out = append(out, r)
	}
	return out
}

// run feeds rows to a fresh matcher one at a time, with Expire and Trim
// as a stream operator calls them; restart says before which rows the
// partition is encoded and decoded into a new matcher.
func run(t *testing.T, spec Spec, rows intRows, restart func(i int) bool) []matchRows {
	t.Helper()
	m := New(nil, spec, rows)
	p := &Partition{Key: "k"}
	var out []matchRows
	for i := range rows {
		if restart(i) {
			enc := p.EncodeState(nil)
			m = New(nil, spec, rows)
			var err error
			if p, err = m.DecodeState("k", enc); err != nil {
				t.Fatalf("decode before row %d: %v", i, err)
			}
			if again := p.EncodeState(nil); !reflect.DeepEqual(again, enc) {
				t.Fatalf("state before row %d re-encodes differently", i)
			}
		}
		p.Append(int64(i))
		if err := m.Step([]*Partition{p}); err != nil {
			t.Fatal(err)
		}
		m.Expire(p, rows.Time(int64(i)))
		p.Trim(spec.MaxBack())
		out = append(out, collect(m)...)
	}
	m.Finish(p)
	return append(out, collect(m)...)
}

// TestStateRestart: a partition encoded and decoded between any two rows
// goes on to find exactly the matches of one that never stopped, over
// random patterns, inputs, skips and WITHIN bounds.
func TestStateRestart(t *testing.T) {
	seed := rand.Int63()
	rng := rand.New(rand.NewSource(seed))
	for c := 0; c < 300; c++ {
		prog, err := Compile(randPattern(rng, 3))
		if err != nil {
			t.Fatal(err)
		}
		spec := randSpec(rng, prog)
		rows := make(intRows, 10+rng.Intn(40))
		for i := range rows {
			rows[i] = int64(rng.Intn(5))
		}
		want := run(t, spec, rows, func(int) bool { return false })
		every := 1 + rng.Intn(4)
		got := run(t, spec, rows, func(i int) bool { return i%every == 0 })
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("seed %d case %d: pattern\n%s\nrows %v: restarted every %d rows found\n%v\nwant\n%v", seed, c, prog, rows, every, got, want)
		}
	}
}

// TestStateSharesHistories: threads that forked from one another share
// their histories, and the encoding writes each shared step once.
func TestStateSharesHistories(t *testing.T) {
	// (c | a)* b over rows that never satisfy b keeps forking threads.
	pat := &plan.MRPattern{Kind: plan.MRConcat, Items: []*plan.MRPattern{
		{Kind: plan.MRQuant, Items: []*plan.MRPattern{{Kind: plan.MRAlt, Items: []*plan.MRPattern{v(2), v(0)}}}, Min: 0, Max: -1}, v(1)}}
	prog, err := Compile(pat)
	if err != nil {
		t.Fatal(err)
	}
	spec := Spec{Program: prog, Vars: []string{"a", "b", "c"}, Defines: []Define{{}, {Cond: compare{}, Navs: []plan.MRNav{
		{Kind: plan.NavLast, Var: 1, T: types.TInt8}, {Kind: plan.NavLast, Var: 1, Phys: -1, T: types.TInt8}}}, {}}}
	rows := make(intRows, 12)
	m := New(nil, spec, rows)
	p := &Partition{}
	for i := range rows {
		p.Append(int64(i))
		if err := m.Step([]*Partition{p}); err != nil {
			t.Fatal(err)
		}
	}
	threads, steps := 0, map[*step]bool{}
	for _, g := range p.groups {
		for _, th := range g.threads {
			threads++
			for s := th.hist; s != nil; s = s.prev {
				steps[s] = true
			}
		}
	}
	enc := p.EncodeState(nil)
	q, err := m.DecodeState(nil, enc)
	if err != nil {
		t.Fatal(err)
	}
	r := &stateReader{b: enc[1:]}
	for range 5 {
		r.varint("")
	}
	for range r.count("") {
		r.varint("")
	}
	if n := r.count(""); n != len(steps) || r.err != nil {
		t.Fatalf("%d threads over %d distinct steps encoded as %d steps (%v)", threads, len(steps), n, r.err)
	}
	if threads < 12 {
		t.Fatalf("only %d threads open", threads)
	}
	// The decoded threads share their histories as the originals did.
	shared := map[*step]bool{}
	for _, g := range q.groups {
		for _, th := range g.threads {
			for s := th.hist; s != nil; s = s.prev {
				shared[s] = true
			}
		}
	}
	if len(shared) != len(steps) {
		t.Fatalf("decoded %d distinct steps, want %d", len(shared), len(steps))
	}
}

// TestDecodeStateCorrupt: every truncation of a state, and a state of
// another pattern, is an error and not a panic or a wrong partition.
func TestDecodeStateCorrupt(t *testing.T) {
	prog, err := Compile(&plan.MRPattern{Kind: plan.MRConcat, Items: []*plan.MRPattern{
		v(0), {Kind: plan.MRQuant, Items: []*plan.MRPattern{v(1)}, Min: 0, Max: -1}, v(2)}})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(1))
	spec := randSpec(rng, prog)
	spec.Within, spec.Defines[2] = 0, Define{Cond: compare{less: true}, Navs: spec.Defines[0].Navs}
	rows := intRows{5, 4, 5, 6, 7, 8}
	m := New(nil, spec, rows)
	p := &Partition{}
	for i := range rows {
		p.Append(int64(i))
		if err := m.Step([]*Partition{p}); err != nil {
			t.Fatal(err)
		}
	}
	if !p.Open() {
		t.Fatal("no partial match open")
	}
	enc := p.EncodeState(nil)
	for i := 0; i < len(enc); i++ {
		if _, err := m.DecodeState(nil, enc[:i]); !errors.Is(err, errState) {
			t.Fatalf("a state cut to %d of %d bytes: %v", i, len(enc), err)
		}
	}
	if _, err := m.DecodeState(nil, append(append([]byte(nil), enc...), 0)); !errors.Is(err, errState) {
		t.Fatalf("trailing byte: %v", err)
	}
	other, err := Compile(v(0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(nil, Spec{Program: other, Vars: []string{"a"}, Defines: make([]Define, 1)}, rows).DecodeState(nil, enc); !errors.Is(err, errState) {
		t.Fatalf("state of another pattern: %v", err)
	}
}
