package stream

// Coordinator metrics: how long epochs take from the injection of their
// barrier to their commit (the floor of every view's freshness), and how
// many committed.

import (
	"sync/atomic"
	"time"
)

// LatencyBuckets are the upper bounds, in seconds, of the barrier latency
// histogram.
var LatencyBuckets = [...]float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// latencyHistogram counts observations per bucket without locks.
type latencyHistogram struct {
	counts [len(LatencyBuckets) + 1]atomic.Int64 // the last is +Inf
	sumNs  atomic.Int64
}

func (h *latencyHistogram) observe(d time.Duration) {
	s := d.Seconds()
	i := 0
	for i < len(LatencyBuckets) && s > LatencyBuckets[i] {
		i++
	}
	h.counts[i].Add(1)
	h.sumNs.Add(int64(d))
}

// CoordinatorMetrics is a snapshot of the coordinator's metrics.
type CoordinatorMetrics struct {
	// Committed is the last committed epoch; Epochs how many epochs this
	// process committed.
	Committed, Epochs int64
	// BarrierCounts are the observations per bucket of LatencyBuckets
	// (not cumulative), the last one above every bound; BarrierSum is
	// their sum in seconds.
	BarrierCounts [len(LatencyBuckets) + 1]int64
	BarrierSum    float64
	// CommitCounts and CommitSum are the same for the commit of each
	// epoch's writes alone (part of its barrier latency): the barrier's
	// travel through the jobs is the difference.
	CommitCounts [len(LatencyBuckets) + 1]int64
	CommitSum    float64
	// StateUsed and StateLimit are the bytes of operator state in memory
	// and the budget (0: no limit).
	StateUsed, StateLimit int64
	// StageCounts and StageSums split each epoch's barrier latency into
	// the stages of EpochStages, bucketed as BarrierCounts.
	StageCounts [len(EpochStages)][len(LatencyBuckets) + 1]int64
	StageSums   [len(EpochStages)]float64
	// Pending is how long the oldest epoch not committed yet has been
	// waiting since its barrier was injected (0: none is pending).
	Pending time.Duration
}

// EpochStages name the consecutive parts of an epoch's barrier latency:
//   - align: from the barrier's injection until every job of the epoch
//     handed over its writes (the barrier passed every operator, aligned
//     at every join, union and exchange);
//   - queue: until the epoch's commit started (it waits for the commits
//     of earlier epochs);
//   - build: gathering the jobs' writes into one batch and sorting it;
//   - write: the pebble commit with its WAL sync; the epoch is readable
//     when it ends.
var EpochStages = [...]string{"align", "queue", "build", "write"}

// Indexes of EpochStages.
const (
	stageAlign = iota
	stageQueue
	stageBuild
	stageWrite
)

// Metrics returns a snapshot of the coordinator's metrics.
func (c *Coordinator) Metrics() CoordinatorMetrics {
	m := CoordinatorMetrics{StateUsed: c.mem.Used(), StateLimit: c.mem.Limit()}
	// Commits observe under mu: the histograms read under it agree.
	c.mu.Lock()
	defer c.mu.Unlock()
	m.Committed, m.Epochs = int64(c.lastCommitted.Load()), c.epochs.Load()
	for i := range m.BarrierCounts {
		m.BarrierCounts[i] = c.barrierLatency.counts[i].Load()
	}
	m.BarrierSum = time.Duration(c.barrierLatency.sumNs.Load()).Seconds()
	for i := range m.CommitCounts {
		m.CommitCounts[i] = c.commitLatency.counts[i].Load()
	}
	m.CommitSum = time.Duration(c.commitLatency.sumNs.Load()).Seconds()
	for st := range c.stageLatency {
		for i := range m.StageCounts[st] {
			m.StageCounts[st][i] = c.stageLatency[st].counts[i].Load()
		}
		m.StageSums[st] = time.Duration(c.stageLatency[st].sumNs.Load()).Seconds()
	}
	if p := c.pending[c.committed+1]; p != nil {
		m.Pending = time.Since(p.injected)
	}
	return m
}
