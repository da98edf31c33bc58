package stream

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"sync"
	"time"

	"streamsql/exec"
	"streamsql/sql/types"
)

// The source driver runs every connector source (datagen, nexmark, kafka,
// ...): the connector supplies split readers, the driver owns everything
// around them that a streaming source must get right, once:
//
//   - barriers: an epoch's barrier goes out after every chunk sent before
//     it, never waits behind a slow read, and carries the position of
//     every split as of the chunks before it;
//   - parallel instances: the source's splits (Kafka partitions, generator
//     sequences) are spread over up to Parallelism readers, each in its
//     own goroutine, and splits that appear later are picked up;
//   - rate limiting: a token bucket over the events each batch counts;
//   - exhaustion: a bounded source whose readers all end keeps answering
//     barriers until the job stops;
//   - watermarks per split, for sources that ask for them
//     (source_watermark.go).
//
// Position layout. A source with one fixed split stores that split's
// position as it is (so the connector's own layout stays the stored one).
// Otherwise: version byte 0xd1, then per split (sorted by id) the id and
// the position, each a uvarint length and bytes.

// Split is one independently ordered part of a source's input, with the
// position to read it from (nil: its start, as the source defines it).
type Split struct {
	ID  string
	Pos []byte
}

// Batch is what a split reader returns from Next.
type Batch struct {
	// Chunk holds the rows, or is nil for a batch of watermarks only.
	Chunk *Chunk
	// Watermarks go downstream after the chunk.
	Watermarks []Watermark
	// Events is what the rate limit counts for this batch; 0 counts the
	// chunk's rows.
	Events int64
	// Rejects are the messages of the batch that could not be decoded:
	// they are kept (in the job's rejects, written with the epoch) and
	// counted, not passed on.
	Rejects []Reject
	// SchemaChanges are the changes of one upstream DDL event, in a batch
	// of their own (no chunk): the reader decodes nothing after the event
	// until it is opened again over the changed relation.
	SchemaChanges []SchemaChange
	// Splits says which split the chunk's rows came from, as runs in
	// row order. A source with per-split watermarks must set it.
	Splits []SplitRows
}

// TruncateTable is the SchemaChange kind of an upstream TRUNCATE: the
// table empties at that point of the stream.
const TruncateTable = "truncate"

// SchemaChange is one change of an upstream DDL event for the table a
// source fills: a column change (Canal, Maxwell, Debezium-MySQL) or a
// TRUNCATE (postgres-cdc).
type SchemaChange struct {
	// Kind is "add column", "drop column", "rename column" or
	// TruncateTable.
	Kind    string
	Column  string
	NewName string  // rename column
	Type    types.T // add column
	// Default is an added column's constant DEFAULT as text, if
	// HasDefault: rows stored before hold it.
	Default    string
	HasDefault bool
	// SQL is the DDL as the event carried it; Split and Offset say where
	// the event was.
	SQL    string
	Split  string
	Offset int64
}

// SplitReader reads the splits assigned to one instance of a source. Next
// and Positions are called from one goroutine; Assign may be called from
// another while Next blocks.
type SplitReader interface {
	// Assign adds splits, each starting at its Pos, and returns their
	// positions (which the reader may resolve: a nil Pos made concrete).
	Assign(splits []Split) ([]Split, error)
	// Next returns the next batch. It blocks until one is ready or ctx is
	// done, and returns io.EOF when every assigned split is exhausted (a
	// bounded source).
	Next(ctx context.Context) (Batch, error)
	// Positions returns the position of each assigned split after the
	// last batch Next returned.
	Positions() []Split
	// Close stops the reader and frees what it holds.
	Close() error
}

// SplitSource is a connector source as the driver runs it.
type SplitSource interface {
	// Types are the output columns.
	Types() []types.T
	// Splits lists the source's splits as they are now (ids only).
	Splits(ctx context.Context) ([]string, error)
	// NewReader opens a reader with no splits assigned; instance is its
	// index among the source's readers.
	NewReader(instance int) (SplitReader, error)
}

// DriverOptions tune a driven source.
type DriverOptions struct {
	// Parallelism is the most readers the source runs (at least one).
	Parallelism int
	// Rate is the most events per second, 0 for no limit.
	Rate float64
	// Burst is how many events the rate limit holds at start; it holds
	// at most max(Burst, Rate/10), so a source that fell behind catches
	// up by at most 100 ms of events at once (one batch always goes).
	Burst float64
	// Discover is how often the driver lists the splits again to pick up
	// new ones; 0 never (a fixed set of splits).
	Discover time.Duration
	// OnError, if set, is told of a failed split listing (the driver tries
	// again at the next interval).
	OnError func(error)
	// Watermarks, if any, are generated per split by the driver
	// (source_watermark.go), evaluated with ExprCtx; the readers then
	// report each batch's Splits.
	Watermarks []SourceWatermark
	ExprCtx    *exec.Ctx
	// IdleTimeout is how long a split may bring no message before it
	// stops holding the watermark back; 0: never.
	IdleTimeout time.Duration
}

