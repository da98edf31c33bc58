// Package exec runs queries: vectorized expressions over Arrow arrays
// (exec/expr), the ad-hoc batch operators (exec/batch) and, later, the
// streaming operators and dataflow runtime (exec/stream).
//
// A Batch is a set of rows held as Arrow columns. Operators pull batches
// from their inputs (Volcano style, a batch at a time, never a row at a
// time) and return nil when exhausted.
package exec

import (
	"github.com/apache/arrow-go/v18/arrow"

	"streamsql/sql/types"
	"streamsql/udf"
)

// BatchSize is the number of rows operators aim for per batch.
const BatchSize = 4096

// Batch is rows as columns. N is the row count, kept apart so that a batch
// with no columns (SELECT count(*) input, VALUES ()) still has rows.
type Batch struct {
	Cols []arrow.Array
	N    int
}

// NewBatch returns a batch over cols (all of length n).
func NewBatch(cols []arrow.Array, n int) *Batch { return &Batch{Cols: cols, N: n} }

// Release releases the batch's columns.
func (b *Batch) Release() {
	if b == nil {
		return
	}
	for _, c := range b.Cols {
		if c != nil {
			c.Release()
		}
	}
}

// Row returns row i as datums (for edges and row-wise fallbacks only).
func (b *Batch) Row(i int, ts []types.T) []types.Datum {
	row := make([]types.Datum, len(b.Cols))
	for j, c := range b.Cols {
		row[j] = types.GetDatum(c, i, ts[j])
	}
	return row
}

// Operator is a batch operator. Open prepares it (and may be called again
// after Close to re-run it, as correlated subqueries do); Next returns the
// next batch or nil at the end; Close releases resources.
type Operator interface {
	Open(ctx *Ctx) error
	Next(ctx *Ctx) (*Batch, error)
	Close()
	// Types returns the types of the output columns.
	Types() []types.T
	// Explain returns the operator's one-line description for EXPLAIN;
	// Children returns its inputs.
	Explain() string
	Children() []Operator
}

// Ctx is the per-statement execution context shared by every operator and
// expression of one statement. The environment that functions may read
// (time zone, transaction time, settings, catalog) is udf.Env.
type Ctx struct {
	udf.Env
	// Params are the statement's $n arguments ($1 is Params[0]).
	Params []types.Datum
	// Outer is the stack of outer rows for correlated subqueries: the
	// innermost enclosing query's current row is Outer[len(Outer)-1].
	Outer []OuterRow
	// Cache holds per-execution values keyed by plan node (uncorrelated
	// subquery results). Reset for each execution.
	Cache map[any]any
	// Mem is the statement's memory account and spill area (memory.go);
	// nil means unlimited and no spilling.
	Mem *MemAccount
}

// OuterRow is one enclosing query's current row.
type OuterRow struct {
	Batch *Batch
	Row   int
	Types []types.T
}

// Err checks for cancellation; operators call it once per batch.
func (c *Ctx) Err() error {
	if c.Context == nil {
		return nil
	}
	return c.Context.Err()
}
