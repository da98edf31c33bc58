package stream

// Exchanges connect the fragments of a job. A fragment is a part of the
// plan run by one goroutine; a fragment with parallelism N runs as N
// instances, each owning a share of the keys of its stateful operators.
// The exchange below such a fragment routes every row to the instance
// that owns its key (hash distribution), or gathers all rows into a
// single instance. Barriers and watermarks go to every instance.
//
// Routing is a pure function of the key values, with no per-process
// seed: an instance's state tables hold exactly the keys the exchange
// sends it, before and after a restart.

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/cespare/xxhash/v2"

	"streamsql/exec/expr"
	"streamsql/sql/types"
)

// ExchangeSpec is a fragment boundary: its input runs in other goroutines
// (Node.Parallelism instances of the input's fragment), its consumer in
// Node.Parallelism instances of the fragment above.
type ExchangeSpec struct {
	// Keys are the input columns rows are distributed by; nil gathers
	// every row into the single consumer instance.
	Keys  []int
	Types []types.T
}

// Build is never called: the job wires exchanges itself.
func (s *ExchangeSpec) Build(*BuildCtx, Output) (Operator, error) {
	return nil, fmt.Errorf("stream: an exchange is not an operator")
}

// Explain describes the exchange.
func (s *ExchangeSpec) Explain() string {
	if len(s.Keys) == 0 {
		return "Exchange gather"
	}
	parts := make([]string, len(s.Keys))
	for i, k := range s.Keys {
		parts[i] = fmt.Sprintf("$%d", k)
	}
	return "Exchange hash(" + strings.Join(parts, ", ") + ")"
}

// exchangeRT is an exchange of a running job: the consumer instances'
// inboxes, where each expects this exchange's messages.
type exchangeRT struct {
	node      *Node
	receivers []exchangeReceiver
}

type exchangeReceiver struct {
	f *fragment
	// first is the flat sender id of sender 0 in f; sender k is first+k.
	first int
}

// exchangeSender is the output of one instance of the fragment below an
// exchange.
type exchangeSender struct {
	ctx  context.Context
	ex   *exchangeRT
	spec *ExchangeSpec
	idx  int // this instance's sender number

	hashes []uint64
	keyBuf [][]byte
	dests  [][]int
}

func (s *exchangeSender) send(r int, m Message) error {
	rc := s.ex.receivers[r]
	return sendFrag(s.ctx, rc.f.inbox, srcMsg{src: rc.first + s.idx, m: m})
}

func sendFrag(ctx context.Context, ch chan<- srcMsg, m srcMsg) error {
	select {
	case ch <- m:
		return nil
	case <-ctx.Done():
		if m.m.Chunk != nil {
			m.m.Chunk.Release()
		}
		return ctx.Err()
	}
}

// Chunk routes the chunk's rows to the instances owning their keys. An
// update whose old and new rows go to different instances becomes a
// delete there and an insert here.
func (s *exchangeSender) Chunk(_ int, c *Chunk) error {
	n := len(s.ex.receivers)
	if n == 1 || len(s.spec.Keys) == 0 {
		return s.send(0, Message{Kind: MsgChunk, Chunk: c})
	}
	cols := make([]arrow.Array, len(s.spec.Keys))
	ts := make([]types.T, len(s.spec.Keys))
	for i, k := range s.spec.Keys {
		cols[i], ts[i] = c.Cols[k], s.spec.Types[k]
	}
	s.hashes = exchangeHash(s.hashes, &s.keyBuf, cols, ts, c.N)
	if cap(s.dests) < n {
		s.dests = make([][]int, n)
	}
	s.dests = s.dests[:n]
	for r := range s.dests {
		s.dests[r] = s.dests[r][:0]
	}
	for i, h := range s.hashes[:c.N] {
		r := int(h % uint64(n))
		s.dests[r] = append(s.dests[r], i)
	}
	for r, idx := range s.dests {
		if len(idx) == c.N {
			// Every row goes to one instance: pass the chunk on whole.
			return s.send(r, Message{Kind: MsgChunk, Chunk: c})
		}
	}
	defer c.Release()
	for r, idx := range s.dests {
		if len(idx) == 0 {
			continue
		}
		b := expr.Take(c.Batch(), idx)
		ops := make([]Op, len(idx))
		for k, i := range idx {
			op := c.Ops[i]
			// A split update pair loses its partner here.
			if op == UpdateDelete && (k+1 >= len(idx) || idx[k+1] != i+1) {
				op = Delete
			} else if op == UpdateInsert && (k == 0 || idx[k-1] != i-1) {
				op = Insert
			}
			ops[k] = op
		}
		out := NewChunk(b.Cols, ops)
		if err := s.send(r, Message{Kind: MsgChunk, Chunk: out}); err != nil {
			return err
		}
	}
	return nil
}

// Watermark goes to every instance.
func (s *exchangeSender) Watermark(_ int, w Watermark) error {
	for r := range s.ex.receivers {
		if err := s.send(r, Message{Kind: MsgWatermark, WM: w}); err != nil {
			return err
		}
	}
	return nil
}

