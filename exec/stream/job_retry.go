package stream

import (
	"context"
	"encoding/binary"
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

// sourceOrder lists the sources of plan n in the order Job.build opens
// them, one per instance of the fragment they are in: the index a
// source's position is recorded under (buildFragments and buildNode).
func sourceOrder(n *Node, out []SourceSpec) []SourceSpec {
	return sourcesFrom(n, out, map[nodeInstance]bool{})
}

// nodeInstance is one instance of a plan node.
type nodeInstance struct {
	n *Node
	k int
}

// sourcesFrom is sourceOrder with the instances of shared nodes walked
// already (a shared node is built once per instance).
func sourcesFrom(n *Node, out []SourceSpec, built map[nodeInstance]bool) []SourceSpec {
	var exs []*Node
	seen := map[*Node]bool{}
	var k int
	var walk func(x *Node)
	walk = func(x *Node) {
		if built[nodeInstance{x, k}] {
			return
		}
		built[nodeInstance{x, k}] = true
		if _, ok := x.Spec.(*ExchangeSpec); ok {
			if !seen[x] {
				seen[x] = true
				exs = append(exs, x)
			}
			return
		}
		if x.Source != nil {
			out = append(out, x.Source)
			return
		}
		for _, in := range x.Inputs {
			walk(in)
		}
	}
	for k = 0; k < n.Instances(); k++ {
		walk(n)
	}
	for _, ex := range exs {
		out = sourcesFrom(ex.Inputs[0], out, built)
	}
	return out
}

// tablePins returns placeholder sources for the table sources of plan,
// at the positions the job committed (pos, by source index; 0 where none
// is recorded), so a job that could not be built keeps the changelogs it
// has not read, and only those.
func tablePins(plan *Node, pos [][]byte) ([]*jobSource, []uint64) {
	var out []*jobSource
	var at []uint64
	for i, src := range sourceOrder(plan, nil) {
		ts, ok := src.(*TableSourceSpec)
		if !ok {
			continue
		}
		var p uint64
		if i < len(pos) && len(pos[i]) == 8 {
			p = binary.BigEndian.Uint64(pos[i])
		}
		out = append(out, &jobSource{table: ts.Table.ID})
		at = append(at, p)
	}
	return out, at
}

// pinLocked records job spec, which committed before but could not be
// built, among the failed jobs: a placeholder that follows the tables
// its plan reads from its committed positions, so the changelogs it has
// not read are kept, and that ResumeFailed resumes from there (not
// afresh). c.mu is held.
func (c *Coordinator) pinLocked(spec JobSpec) *Job {
	j := c.newJob(spec, false)
	j.cancel()
	_, pos, err := CommittedPositions(c.db.Latest(), spec.ID)
	if err != nil {
		// Keep every changelog rather than lose one.
		c.log.Warn("reading a job's committed positions; its tables' changelogs are kept whole", "job", spec.Name, "err", err)
		pos = nil
	}
	j.sources, j.srcPos = tablePins(spec.Plan, pos)
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
	c.retries.Add(1)
	go func() {
		defer c.retries.Done()
		c.retryBuild(spec, j)
	}()
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
		// change while it does not run; a sink that reads views attaches
		// to them only once built, under the lock, and replays what its
		// views committed meanwhile from its view log.
		j := c.newJob(spec, false)
		j.env.CatchUp = keepsViewLog(spec)
		c.mu.Lock()
		select {
		case <-c.stop:
			c.mu.Unlock()
			j.cancel()
			return
		default:
		}
		c.building[j] = true
		c.mu.Unlock()
		err := j.build()
		c.mu.Lock()
		delete(c.building, j)
		stopped := false
		select {
		case <-c.stop:
			stopped = true
		default:
		}
		if stopped || c.failedJobs[spec.ID] != pin {
			c.mu.Unlock()
			j.abandon()
			return
		}
		if err == nil {
			if j.env.CatchUp {
				c.catchUpAttachLocked(j)
			} else {
				j.start = c.epoch
			}
			delete(c.failed, spec.ID)
			delete(c.failedJobs, spec.ID)
			c.jobs[spec.ID] = j
			j.run()
			c.log.Info("streaming job rebuilt after retrying", "job", spec.Name, "from epoch", c.epoch)
			c.mu.Unlock()
			return
		}
		j.abandon()
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
