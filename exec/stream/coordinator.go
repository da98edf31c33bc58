package stream

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"streamsql/exec"
	"streamsql/storage"
)

// Coordinator runs every job of the database and cuts their streams into
// epochs. Every barrier interval (or at once, for FLUSH) it injects the
// next epoch's barrier into every source; when every job has passed it, it
// commits the writes of all jobs for that epoch, their source positions
// and the epoch number in one pebble commit. Epochs commit in order.
type Coordinator struct {
	db    *storage.DB
	log   *slog.Logger
	views *Views
	// Ctx is the template for the expression context of every job.
	newCtx func(JobSpec) *exec.Ctx
	// Tables lists every logged table, for changelog truncation.
	tables func() []uint32

	interval atomic.Int64 // nanoseconds
	// writeDelay (nanoseconds; 0: off) is the longest a table commit that
	// logs changes waits for the barrier that makes it visible: such a
	// commit starts the next epoch early, at least writeDelay after the
	// previous one, instead of at the next interval.
	writeDelay atomic.Int64
	kick       chan struct{}
	stop       chan struct{}
	stopped    chan struct{}
	// running is closed when Run starts: every job resumed at the start
	// has attached to its upstream views by then.
	running chan struct{}

	mu        sync.Mutex
	jobs      map[uint32]*Job
	epoch     uint64 // last injected
	committed uint64
	pending   map[uint64]*pendingEpoch
	want      uint64 // inject without waiting for the interval up to here
	commitCh  chan struct{}
	truncated map[uint32]uint64
	// sorter orders each epoch's batch by key before its commit.
	sorter storage.BatchSorter
	// truncatedAt is when the changelogs were last truncated: one range
	// deletion per table at most every truncateEvery, because each range
	// tombstone in pebble's memtable makes the next point reads
	// re-fragment all of them (at an epoch every few milliseconds that
	// was a sixth of the server's CPU under single-row writes).
	truncatedAt time.Time
	failed      map[uint32]error
	// failedJobs are the failed jobs: their committed table positions keep
	// the tables' changelogs from truncation, so a job resumed later
	// (at the next start) replays what it missed.
	failedJobs map[uint32]*Job
	// viewLogs are the sinks and views that read views, by id, and their
	// view logs (sink_view_log.go); viewLogMax bounds a view's.
	viewLogs   map[uint32]*viewLogState
	viewLogMax int64
	// building are the jobs the retry loops build outside mu; retries
	// counts the loops, which Close waits for.
	building map[*Job]bool
	retries  sync.WaitGroup
	// live are the jobs whose goroutines run, failed ones included
	// (guarded by liveMu, not mu: a job leaves it from its own
	// goroutine); Close waits for them before the database may close.
	liveMu sync.Mutex
	live   map[*Job]struct{}
	// closeWait bounds how long Close waits for the jobs to stop.
	closeWait time.Duration
	mem       *StateMemory
	// stalled is the disk-full refusal of the next epoch's commit, while
	// the disk stays full; the epoch is kept and retried every interval,
	// and no later epoch starts meanwhile.
	stalled error
	// lastCommitted mirrors committed for readers that must not take mu
	// (operators at their barriers).
	lastCommitted atomic.Uint64
	// epochs counts commits; barrierLatency times them from injection,
	// commitLatency the commit of the epoch's writes alone.
	epochs         atomic.Int64
	barrierLatency latencyHistogram
	commitLatency  latencyHistogram
	// stageLatency splits barrierLatency into EpochStages.
	stageLatency [len(EpochStages)]latencyHistogram
	// clock reads the time an epoch's barrier carries; lastTime is the
	// time of the last injected epoch (epoch times never go back, also
	// across restarts: the committed epoch's time is stored with it).
	clock    func() time.Time
	lastTime time.Time
	// times are the times of the injected epochs not yet committed.
	times map[uint64]time.Time

	// committing: a goroutine of commitAsyncLocked is on its way; commits
	// counts those goroutines, which Close waits for.
	committing bool
	commits    sync.WaitGroup

	// ran: Run started; closing: Close started (both under mu). Close
	// waits for Run's loop only when it ran (an engine that fails to
	// open closes a coordinator that never ran), and a Run after Close
	// returns at once.
	ran, closing bool
}

