package stream

import (
	"encoding/binary"
	"fmt"

	"streamsql/storage"
)

// Feed is a changefeed's (SUBSCRIBE's) link to a running view: the same
// downstream link a view defined on the view gets, read by a subscriber
// outside the dataflow instead of by a job.
//
// Messages on C:
//   - first a barrier with Start set, epoch a: the subscriber's snapshot is
//     the view as committed at epoch a. The link is unbuffered and the view
//     cannot pass its next barrier before the subscriber has taken the next
//     message, so epoch a+1 cannot commit before the subscriber, having
//     waited for epoch a to commit, takes its storage snapshot.
//   - then chunks (the view's visible columns plus the bytea storage key)
//     and a barrier per epoch: the chunks before barrier e are epoch e's
//     changes. A barrier with Stop set ends the feed (the view is dropped).
//
// The subscriber must read C promptly (the view waits on it) and Close the
// feed when it stops reading.
type Feed struct {
	link *viewLink
	up   *materialize
	job  *Job
}

// AttachFeed attaches a feed to view id. It joins at the view's next
// barrier.
func (c *Coordinator) AttachFeed(id uint32) (*Feed, error) {
	c.mu.Lock()
	j := c.jobs[id]
	c.mu.Unlock()
	up := c.views.get(id)
	if up == nil || j == nil {
		if err := c.jobErr(id); err != nil {
			return nil, fmt.Errorf("view is not running: %w", err)
		}
		return nil, fmt.Errorf("view is not running")
	}
	l := &viewLink{ch: make(chan Message), done: make(chan struct{}), feed: true}
	up.attach(l, false)
	return &Feed{link: l, up: up, job: j}, nil
}

// C returns the feed's messages.
func (f *Feed) C() <-chan Message { return f.link.ch }

// Stopped is closed when the view's job stops (dropped, failed or shut
// down); no message comes after.
func (f *Feed) Stopped() <-chan struct{} { return f.job.done }

// Err returns the error that stopped the view's job, if it failed.
func (f *Feed) Err() error {
	f.job.mu.Lock()
	defer f.job.mu.Unlock()
	return f.job.err
}

// Close detaches the feed. Chunks still on their way are released by the
// view.
func (f *Feed) Close() {
	close(f.link.done)
	f.up.detach(f.link)
}

// MarkTemporary records that job id is temporary (a subscription's), with
// its state tables, so that a restart after a crash deletes what it left.
// The record is part of the job's epoch records: Drop deletes it.
func (c *Coordinator) MarkTemporary(id uint32, stateIDs []uint32) error {
	b := c.db.Pebble().NewBatch()
	defer b.Close()
	v := make([]byte, 0, 4*len(stateIDs))
	for _, s := range stateIDs {
		v = binary.BigEndian.AppendUint32(v, s)
	}
	if err := b.Set(jobKey(id, 't'), v, nil); err != nil {
		return err
	}
	return c.db.CommitBatch(b)
}

// DropTemporary deletes every job marked temporary with ids from first on
// (call it before Run: after a restart no subscription is left).
func (c *Coordinator) DropTemporary(first uint32) error {
	lo := jobKey(first, 0)[:5]
	it, err := c.db.Latest().NewIter(lo, storage.PrefixEnd([]byte{storage.PrefixEpoch}))
	if err != nil {
		return err
	}
	found := map[uint32][]uint32{}
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		if len(k) != 6 || k[5] != 't' {
			continue
		}
		id := binary.BigEndian.Uint32(k[1:5])
		v := it.Value()
		var ids []uint32
		for i := 0; i+4 <= len(v); i += 4 {
			ids = append(ids, binary.BigEndian.Uint32(v[i:]))
		}
		found[id] = ids
	}
	if err := it.Close(); err != nil {
		return err
	}
	for id, ids := range found {
		if err := c.Drop(id, ids); err != nil {
			return fmt.Errorf("drop temporary job %d: %w", id, err)
		}
	}
	return nil
}
