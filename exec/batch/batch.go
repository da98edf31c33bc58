// Package batch holds the operators of ad-hoc (batch) queries: scans of
// values and table functions, filter, project, limit, sort, hash
// aggregation, hash and nested-loop joins, distinct, set operations,
// window functions and buffering.
//
// Operators follow exec.Operator: Open prepares, Next pulls one batch of
// at most exec.BatchSize rows (nil at the end), Close releases. A batch
// returned by Next belongs to the caller, who releases it. Open may be
// called again after Close to re-run an operator, as correlated subqueries
// do once per outer row, so every operator resets its state in Open.
//
// Operators that need all of their input (sort, aggregation, the build
// side of joins, windows) materialize it as one Arrow array per column and
// address rows by position; results are gathered with typed take loops
// (columns.go). Equality of SQL values for hashing (group keys, join keys,
// distinct rows, set operations) uses a private byte encoding in which
// equal values encode equal (keys.go); ordering uses typed comparators
// (compare.go). Both follow PostgreSQL: NULLs group together, -0 equals 0,
// NaN equals NaN and sorts above every number, numeric 1.0 equals 1.00,
// interval '1 day' equals '24 hours'.
//
// Memory: operators that hold rows reserve them, a batch at a time from
// Arrow buffer sizes, in the statement's exec.MemAccount (query_mem).
// Sort, HashAgg and HashJoin spill past their share of it (spill.go: Arrow
// IPC files; sort_external.go: external merge sort; hash_agg_spill.go:
// hash-partitioned aggregation; hash_join_spill.go: grace hash join); the
// others fail the statement with 53200 out of memory.
package batch

import (
	"fmt"
	"strings"

	"streamsql/exec"
	"streamsql/exec/expr"
	"streamsql/sql/types"
)

// Collect opens op, drains it and closes it, returning every batch. The
// caller releases the batches.
func Collect(ctx *exec.Ctx, op exec.Operator) ([]*exec.Batch, error) {
	if err := op.Open(ctx); err != nil {
		op.Close()
		return nil, err
	}
	var out []*exec.Batch
	for {
		b, err := op.Next(ctx)
		if err != nil {
			for _, o := range out {
				o.Release()
			}
			op.Close()
			return nil, err
		}
		if b == nil {
			break
		}
		out = append(out, b)
	}
	op.Close()
	return out, nil
}

// ExplainTree renders op and its inputs as an indented tree, two spaces
// per level.
func ExplainTree(op exec.Operator) string {
	var sb strings.Builder
	var walk func(o exec.Operator, depth int)
	walk = func(o exec.Operator, depth int) {
		sb.WriteString(strings.Repeat("  ", depth))
		sb.WriteString(o.Explain())
		sb.WriteByte('\n')
		for _, c := range o.Children() {
			walk(c, depth+1)
		}
	}
	walk(op, 0)
	return sb.String()
}

// evalConst evaluates e once, over a batch of one row and no columns (it
// may read parameters, outer rows and uncorrelated subqueries).
func evalConst(ctx *exec.Ctx, e expr.Expr) (types.Datum, error) {
	arr, err := e.Eval(ctx, &exec.Batch{N: 1})
	if err != nil {
		return nil, err
	}
	defer arr.Release()
	if arr.Len() != 1 {
		return nil, fmt.Errorf("constant expression %s gave %d values", e, arr.Len())
	}
	return types.GetDatum(arr, 0, e.Type()), nil
}

// exprList renders expressions for EXPLAIN.
func exprList(es []expr.Expr) string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.String()
	}
	return strings.Join(parts, ", ")
}

// ColList renders column positions for EXPLAIN as #i, the form every
// operator, batch or stream, uses.
func ColList(cols []int) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = fmt.Sprintf("#%d", c)
	}
	return strings.Join(parts, ", ")
}

// next returns in's next batch (nil at the end) after checking for
// cancellation of the statement.
func next(ctx *exec.Ctx, in exec.Operator) (*exec.Batch, error) {
	if err := checkCtx(ctx); err != nil {
		return nil, err
	}
	return in.Next(ctx)
}

// nextRows is next past the batches without rows.
func nextRows(ctx *exec.Ctx, in exec.Operator) (*exec.Batch, error) {
	for {
		b, err := next(ctx, in)
		if err != nil {
			return nil, err
		}
		if b == nil || b.N > 0 {
			return b, nil
		}
		b.Release()
	}
}

// checkCtx reports cancellation of the statement.
func checkCtx(ctx *exec.Ctx) error {
	if err := ctx.Err(); err != nil {
		return queryCanceled(err)
	}
	return nil
}