type pendingEpoch struct {
	waiting map[*Job]bool
	writes  map[*Job][]*pebble.Batch
	// viewLogs are the views' change blocks of the epoch, by view id
	// (sink_view_log.go).
	viewLogs map[uint32]*ViewChanges
	// injected is when the epoch's barrier was injected; aligned when
	// the last of its jobs handed over its writes.
	injected, aligned time.Time
	// built is when the epoch's commit batch was ready for pebble.
	built time.Time
}

// CoordinatorOptions configure NewCoordinator.
type CoordinatorOptions struct {
	DB       *storage.DB
	Logger   *slog.Logger
	Interval time.Duration
	// WriteDelay: see Coordinator.writeDelay; 0 for the default (10 ms),
	// negative for none.
	WriteDelay time.Duration
	// NewCtx returns the expression context of the job spec describes
	// (its role among others).
	NewCtx func(spec JobSpec) *exec.Ctx
	// Tables lists every logged table.
	Tables func() []uint32
	// StateMemory is the budget of operator state in memory (nil or a
	// zero limit: unlimited).
	StateMemory *StateMemory
	// Clock gives each epoch its time, the "now" of the temporal
	// filters at its barrier (nil: time.Now).
	Clock func() time.Time
	// ViewLogMaxBytes bounds the view log of each materialized view that
	// reads views (sink_view_log.go): 0 for DefaultViewLogMaxBytes,
	// negative for no bound.
	ViewLogMaxBytes int64
	// CloseWait bounds how long Close waits for the jobs to stop (0:
	// DefaultCloseWait).
	CloseWait time.Duration
}

// NewCoordinator returns a coordinator at the last committed epoch. Start
// resumed jobs with Resume, then call Run.
func NewCoordinator(o CoordinatorOptions) (*Coordinator, error) {
	c := &Coordinator{
		db: o.DB, log: o.Logger, views: NewViews(), newCtx: o.NewCtx, tables: o.Tables,
		kick: make(chan struct{}, 1), stop: make(chan struct{}), stopped: make(chan struct{}), running: make(chan struct{}),
		jobs: map[uint32]*Job{}, pending: map[uint64]*pendingEpoch{}, commitCh: make(chan struct{}),
		truncated: map[uint32]uint64{}, failed: map[uint32]error{}, failedJobs: map[uint32]*Job{}, mem: o.StateMemory,
		viewLogs: map[uint32]*viewLogState{}, building: map[*Job]bool{},
		clock: o.Clock, times: map[uint64]time.Time{}, live: map[*Job]struct{}{}, closeWait: o.CloseWait,
	}
	if c.clock == nil {
		c.clock = time.Now
	}
	switch c.viewLogMax = o.ViewLogMaxBytes; {
	case c.viewLogMax == 0:
		c.viewLogMax = DefaultViewLogMaxBytes
	case c.viewLogMax < 0:
		c.viewLogMax = 0
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	c.interval.Store(int64(o.Interval))
	switch {
	case o.WriteDelay == 0:
		c.writeDelay.Store(int64(DefaultWriteDelay))
	case o.WriteDelay > 0:
		c.writeDelay.Store(int64(o.WriteDelay))
	}
	v, found, err := o.DB.Latest().Get(epochKey)
	if err != nil {
		return nil, err
	}
	if found && len(v) == 8 {
		c.committed = binary.BigEndian.Uint64(v)
		c.lastCommitted.Store(c.committed)
		c.epoch = c.committed
	}
	v, found, err = o.DB.Latest().Get(epochTimeKey)
	if err != nil {
		return nil, err
	}
	if found && len(v) == 8 {
		c.lastTime = time.UnixMicro(int64(binary.BigEndian.Uint64(v))).UTC()
	}
	return c, nil
}

// DefaultWriteDelay is the default of CoordinatorOptions.WriteDelay.
const DefaultWriteDelay = 10 * time.Millisecond

// SetWriteDelay changes how long a table write waits at most for its
// epoch to start (0: until the next interval).
func (c *Coordinator) SetWriteDelay(d time.Duration) {
	if d >= 0 {
		c.writeDelay.Store(int64(d))
	}
}

// SetInterval changes the barrier interval.
func (c *Coordinator) SetInterval(d time.Duration) {
	if d > 0 {
		c.interval.Store(int64(d))
	}
}

// Committed returns the last committed epoch.
func (c *Coordinator) Committed() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.committed
}