// TakesIdleMarks: idle marks go to every instance, whose merge leaves
// the sender out (exchangeMerge).
func (s *exchangeSender) TakesIdleMarks() bool { return true }

// Barrier goes to every instance; this fragment's writes are already
// registered with the job, and what its operators added while they
// handled the barrier is written before it leaves.
func (s *exchangeSender) Barrier(b *Barrier) error {
	if err := b.Leave(); err != nil {
		return err
	}
	for r := range s.ex.receivers {
		if err := s.send(r, Message{Kind: MsgBarrier, Epoch: b.Epoch, Stop: b.Stop}); err != nil {
			return err
		}
	}
	return nil
}

// exchangeHash hashes the key columns of n rows so that keys equal under
// SQL grouping route alike. Integer-like columns hash their value as an
// int64, whatever their width, so keys of different integer types that
// compare equal route alike; text hashes its bytes (collation C), char(n)
// its bytes without trailing spaces, numeric its canonical key (1.5 and
// 1.50 alike), floats their bits with -0 as 0 and one NaN, intervals
// their compare span ('1 day' and '24 hours' alike); other types hash
// their canonical key encoding.
func exchangeHash(h []uint64, keyBuf *[][]byte, cols []arrow.Array, ts []types.T, n int) []uint64 {
	if cap(h) < n {
		h = make([]uint64, n)
	}
	h = h[:n]
	for i := range h {
		h[i] = 0x9e3779b97f4a7c15
	}
	for j, c := range cols {
		switch a := c.(type) {
		case *array.Int64:
			exchangeInts(h, a.Int64Values(), c)
		case *array.Int32:
			exchangeInts(h, a.Int32Values(), c)
		case *array.Int16:
			exchangeInts(h, a.Int16Values(), c)
		case *array.Timestamp:
			exchangeInts(h, a.TimestampValues(), c)
		case *array.Date32:
			exchangeInts(h, a.Date32Values(), c)
		case *array.Time64:
			exchangeInts(h, a.Time64Values(), c)
		case *array.String:
			if ts[j].Kind == types.Numeric {
				// Numeric values equal under "=" (1.5, 1.50) have one
				// canonical key: hash that, as grouping does.
				*keyBuf = exchangeNumericKeys(*keyBuf, c, ts[j], n)
				for i := range h {
					h[i] = exchangeMix(h[i] ^ xxhash.Sum64((*keyBuf)[i]))
				}
				continue
			}
			trim := ts[j].Kind == types.Char
			for i := range h {
				if c.IsNull(i) {
					h[i] = exchangeMix(h[i] ^ 0x5bd1e995)
					continue
				}
				v := a.Value(i)
				if trim {
					// char(n) ignores trailing spaces in comparisons.
					v = strings.TrimRight(v, " ")
				}
				h[i] = exchangeMix(h[i] ^ xxhash.Sum64String(v))
			}
		case *array.Float64:
			for i, v := range a.Float64Values() {
				if c.IsNull(i) {
					h[i] = exchangeMix(h[i] ^ 0x5bd1e995)
					continue
				}
				h[i] = exchangeMix(h[i] ^ exchangeFloatBits(v))
			}
		default:
			*keyBuf = exchangeRouteKeys(*keyBuf, c, ts[j], n)
			for i := range h {
				h[i] = exchangeMix(h[i] ^ xxhash.Sum64((*keyBuf)[i]))
			}
		}
	}
	return h
}

// exchangeRouteKeys writes the bytes that the routing hash of bool,
// float4, bytea, interval and all-NULL columns is taken over. The format
// is frozen: an instance's stored state holds the keys routed to it, so a
// restart must route every key as before. NULL is 0x00; a value is 0x01
// followed by a bool or float4 as an 8-byte little-endian word (float4
// with -0 as 0 and one NaN), a bytea as a uvarint length and its bytes,
// an interval as its compare span (two little-endian words); other
// layouts take their ascending state key.
func exchangeRouteKeys(keys [][]byte, c arrow.Array, t types.T, n int) [][]byte {
	keys = Grow(keys, n)[:n]
	for i := range keys {
		keys[i] = keys[i][:0]
		switch c.(type) {
		case *array.Boolean, *array.Float32, *array.Binary, *array.MonthDayNanoInterval, *array.Null:
		default:
			keys[i] = types.AppendKey(keys[i], types.GetDatum(c, i, t), t, false)
			continue
		}
		if c.IsNull(i) {
			keys[i] = append(keys[i], 0)
			continue
		}
		keys[i] = append(keys[i], 1)
		switch a := c.(type) {
		case *array.Boolean:
			var w uint64
			if a.Value(i) {
				w = 1
			}
			keys[i] = binary.LittleEndian.AppendUint64(keys[i], w)
		case *array.Float32:
			keys[i] = binary.LittleEndian.AppendUint64(keys[i], exchangeFloatBits(float64(a.Value(i))))
		case *array.Binary:
			v := a.Value(i)
			keys[i] = append(binary.AppendUvarint(keys[i], uint64(len(v))), v...)
		case *array.MonthDayNanoInterval:
			v := a.Value(i)
			k := types.IntervalCompareKey(types.IntervalValue{Months: v.Months, Days: v.Days, Micros: v.Nanoseconds / 1000})
			keys[i] = binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(keys[i], uint64(k.Hi)), k.Lo)
		}
	}
	return keys
}

