package stream

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"streamsql/sql/sqlerr"
)

// Resuming a failed sink (ALTER SINK ... RESUME) or materialized view
// (ALTER MATERIALIZED VIEW ... RESUME).
//
// A sink's job fails when its log is full (the target was unreachable
// for long) or its writer fails; the views go on, and the coordinator
// keeps the failed job's table positions so that no change it has not
// read is truncated. Resuming it:
//
//  1. delivers the whole log to the target first, from the position the
//     target recorded (DrainSinkLog: the same drainer, run outside the
//     job). If the target still refuses, RESUME fails with the target's
//     error and the sink stays failed, its log kept;
//  2. starts the job again from its last committed epoch, as a server
//     start does: its sources rewind to their committed positions, so
//     the epoch the full log refused and everything after it are read
//     again, into an empty log (which takes one epoch larger than its
//     bound, the catch-up).
//
// A sink or view that reads a materialized view has no changelog to
// rewind: its views kept what it missed in its view log
// (sink_view_log.go), and its view sources replay that log from their
// recorded positions before they follow the views again. A view has no
// log of its own to deliver: resuming it is step 2 alone.
//
// The jobs that failed only because a view they read failed keep that
// cause (UpstreamFailedError); the engine resumes them after the view
// (FailedReaders), each once every view it reads runs again.

// UpstreamFailedError is the failure of a job that stopped because a
// view it reads failed (Coordinator.fail): it did nothing wrong itself,
// so resuming that view resumes it too (FailedReaders).
type UpstreamFailedError struct {
	Upstream uint32 // the view's job id
	Name     string // the view's name
	Err      error  // the view's failure
}

func (e *UpstreamFailedError) Error() string {
	return fmt.Sprintf("upstream view %s failed: %v", e.Name, e.Err)
}

func (e *UpstreamFailedError) Unwrap() error { return e.Err }

// FailedReaders returns, in id order, the failed jobs that stopped
// because view upstream failed, and no other failure of theirs since.
func (c *Coordinator) FailedReaders(upstream uint32) []uint32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ids []uint32
	for id, err := range c.failed {
		if u, ok := err.(*UpstreamFailedError); ok && u.Upstream == upstream {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// ErrJobRunning is returned by ResumeFailed for a job that runs.
var ErrJobRunning = errors.New("the job is running")

// ResumeFailed resumes failed job spec.ID as described above; ctx bounds
// the delivery of its log.
func (c *Coordinator) ResumeFailed(ctx context.Context, spec JobSpec) error {
	c.mu.Lock()
	_, running := c.jobs[spec.ID]
	old, failed := c.failedJobs[spec.ID]
	_, everFailed := c.failed[spec.ID]
	c.mu.Unlock()
	switch {
	case running:
		return ErrJobRunning
	case !failed && everFailed:
		// It failed before its first epoch committed: start it afresh.
		return c.Add(ctx, spec)
	case !failed:
		return fmt.Errorf("job %s is not known", spec.Name)
	}
	if _, ok := spec.Plan.Spec.(*SinkSpec); ok {
		if err := c.DrainSinkLog(ctx, spec); err != nil {
			return err
		}
	}
	c.mu.Lock()
	if c.failedJobs[spec.ID] != old {
		c.mu.Unlock()
		return fmt.Errorf("job %s changed while it was being resumed", spec.Name)
	}
	j := c.newJob(spec, false)
	j.env.CatchUp = keepsViewLog(spec)
	j.start = c.epoch
	if err := j.build(); err != nil {
		c.mu.Unlock()
		j.abandon()
		return fmt.Errorf("resume %s: %w", spec.Name, err)
	}
	if j.env.CatchUp {
		c.catchUpAttachLocked(j)
	}
	delete(c.failed, spec.ID)
	delete(c.failedJobs, spec.ID)
	c.jobs[spec.ID] = j
	j.run()
	c.log.Info("streaming job resumed", "job", spec.Name, "from epoch", c.committed)
	first := j.start + 1
	c.mu.Unlock()
	if _, ok := spec.Plan.Spec.(*SinkSpec); ok {
		return nil
	}
	// A view answers once it has caught up (its first epoch committed),
	// or with the error it failed on again.
	if err := c.waitEpoch(ctx, first); err != nil {
		return err
	}
	return c.jobErr(spec.ID)
}

// DrainSinkLog delivers the log of the sink job spec describes to its
// target, from the epoch the target holds, and returns when the log is
// empty, or with the target's error when a delivery (or the recovery of
// an earlier one) fails. The job must not run meanwhile. A sink without
// a log has nothing to drain.
func (c *Coordinator) DrainSinkLog(ctx context.Context, spec JobSpec) error {
	ss, ok := spec.Plan.Spec.(*SinkSpec)
	if !ok {
		return fmt.Errorf("job %s is not a sink", spec.Name)
	}
	dctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ectx := c.newCtx(spec)
	ectx.Context = dctx
	env := &Env{Ctx: ectx, State: c.db.Latest(), Stats: &Stats{}, DB: c.db, Views: c.views,
		WaitCommitted: c.WaitCommitted, Committed: c.lastCommitted.Load, Memory: c.mem, accounts: &StateAccounts{}}
	w, err := ss.Open(env, ss.input(NewBuildCtx(env, spec.Plan, spec.Plan.Inputs, nil)))
	if err != nil {
		return err
	}
	defer w.Close()
	lw, ok := w.(*LogSinkWriter)
	if !ok {
		return nil
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if msg := env.Stats.SinkError(); msg != "" {
			return sqlerr.New(sqlerr.ConnectionFailure, "sink %q cannot deliver its log: %s", spec.Name, msg).
				WithHint("The sink stays failed and its log is kept; make its target reachable and resume it again.")
		}
		if lw.drain.recovered.Load() && lw.LagBytes() == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}