// HasCommitted reports whether job id committed an epoch before (it then
// resumes from its state rather than starting fresh).
func (c *Coordinator) HasCommitted(id uint32) (bool, error) {
	_, found, err := c.db.Latest().Get(jobKey(id, 'c'))
	return found, err
}

func (c *Coordinator) newJob(spec JobSpec, fresh bool) *Job {
	ctx, cancel := context.WithCancel(context.Background())
	j := &Job{spec: spec, coord: c, ctx: ctx, cancel: cancel, done: make(chan struct{}), hasCommitted: !fresh}
	j.env = &Env{
		Ctx: c.newCtx(spec), State: c.db.Latest(), Fresh: fresh, Stats: &Stats{}, DB: c.db, Views: c.views,
		WaitCommitted: c.WaitCommitted, Committed: c.lastCommitted.Load, Memory: c.mem, accounts: &StateAccounts{},
		Running: c.running, stops: &jobStops{},
	}
	j.env.Ctx.Context = ctx
	j.env.Late, j.env.lateErr = OpenLateLog(c.db.Latest(), spec.ID, spec.LateRowsMax)
	if keepsViewLog(spec) {
		j.env.ViewLogJob = spec.ID
		j.env.ViewLogOwner, j.env.ViewLogHint = viewLogOwner(spec)
		_, j.env.ViewLogNet = spec.Plan.Spec.(*MaterializeSpec)
		if ss, ok := spec.Plan.Spec.(*SinkSpec); ok {
			j.env.ViewLogKeyed = ss.keyed()
		}
	}
	return j
}

// Resume starts a job that committed before, from its committed state.
// Call it for every such job, upstream views first, before Run.
func (c *Coordinator) Resume(spec JobSpec) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.trackViewSinkLocked(spec); err != nil {
		return err
	}
	j := c.newJob(spec, false)
	j.start = c.committed
	if err := j.build(); err != nil {
		j.abandon()
		if Temporary(err) {
			// Kept with its committed positions and built again in the
			// background (job_retry.go).
			c.retryLocked(spec, err)
			return nil
		}
		c.pinLocked(spec)
		c.failed[spec.ID] = err
		return fmt.Errorf("resume %s: %w", spec.Name, err)
	}
	c.jobs[spec.ID] = j
	j.run()
	return nil
}

// Add starts a new job (or one whose first epoch never committed) from
// scratch: it joins the dataflow at the next barrier, and Add returns once
// its first epoch (the snapshot of its inputs) has committed.
func (c *Coordinator) Add(ctx context.Context, spec JobSpec) error {
	c.mu.Lock()
	attach := c.epoch + 1
	j := c.newJob(spec, true)
	j.env.AttachEpoch = attach
	j.start = attach
	if err := j.build(); err != nil {
		c.mu.Unlock()
		j.abandon()
		return err
	}
	if err := c.trackViewSinkLocked(spec); err != nil {
		c.mu.Unlock()
		j.abandon()
		return err
	}
	c.jobs[spec.ID] = j
	delete(c.failed, spec.ID)
	delete(c.failedJobs, spec.ID)
	j.run()
	c.mu.Unlock()
	if err := c.waitEpoch(ctx, attach+1); err != nil {
		return err
	}
	if err := c.jobErr(spec.ID); err != nil {
		return err
	}
	return nil
}

func (c *Coordinator) jobErr(id uint32) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.failed[id]
}