// exchangeNumericKeys writes the ascending state keys of a numeric
// column (text layout): equal numbers get equal keys whatever their
// scale.
func exchangeNumericKeys(keys [][]byte, c arrow.Array, t types.T, n int) [][]byte {
	keys = Grow(keys, n)[:n]
	for i := range keys {
		keys[i] = keys[i][:0]
	}
	return types.AppendKeys(keys, c, t, false, false)
}

func exchangeInts[V ~int16 | ~int32 | ~int64](h []uint64, vals []V, c arrow.Array) {
	if c.NullN() == 0 {
		for i, v := range vals[:len(h)] {
			h[i] = exchangeMix(h[i] ^ uint64(int64(v)))
		}
		return
	}
	for i, v := range vals[:len(h)] {
		if c.IsNull(i) {
			h[i] = exchangeMix(h[i] ^ 0x5bd1e995)
			continue
		}
		h[i] = exchangeMix(h[i] ^ uint64(int64(v)))
	}
}

// exchangeFloatBits maps floats equal under SQL "=" to equal bits (-0 to
// 0, every NaN to one value) in the frozen routing format.
func exchangeFloatBits(f float64) uint64 {
	if f == 0 {
		return 0
	}
	if f != f {
		return 0x7ff8000000000001
	}
	return math.Float64bits(f)
}

// exchangeMix is SplitMix64's finalizer.
func exchangeMix(x uint64) uint64 {
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// exchangeMerge tracks, for a leaf with several senders, each sender's
// watermark per column and forwards their minimum when it advances.
type exchangeMerge struct {
	types []types.T
	n     int
	cols  map[int]*wmCol
}

type wmCol struct {
	last []types.Datum // per sender, nil until it sent one
	idle []bool        // per sender: its last watermark was idle
	sent types.Datum
	// emit is per sender its last Watermark.Emit (its Val where it sent
	// none); sentEmit the minimum last sent.
	emit     []types.Datum
	sentEmit types.Datum
	// marked: an idle mark went out (every sender sent one).
	marked bool
}

// add records sender k's watermark and returns the merged watermark to
// forward, if it advanced.
func (m *exchangeMerge) add(k int, w Watermark) (Watermark, bool) {
	if m.n == 1 {
		return w, true
	}
	wc := m.cols[w.Col]
	if wc == nil {
		wc = &wmCol{last: make([]types.Datum, m.n), idle: make([]bool, m.n), emit: make([]types.Datum, m.n)}
		m.cols[w.Col] = wc
	}
	t := m.types[w.Col]
	if w.Val != nil && (wc.last[k] == nil || types.Compare(w.Val, wc.last[k], t) > 0) {
		wc.last[k] = w.Val
	}
	e := w.Emit
	if e == nil {
		e = w.Val
	}
	if e != nil && (wc.emit[k] == nil || types.Compare(e, wc.emit[k], t) > 0) {
		wc.emit[k] = e
	}
	wc.idle[k] = w.Idle
	var min types.Datum
	idle := true
	for i, v := range wc.last {
		if v == nil {
			// A sender without a watermark holds the merge back unless
			// it sent an idle mark (Output.Watermark).
			if !wc.idle[i] {
				return Watermark{}, false
			}
			continue
		}
		if min == nil || types.Compare(v, min, t) < 0 {
			min = v
		}
		idle = idle && wc.idle[i]
	}
	if min == nil {
		// Every sender sent an idle mark: pass one on, once.
		if wc.marked {
			return Watermark{}, false
		}
		wc.marked = true
		return Watermark{Col: w.Col, Idle: true}, true
	}
	emit := wc.minEmit(t)
	moved := wc.sent == nil || types.Compare(min, wc.sent, t) > 0
	emitMoved := emit != nil && (wc.sentEmit == nil || types.Compare(emit, wc.sentEmit, t) > 0)
	if !moved && !emitMoved {
		return Watermark{}, false
	}
	if moved {
		wc.sent = min
	}
	if emitMoved {
		wc.sentEmit = emit
	}
	return Watermark{Col: w.Col, Val: wc.sent, Idle: idle, Emit: wc.sentEmit}, true
}

// minEmit is the least Emit of the senders with a watermark, or nil
// when none of them sent an Emit above its Val (no allowed lateness).
func (wc *wmCol) minEmit(t types.T) types.Datum {
	var min types.Datum
	ahead := false
	for i, e := range wc.emit {
		if wc.last[i] == nil {
			continue // idle sender without a value, left out as above
		}
		if types.Compare(e, wc.last[i], t) > 0 {
			ahead = true
		}
		if min == nil || types.Compare(e, min, t) < 0 {
			min = e
		}
	}
	if !ahead {
		return nil
	}
	return min
}
