package engine

// Metrics in the Prometheus text exposition format (version 0.0.4): the
// server, the epoch coordinator, the state budget, every streaming job,
// storage and the Go runtime. Values are read at scrape time; nothing is
// kept between scrapes.

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime/metrics"
	"sort"
	"strconv"
	"strings"
	"time"

	"streamsql/exec/stream"
)

// metricsWriter writes families in the text format.
type metricsWriter struct {
	w *bufio.Writer
}

func (m *metricsWriter) family(name, typ, help string) {
	fmt.Fprintf(m.w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
}

func (m *metricsWriter) sample(name, labels string, v float64) {
	m.w.WriteString(name)
	if labels != "" {
		m.w.WriteString("{" + labels + "}")
	}
	m.w.WriteByte(' ')
	m.w.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
	m.w.WriteByte('\n')
}

func (m *metricsWriter) gauge(name, help string, v float64) {
	m.family(name, "gauge", help)
	m.sample(name, "", v)
}

// latencyHistogram writes a histogram over stream.LatencyBuckets from
// the observations per bucket (the last one past every bound) and their
// sum.
func (m *metricsWriter) latencyHistogram(name, help string, counts [len(stream.LatencyBuckets) + 1]int64, sum float64) {
	m.family(name, "histogram", help)
	m.histogramSamples(name, "", counts, sum)
}

// histogramSamples writes the samples of one histogram of a family, each
// with labels (none if empty) before its le.
func (m *metricsWriter) histogramSamples(name, labels string, counts [len(stream.LatencyBuckets) + 1]int64, sum float64) {
	prefix := labels
	if prefix != "" {
		prefix += ","
	}
	var cum int64
	for i, le := range stream.LatencyBuckets {
		cum += counts[i]
		m.sample(name+"_bucket", prefix+`le="`+strconv.FormatFloat(le, 'g', -1, 64)+`"`, float64(cum))
	}
	cum += counts[len(stream.LatencyBuckets)]
	m.sample(name+"_bucket", prefix+`le="+Inf"`, float64(cum))
	m.sample(name+"_sum", labels, sum)
	m.sample(name+"_count", labels, float64(cum))
}

// metricFamily is one family with a sample per job or per operator: its
// value read from T, the job's or the operator's figures.
type metricFamily[T any] struct {
	name, typ, help string
	value           func(T) float64
}

// labelEscaper escapes label values (a Replacer is safe for concurrent
// use).
var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func labelValue(s string) string { return labelEscaper.Replace(s) }

// jobMetrics are the per-job families.
var jobMetrics = []metricFamily[stream.JobInfo]{
	{"streamsql_job_rows_in_total", "counter", "Rows the job's sources delivered.", func(j stream.JobInfo) float64 { return float64(j.RowsIn) }},
	{"streamsql_job_rows_out_total", "counter", "Changes the job wrote to its view or sink.", func(j stream.JobInfo) float64 { return float64(j.RowsOut) }},
	{"streamsql_job_late_rows_total", "counter", "Rows dropped because they were behind the watermark.", func(j stream.JobInfo) float64 { return float64(j.Late) }},
	{"streamsql_job_committed_epoch", "gauge", "The last epoch the job committed.", func(j stream.JobInfo) float64 { return float64(j.Committed) }},
	{"streamsql_job_state_bytes", "gauge", "Estimated memory of the job's operator state.", func(j stream.JobInfo) float64 { return float64(j.StateBytes) }},
	{"streamsql_job_state_evicted_total", "counter", "State entries dropped from memory to keep within the state budget.", func(j stream.JobInfo) float64 { return float64(j.StateEvicted) }},
	{"streamsql_job_state_reads_total", "counter", "State entries read back from storage.", func(j stream.JobInfo) float64 { return float64(j.StateReads) }},
	{"streamsql_job_state_cleaned_total", "counter", "State entries deleted because the watermark passed them.", func(j stream.JobInfo) float64 { return float64(j.StateCleaned) }},
	{"streamsql_job_rejects_total", "counter", "Source messages that could not be decoded (see the rejects relation).", func(j stream.JobInfo) float64 { return float64(j.Rejects) }},
	{"streamsql_job_failed", "gauge", "1 if the job stopped with an error (see SHOW JOBS).", func(j stream.JobInfo) float64 {
		if strings.HasPrefix(j.Status, "failed") {
			return 1
		}
		return 0
	}},
}

// WriteMetrics writes every metric in the Prometheus text format.
func (e *Engine) WriteMetrics(out io.Writer) error {
	m := &metricsWriter{w: bufio.NewWriter(out)}

	e.mu.Lock()
	sessions := len(e.sessions)
	e.mu.Unlock()
	m.gauge("streamsql_uptime_seconds", "Seconds since the server opened the database.", time.Since(e.started).Seconds())
	m.gauge("streamsql_sessions", "Open client sessions.", float64(sessions))

	c := e.coord.Metrics()
	m.gauge("streamsql_epoch_committed", "The last committed epoch.", float64(c.Committed))
	m.family("streamsql_epochs_committed_total", "counter", "Epochs committed since the server started.")
	m.sample("streamsql_epochs_committed_total", "", float64(c.Epochs))
	m.latencyHistogram("streamsql_barrier_latency_seconds", "Time from injecting an epoch's barrier to committing the epoch.", c.BarrierCounts, c.BarrierSum)
	m.latencyHistogram("streamsql_epoch_commit_seconds", "Time the commit of an epoch's writes took (part of its barrier latency).", c.CommitCounts, c.CommitSum)
	m.family("streamsql_epoch_stage_seconds", "histogram", "An epoch's barrier latency by stage: align (barrier through every job), queue (behind earlier commits), build (the commit batch), write (pebble commit and WAL sync).")
	for st, name := range stream.EpochStages {
		m.histogramSamples("streamsql_epoch_stage_seconds", `stage="`+name+`"`, c.StageCounts[st], c.StageSums[st])
	}
	m.gauge("streamsql_epoch_pending_seconds", "How long the oldest uncommitted epoch has waited since its barrier was injected.", c.Pending.Seconds())
	m.gauge("streamsql_state_memory_bytes", "Operator state in memory, as the operators last reported it.", float64(c.StateUsed))
	m.gauge("streamsql_state_memory_limit_bytes", "The state memory budget (0: no limit).", float64(c.StateLimit))
	m.gauge("streamsql_query_memory_bytes", "Memory held by running ad-hoc statements (sorts, hash tables, buffers).", float64(e.queryPool.Used()))
	m.gauge("streamsql_query_memory_limit_bytes", "The memory of all running statements together, -total-query-mem (0: no limit).", float64(e.queryPool.Limit()))
	m.family("streamsql_query_spilled_bytes_total", "counter", "Bytes ad-hoc statements wrote to temporary files (sorts, aggregations and joins past query_mem).")
	m.sample("streamsql_query_spilled_bytes_total", "", float64(e.queryPool.SpilledBytes()))
	hits, plans := e.PlanCacheStats()
	m.family("streamsql_plan_cache_hits_total", "counter", "Executions of SELECT, INSERT, UPDATE and DELETE that ran a cached plan.")
	m.sample("streamsql_plan_cache_hits_total", "", float64(hits))
	m.family("streamsql_plans_total", "counter", "Plans made for SELECT, INSERT, UPDATE and DELETE, at Parse or at Execute.")
	m.sample("streamsql_plans_total", "", float64(plans))

	jobs := e.jobs()
	names := make([]string, len(jobs))
	for i, j := range jobs {
		names[i] = e.jobName(j)
	}
	for _, jm := range jobMetrics {
		m.family(jm.name, jm.typ, jm.help)
		for i, j := range jobs {
			m.sample(jm.name, `job="`+labelValue(names[i])+`",id="`+strconv.FormatUint(uint64(j.ID), 10)+`"`, jm.value(j))
		}
	}

	writeOperatorMetrics(m, jobs, names)

	m.family("streamsql_source_lag", "gauge", "How far a job's source split is behind its end (a Kafka partition: high watermark minus the offset reached).")
	for i, j := range jobs {
		splits := make([]string, 0, len(j.Lags))
		for sp := range j.Lags {
			splits = append(splits, sp)
		}
		sort.Strings(splits)
		for _, sp := range splits {
			m.sample("streamsql_source_lag", `job="`+labelValue(names[i])+`",id="`+strconv.FormatUint(uint64(j.ID), 10)+`",split="`+labelValue(sp)+`"`, float64(j.Lags[sp]))
		}
	}

	m.family("streamsql_sink_lag_epochs", "gauge", "Epochs a sink has committed to its log and not yet delivered to its target.")
	for i, j := range jobs {
		if j.Sink {
			m.sample("streamsql_sink_lag_epochs", `job="`+labelValue(names[i])+`",id="`+strconv.FormatUint(uint64(j.ID), 10)+`"`, float64(j.SinkLagEpochs))
		}
	}
	m.family("streamsql_sink_lag_rows", "gauge", "Records a sink has committed to its log and not yet delivered to its target.")
	for i, j := range jobs {
		if j.Sink {
			m.sample("streamsql_sink_lag_rows", `job="`+labelValue(names[i])+`",id="`+strconv.FormatUint(uint64(j.ID), 10)+`"`, float64(j.SinkLagRows))
		}
	}

	m.family("streamsql_sink_lag_bytes", "gauge", "Bytes (as stored, compressed) of a sink's log not yet delivered to its target; sink.log.max_bytes bounds it.")
	for i, j := range jobs {
		if j.Sink {
			m.sample("streamsql_sink_lag_bytes", `job="`+labelValue(names[i])+`",id="`+strconv.FormatUint(uint64(j.ID), 10)+`"`, float64(j.SinkLagBytes))
		}
	}

	pm := e.db.Pebble().Metrics()
	m.gauge("streamsql_storage_disk_bytes", "Bytes the storage engine uses on disk.", float64(pm.DiskSpaceUsage()))
	m.gauge("streamsql_storage_memtable_bytes", "Bytes of the storage engine's memtables.", float64(pm.MemTable.Size))

	writeRuntimeMetrics(m)
	return m.w.Flush()
}

// writeRuntimeMetrics adds the Go runtime's and the process's basics.
func writeRuntimeMetrics(m *metricsWriter) {
	samples := []metrics.Sample{
		{Name: "/sched/goroutines:goroutines"},
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/total:bytes"},
		{Name: "/gc/cycles/total:gc-cycles"},
	}
	metrics.Read(samples)
	val := func(s metrics.Sample) float64 {
		if s.Value.Kind() == metrics.KindUint64 {
			return float64(s.Value.Uint64())
		}
		return 0
	}
	m.gauge("go_goroutines", "Goroutines that currently exist.", val(samples[0]))
	m.gauge("go_heap_objects_bytes", "Bytes of live and not yet swept heap objects.", val(samples[1]))
	m.gauge("go_memory_total_bytes", "All memory the Go runtime mapped.", val(samples[2]))
	m.family("go_gc_cycles_total", "counter", "Completed garbage collection cycles.")
	m.sample("go_gc_cycles_total", "", val(samples[3]))
	if raw, err := os.ReadFile("/proc/self/statm"); err == nil {
		if f := strings.Fields(string(raw)); len(f) > 1 {
			if pages, err := strconv.ParseInt(f[1], 10, 64); err == nil {
				m.gauge("process_resident_memory_bytes", "Resident memory of the process.", float64(pages*int64(os.Getpagesize())))
			}
		}
	}
}

// StallLimit is how long an epoch may stay uncommitted before Health
// reports the streaming jobs as stalled.
const StallLimit = time.Minute

// Health returns nil when the database serves: storage answers reads and
// epochs commit (none has waited longer than StallLimit).
func (e *Engine) Health() error {
	if _, _, err := e.db.Latest().Get([]byte("health")); err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	if p := e.coord.Metrics().Pending; p > StallLimit {
		return fmt.Errorf("streaming: epoch %d has waited %s to commit", e.coord.Committed()+1, p.Round(time.Second))
	}
	return nil
}

// operatorMetrics are the per-operator families.
var operatorMetrics = []metricFamily[stream.OperatorStats]{
	{"streamsql_operator_rows_in_total", "counter", "Rows an operator of a job received (a source: decoded).", func(o stream.OperatorStats) float64 { return float64(o.RowsIn) }},
	{"streamsql_operator_rows_out_total", "counter", "Rows an operator of a job sent on (the root: wrote to its view or sink).", func(o stream.OperatorStats) float64 { return float64(o.RowsOut) }},
	{"streamsql_operator_late_rows_total", "counter", "Rows an operator dropped or set aside as behind the watermark.", func(o stream.OperatorStats) float64 { return float64(o.LateRows) }},
	{"streamsql_operator_rejects_total", "counter", "Source messages an operator could not decode, or rows a user function failed on in it.", func(o stream.OperatorStats) float64 { return float64(o.Rejects) }},
	{"streamsql_operator_state_bytes", "gauge", "Estimated memory of an operator's state.", func(o stream.OperatorStats) float64 { return float64(o.StateBytes) }},
	{"streamsql_operator_state_evicted_total", "counter", "State entries an operator evicted to keep within the state budget.", func(o stream.OperatorStats) float64 { return float64(o.StateEvicted) }},
}

// writeOperatorMetrics writes the running jobs' per-operator counters,
// labelled with the job, its id, the operator's node number in the plan
// and its name (the first word of its EXPLAIN line), and the lag of each
// operator's timestamp watermark behind the clock.
func writeOperatorMetrics(m *metricsWriter, jobs []stream.JobInfo, names []string) {
	labels := func(i int, o stream.OperatorStats) string {
		op, _, _ := strings.Cut(o.Operator, " ")
		return `job="` + labelValue(names[i]) + `",id="` + strconv.FormatUint(uint64(jobs[i].ID), 10) +
			`",node="` + strconv.Itoa(o.Node) + `",operator="` + labelValue(op) + `"`
	}
	for _, om := range operatorMetrics {
		m.family(om.name, om.typ, om.help)
		for i, j := range jobs {
			for _, o := range j.Operators {
				m.sample(om.name, labels(i, o), om.value(o))
			}
		}
	}
	m.family("streamsql_operator_watermark_lag_seconds", "gauge", "How far the last timestamp watermark an operator sent is behind the clock.")
	now := time.Now()
	for i, j := range jobs {
		for _, o := range j.Operators {
			if !o.Watermark.IsZero() {
				m.sample("streamsql_operator_watermark_lag_seconds", labels(i, o), now.Sub(o.Watermark).Seconds())
			}
		}
	}
}
