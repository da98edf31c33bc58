package stream

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"streamsql/sql/types"
	"streamsql/storage"
)

// Late rows are the rows that arrived behind their watermark. A view
// declared WITH (late_rows = 'keep') (the default) keeps them, so that
// no message is dropped without a trace: each watermark filter of the
// job writes the rows it held back into the epoch's batch, with the
// source positions, so a late row is stored exactly once however often
// the job restarts; they go when the view is dropped. The late_rows
// relation reads them.
//
// Layout: jobKey(job, 'l', seq) -> JSON of LateRow, seq a big-endian
// uint64 counting the job's late rows from 0. Readers see the newest
// max rows (the view's late_rows_max, DefaultLateRowsMax unless set).
// Older ones are deleted in steps: once the log holds a slack of
// max/8 rows (at least 16) beyond max, one range deletion takes it back
// to max, so a view that receives late rows every epoch writes one
// range tombstone per slack rows rather than one per epoch.

// LateRow is one row that arrived behind the watermark.
type LateRow struct {
	// Relation is the source or table the row came from.
	Relation string
	// Row is the row as a JSON object of its columns.
	Row json.RawMessage
	// EventTime is the row's event-time value and Watermark the watermark
	// it missed, as text.
	EventTime, Watermark string
	// Arrived is when the row was processed.
	Arrived time.Time
}

// DefaultLateRowsMax is how many late rows a view keeps unless its
// late_rows_max option says otherwise; MaxLateRowsMax bounds that option.
const (
	DefaultLateRowsMax = 10_000
	MaxLateRowsMax     = 1_000_000
)

// lateSlack is how many rows beyond max the log holds before it is
// trimmed back to max.
func lateSlack(max uint64) uint64 { return (max/8 + 16) }

// lateMax is the retention bound of a job: its option, or the default.
func lateMax(max int) uint64 {
	if max <= 0 {
		return DefaultLateRowsMax
	}
	return uint64(min(max, MaxLateRowsMax))
}

func lateKey(job uint32, seq uint64) []byte {
	var s [8]byte
	binary.BigEndian.PutUint64(s[:], seq)
	return jobKey(job, 'l', s[:]...)
}

// LateLog appends one job's late rows; the job's watermark filters share
// it (each writes its own rows into its own barrier's batch).
type LateLog struct {
	job         uint32
	max         uint64
	mu          sync.Mutex
	next, first uint64
}

// OpenLateLog reads where job's late rows stand; the log keeps the
// newest max rows (0: DefaultLateRowsMax).
func OpenLateLog(r storage.Reader, job uint32, max int) (*LateLog, error) {
	lo, hi := jobKey(job, 'l'), jobKey(job, 'm')
	it, err := r.NewIter(lo, hi)
	if err != nil {
		return nil, err
	}
	l := &LateLog{job: job, max: lateMax(max)}
	// At most max plus the slack keys: reading them at job start is cheap.
	for ok := it.First(); ok; ok = it.Next() {
		seq := binary.BigEndian.Uint64(it.Key()[len(lo):])
		if l.next == 0 {
			l.first = seq
		}
		l.next = seq + 1
	}
	return l, it.Close()
}

// Append writes rs into w and, once the log holds more than its slack
// beyond max, deletes the oldest rows down to max with one range
// deletion.
func (l *LateLog) Append(w *pebble.Batch, rs []LateRow) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range rs {
		v, err := json.Marshal(r)
		if err != nil {
			return err
		}
		if err := w.Set(lateKey(l.job, l.next), v, nil); err != nil {
			return err
		}
		l.next++
	}
	if l.next-l.first > l.max+lateSlack(l.max) {
		keep := l.next - l.max
		if err := w.DeleteRange(lateKey(l.job, l.first), lateKey(l.job, keep), nil); err != nil {
			return err
		}
		l.first = keep
	}
	return nil
}

// lateRowJSON renders a row as a JSON object of its columns: integers,
// booleans and jsonb as themselves, NULL as null, everything else as a
// string of its text form.
func lateRowJSON(row []types.Datum, ts []types.T, names []string, loc *time.Location) json.RawMessage {
	var sb strings.Builder
	sb.WriteByte('{')
	for i, d := range row {
		if i > 0 {
			sb.WriteByte(',')
		}
		name := fmt.Sprintf("column%d", i+1)
		if i < len(names) && names[i] != "" {
			name = names[i]
		}
		k, _ := json.Marshal(name)
		sb.Write(k)
		sb.WriteByte(':')
		switch {
		case d == nil:
			sb.WriteString("null")
		case ts[i].Kind == types.Bool:
			// PostgreSQL's text form is t/f, not JSON.
			if b, ok := d.(bool); ok && b {
				sb.WriteString("true")
			} else {
				sb.WriteString("false")
			}
		case ts[i].Kind == types.Int2, ts[i].Kind == types.Int4, ts[i].Kind == types.Int8, ts[i].Kind == types.JSONB:
			sb.WriteString(types.FormatText(d, ts[i], loc))
		default:
			v, _ := json.Marshal(types.FormatText(d, ts[i], loc))
			sb.Write(v)
		}
	}
	sb.WriteByte('}')
	return json.RawMessage(sb.String())
}

