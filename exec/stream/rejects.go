package stream

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"streamsql/storage"
)

// Rejects are the source messages a job could not decode. They are kept
// per job, under the job's keys, and written into the epoch's batch with
// the source positions: a reject is stored exactly once, however often
// the job restarts, and goes when the job is dropped.
//
// Layout: jobKey(job, 'r', seq) -> JSON of Reject, seq a big-endian
// uint64 counting the job's rejects from 0. Only the newest MaxRejects
// stay; older ones are deleted as new ones come, and the count of all
// rejects (seq) survives restarts, so SHOW JOBS counts every one.

// Reject is one message a source could not decode.
type Reject struct {
	// Relation is the source or table the message was for.
	Relation string
	// Split names where it came from (a Kafka partition), Offset its
	// position there.
	Split  string
	Offset int64
	// Raw is the start of the message (bounded by the connector).
	Raw []byte
	// Error says why it was rejected.
	Error string
	// Time is when it was rejected.
	Time time.Time
}

// MaxRejects is how many rejects a job keeps.
const MaxRejects = 10_000

func rejectKey(job uint32, seq uint64) []byte {
	var s [8]byte
	binary.BigEndian.PutUint64(s[:], seq)
	return jobKey(job, 'r', s[:]...)
}

// loadRejectSeq returns the number of rejects job has stored so far and
// the sequence number of the oldest kept.
func loadRejectSeq(r storage.Reader, job uint32) (next, first uint64, err error) {
	lo, hi := jobKey(job, 'r'), jobKey(job, 's')
	it, err := r.NewIter(lo, hi)
	if err != nil {
		return 0, 0, err
	}
	// At most MaxRejects keys: reading them all at job start is cheap.
	for ok := it.First(); ok; ok = it.Next() {
		seq := binary.BigEndian.Uint64(it.Key()[len(lo):])
		if next == 0 {
			first = seq
		}
		next = seq + 1
	}
	return next, first, it.Close()
}

// RejectLog appends one owner's rejects (a job's, or the ingest loop of
// a table fed by a connector) under jobKey(owner, 'r', seq).
type RejectLog struct {
	owner       uint32
	next, first uint64
}

// OpenRejectLog reads where owner's rejects stand.
func OpenRejectLog(r storage.Reader, owner uint32) (*RejectLog, error) {
	next, first, err := loadRejectSeq(r, owner)
	if err != nil {
		return nil, err
	}
	return &RejectLog{owner: owner, next: next, first: first}, nil
}

// Count is how many rejects were ever appended (kept or dropped).
func (l *RejectLog) Count() int64 { return int64(l.next) }

// Append writes rs with set and drops the oldest kept rejects beyond
// MaxRejects with deleteRange, both into the caller's atomic write.
func (l *RejectLog) Append(rs []Reject, set func(k, v []byte) error, deleteRange func(lo, hi []byte) error) error {
	for _, r := range rs {
		v, err := json.Marshal(r)
		if err != nil {
			return err
		}
		if err := set(rejectKey(l.owner, l.next), v); err != nil {
			return err
		}
		l.next++
	}
	if l.next-l.first > MaxRejects {
		keep := l.next - MaxRejects
		if err := deleteRange(rejectKey(l.owner, l.first), rejectKey(l.owner, keep)); err != nil {
			return err
		}
		l.first = keep
	}
	return nil
}

// writeRejects adds rs to the epoch's batch w.
func (j *Job) writeRejects(w *pebble.Batch, rs []Reject) error {
	if j.rejects == nil {
		j.rejects = &RejectLog{owner: j.spec.ID}
	}
	return j.rejects.Append(rs, func(k, v []byte) error { return w.Set(k, v, nil) },
		func(lo, hi []byte) error { return w.DeleteRange(lo, hi, nil) })
}

// ReadRejects returns the rejects job keeps, oldest first.
func ReadRejects(r storage.Reader, job uint32) ([]Reject, error) {
	lo, hi := jobKey(job, 'r'), jobKey(job, 's')
	it, err := r.NewIter(lo, hi)
	if err != nil {
		return nil, err
	}
	return readJSONRecords[Reject](it, it.First(), job, "reject")
}

// readJSONRecords decodes the JSON values of it from where it stands
// (ok: on an entry) to its end, and closes it; what names a record in
// errors.
func readJSONRecords[T any](it storage.Iter, ok bool, job uint32, what string) ([]T, error) {
	var out []T
	for ; ok; ok = it.Next() {
		var rec T
		if err := json.Unmarshal(it.Value(), &rec); err != nil {
			it.Close()
			return nil, fmt.Errorf("job %d: corrupt %s %x: %w", job, what, it.Key(), err)
		}
		out = append(out, rec)
	}
	return out, it.Close()
}
