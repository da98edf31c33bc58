package stream

import "streamsql/sql/types"

// Metered wraps next in the meter the job runtime puts on every edge
// (operator_stats.go), for benchmarks of its cost outside a job.
func Metered(next Operator) Operator {
	return &meter{next: next, out: newNodeCounters(), in: newNodeCounters(), cursor: &opCursor{}}
}

// MRRows is the row store of MATCH_RECOGNIZE views, for tests.
type MRRows = mrRows

// NewMRRows returns an empty row store over table.
func NewMRRows(ts []types.T, timeCol int, table *StateTable) *MRRows {
	return newMRRows(ts, timeCol, table)
}

// Live returns how many rows the store keeps.
func (r *mrRows) Live() int { return r.live }

// MRBlockBits is the width of a row's index in its block's handle.
const MRBlockBits = mrBlockBits