// DriveSource returns the stream.Source that runs src from pos (a
// position one of its barriers carried, nil for the start).
func DriveSource(src SplitSource, opts DriverOptions, pos []byte) (Source, error) {
	d := &driver{src: src, opts: opts, pos: map[string][]byte{}}
	if d.opts.Parallelism < 1 {
		d.opts.Parallelism = 1
	}
	d.fixedOne = opts.Discover == 0
	if len(opts.Watermarks) > 0 {
		d.wm = newWatermarkGen(opts.Watermarks, opts.ExprCtx, opts.IdleTimeout)
	}
	if pos != nil {
		if err := d.decodePos(pos); err != nil {
			return nil, err
		}
	}
	return d, nil
}

type driver struct {
	src  SplitSource
	opts DriverOptions
	// pos is every known split's position as of the chunks sent.
	pos map[string][]byte
	// fixedOne: the source has a fixed split set; if it is one split its
	// position is stored raw.
	fixedOne bool
	// rawPos is a raw single-split position read before the split's id
	// is known.
	rawPos []byte

	order   []string // known split ids in assignment order
	readers []*readerRT
	// wm generates per-split watermarks; nil when the source does not.
	wm *watermarkGen
}

// readerRT is one reader instance and the goroutine that runs it.
type readerRT struct {
	r SplitReader
	// running: its read loop is running (it has not ended).
	running bool
	// assignedWhileRunning: splits were assigned while the read loop
	// ran. Its end (io.EOF) may have been decided before they arrived,
	// so the loop is started again then.
	assignedWhileRunning bool
}

// readItem is a batch from reader k with the positions after it.
type readItem struct {
	k   int
	b   Batch
	pos []Split
	err error
}

func (d *driver) Types() []types.T { return d.src.Types() }

const posComposite = 0xd1

func (d *driver) encodePos() []byte {
	if d.fixedOne && len(d.order) == 1 {
		return slices.Clone(d.pos[d.order[0]])
	}
	ids := make([]string, 0, len(d.pos))
	for id := range d.pos {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	buf := []byte{posComposite}
	for _, id := range ids {
		buf = binary.AppendUvarint(buf, uint64(len(id)))
		buf = append(buf, id...)
		p := d.pos[id]
		buf = binary.AppendUvarint(buf, uint64(len(p)))
		buf = append(buf, p...)
	}
	return buf
}

func (d *driver) decodePos(pos []byte) error {
	if len(pos) == 0 || pos[0] != posComposite {
		if !d.fixedOne {
			return fmt.Errorf("source driver: corrupt position %x", pos)
		}
		d.rawPos = pos
		return nil
	}
	rest := pos[1:]
	field := func() ([]byte, bool) {
		n, k := binary.Uvarint(rest)
		if k <= 0 || uint64(len(rest)-k) < n {
			return nil, false
		}
		v := rest[k : k+int(n)]
		rest = rest[k+int(n):]
		return v, true
	}
	for len(rest) > 0 {
		id, ok1 := field()
		p, ok2 := field()
		if !ok1 || !ok2 {
			return fmt.Errorf("source driver: corrupt position %x", pos)
		}
		d.pos[string(id)] = slices.Clone(p)
	}
	return nil
}

// assign gives new split ids to readers: the i-th split known goes to
// reader i % Parallelism, created when first needed. ids not seen before
// start at their stored position, if any.
func (d *driver) assign(ids []string, items chan<- readItem, ctx context.Context, wg *sync.WaitGroup) error {
	known := map[string]bool{}
	for _, id := range d.order {
		known[id] = true
	}
	var fresh []string
	for _, id := range ids {
		if !known[id] {
			fresh = append(fresh, id)
			known[id] = true
		}
	}
	per := map[int][]Split{}
	for _, id := range fresh {
		i := len(d.order)
		d.order = append(d.order, id)
		if d.wm != nil {
			d.wm.add(id)
		}
		p, ok := d.pos[id]
		if !ok && d.rawPos != nil && d.fixedOne && len(ids) == 1 {
			p, ok = d.rawPos, true
		}
		if ok {
			d.pos[id] = p
		}
		per[i%d.opts.Parallelism] = append(per[i%d.opts.Parallelism], Split{ID: id, Pos: p})
	}
	ks := make([]int, 0, len(per))
	for k := range per {
		ks = append(ks, k)
	}
	sort.Ints(ks)
	for _, k := range ks {
		for len(d.readers) <= k {
			r, err := d.src.NewReader(len(d.readers))
			if err != nil {
				return err
			}
			rt := &readerRT{r: r}
			d.readers = append(d.readers, rt)
		}
		rt := d.readers[k]
		at, err := rt.r.Assign(per[k])
		if err != nil {
			return err
		}
		for _, sp := range at {
			if sp.Pos != nil {
				d.pos[sp.ID] = sp.Pos
			}
		}
		if !rt.running {
			// A new reader, or one that had ended and has new splits.
			d.startReader(ctx, k, items, wg)
		} else {
			rt.assignedWhileRunning = true
		}
	}
	return nil
}

// startReader runs reader k's read loop: each batch and the positions
// after it go to items, in order. The loop ends at the reader's end
// (io.EOF, which goes to items too), an error, or ctx.
func (d *driver) startReader(ctx context.Context, k int, items chan<- readItem, wg *sync.WaitGroup) {
	d.readers[k].running = true
	d.readers[k].assignedWhileRunning = false
	r := d.readers[k].r
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			b, err := r.Next(ctx)
			var it readItem
			if err != nil {
				it = readItem{k: k, err: err}
			} else {
				it = readItem{k: k, b: b, pos: r.Positions()}
			}
			select {
			case items <- it:
			case <-ctx.Done():
				if b.Chunk != nil {
					b.Chunk.Release()
				}
				return
			}
			if err != nil {
				return
			}
		}
	}()
}

