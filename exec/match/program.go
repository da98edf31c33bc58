// Package match is the row pattern matcher of MATCH_RECOGNIZE, shared by
// the batch operator (exec/batch) and the stream operator (exec/stream).
//
// The pattern compiles to a program of a small virtual machine (Pike's
// regular expression VM): instructions that classify one row as a
// variable, split in two ordered alternatives, jump, or accept. A partial
// match is a thread: an instruction and the history of the rows it took
// (row sequence number and variable), shared between threads as a
// persistent list. Threads are never merged, because a variable's DEFINE
// may read the rows of the partial match (LAST(A.price), sum(B.qty)), so
// two threads at one instruction may disagree on the next row.
//
// Matching follows the SQL standard's sequential definition: from the
// first row of a partition, find the preferred match starting there (the
// first in the pattern's preference order: greedy quantifiers prefer
// more, reluctant ones fewer, alternatives the left one), skip as AFTER
// MATCH SKIP says, or try the next row if none starts there. The
// matcher does it incrementally, one row at a time per partition: every
// row that may start a match opens a start group whose threads are kept
// in preference order; a thread that accepts cuts the lower-preferred
// threads of its group and becomes the group's candidate; a group is
// resolved when no thread is left. Groups are resolved in start order,
// so a later group's result waits for the earlier ones. Rows come in a
// partition's order; every row needs the DEFINE conditions evaluated for
// all the threads that want it, and those evaluations are batched into
// vectors over every partition that steps at once (the batch operator
// steps every partition together, the stream operator every partition
// that has rows past the watermark).
package match

import (
	"streamsql/sql/plan"
	"streamsql/sql/sqlerr"
)

type opcode uint8

const (
	opVar   opcode = iota // classify the row as variable v, then go to pc+1
	opSplit               // continue at x, then (less preferred) at y
	opJmp                 // continue at x
	opMatch               // accept
	// opIterStart and opIterEnd enclose a repetition beyond a
	// quantifier's minimum: a path that reaches the end of one without
	// taking a row since its start dies (an empty repetition adds
	// nothing, and would loop forever under * or +).
	opIterStart
	opIterEnd
)

type inst struct {
	op   opcode
	v    int
	x, y int
}

// Program is a compiled pattern.
type Program struct {
	insts []inst
	iters int // repetitions guarded by opIterStart/opIterEnd
}

// maxInsts bounds a compiled pattern: quantifiers with counts are
// unrolled, and nested ones multiply.
const maxInsts = 20000

// Compile compiles a pattern.
func Compile(p *plan.MRPattern) (*Program, error) {
	c := &compiler{}
	if err := c.emit(p); err != nil {
		return nil, err
	}
	c.insts = append(c.insts, inst{op: opMatch})
	return &Program{insts: c.insts, iters: c.iters}, nil
}

type compiler struct {
	insts []inst
	iters int
}

func (c *compiler) add(in inst) (int, error) {
	if len(c.insts) >= maxInsts {
		return 0, sqlerr.New(sqlerr.FeatureNotSupported, "the PATTERN is too large once its quantifiers are expanded (more than %d steps)", maxInsts)
	}
	c.insts = append(c.insts, in)
	return len(c.insts) - 1, nil
}

// split adds a split whose preferred branch is the next instruction
// (greedy) or the other one (reluctant); it returns the split's index,
// to patch the other branch's target later.
func (c *compiler) split(reluctant bool) (int, error) {
	return c.add(inst{op: opSplit, v: boolInt(reluctant)})
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// patch sets the targets of the split at i: body is where the repetition
// goes on, exit where it stops.
func (c *compiler) patch(i, body, exit int) {
	if c.insts[i].v == 1 { // reluctant: prefer to stop
		c.insts[i].x, c.insts[i].y = exit, body
	} else {
		c.insts[i].x, c.insts[i].y = body, exit
	}
	c.insts[i].v = 0
}

func (c *compiler) emit(p *plan.MRPattern) error {
	switch p.Kind {
	case plan.MRVar:
		_, err := c.add(inst{op: opVar, v: p.Var})
		return err
	case plan.MRConcat:
		for _, it := range p.Items {
			if err := c.emit(it); err != nil {
				return err
			}
		}
		return nil
	case plan.MRAlt:
		// split L1, next; L1: a; jmp end; next: split L2, ...; last item.
		var jumps []int
		for k, it := range p.Items {
			if k == len(p.Items)-1 {
				if err := c.emit(it); err != nil {
					return err
				}
				break
			}
			s, err := c.add(inst{op: opSplit})
			if err != nil {
				return err
			}
			c.insts[s].x = s + 1
			if err := c.emit(it); err != nil {
				return err
			}
			j, err := c.add(inst{op: opJmp})
			if err != nil {
				return err
			}
			jumps = append(jumps, j)
			c.insts[s].y = len(c.insts)
		}
		for _, j := range jumps {
			c.insts[j].x = len(c.insts)
		}
		return nil
	}
	body := p.Items[0]
	for i := 0; i < p.Min; i++ {
		if err := c.emit(body); err != nil {
			return err
		}
	}
	if p.Max < 0 {
		// L: split body, exit; body; jmp L; exit:
		l, err := c.split(p.Reluctant)
		if err != nil {
			return err
		}
		if err := c.guarded(body); err != nil {
			return err
		}
		if _, err := c.add(inst{op: opJmp, x: l}); err != nil {
			return err
		}
		c.patch(l, l+1, len(c.insts))
		return nil
	}
	// Max-Min optional copies, nested: (body (body ...)?)?
	var splits []int
	for i := p.Min; i < p.Max; i++ {
		s, err := c.split(p.Reluctant)
		if err != nil {
			return err
		}
		splits = append(splits, s)
		if err := c.guarded(body); err != nil {
			return err
		}
	}
	for _, s := range splits {
		c.patch(s, s+1, len(c.insts))
	}
	return nil
}

// guarded emits one repetition beyond the minimum.
func (c *compiler) guarded(body *plan.MRPattern) error {
	id := c.iters
	c.iters++
	if _, err := c.add(inst{op: opIterStart, v: id}); err != nil {
		return err
	}
	if err := c.emit(body); err != nil {
		return err
	}
	_, err := c.add(inst{op: opIterEnd, v: id})
	return err
}

// String renders the program, one instruction a line (for tests).
func (p *Program) String() string {
	s := ""
	for i, in := range p.insts {
		switch in.op {
		case opVar:
			s += itoa(i) + " var " + itoa(in.v) + "\n"
		case opSplit:
			s += itoa(i) + " split " + itoa(in.x) + " " + itoa(in.y) + "\n"
		case opJmp:
			s += itoa(i) + " jmp " + itoa(in.x) + "\n"
		case opMatch:
			s += itoa(i) + " match\n"
		case opIterStart:
			s += itoa(i) + " iter " + itoa(in.v) + "\n"
		case opIterEnd:
			s += itoa(i) + " end " + itoa(in.v) + "\n"
		}
	}
	return s
}

func itoa(i int) string {
	if i < 0 {
		return "-" + itoa(-i)
	}
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}
