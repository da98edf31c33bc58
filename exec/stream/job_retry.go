package stream

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"time"

	"streamsql/sql/sqlerr"
)

// Retrying a job that cannot be rebuilt at start.
//
// A job that committed before is rebuilt from its committed state when
// the server starts (Resume). Building a sink may reach outside the
// process: an Avro sink registers its schemas with the schema registry,
// a Kafka sink connects to its brokers. When that fails for a reason
// that passes (the target or the registry is unreachable, answers 5xx or
// 429), the job is not given up: it stays in the failed jobs with its
// committed positions, which keep the changelogs of the tables it reads
// from truncation, and a background loop builds it again with
// exponential backoff (retryMin doubling to retryMax). SHOW JOBS shows
// "retrying: <error>" meanwhile. Once a build succeeds the job starts
// from its last committed epoch, as ResumeFailed starts one: its sources
// rewind to their committed positions, and a transactional sink resolves
// its recorded transaction, so nothing is lost and nothing is delivered
// twice. A reason that does not pass (the registry refuses the schema as
// incompatible, bad credentials) fails the job for good, as before.

const (
	retryMin = 200 * time.Millisecond
	retryMax = 30 * time.Second
)

// retryError marks the error of a job whose build is being retried.
type retryError struct{ err error }

func (e *retryError) Error() string { return e.err.Error() }
func (e *retryError) Unwrap() error { return e.err }

// Temporary reports whether err is a failure that may pass by itself: a
// connection failure (SQLSTATE class 08, a refused or timed-out
// connection, an HTTP 5xx or 429 answer reported as one).
func Temporary(err error) bool {
	if err == nil {
		return false
	}
	var se *sqlerr.Error
	if errors.As(err, &se) {
		return strings.HasPrefix(se.Code, "08") || se.Code == sqlerr.TooManyConnections
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, context.DeadlineExceeded)
}

// tablePins returns placeholder sources for the tables plan n reads, at
// position 0, so a job that could not be built keeps their changelogs.
func tablePins(n *Node, out []*jobSource) []*jobSource {
	if ts, ok := n.Source.(*TableSourceSpec); ok {
		out = append(out, &jobSource{table: ts.Table.ID})
	}
	for _, in := range n.Inputs {
		out = tablePins(in, out)
	}
	return out
}

// pinLocked records job spec, which committed before but could not be
// built, among the failed jobs: a placeholder that follows the tables
// its plan reads from position 0, so their changelogs are kept, and
// that ResumeFailed resumes from its committed positions (not afresh).
func (c *Coordinator) pinLocked(spec JobSpec) *Job {
	j := c.newJob(spec, false)
	j.cancel()
	j.sources = tablePins(spec.Plan, nil)
	j.srcPos = make([]uint64, len(j.sources))
	c.failedJobs[spec.ID] = j
	return j
}

// retryLocked keeps job spec, whose build failed with temporary error
// err, as failed with its tables pinned, and starts the loop that builds
// it again. c.mu is held.
func (c *Coordinator) retryLocked(spec JobSpec, err error) {
	j := c.pinLocked(spec)
	c.failed[spec.ID] = &retryError{err: fmt.Errorf("resume %s: %w", spec.Name, err)}
	c.log.Warn("streaming job cannot be rebuilt yet; retrying", "job", spec.Name, "err", err)
	go c.retryBuild(spec, j)
}

// retryBuild builds job spec again until it succeeds, fails for good,
// or the job is dropped, resumed by hand or the coordinator closes.
func (c *Coordinator) retryBuild(spec JobSpec, pin *Job) {
	wait := retryMin
	for {
		select {
		case <-c.stop:
			return
		case <-time.After(wait):
		}
		if wait *= 2; wait > retryMax {
			wait = retryMax
		}
		c.mu.Lock()
		current := c.failedJobs[spec.ID] == pin
		c.mu.Unlock()
		if !current {
			return
		}
		// Build outside the lock: it may wait on the target for long, and
		// epochs go on meanwhile. The job's committed positions do not
		// change while it does not run.
		j := c.newJob(spec, false)
		err := j.build()
		c.mu.Lock()
		stopped := false
		select {
		case <-c.stop:
			stopped = true
		default:
		}
		if stopped || c.failedJobs[spec.ID] != pin {
			c.mu.Unlock()
			j.cancel()
			return
		}
		if err == nil {
			j.start = c.epoch
			delete(c.failed, spec.ID)
			delete(c.failedJobs, spec.ID)
			c.jobs[spec.ID] = j
			j.run()
			c.log.Info("streaming job rebuilt after retrying", "job", spec.Name, "from epoch", c.epoch)
			c.mu.Unlock()
			return
		}
		j.cancel()
		if !Temporary(err) {
			c.failed[spec.ID] = fmt.Errorf("resume %s: %w", spec.Name, err)
			c.log.Error("streaming job cannot be rebuilt", "job", spec.Name, "err", err)
			c.mu.Unlock()
			return
		}
		c.failed[spec.ID] = &retryError{err: fmt.Errorf("resume %s: %w", spec.Name, err)}
		c.mu.Unlock()
		c.log.Debug("streaming job still cannot be rebuilt", "job", spec.Name, "err", err, "next in", wait)
	}
}