// ReadLateRows returns the newest max late rows job keeps (0:
// DefaultLateRowsMax), oldest first. The log may hold up to its slack
// more (Append trims in steps); those are skipped.
func ReadLateRows(r storage.Reader, job uint32, max int) ([]LateRow, error) {
	lo, hi := jobKey(job, 'l'), jobKey(job, 'm')
	it, err := r.NewIter(lo, hi)
	if err != nil {
		return nil, err
	}
	// The sequence numbers are dense: count the keys, then seek past the
	// oldest ones beyond max.
	var first, n uint64
	for ok := it.First(); ok; ok = it.Next() {
		if n == 0 {
			first = binary.BigEndian.Uint64(it.Key()[len(lo):])
		}
		n++
	}
	start := it.First()
	if m := lateMax(max); n > m {
		start = it.SeekGE(lateKey(job, first+n-m))
	}
	return readJSONRecords[LateRow](it, start, job, "late row")
}

// LateSpec is the part of an operator's spec that says what becomes of
// the rows it drops as late (behind the watermark, or in a window, session
// or partition the watermark has closed); the specs of such operators
// embed it.
type LateSpec struct {
	// KeepLate writes the dropped rows into the job's late row log
	// (LateKeeper), not only counting them.
	KeepLate bool
	// LateRelation names the relations the kept rows come from (the
	// late_rows relation column): the tables, sources and views the
	// operator's input reads.
	LateRelation string
}

// Late returns s, for the planner to name the relations of any spec that
// embeds it.
func (s *LateSpec) Late() *LateSpec { return s }

// NewKeeper returns the keeper of the operator b builds when KeepLate,
// nil (late rows only counted) otherwise.
func (s *LateSpec) NewKeeper(b *BuildCtx) (*LateKeeper, error) {
	if !s.KeepLate {
		return nil, nil
	}
	return NewLateKeeper(b, s.LateRelation)
}

// LateKeeper queues the late rows one operator drops after the watermark
// filter (a window closed, a session or top-N bound passed) and writes
// them into the job's late row log at each barrier, in the barrier's
// batch, so that like the filter's they are stored exactly once across
// restarts. A nil *LateKeeper keeps nothing (late_rows = 'drop').
type LateKeeper struct {
	env      *Env
	relation string
	types    []types.T
	names    []string
	pending  []LateRow
}

// NewLateKeeper returns the keeper of an operator reading b's first
// input, naming the rows as rows of relation ("" when they are rows of
// the dataflow rather than of one source).
func NewLateKeeper(b *BuildCtx, relation string) (*LateKeeper, error) {
	if b.Env.lateErr != nil {
		return nil, fmt.Errorf("late rows: %w", b.Env.lateErr)
	}
	if b.Env.Late == nil || len(b.Inputs) == 0 {
		return nil, fmt.Errorf("late rows: no late row log")
	}
	return &LateKeeper{env: b.Env, relation: relation, types: b.Inputs[0].Types, names: b.Inputs[0].Names}, nil
}

// Add queues row i of c, whose event time is in column timeCol, as a row
// that missed the watermark wm (of type wmType).
func (k *LateKeeper) Add(c *Chunk, i, timeCol int, wm types.Datum, wmType types.T) {
	if k == nil {
		return
	}
	var loc *time.Location
	if k.env.Ctx != nil {
		loc = k.env.Ctx.Location
	}
	row := c.Row(i, k.types)
	k.pending = append(k.pending, LateRow{Relation: k.relation, Row: lateRowJSON(row, k.types, k.names, loc),
		EventTime: types.FormatText(row[timeCol], k.types[timeCol], loc), Watermark: types.FormatText(wm, wmType, loc),
		Arrived: time.Now()})
}

// Flush writes the queued rows into b's batch.
func (k *LateKeeper) Flush(b *Barrier) error {
	if k == nil || len(k.pending) == 0 {
		return nil
	}
	if err := k.env.Late.Append(b.Writes, k.pending); err != nil {
		return err
	}
	k.pending = k.pending[:0]
	return nil
}
