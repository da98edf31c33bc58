package stream

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/cockroachdb/pebble/v2"

	"streamsql/exec"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/storage"
)

// MaterializeSpec keeps a view's rows in pebble and feeds the views
// defined on it.
//
// State: the view table itself, storage.TableKey(ViewID, key) ->
// types.EncodeRow(visible columns), where key is the order-preserving
// encoding of the input's stream key columns. Changes of an epoch are kept
// in a batch of the operator's own (a later change of a key overrides an
// earlier one when the batch commits) and join the epoch's writes at the
// barrier, so the table always holds the view as of the last committed
// epoch. Ad-hoc reads
// scan it like a table.
type MaterializeSpec struct {
	ViewID uint32
	Name   string
	// Visible are the input columns that are the view's columns; KeyCols
	// the input's stream key columns.
	Visible []int
	KeyCols []int
	Types   []types.T // input column types
}

func (s *MaterializeSpec) Explain() string { return "StreamMaterialize " + s.Name }

func (s *MaterializeSpec) Build(b *BuildCtx, out Output) (Operator, error) {
	m := &materialize{spec: s, env: b.Env, out: out, prefix: storage.TableKey(s.ViewID, nil)}
	m.keyExpr = &KeyExpr{Untagged: true, Cols: s.KeyCols, Types: make([]types.T, len(s.KeyCols))}
	for i, c := range s.KeyCols {
		m.keyExpr.Types[i] = s.Types[c]
	}
	m.visTypes = make([]types.T, len(s.Visible))
	for i, c := range s.Visible {
		m.visTypes[i] = s.Types[c]
	}
	if b.Env.Views != nil {
		b.Env.Views.register(s.ViewID, m)
		m.logs.active = b.Env.Views.takeLogs(s.ViewID)
	}
	return m, nil
}

// materialize is the view's last operator. Its downstream views receive
// the visible columns plus the encoded key (as ViewSource outputs them).
type materialize struct {
	spec     *MaterializeSpec
	env      *Env
	out      Output
	keyExpr  *KeyExpr
	visTypes []types.T
	// w holds the epoch's changes, written in arrival order.
	w      *pebble.Batch
	prefix []byte // the view table's key prefix
	keyBuf []byte
	valBuf []byte
	row    []types.Datum
	// logs are the view's durable subscriptions (subscription_log.go).
	logs changeLogs
	// sinkChanges are the epoch's changes for the sinks reading the view
	// (sink_view_log.go).
	sinkChanges *ViewChanges

	mu      sync.Mutex
	downs   []*viewLink
	pending []*viewLink // attach at their epoch's barrier
	// lastWM is the last watermark sent down per output column, idle
	// marks included: a link that attaches later receives them after
	// its snapshot, as they hold for every later change of the view
	// (an idle mark is sent once, a quiet input's watermark may not
	// move again for long).
	lastWM map[int]Watermark
}

// viewLink connects a materialize to a downstream job's ViewSource.
type viewLink struct {
	ch   chan Message
	done chan struct{} // closed when the downstream stops reading
	// attachAt is the barrier after which the link receives messages; the
	// downstream snapshot is the view as committed at that epoch.
	attachAt uint64
	// feed: a subscriber's link (stream.Feed), which takes no watermarks;
	// after the start barrier it waits for that epoch to commit before it
	// reads again, so nothing else may be sent to it then.
	feed bool
}