// Drop stops job id and deletes its state, its view contents and its
// positions.
func (c *Coordinator) Drop(id uint32, stateIDs []uint32) error {
	c.mu.Lock()
	j := c.jobs[id]
	delete(c.jobs, id)
	delete(c.failed, id)
	delete(c.failedJobs, id)
	c.untrackViewSinkLocked(id)
	if j != nil {
		c.forgetLocked(j)
	}
	c.mu.Unlock()
	c.views.Forget(id)
	if j != nil {
		j.cancel()
		<-j.done
	}
	// Delete under the lock so no epoch commit interleaves.
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.db.Pebble().NewBatch()
	defer b.Close()
	lo, hi := storage.TableSpan(id)
	if err := b.DeleteRange(lo, hi, nil); err != nil {
		return err
	}
	lo, hi = JobSpan(id)
	if err := b.DeleteRange(lo, hi, nil); err != nil {
		return err
	}
	for _, s := range stateIDs {
		if err := NewStateTable(s, nil, nil).DeletePrefix(b, nil); err != nil {
			return err
		}
	}
	return c.db.CommitBatch(b)
}

// forgetLocked takes j out of every pending epoch.
func (c *Coordinator) forgetLocked(j *Job) {
	for _, p := range c.pending {
		delete(p.waiting, j)
		if len(p.waiting) == 0 && p.aligned.IsZero() {
			p.aligned = time.Now()
		}
		for _, w := range p.writes[j] {
			w.Close()
		}
		delete(p.writes, j)
		p.viewLogs[j.spec.ID].Release()
		delete(p.viewLogs, j.spec.ID)
	}
	c.tryCommitLocked()
}

// fail stops a job after an error, and the jobs that read its view; the
// others go on.
func (c *Coordinator) fail(j *Job, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failLocked(j, err)
}

func (c *Coordinator) failLocked(j *Job, err error) {
	if c.jobs[j.spec.ID] != j {
		return
	}
	c.log.Error("streaming job failed", "job", j.spec.Name, "err", err)
	j.mu.Lock()
	j.err = err
	committed := j.hasCommitted
	j.mu.Unlock()
	c.failed[j.spec.ID] = err
	delete(c.jobs, j.spec.ID)
	if committed {
		c.failedJobs[j.spec.ID] = j
	}
	j.cancel()
	c.forgetLocked(j)
	for _, d := range c.jobs {
		for _, u := range d.spec.Upstreams {
			if u == j.spec.ID {
				c.failLocked(d, &UpstreamFailedError{Upstream: j.spec.ID, Name: j.spec.Name, Err: err})
			}
		}
	}
}

// collect receives a job's writes for an epoch.
func (c *Coordinator) collect(j *Job, epoch uint64, ws []*pebble.Batch, viewLogs map[uint32]*ViewChanges) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.pending[epoch]
	if p == nil || !p.waiting[j] {
		for _, w := range ws {
			w.Close()
		}
		for _, ch := range viewLogs {
			ch.Release()
		}
		return
	}
	delete(p.waiting, j)
	p.writes[j] = ws
	if len(p.waiting) == 0 {
		p.aligned = time.Now()
	}
	for v, blk := range viewLogs {
		if p.viewLogs == nil {
			p.viewLogs = map[uint32]*ViewChanges{}
		}
		p.viewLogs[v] = blk
	}
	c.commitAsyncLocked()
}

// commitAsyncLocked has the next epoch committed by a goroutine of its
// own when it is complete, so that the job whose writes completed it goes
// on with the next epoch meanwhile rather than wait for the commit (its
// batch and WAL sync). The goroutine commits under mu, as every commit.
func (c *Coordinator) commitAsyncLocked() {
	if c.committing || c.stalled != nil {
		// A commit goroutine is on its way (it commits every complete
		// epoch), or the disk is full (inject retries).
		return
	}
	if c.closing {
		// Close waits for the goroutines started before it, no later.
		c.tryCommitLocked()
		return
	}
	if p := c.pending[c.committed+1]; p == nil || len(p.waiting) > 0 {
		return
	}
	c.committing = true
	c.commits.Add(1)
	go func() {
		defer c.commits.Done()
		c.mu.Lock()
		defer c.mu.Unlock()
		c.committing = false
		c.tryCommitLocked()
	}()
}

