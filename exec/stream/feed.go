package stream

import (
	"fmt"
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
	l := &viewLink{ch: make(chan Message), done: make(chan struct{})}
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
