package match

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The state of a partition, encoded for a state table so that a stream
// operator can write it at a checkpoint barrier and resume from it after a
// restart. The encoding holds everything Step, Expire, Trim and resolve
// read; the scratch of a Matcher (and thread.ok, which Step sets before
// reading) is not state. Histories are shared between threads (persistent
// lists), so every distinct step is written once and referred to by index:
//
//	version  byte (stateVersion)
//	base n done resume matches      uvarint (resume and seqs as zigzag varints)
//	len(handles) handles...         varint each
//	len(steps) (seq v prev+1)...    a step's prev always precedes it
//	len(groups) groups...           start hasBest best+1 len(threads) (pc hist+1)...
//
// The partition's Key is the caller's and is not encoded.

const stateVersion = 1

// errState is the error of a state that does not decode.
var errState = errors.New("match: corrupt partition state")

// EncodeState appends the encoding of p's matching state to buf.
func (p *Partition) EncodeState(buf []byte) []byte {
	buf = append(buf, stateVersion)
	for _, x := range []int64{p.base, p.n, p.done, p.resume, p.matches} {
		buf = binary.AppendVarint(buf, x)
	}
	buf = binary.AppendUvarint(buf, uint64(len(p.handles)))
	for _, h := range p.handles {
		buf = binary.AppendVarint(buf, h)
	}
	// Number the distinct steps, a step's prev before the step.
	index := map[*step]int{}
	var order []*step
	var stack []*step
	add := func(s *step) {
		for ; s != nil; s = s.prev {
			if _, ok := index[s]; ok {
				break
			}
			stack = append(stack, s)
		}
		for i := len(stack) - 1; i >= 0; i-- {
			index[stack[i]] = len(order)
			order = append(order, stack[i])
		}
		stack = stack[:0]
	}
	ref := func(s *step) uint64 {
		if s == nil {
			return 0
		}
		return uint64(index[s]) + 1
	}
	for _, g := range p.groups {
		if g.hasBest {
			add(g.best)
		}
		for _, t := range g.threads {
			add(t.hist)
		}
	}
	buf = binary.AppendUvarint(buf, uint64(len(order)))
	for _, s := range order {
		buf = binary.AppendVarint(buf, s.seq)
		buf = binary.AppendUvarint(buf, uint64(s.v))
		buf = binary.AppendUvarint(buf, ref(s.prev))
	}
	buf = binary.AppendUvarint(buf, uint64(len(p.groups)))
	for _, g := range p.groups {
		buf = binary.AppendVarint(buf, g.start)
		if g.hasBest {
			buf = append(buf, 1)
			buf = binary.AppendUvarint(buf, ref(g.best))
		} else {
			buf = append(buf, 0)
		}
		buf = binary.AppendUvarint(buf, uint64(len(g.threads)))
		for _, t := range g.threads {
			buf = binary.AppendUvarint(buf, uint64(t.pc))
			buf = binary.AppendUvarint(buf, ref(t.hist))
		}
	}
	return buf
}

// stateReader reads the fields of an encoded state, remembering the first
// error.
type stateReader struct {
	b   []byte
	err error
}

func (r *stateReader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s", errState, what)
	}
}

func (r *stateReader) varint(what string) int64 { return readVarint(r, what, binary.Varint) }

func (r *stateReader) uvarint(what string) uint64 { return readVarint(r, what, binary.Uvarint) }

// readVarint reads one varint with read (binary.Varint or Uvarint).
func readVarint[T int64 | uint64](r *stateReader, what string, read func([]byte) (T, int)) T {
	if r.err != nil {
		return 0
	}
	x, n := read(r.b)
	if n <= 0 {
		r.fail(what)
		return 0
	}
	r.b = r.b[n:]
	return x
}

// count reads a length that cannot exceed the bytes left (each element
// takes at least one byte), so a corrupt length cannot allocate much.
func (r *stateReader) count(what string) int {
	c := r.uvarint(what)
	if c > uint64(len(r.b)) {
		r.fail(what)
		return 0
	}
	return int(c)
}

func (r *stateReader) byte1(what string) byte {
	if r.err != nil {
		return 0
	}
	if len(r.b) == 0 {
		r.fail(what)
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// DecodeState returns the partition encoded in b by EncodeState, checked
// against the matcher's program: a state written for another pattern
// does not decode.
func (m *Matcher) DecodeState(key any, b []byte) (*Partition, error) {
	r := &stateReader{b: b}
	if v := r.byte1("version"); r.err == nil && v != stateVersion {
		return nil, fmt.Errorf("%w: version %d, want %d", errState, v, stateVersion)
	}
	p := &Partition{Key: key}
	p.base = r.varint("base")
	p.n = r.varint("row count")
	p.done = r.varint("rows processed")
	p.resume = r.varint("resume")
	p.matches = r.varint("match count")
	nh := r.count("handles")
	if r.err == nil && (p.base < 0 || p.base+int64(nh) != p.n || p.done > p.n || p.done < 0) {
		r.fail("row counts")
	}
	if r.err == nil {
		p.handles = make([]int64, nh)
		for i := range p.handles {
			p.handles[i] = r.varint("handle")
		}
	}
	ns := r.count("steps")
	steps := make([]*step, 0, ns)
	stepRef := func(what string) *step {
		i := r.uvarint(what)
		if i > uint64(len(steps)) {
			r.fail(what)
			return nil
		}
		if i == 0 {
			return nil
		}
		return steps[i-1]
	}
	for i := 0; i < ns && r.err == nil; i++ {
		seq := r.varint("step row")
		v := r.uvarint("step variable")
		prev := stepRef("step history")
		if v >= uint64(len(m.spec.Vars)) || seq < 0 || seq >= p.n || (prev != nil && prev.seq >= seq) {
			r.fail("step")
			break
		}
		steps = append(steps, newStep(seq, int(v), prev))
	}
	insts := m.spec.Program.insts
	ng := r.count("groups")
	for i := 0; i < ng && r.err == nil; i++ {
		g := &group{start: r.varint("group start")}
		if g.start < 0 || g.start >= p.n {
			r.fail("group start")
		}
		switch r.byte1("group best") {
		case 0:
		case 1:
			g.hasBest = true
			g.best = stepRef("group best")
		default:
			r.fail("group best")
		}
		nt := r.count("threads")
		for j := 0; j < nt && r.err == nil; j++ {
			pc := r.uvarint("thread instruction")
			hist := stepRef("thread history")
			if pc >= uint64(len(insts)) || insts[pc].op != opVar {
				r.fail("thread instruction")
			}
			g.threads = append(g.threads, thread{pc: int32(pc), hist: hist})
		}
		p.groups = append(p.groups, g)
	}
	if r.err == nil && len(r.b) != 0 {
		r.fail("trailing bytes")
	}
	if r.err != nil {
		return nil, r.err
	}
	return p, nil
}
