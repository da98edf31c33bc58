package stream

// Metered wraps next in the meter the job runtime puts on every edge
// (operator_stats.go), for benchmarks of its cost outside a job.
func Metered(next Operator) Operator {
	return &meter{next: next, out: newNodeCounters(), in: newNodeCounters(), cursor: &opCursor{}}
}