func (m *materialize) Chunk(_ int, c *Chunk) error {
	m.mu.Lock()
	hasDowns := len(m.downs) > 0
	m.mu.Unlock()
	ts := m.spec.Types
	var keys []string
	if hasDowns {
		keys = make([]string, c.N)
	}
	if m.w == nil {
		m.w = m.env.DB.Pebble().NewBatch()
	}
	if m.row == nil {
		m.row = make([]types.Datum, len(m.spec.Visible))
	}
	logging := len(m.logs.active) > 0
	if m.env.Views != nil && m.env.Views.readBySink(m.spec.ViewID) {
		if m.sinkChanges == nil {
			m.sinkChanges = &ViewChanges{keyExpr: m.keyExpr, visible: m.spec.Visible, types: m.spec.Types, visTypes: m.visTypes}
		}
		m.sinkChanges.add(c)
	}
	for i := 0; i < c.N; i++ {
		m.keyBuf = m.keyExpr.appendRow(append(m.keyBuf[:0], m.prefix...), c.Cols, i)
		if keys != nil {
			keys[i] = string(m.keyBuf[len(m.prefix):])
		}
		if c.Ops[i].IsInsert() || logging {
			for j, vc := range m.spec.Visible {
				m.row[j] = types.GetDatum(c.Cols[vc], i, ts[vc])
			}
			m.valBuf = types.EncodeRow(m.valBuf[:0], m.row, m.visTypes)
			if logging {
				m.logs.add(c.Ops[i], m.keyBuf[len(m.prefix):], m.valBuf)
			}
		}
		if c.Ops[i].IsInsert() {
			if err := m.w.Set(m.keyBuf, m.valBuf, nil); err != nil {
				c.Release()
				return err
			}
		} else if err := m.w.Delete(m.keyBuf, nil); err != nil {
			c.Release()
			return err
		}
	}
	m.env.Stats.RowsOut.Add(int64(c.N))
	if !hasDowns {
		c.Release()
		return nil
	}
	return m.forward(c, keys)
}

// forward sends the chunk's visible columns and keys (the view's storage
// keys of its rows) to every downstream.
func (m *materialize) forward(c *Chunk, keys []string) error {
	defer c.Release()
	kb := array.NewBinaryBuilder(types.Mem, arrow.BinaryTypes.Binary)
	kb.AppendStringValues(keys, nil)
	key := kb.NewArray()
	kb.Release()
	cols := make([]arrow.Array, 0, len(m.spec.Visible)+1)
	for _, vc := range m.spec.Visible {
		cols = append(cols, c.Cols[vc])
	}
	cols = append(cols, key)
	m.mu.Lock()
	downs := append([]*viewLink(nil), m.downs...)
	m.mu.Unlock()
	// vis holds the key's only reference; every link gets a share.
	vis := &Chunk{Cols: cols, Ops: c.Ops, N: c.N}
	for _, d := range downs {
		if err := m.send(d, Message{Kind: MsgChunk, Chunk: vis.Share()}); err != nil {
			return err
		}
	}
	key.Release()
	return nil
}

func (m *materialize) send(d *viewLink, msg Message) error {
	select {
	case d.ch <- msg:
	case <-d.done:
		if msg.Chunk != nil {
			msg.Chunk.Release()
		}
		m.detach(d)
	}
	return nil
}