// Run drives the readers until ctx is done.
func (d *driver) Run(ctx context.Context, barriers <-chan uint64, out chan<- Message) error {
	rctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	items := make(chan readItem)
	defer func() {
		cancel()
		// Unblock readers stuck on items, then close them.
		go func() {
			for it := range items {
				if it.b.Chunk != nil {
					it.b.Chunk.Release()
				}
			}
		}()
		wg.Wait()
		close(items)
		for _, rt := range d.readers {
			rt.r.Close()
		}
		if c, ok := d.src.(io.Closer); ok {
			c.Close()
		}
	}()

	ids, err := d.src.Splits(ctx)
	if err != nil {
		return err
	}
	if err := d.assign(ids, items, rctx, &wg); err != nil {
		return err
	}
	// Split discovery runs beside the loop; its results come back on
	// found.
	var found chan []string
	if d.opts.Discover > 0 {
		found = make(chan []string, 1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(d.opts.Discover)
			defer t.Stop()
			for {
				select {
				case <-rctx.Done():
					return
				case <-t.C:
				}
				ids, err := d.src.Splits(rctx)
				if err != nil {
					if d.opts.OnError != nil && rctx.Err() == nil {
						d.opts.OnError(err)
					}
					continue
				}
				select {
				case found <- ids:
				case <-rctx.Done():
					return
				}
			}
		}()
	}

	// barrier passes on a barrier received from the coordinator (ok
	// false: the channel is closed, no more come).
	barrier := func(epoch uint64, ok bool) error {
		if !ok {
			barriers = nil
			return nil
		}
		return Send(ctx, out, Message{Kind: MsgBarrier, Epoch: epoch, Pos: d.encodePos()})
	}
	var idle <-chan time.Time
	if d.wm != nil && d.opts.IdleTimeout > 0 {
		t := time.NewTicker(min(max(d.opts.IdleTimeout/10, 10*time.Millisecond), time.Second))
		defer t.Stop()
		idle = t.C
	}
	rl := newRateLimit(d.opts.Rate, d.opts.Burst)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	var pending *readItem // a batch waiting for the rate limit
	defer func() {
		if pending != nil && pending.b.Chunk != nil {
			pending.b.Chunk.Release()
		}
	}()
	for {
		// Barriers first: they never wait behind reading.
	drain:
		for {
			select {
			case e, ok := <-barriers:
				if err := barrier(e, ok); err != nil {
					return err
				}
				if !ok {
					break drain
				}
			default:
				break drain
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if pending != nil {
			if wait := rl.delay(pending.events()); wait > 0 {
				timer.Reset(wait)
				select {
				case <-ctx.Done():
					return ctx.Err()
				case e, ok := <-barriers:
					if err := barrier(e, ok); err != nil {
						return err
					}
				case <-timer.C:
				}
				timer.Stop()
				continue
			}
			rl.take(pending.events())
			it := pending
			pending = nil
			if err := d.send(ctx, out, it); err != nil {
				return err
			}
			continue
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case e, ok := <-barriers:
			if err := barrier(e, ok); err != nil {
				return err
			}
		case ids := <-found:
			if err := d.assign(ids, items, rctx, &wg); err != nil {
				return err
			}
		case <-idle:
			for _, w := range d.wm.tick() {
				if err := Send(ctx, out, Message{Kind: MsgWatermark, WM: w}); err != nil {
					return err
				}
			}
		case it := <-items:
			if it.err != nil {
				if errors.Is(it.err, io.EOF) {
					rt := d.readers[it.k]
					rt.running = false
					if rt.assignedWhileRunning {
						// Splits assigned after the reader may have
						// found itself exhausted: read on.
						d.startReader(rctx, it.k, items, &wg)
					}
					continue
				}
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return it.err
			}
			if len(it.b.SchemaChanges) > 0 {
				// The position before the event goes with it, so that the
				// table commits everything before the DDL first.
				before := d.encodePos()
				if len(it.b.Rejects) > 0 {
					if err := Send(ctx, out, Message{Kind: MsgRejects, Rejects: it.b.Rejects}); err != nil {
						return err
					}
				}
				for _, s := range it.pos {
					d.pos[s.ID] = s.Pos
				}
				if err := Send(ctx, out, Message{Kind: MsgSchemaChange, SchemaChanges: it.b.SchemaChanges, Pos: before, PosAfter: d.encodePos()}); err != nil {
					return err
				}
				continue
			}
			if rl.rate > 0 && it.b.Chunk != nil && len(it.b.Rejects) == 0 {
				pending = &it
				continue
			}
			if err := d.send(ctx, out, &it); err != nil {
				return err
			}
		}
	}
}

// send passes a batch downstream and adopts the positions after it.
func (d *driver) send(ctx context.Context, out chan<- Message, it *readItem) error {
	wms := it.b.Watermarks
	if d.wm != nil {
		// Before the chunk goes: downstream owns it once sent.
		adv, err := d.wm.observe(it.b.Chunk, it.b.Splits)
		if err != nil {
			if it.b.Chunk != nil {
				it.b.Chunk.Release()
			}
			return err
		}
		wms = append(wms, adv...)
	}
	if len(it.b.Rejects) > 0 {
		if err := Send(ctx, out, Message{Kind: MsgRejects, Rejects: it.b.Rejects}); err != nil {
			if it.b.Chunk != nil {
				it.b.Chunk.Release()
			}
			return err
		}
	}
	if it.b.Chunk != nil {
		if err := Send(ctx, out, Message{Kind: MsgChunk, Chunk: it.b.Chunk}); err != nil {
			return err
		}
	}
	for _, w := range wms {
		if err := Send(ctx, out, Message{Kind: MsgWatermark, WM: w}); err != nil {
			return err
		}
	}
	for _, s := range it.pos {
		d.pos[s.ID] = s.Pos
	}
	return nil
}

func (it *readItem) events() float64 {
	if it.b.Events > 0 {
		return float64(it.b.Events)
	}
	if it.b.Chunk != nil {
		return float64(it.b.Chunk.N)
	}
	return 0
}

// rateLimit is a token bucket: tokens accrue at rate per second up to
// burst (or the batch at hand, if larger); a source that falls behind
// does not catch up with a burst beyond that.
type rateLimit struct {
	rate, burst, tokens float64
	last                time.Time
}

func newRateLimit(rate, burst float64) *rateLimit {
	return &rateLimit{rate: rate, burst: max(burst, rate/10), tokens: burst, last: time.Now()}
}

func (r *rateLimit) refill(n float64) {
	now := time.Now()
	r.tokens = min(r.tokens+now.Sub(r.last).Seconds()*r.rate, max(r.burst, n))
	r.last = now
}

// delay is how long to wait before n events may go.
func (r *rateLimit) delay(n float64) time.Duration {
	if r.rate <= 0 {
		return 0
	}
	r.refill(n)
	if r.tokens >= n {
		return 0
	}
	return time.Duration((n - r.tokens) / r.rate * float64(time.Second))
}

func (r *rateLimit) take(n float64) {
	if r.rate > 0 {
		r.tokens -= n
	}
}

// SplitPositions decodes the position of a driven source with several
// (or discoverable) splits, as its barriers carry it, into each split's
// position; tools that watch a job's progress read it through their
// connector (kafka.Offsets).
func SplitPositions(pos []byte) ([]Split, error) {
	d := &driver{pos: map[string][]byte{}}
	if err := d.decodePos(pos); err != nil {
		return nil, err
	}
	out := make([]Split, 0, len(d.pos))
	for id, p := range d.pos {
		out = append(out, Split{ID: id, Pos: p})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}
