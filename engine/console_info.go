package engine

// Read-only accessors for the web console (package console): the jobs
// with their counters and errors, the epoch coordinator's metrics, a
// job's operator graph and a relation's connector options with secrets
// masked. Nothing here changes the database; the console reads what
// SHOW JOBS, EXPLAIN, /metrics and SHOW CREATE read.

import (
	"streamsql/catalog"
	"streamsql/exec/stream"
	"streamsql/sql/sqlerr"
	"streamsql/storage"
)

// JobStatus is one job as SHOW JOBS lists it: a view's, a sink's or the
// ingest loop of a table fed by a connector, with its counters.
type JobStatus struct {
	stream.JobInfo
	// Name is the job's relation name; Schema its schema ("" when the
	// relation is gone, for a job that failed as it was dropped).
	Schema, Name string
	// Kind is the relation's kind ("materialized view", "sink", "table").
	Kind string
	// Err is the error that stopped the job, nil while it runs.
	Err error
}

// Jobs lists every job with its counters, in id order.
func (e *Engine) Jobs() []JobStatus {
	infos := e.jobs()
	out := make([]JobStatus, len(infos))
	for i, j := range infos {
		js := JobStatus{JobInfo: j, Name: e.jobName(j)}
		if r, ok := e.cat.ByOID(j.ID); ok {
			js.Schema, js.Kind = r.Schema, r.Kind.String()
			if js.Name == "" {
				js.Name = r.Name
			}
		}
		js.Err = e.coord.JobError(j.ID)
		out[i] = js
	}
	return out
}

// StreamMetrics returns the epoch coordinator's metrics: the committed
// epoch, the barrier latency histogram, the pending epoch's wait and the
// state memory.
func (e *Engine) StreamMetrics() stream.CoordinatorMetrics { return e.coord.Metrics() }

// JobPlan plans the stored definition of the materialized view or sink
// with id again and returns the root of its operator graph (the
// materialize or sink node), as EXPLAIN shows it: fragments joined by
// exchanges, each operator with its parallelism and state tables. It
// starts nothing.
func (e *Engine) JobPlan(id uint32) (*stream.Node, error) {
	r, ok := e.cat.ByOID(id)
	if !ok || (r.Kind != catalog.KindMatView && r.Kind != catalog.KindSink) {
		return nil, sqlerr.New(sqlerr.UndefinedObject, "job %d does not exist", id)
	}
	spec, err := e.jobSpec(r)
	if err != nil {
		return nil, err
	}
	return spec.Plan, nil
}

// MaskedOptions returns r's WITH options with the values of its
// connector's secret options replaced by a mask.
func (e *Engine) MaskedOptions(r *catalog.Relation) map[string]string {
	if len(r.Options) == 0 {
		return nil
	}
	return e.relConnector(r).Masked(r.Options)
}

// CreateSQL returns the statement that makes r as it is now, secrets
// masked (SHOW CREATE).
func (e *Engine) CreateSQL(r *catalog.Relation) string { return e.createSQL(r) }

// JobStateTables returns the state table ids of the materialized view or
// sink with id, in the order its job's operators take them when the job
// is built (stream.Job: fragment by fragment, each instance's operators
// top down).
func (e *Engine) JobStateTables(id uint32) []uint32 {
	r, ok := e.cat.ByOID(id)
	if !ok {
		return nil
	}
	return append([]uint32(nil), r.StateTables...)
}

// StateTableUsage counts the committed entries of state table id and
// their bytes (keys and values as stored), reading at most limit entries:
// complete is false when it stopped there.
func (e *Engine) StateTableUsage(id uint32, limit int) (entries, bytes int64, complete bool, err error) {
	lo, hi := storage.StateSpan(id)
	it, err := e.db.Latest().NewIter(lo, hi)
	if err != nil {
		return 0, 0, false, err
	}
	complete = true
	for ok := it.First(); ok; ok = it.Next() {
		if int(entries) >= limit {
			complete = false
			break
		}
		entries++
		bytes += int64(len(it.Key()) + len(it.Value()))
	}
	if cerr := it.Close(); cerr != nil {
		return 0, 0, false, cerr
	}
	return entries, bytes, complete, nil
}

// CommittedState returns a reader of the database as of the last
// committed epoch, for reading a job's state tables (the console reads a
// watermark filter's stored watermark through it).
func (e *Engine) CommittedState() storage.Reader { return e.db.Latest() }