func (m *materialize) Watermark(_ int, w Watermark) error {
	for j, vc := range m.spec.Visible {
		if vc == w.Col {
			dw := Watermark{Col: j, Val: w.Val, Idle: w.Idle, Emit: w.Emit}
			if last, ok := m.lastWM[j]; !ok || dw.Val != nil || last.Val == nil {
				if m.lastWM == nil {
					m.lastWM = map[int]Watermark{}
				}
				m.lastWM[j] = dw
			}
			m.mu.Lock()
			downs := append([]*viewLink(nil), m.downs...)
			m.mu.Unlock()
			for _, d := range downs {
				if d.feed {
					continue
				}
				if err := m.send(d, Message{Kind: MsgWatermark, WM: dw}); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// TakesIdleMarks: a view passes idle marks on to the views that read it,
// whose unions and joins leave the idle input out as within one view.
func (m *materialize) TakesIdleMarks() bool { return true }

func (m *materialize) Barrier(b *Barrier) error {
	if ch := m.sinkChanges; ch != nil {
		m.sinkChanges = nil
		if b.ViewLog != nil {
			b.ViewLog(m.spec.ViewID, ch)
		} else {
			ch.Release()
		}
	}
	if len(m.logs.active) > 0 {
		if m.w == nil {
			m.w = m.env.DB.Pebble().NewBatch()
		}
		// Logs active during the epoch hold its changes from here on.
		if err := m.logs.markStarts(m.w, m.env.DB.Latest(), b.Epoch); err != nil {
			return err
		}
		if err := m.logs.flush(m.w, b.Epoch, m.env.DB.Latest()); err != nil {
			return err
		}
	}
	if m.env.Views != nil {
		m.logs.active = m.env.Views.takeLogs(m.spec.ViewID)
		if len(m.logs.active) > 0 {
			// Logs taken up now hold the changes of the next epoch on.
			if m.w == nil {
				m.w = m.env.DB.Pebble().NewBatch()
			}
			if err := m.logs.markStarts(m.w, m.env.DB.Latest(), b.Epoch+1); err != nil {
				return err
			}
		}
	}
	if m.w != nil && !m.w.Empty() {
		if b.Also != nil {
			b.Also(m.w)
			m.w = nil
		} else {
			if err := b.Writes.Apply(m.w, nil); err != nil {
				return err
			}
			m.w.Reset()
		}
	}
	m.mu.Lock()
	downs := append([]*viewLink(nil), m.downs...)
	var attach []*viewLink
	keep := m.pending[:0]
	for _, p := range m.pending {
		if p.attachAt <= b.Epoch {
			p.attachAt = b.Epoch
			attach = append(attach, p)
			m.downs = append(m.downs, p)
		} else {
			keep = append(keep, p)
		}
	}
	m.pending = keep
	m.mu.Unlock()
	for _, d := range downs {
		if err := m.send(d, Message{Kind: MsgBarrier, Epoch: b.Epoch, Stop: b.Stop}); err != nil {
			return err
		}
	}
	for _, d := range attach {
		if err := m.send(d, Message{Kind: MsgBarrier, Epoch: b.Epoch, Start: true}); err != nil {
			return err
		}
		for j := range m.spec.Visible {
			if w, ok := m.lastWM[j]; ok && !d.feed {
				if err := m.send(d, Message{Kind: MsgWatermark, WM: w}); err != nil {
					return err
				}
			}
		}
	}
	return m.out.Barrier(b)
}

// attach adds a downstream link: at once (live, for a restart where both
// jobs resume from the same committed epoch) or at the first barrier with
// epoch >= l.attachAt.
func (m *materialize) attach(l *viewLink, now bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if now {
		m.downs = append(m.downs, l)
	} else {
		m.pending = append(m.pending, l)
	}
}

func (m *materialize) detach(l *viewLink) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, d := range m.downs {
		if d == l {
			m.downs = append(m.downs[:i:i], m.downs[i+1:]...)
			return
		}
	}
	for i, d := range m.pending {
		if d == l {
			m.pending = append(m.pending[:i:i], m.pending[i+1:]...)
			return
		}
	}
}

// Views finds the materialize operators of running views, so that a view
// source can attach to its upstream.
type Views struct {
	mu   sync.Mutex
	byID map[uint32]*materialize
	// logs are the durable subscriptions per view; logWait who waits for
	// a view to take up a change of them.
	logs    map[uint32][]ChangeLog
	logWait map[uint32][]chan struct{}
	// sinkReaders are the sinks reading each view, for which the view
	// encodes its changes (sink_view_log.go).
	sinkReaders map[uint32]map[uint32]bool
}

func (v *Views) addSinkReader(view, sink uint32) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.sinkReaders == nil {
		v.sinkReaders = map[uint32]map[uint32]bool{}
	}
	if v.sinkReaders[view] == nil {
		v.sinkReaders[view] = map[uint32]bool{}
	}
	v.sinkReaders[view][sink] = true
}

func (v *Views) dropSinkReader(sink uint32) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for view, s := range v.sinkReaders {
		delete(s, sink)
		if len(s) == 0 {
			delete(v.sinkReaders, view)
		}
	}
}

// readBySink reports whether a sink reads view.
func (v *Views) readBySink(view uint32) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.sinkReaders[view]) > 0
}