// tryCommitLocked commits every complete epoch in order.
func (c *Coordinator) tryCommitLocked() {
	for {
		e := c.committed + 1
		p := c.pending[e]
		if p == nil || len(p.waiting) > 0 {
			return
		}
		started := time.Now()
		if err := c.commitLocked(e, p); err != nil {
			if storage.IsDiskFull(err) {
				// Nothing was written: keep the epoch and try again.
				if c.stalled == nil {
					c.log.Error("epoch commit refused; retrying until disk space is freed", "epoch", e, "err", err)
					c.stalled = err
					// Waiters (FLUSH) get the error rather than wait.
					close(c.commitCh)
					c.commitCh = make(chan struct{})
				}
				c.stalled = err
				return
			}
			// A failed commit leaves the database at the previous epoch;
			// the process cannot go on consistently.
			c.log.Error("epoch commit failed", "epoch", e, "err", err)
			panic(fmt.Sprintf("epoch %d commit: %v", e, err))
		}
		if c.stalled != nil {
			c.log.Info("epoch commits resumed", "epoch", e)
			c.stalled = nil
		}
		for _, ch := range p.viewLogs {
			ch.Release()
		}
		delete(c.pending, e)
		delete(c.times, e)
		c.committed = e
		c.lastCommitted.Store(e)
		c.epochs.Add(1)
		done := time.Now()
		c.commitLatency.observe(done.Sub(started))
		c.barrierLatency.observe(done.Sub(p.injected))
		if p.aligned.IsZero() {
			p.aligned = p.injected // no job took part
		}
		c.stageLatency[stageAlign].observe(p.aligned.Sub(p.injected))
		c.stageLatency[stageQueue].observe(started.Sub(p.aligned))
		c.stageLatency[stageBuild].observe(p.built.Sub(started))
		c.stageLatency[stageWrite].observe(done.Sub(p.built))
		for _, j := range c.jobs {
			if j.start < e {
				j.mu.Lock()
				j.committed = e
				j.mu.Unlock()
			}
		}
		close(c.commitCh)
		c.commitCh = make(chan struct{})
	}
}

func (c *Coordinator) commitLocked(e uint64, p *pendingEpoch) error {
	// Check the space before anything changes, so that a refusal leaves
	// the epoch as it was, to be committed later.
	var need int64
	for _, ws := range p.writes {
		for _, w := range ws {
			need += int64(w.Len())
		}
	}
	if err := c.db.CheckSpace(need); err != nil {
		return err
	}
	// Sized for every write at once: grown by appends, the batch would
	// copy an epoch's state writes several times over.
	b := c.db.Pebble().NewBatchWithSize(int(need) + 1024)
	defer b.Close()
	jobs := make([]*Job, 0, len(p.writes))
	for j := range p.writes {
		jobs = append(jobs, j)
	}
	sort.Slice(jobs, func(a, b int) bool { return jobs[a].spec.ID < jobs[b].spec.ID })
	for _, j := range jobs {
		for _, w := range p.writes[j] {
			if w.Empty() {
				w.Close()
				continue
			}
			if err := b.Apply(w, nil); err != nil {
				return err
			}
			w.Close()
		}
	}
	if err := c.writeViewLogsLocked(b, e, p); err != nil {
		return err
	}
	var v [8]byte
	binary.BigEndian.PutUint64(v[:], e)
	if err := b.Set(epochKey, v[:], nil); err != nil {
		return err
	}
	if t, ok := c.times[e]; ok {
		binary.BigEndian.PutUint64(v[:], uint64(t.UnixMicro()))
		if err := b.Set(epochTimeKey, v[:], nil); err != nil {
			return err
		}
	}
	for _, j := range c.jobs {
		j.committedEpoch(e)
	}
	if err := c.truncateLogsLocked(b); err != nil {
		return err
	}
	// Operators write their state in the order groups and rows were
	// touched; in key order the memtable inserts cost far less.
	if err := c.sorter.Sort(b); err != nil {
		return fmt.Errorf("commit epoch %d: %w", e, err)
	}
	p.built = time.Now()
	return c.db.CommitBatch(b)
}

// truncateEvery is the shortest time between two truncations of the
// tables' changelogs.
const truncateEvery = time.Second

