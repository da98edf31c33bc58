package batch

import (
	"encoding/binary"
	"hash/maphash"

	"github.com/apache/arrow-go/v18/arrow"

	"streamsql/exec"
	"streamsql/sql/types"
)

// Grace hash join: when the build (right) side of a hash join does not
// fit in the statement's memory, both sides are written to spillParts
// partition files by a hash of their join key, and the join runs one
// partition at a time as an ordinary hash join of the two files (which
// partitions again, with a new seed, if a build partition still does not
// fit). Equal keys hash alike, so every match is inside one partition;
// rows with a NULL key match nothing and go to partition 0, where outer
// and anti joins still emit them. Output order differs from the
// in-memory join's; the rows are the same.

// buildRowBytes is the hash table's memory per build row (a map entry and
// the next-row chain), besides the row's values.
const buildRowBytes = 48

// loadBuild reads the right input into a table, reserving it in the
// statement's account. A hash join that runs out of memory partitions
// both sides instead (j.grace is set and the table is nil); a nested loop
// join fails with 53200.
func (j *joinCore) loadBuild(ctx *exec.Ctx) (*table, error) {
	j.mem = ctx.Mem
	perRow := int64(0)
	if j.spillable {
		perRow = buildRowBytes
	}
	var batches []*exec.Batch
	defer func() {
		for _, b := range batches {
			b.Release()
		}
	}()
	rows := 0
	for {
		b, err := nextRows(ctx, j.right)
		if err != nil {
			return nil, err
		}
		if b == nil {
			break
		}
		sz := batchBytes(b) + perRow*int64(b.N)
		canSpill := j.spillable && j.mem.CanSpill() && j.depth < maxSpillDepth
		if canSpill && len(batches) > 0 && j.mem.OverBudget(j.held, sz) || !j.mem.TryGrow(sz) {
			if !canSpill {
				b.Release()
				return nil, j.mem.OutOfMemory(j.opName, sz)
			}
			g, err := j.partition(ctx, batches, b)
			b.Release()
			j.mem.Shrink(j.held)
			j.held = 0
			if err != nil {
				return nil, err
			}
			j.grace = g
			return nil, nil
		}
		j.held += sz
		batches = append(batches, b)
		rows += b.N
	}
	return concatBatches(batches, j.rightTypes, rows)
}

// graceJoin runs the partitions of a grace hash join one after another.
type graceJoin struct {
	left, right           [spillParts]*spillFile
	leftTypes, rightTypes []types.T
	kind                  JoinKind
	p                     int
	child                 exec.Operator
	newChild              func(l, r exec.Operator) exec.Operator
}

func (g *graceJoin) next(ctx *exec.Ctx) (*exec.Batch, error) {
	for {
		if g.child != nil {
			b, err := g.child.Next(ctx)
			if err != nil || b != nil {
				return b, err
			}
			g.child.Close()
			g.child = nil
		}
		if g.p >= spillParts {
			return nil, nil
		}
		lf, rf := g.left[g.p], g.right[g.p]
		g.left[g.p], g.right[g.p] = nil, nil
		g.p++
		noLeft, noRight := lf == nil, rf == nil
		if noLeft && noRight ||
			noRight && (g.kind == InnerJoin || g.kind == SemiJoin || g.kind == RightJoin) ||
			noLeft && g.kind != RightJoin && g.kind != FullJoin {
			lf.remove()
			rf.remove()
			continue
		}
		g.child = g.newChild(scanOrEmpty(lf, g.leftTypes), scanOrEmpty(rf, g.rightTypes))
		if err := g.child.Open(ctx); err != nil {
			return nil, err
		}
	}
}

func (g *graceJoin) close() {
	if g.child != nil {
		g.child.Close()
		g.child = nil
	}
	for p := range g.left {
		g.left[p].remove()
		g.right[p].remove()
		g.left[p], g.right[p] = nil, nil
	}
}

// scanOrEmpty reads a partition file, or nothing when there is none.
func scanOrEmpty(f *spillFile, ts []types.T) exec.Operator {
	if f == nil {
		return &emptyOp{ts: ts}
	}
	return newSpillScan(f)
}

// emptyOp is an input without rows.
type emptyOp struct{ ts []types.T }

func (e *emptyOp) Open(*exec.Ctx) error                { return nil }
func (e *emptyOp) Next(*exec.Ctx) (*exec.Batch, error) { return nil, nil }
func (e *emptyOp) Close()                              {}
func (e *emptyOp) Types() []types.T                    { return e.ts }
func (e *emptyOp) Explain() string                     { return "Empty" }
func (e *emptyOp) Children() []exec.Operator           { return nil }

