package match

import (
	"testing"

	"streamsql/sql/plan"
)

func v(i int) *plan.MRPattern { return &plan.MRPattern{Kind: plan.MRVar, Var: i} }

func TestCompile(t *testing.T) {
	// A loop's split prefers the body when greedy and the exit when
	// reluctant; every repetition beyond the minimum is guarded.
	for _, tc := range []struct {
		p    *plan.MRPattern
		want string
	}{
		{&plan.MRPattern{Kind: plan.MRConcat, Items: []*plan.MRPattern{v(0), {Kind: plan.MRQuant, Items: []*plan.MRPattern{v(1)}, Min: 0, Max: -1}}},
			"0 var 0\n1 split 2 6\n2 iter 0\n3 var 1\n4 end 0\n5 jmp 1\n6 match\n"},
		{&plan.MRPattern{Kind: plan.MRQuant, Items: []*plan.MRPattern{v(0)}, Min: 0, Max: -1, Reluctant: true},
			"0 split 5 1\n1 iter 0\n2 var 0\n3 end 0\n4 jmp 0\n5 match\n"},
		{&plan.MRPattern{Kind: plan.MRAlt, Items: []*plan.MRPattern{v(0), v(1)}},
			"0 split 1 3\n1 var 0\n2 jmp 4\n3 var 1\n4 match\n"},
		{&plan.MRPattern{Kind: plan.MRQuant, Items: []*plan.MRPattern{v(0)}, Min: 1, Max: 2},
			"0 var 0\n1 split 2 5\n2 iter 0\n3 var 0\n4 end 0\n5 match\n"},
	} {
		p, err := Compile(tc.p)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.String(); got != tc.want {
			t.Errorf("%s:\n%s\nwant:\n%s", tc.p.String([]string{"a", "b"}), got, tc.want)
		}
	}
}

// TestClosureEmptyLoop: (A*)* has an epsilon cycle; the closure ends and
// reaches A before accepting, once each.
func TestClosureEmptyLoop(t *testing.T) {
	inner := &plan.MRPattern{Kind: plan.MRQuant, Items: []*plan.MRPattern{v(0)}, Min: 0, Max: -1}
	p, err := Compile(&plan.MRPattern{Kind: plan.MRQuant, Items: []*plan.MRPattern{inner}, Min: 0, Max: -1})
	if err != nil {
		t.Fatal(err)
	}
	m := New(nil, Spec{Program: p, Vars: []string{"a"}, Defines: make([]Define, 1)}, nil)
	if err := m.closure(0); err != nil {
		t.Fatal(err)
	}
	var ops []opcode
	for _, pc := range m.succ {
		ops = append(ops, p.insts[pc].op)
	}
	if len(ops) != 2 || ops[0] != opVar || ops[1] != opMatch {
		t.Fatalf("closure %v of\n%s", m.succ, p)
	}
}

func TestCompileTooLarge(t *testing.T) {
	q := &plan.MRPattern{Kind: plan.MRQuant, Items: []*plan.MRPattern{v(0)}, Min: 1000, Max: 1000}
	q2 := &plan.MRPattern{Kind: plan.MRQuant, Items: []*plan.MRPattern{q}, Min: 1000, Max: 1000}
	if _, err := Compile(q2); err == nil {
		t.Fatal("a pattern of a million steps compiled")
	}
}