// truncateLogsLocked deletes changelog entries every job has read, at most
// every truncateEvery.
func (c *Coordinator) truncateLogsLocked(b *pebble.Batch) error {
	if c.tables == nil {
		return nil
	}
	if now := time.Now(); now.Sub(c.truncatedAt) < truncateEvery {
		return nil
	} else {
		c.truncatedAt = now
	}
	head := c.db.LogSeq()
	for _, t := range c.tables() {
		upTo := head
		for _, js := range []map[uint32]*Job{c.jobs, c.failedJobs} {
			for _, j := range js {
				if p, ok := j.minTablePos(t); ok && p < upTo {
					upTo = p
				}
			}
		}
		if upTo <= c.truncated[t] {
			continue
		}
		lo, hi := storage.LogSpan(t, 0, upTo+1)
		if err := b.DeleteRange(lo, hi, nil); err != nil {
			return err
		}
		c.truncated[t] = upTo
	}
	return nil
}

// Run injects barriers until Close.
func (c *Coordinator) Run() {
	defer close(c.stopped)
	close(c.running)
	c.mu.Lock()
	closing := c.closing
	c.ran = true
	c.mu.Unlock()
	if closing {
		return
	}
	timer := time.NewTimer(time.Duration(c.interval.Load()))
	defer timer.Stop()
	// A table commit that logs changes closes notify: the epoch that
	// carries it starts writeDelay after the last one at the latest.
	notify := c.db.LogNotify()
	// early fires when an epoch a write asked for is due; pending says
	// it is set.
	early := time.NewTimer(time.Hour)
	early.Stop()
	defer early.Stop()
	pending := false
	last := time.Now()
	for {
		select {
		case <-c.stop:
			return
		case <-timer.C:
		case <-c.kick:
		case <-early.C:
		case <-notify:
			notify = c.db.LogNotify()
			d := time.Duration(c.writeDelay.Load())
			if d <= 0 || pending || !c.hasJobs() {
				continue
			}
			if wait := d - time.Since(last); wait > 0 {
				early.Reset(wait)
				pending = true
				continue
			}
		}
		if pending {
			early.Stop()
			pending = false
		}
		c.inject()
		last = time.Now()
		c.mu.Lock()
		more := c.want > c.epoch && c.stalled == nil
		c.mu.Unlock()
		if more {
			select {
			case c.kick <- struct{}{}:
			default:
			}
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(time.Duration(c.interval.Load()))
	}
}

// hasJobs says whether any job runs (an epoch then has work to cut).
func (c *Coordinator) hasJobs() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.jobs) > 0
}

// inject starts the next epoch: every job whose sources can see it takes
// part, and every source that is not fed by an upstream view gets the
// barrier.
func (c *Coordinator) inject() {
	c.mu.Lock()
	if c.stalled != nil {
		// The disk is full: retry the stalled epoch, start no other.
		c.tryCommitLocked()
		if c.stalled != nil {
			c.mu.Unlock()
			return
		}
	}
	e := c.epoch + 1
	c.epoch = e
	now := c.clock().UTC().Truncate(time.Microsecond)
	if now.Before(c.lastTime) {
		now = c.lastTime
	}
	c.lastTime = now
	c.times[e] = now
	p := &pendingEpoch{waiting: map[*Job]bool{}, writes: map[*Job][]*pebble.Batch{}, injected: time.Now()}
	type target struct {
		ch   chan uint64
		done <-chan struct{}
	}
	var targets []target
	for _, j := range c.jobs {
		if j.start >= e {
			continue
		}
		p.waiting[j] = true
		for _, s := range j.sources {
			if !s.follows {
				targets = append(targets, target{s.barriers, j.ctx.Done()})
			}
		}
	}
	c.pending[e] = p
	c.tryCommitLocked()
	c.mu.Unlock()
	for _, t := range targets {
		select {
		case t.ch <- e:
		case <-t.done: // the job stopped meanwhile
		case <-c.stop:
			return
		}
	}
}

// EpochTime returns the time of injected epoch e: the wall clock when
// its barrier was injected, never before an earlier epoch's. Every
// operator of every job sees the same time at e's barrier; the time of
// the committed epoch is stored with it.
func (c *Coordinator) EpochTime(e uint64) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.times[e]; ok {
		return t
	}
	// Committed already (a job that follows a view sees its barrier
	// late): no later epoch has an earlier time.
	return c.lastTime
}