// partitionSides writes the held build batches, the refused one, the
// rest of the build input and then the whole probe input to partition
// files.
func (h *HashJoin) partitionSides(ctx *exec.Ctx, held []*exec.Batch, cur *exec.Batch) (*graceJoin, error) {
	g := &graceJoin{leftTypes: h.leftTypes, rightTypes: h.rightTypes, kind: h.kind}
	g.newChild = func(l, r exec.Operator) exec.Operator {
		c := NewHashJoin(l, r, h.kind, h.leftKeys, h.rightKeys, h.residual).(*HashJoin)
		c.depth = h.depth + 1
		c.registered = ctx.Mem // it takes this join's share
		return c
	}
	p := &partitioner{seed: maphash.MakeSeed(), ints: h.intKeyed()}
	fail := func(err error) (*graceJoin, error) {
		g.close()
		return nil, err
	}
	for _, b := range held {
		if err := p.write(ctx, &g.right, h.rightTypes, h.rightKeys, b, "join-build"); err != nil {
			return fail(err)
		}
	}
	if err := p.write(ctx, &g.right, h.rightTypes, h.rightKeys, cur, "join-build"); err != nil {
		return fail(err)
	}
	for _, side := range []struct {
		in    exec.Operator
		files *[spillParts]*spillFile
		ts    []types.T
		keys  []int
		what  string
	}{{h.right, &g.right, h.rightTypes, h.rightKeys, "join-build"}, {h.left, &g.left, h.leftTypes, h.leftKeys, "join-probe"}} {
		for {
			if err := checkCtx(ctx); err != nil {
				return fail(err)
			}
			b, err := side.in.Next(ctx)
			if err != nil {
				return fail(err)
			}
			if b == nil {
				break
			}
			err = p.write(ctx, side.files, side.ts, side.keys, b, side.what)
			b.Release()
			if err != nil {
				return fail(err)
			}
		}
	}
	for i := range g.left {
		for _, f := range []*spillFile{g.left[i], g.right[i]} {
			if f != nil {
				if err := f.finish(); err != nil {
					return fail(err)
				}
			}
		}
	}
	return g, nil
}

// partitioner splits batches by a hash of their join key.
type partitioner struct {
	seed   maphash.Seed
	ints   bool
	keys   rowKeys
	vals   []int64
	nulls  []bool
	kcols  []arrow.Array
	ktypes []types.T
	rows   [spillParts][]int32
}

// write appends the rows of b (the caller's) to their partitions' files.
func (p *partitioner) write(ctx *exec.Ctx, files *[spillParts]*spillFile, ts []types.T, keys []int, b *exec.Batch, what string) error {
	if b.N == 0 {
		return nil
	}
	for i := range p.rows {
		p.rows[i] = p.rows[i][:0]
	}
	var buf [8]byte
	if p.ints {
		p.vals, p.nulls = loadInts(b.Cols[keys[0]], p.vals, p.nulls[:0])
		for i, v := range p.vals {
			part := 0
			if p.nulls == nil || !p.nulls[i] {
				binary.LittleEndian.PutUint64(buf[:], uint64(v))
				part = int(maphash.Bytes(p.seed, buf[:]) % spillParts)
			}
			p.rows[part] = append(p.rows[part], int32(i))
		}
	} else {
		p.kcols, p.ktypes = p.kcols[:0], p.ktypes[:0]
		for _, c := range keys {
			p.kcols = append(p.kcols, b.Cols[c])
			p.ktypes = append(p.ktypes, ts[c])
		}
		p.keys.encode(p.kcols, p.ktypes, b.N)
		for i, k := range p.keys.keys {
			part := 0
			if !p.keys.hasNull[i] {
				part = int(maphash.Bytes(p.seed, k) % spillParts)
			}
			p.rows[part] = append(p.rows[part], int32(i))
		}
	}
	for part, rows := range p.rows {
		if len(rows) == 0 {
			continue
		}
		if files[part] == nil {
			f, err := newSpillFile(ctx, ts, what)
			if err != nil {
				return err
			}
			files[part] = f
		}
		out := b
		if len(rows) != b.N {
			out = takeCols(b.Cols, rows)
		}
		err := files[part].write(out)
		if out != b {
			out.Release()
		}
		if err != nil {
			return err
		}
	}
	return nil
}
