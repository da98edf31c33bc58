package stream

// A node that several consumers read (a subplan the query reads twice,
// planned once: lower/stream_share.go) runs as one operator whose output
// fans out to every consumer: each gets every chunk (the columns shared,
// as a view's downstream links share them: Chunk.Share), watermark and
// barrier, in the order the consumers were built. The consumers run in
// the fragment instances of the shared node: a fragment may have several
// tops (Job.buildFragments).

// fanout sends one operator's output to several consumers.
type fanout struct {
	outs []Output
}

// SharedNodes returns the nodes of the plan under n that more than one
// consumer reads.
func SharedNodes(n *Node) map[*Node]bool {
	readers := map[*Node]int{}
	var walk func(n *Node)
	walk = func(n *Node) {
		readers[n]++
		if readers[n] > 1 {
			return
		}
		for _, in := range n.Inputs {
			walk(in)
		}
	}
	walk(n)
	out := map[*Node]bool{}
	for x, c := range readers {
		if c > 1 {
			out[x] = true
		}
	}
	return out
}

// Chunk gives every consumer but the first a share of c, the first c.
func (f *fanout) Chunk(_ int, c *Chunk) error {
	for _, o := range f.outs[1:] {
		if err := o.Chunk(c.Share()); err != nil {
			c.Release()
			return err
		}
	}
	return f.outs[0].Chunk(c)
}

func (f *fanout) Watermark(_ int, w Watermark) error {
	for _, o := range f.outs {
		if err := o.Watermark(w); err != nil {
			return err
		}
	}
	return nil
}

// TakesIdleMarks: each consumer's Output drops them where not taken.
func (f *fanout) TakesIdleMarks() bool { return true }

func (f *fanout) Barrier(b *Barrier) error {
	for _, o := range f.outs {
		if err := o.Barrier(b); err != nil {
			return err
		}
	}
	return nil
}