// NewViews returns an empty registry.
func NewViews() *Views { return &Views{byID: map[uint32]*materialize{}} }

func (v *Views) register(id uint32, m *materialize) {
	v.mu.Lock()
	v.byID[id] = m
	v.mu.Unlock()
}

// Forget removes a view (its job stopped).
func (v *Views) Forget(id uint32) {
	v.mu.Lock()
	delete(v.byID, id)
	for _, ch := range v.logWait[id] {
		close(ch)
	}
	delete(v.logWait, id)
	v.mu.Unlock()
}

func (v *Views) get(id uint32) *materialize {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.byID[id]
}

// ViewSourceSpec reads another view: its rows as of the epoch at which
// this job attaches, then its changes. Output: the view's columns plus a
// bytea key column (the view's storage key), which is the stream key.
type ViewSourceSpec struct {
	Table  *storage.Table // the upstream view's storage (visible columns, opaque keys)
	ViewID uint32
}

func (s *ViewSourceSpec) Explain() string { return "StreamViewScan " + s.Table.Name }

func (s *ViewSourceSpec) Open(b *BuildCtx, pos []byte) (Source, error) {
	up := b.Env.Views.get(s.ViewID)
	if up == nil {
		return nil, fmt.Errorf("view %s is not running", s.Table.Name)
	}
	v := &viewSource{spec: s, env: b.Env, up: up, fresh: b.Env.Fresh}
	v.link = &viewLink{ch: make(chan Message, 4), done: make(chan struct{})}
	if b.Env.ViewLogJob != 0 && !v.fresh {
		// A job that committed before: it may be behind the view, by
		// the epochs its view log holds (sink_view_log.go).
		from, ok := viewLogPos(pos)
		if !ok && b.Env.CatchUp {
			if !b.Env.ViewLogKeyed {
				return nil, sqlerr.New(sqlerr.FeatureNotSupported,
					"%s reads view %s but has no recorded position in it (it last committed before positions were recorded), so it cannot be resumed", b.Env.ViewLogOwner, s.Table.Name).
					WithHint("%s", noPositionHint(b.Env))
			}
			// A keyed sink: rebuilt from the view's rows at the attach
			// epoch, sent again as upserts (sink_view_log.go).
			v.catchUp, v.rebuild = true, true
			return v, nil
		}
		if !ok && b.Env.ViewLogKeyed && b.Env.Committed != nil {
			// A keyed sink at a server start: it may have been behind
			// the view when the server stopped, by changes nobody
			// recorded. Rebuilt from the view's rows before its first
			// epoch, so its target converges to the view (Run).
			v.rebuild = true
		}
		if ok {
			if err := checkViewLog(b.Env); err != nil {
				return nil, err
			}
			v.from = from
		}
		if b.Env.CatchUp {
			// Attached by the coordinator (catchUpAt) at an epoch it
			// picks; the log replays what comes before it.
			v.catchUp = true
			return v, nil
		}
		if ok && b.Env.Committed != nil {
			v.replayTo = b.Env.Committed()
		}
	}
	// Attach now, while the coordinator holds the epoch still: a fresh job
	// attaches at its attach epoch's barrier, a resumed one at once (it is
	// at the same committed epoch as its upstream).
	if v.fresh {
		v.link.attachAt = b.Env.AttachEpoch
	}
	up.attach(v.link, !v.fresh)
	return v, nil
}