// Close stops injecting barriers and stops every job (their uncommitted
// epochs are lost, as in a crash; the committed state stays). It returns
// once every job's goroutines have returned, so that the database can
// close under none of them, or with ErrJobsRunning naming the jobs that
// did not stop within the close wait: the database must then stay open.
func (c *Coordinator) Close() error {
	c.mu.Lock()
	c.closing = true
	ran := c.ran
	c.mu.Unlock()
	close(c.stop)
	if ran {
		<-c.stopped
	}
	// Builds the retry loops run are abandoned; wait for the loops.
	c.mu.Lock()
	for j := range c.building {
		j.cancel()
	}
	c.mu.Unlock()
	c.retries.Wait()
	c.mu.Lock()
	c.jobs = map[uint32]*Job{}
	c.mu.Unlock()
	// Every job that runs, failed ones included: a failed job's sources
	// and fragments may still be returning.
	c.liveMu.Lock()
	jobs := make([]*Job, 0, len(c.live))
	for j := range c.live {
		jobs = append(jobs, j)
	}
	c.liveMu.Unlock()
	for _, j := range jobs {
		j.cancel()
	}
	wait := c.closeWait
	if wait <= 0 {
		wait = DefaultCloseWait
	}
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	var stuck []string
	expired := false
	for _, j := range jobs {
		if !expired {
			select {
			case <-j.done:
				continue
			case <-deadline.C:
				expired = true
			}
		}
		select {
		case <-j.done:
		default:
			stuck = append(stuck, j.spec.Name)
		}
	}
	// The commits the jobs' last epochs started end before the database
	// may close.
	c.commits.Wait()
	if len(stuck) > 0 {
		err := fmt.Errorf("%w after %v: %s", ErrJobsRunning, wait, strings.Join(stuck, ", "))
		c.log.Error("closing the streaming coordinator", "err", err)
		return err
	}
	return nil
}

// DefaultInterval is the time between two barriers by default
// (barrier_interval). An idle epoch costs a small commit (about 3% of a
// core at 20 ms with 14 views, 1% at 100 ms), and results are readable
// about half an interval after their rows arrive: 20 ms keeps alerts at
// a million events a second within p99 40 ms on two cores
// (docs/benchmarks.md).
const DefaultInterval = 20 * time.Millisecond

// DefaultCloseWait is how long Coordinator.Close waits for the jobs to
// stop by default.
const DefaultCloseWait = 15 * time.Second

// ErrJobsRunning is the error of a Close whose jobs did not stop in time:
// they may still read the database, which must then stay open.
var ErrJobsRunning = errors.New("streaming jobs still running at close")

// started records that j's goroutines run, until j is done.
func (c *Coordinator) started(j *Job) {
	c.liveMu.Lock()
	if c.live == nil {
		c.live = map[*Job]struct{}{}
	}
	c.live[j] = struct{}{}
	c.liveMu.Unlock()
}

// ended records that j is done.
func (c *Coordinator) ended(j *Job) {
	c.liveMu.Lock()
	delete(c.live, j)
	c.liveMu.Unlock()
}