type viewSource struct {
	link  *viewLink
	spec  *ViewSourceSpec
	env   *Env
	up    *materialize
	fresh bool
	// A sink's view source that starts behind the view replays the
	// epochs after from up to replayTo (a server start) or up to its
	// attach epoch (catchUp) from the sink's view log.
	from, replayTo uint64
	catchUp        bool
	// rebuild: a keyed sink without a position in the view sends the
	// view's rows at its attach epoch instead (sink_view_log.go).
	rebuild bool
}

// abandon detaches the source of a job that never ran.
func (v *viewSource) abandon() {
	v.up.detach(v.link)
}

// catchUpAt attaches the source at the barrier of epoch a.
func (v *viewSource) catchUpAt(a uint64) {
	v.link.attachAt = a
	v.up.attach(v.link, false)
}

func (v *viewSource) Types() []types.T {
	return append(append([]types.T(nil), v.spec.Table.Types...), types.TBytea)
}

// followsUpstream marks sources whose barriers come from upstream rather
// than from the coordinator.
func (v *viewSource) followsUpstream() {}

func (v *viewSource) Run(ctx context.Context, _ <-chan uint64, out chan<- Message) error {
	link := v.link
	defer close(link.done)
	if v.rebuild && !v.catchUp {
		// At the last committed epoch, with the view: the rows its view
		// log holds as deleted, then the view's rows, into the first
		// epoch once the jobs that read the view have attached.
		if err := v.env.waitRunning(ctx); err != nil {
			return err
		}
		if err := v.rebuildKeyed(ctx, v.env.Committed(), out); err != nil {
			return err
		}
	}
	if v.replayTo > v.from {
		// Replayed into the first epoch, once the jobs that read this
		// job's view have attached to it too.
		if err := v.env.waitRunning(ctx); err != nil {
			return err
		}
		if err := v.replayViewLog(ctx, v.from, v.replayTo, out); err != nil {
			return err
		}
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case m := <-link.ch:
			if m.Kind == MsgBarrier && m.Start {
				if v.rebuild {
					if err := v.rebuildKeyed(ctx, m.Epoch, out); err != nil {
						return err
					}
					continue
				}
				if v.catchUp {
					if err := v.env.WaitCommitted(ctx, m.Epoch); err != nil {
						return err
					}
					if err := v.replayViewLog(ctx, v.from, m.Epoch, out); err != nil {
						return err
					}
					continue
				}
				if err := v.snapshot(ctx, m.Epoch, out); err != nil {
					return err
				}
				continue
			}
			if m.Kind == MsgBarrier {
				// The position: the epoch the job passes with the view.
				m.Pos = binary.BigEndian.AppendUint64(nil, m.Epoch)
			}
			if err := Send(ctx, out, m); err != nil {
				return err
			}
		}
	}
}

// snapshot sends the upstream view's contents as of epoch e.
func (v *viewSource) snapshot(ctx context.Context, e uint64, out chan<- Message) error {
	if err := v.env.WaitCommitted(ctx, e); err != nil {
		return err
	}
	t := v.spec.Table
	it, err := t.Scan(v.env.DB.Latest(), storage.FullSpan)
	if err != nil {
		return err
	}
	defer it.Close()
	cols := make([]int, len(t.Types))
	for i := range cols {
		cols[i] = i
	}
	for {
		arrs, n, keys, err := it.NextBatch(cols, exec.BatchSize)
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		arrs = append(arrs, bytesArray(keys))
		if err := Send(ctx, out, Message{Kind: MsgChunk, Chunk: NewChunk(arrs, make([]Op, n))}); err != nil {
			return err
		}
	}
}

// bytesArray returns a bytea array of vs.
func bytesArray(vs [][]byte) arrow.Array {
	b := array.NewBinaryBuilder(types.Mem, arrow.BinaryTypes.Binary)
	defer b.Release()
	b.Reserve(len(vs))
	for _, v := range vs {
		b.Append(v)
	}
	return b.NewArray()
}