// WaitCommitted blocks until epoch e has committed.
func (c *Coordinator) WaitCommitted(ctx context.Context, e uint64) error {
	for {
		c.mu.Lock()
		if c.committed >= e {
			c.mu.Unlock()
			return nil
		}
		if c.stalled != nil {
			// The disk was full at the last try: try again now, and give
			// the waiter the refusal if it still is.
			c.tryCommitLocked()
			if err := c.stalled; err != nil {
				c.mu.Unlock()
				return err
			}
			c.mu.Unlock()
			select {
			case c.kick <- struct{}{}: // inject the epochs waited for
			default:
			}
			continue
		}
		ch := c.commitCh
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// waitEpoch makes sure epochs up to e are injected without waiting for
// the interval, and waits for e to commit.
func (c *Coordinator) waitEpoch(ctx context.Context, e uint64) error {
	c.mu.Lock()
	if e > c.want {
		c.want = e
	}
	c.mu.Unlock()
	select {
	case c.kick <- struct{}{}:
	default:
	}
	return c.WaitCommitted(ctx, e)
}

// Flush returns once an epoch that covers every change committed before
// the call has committed.
func (c *Coordinator) Flush(ctx context.Context) error {
	c.mu.Lock()
	e := c.epoch + 1
	n := len(c.jobs)
	c.mu.Unlock()
	if n == 0 {
		return nil
	}
	return c.waitEpoch(ctx, e)
}

// JobInfo describes a job for SHOW JOBS.
type JobInfo struct {
	ID                    uint32
	Name                  string
	Status                string
	RowsIn, RowsOut, Late int64
	Committed             uint64
	// State memory: estimated bytes, entries evicted, entries read back.
	StateBytes, StateEvicted, StateReads int64
	// StateCleaned counts state entries the watermark cleaned.
	StateCleaned int64
	// Rejects counts source messages that could not be decoded.
	Rejects int64
	// Lags are the source splits' lags by split name.
	Lags map[string]int64
	// SinkLagEpochs and SinkLagRows are a logged sink's undelivered
	// epochs and records; SinkError what its delivery retries after.
	SinkLagEpochs, SinkLagRows int64
	// SinkLagBytes are the bytes of the undelivered log, as stored.
	SinkLagBytes int64
	SinkError    string
	// Sink: the job delivers to an external target through a sink log.
	Sink bool
	// Operators are the counters of the job's plan nodes, by node number
	// (operator_stats.go); none for a job that is not running.
	Operators []OperatorStats
}

// Lag is the sum of the splits' lags.
func (j JobInfo) Lag() int64 {
	var n int64
	for _, l := range j.Lags {
		n += l
	}
	return n
}

// Jobs lists the jobs.
func (c *Coordinator) Jobs() []JobInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []JobInfo
	for _, j := range c.jobs {
		j.mu.Lock()
		out = append(out, JobInfo{ID: j.spec.ID, Name: j.spec.Name, Status: "running",
			RowsIn: j.env.Stats.RowsIn.Load(), RowsOut: j.env.Stats.RowsOut.Load(), Late: j.env.Stats.LateRows.Load(), Committed: j.committed,
			StateBytes: j.env.Stats.StateBytes.Load(), StateEvicted: j.env.Stats.StateEvicted.Load(), StateReads: j.env.Stats.StateReads.Load(),
			StateCleaned: j.env.Stats.StateCleaned.Load(), Rejects: j.env.Stats.Rejects.Load(), Lags: j.env.Stats.Lags(),
			SinkLagEpochs: j.env.Stats.SinkLagEpochs.Load(), SinkLagRows: j.env.Stats.SinkLagRows.Load(), SinkLagBytes: j.env.Stats.SinkLagBytes.Load() + c.viewLogBytesLocked(j.spec.ID),
			SinkError: j.env.Stats.SinkError(), Sink: j.env.Stats.LoggedSink.Load(), Operators: j.ops.stats(j.env.Stats.RowsOut.Load())})
		if msg := j.env.Stats.SinkError(); msg != "" {
			out[len(out)-1].Status = "running; sink delivery retrying after: " + msg
		}
		j.mu.Unlock()
	}
	for id, err := range c.failed {
		if _, ok := c.jobs[id]; !ok {
			info := JobInfo{ID: id, Status: "failed: " + err.Error()}
			var re *retryError
			if errors.As(err, &re) {
				info.Status = "retrying: " + re.Error()
			}
			if j := c.failedJobs[id]; j != nil {
				// A failed sink's log stays as it was when the job stopped.
				st := j.env.Stats
				j.mu.Lock()
				info.Committed = j.committed
				j.mu.Unlock()
				info.Sink = st.LoggedSink.Load()
				info.SinkLagEpochs, info.SinkLagRows, info.SinkLagBytes = st.SinkLagEpochs.Load(), st.SinkLagRows.Load(), st.SinkLagBytes.Load()
				info.SinkLagBytes += c.viewLogBytesLocked(id)
			}
			out = append(out, info)
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a].ID < out[b].ID })
	return out
}

// JobError returns the error that stopped job id, if it failed.
func (c *Coordinator) JobError(id uint32) error { return c.jobErr(id) }
