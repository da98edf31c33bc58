package engine

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/exec"
	"streamsql/pgwire"
	"streamsql/sql/types"
)

func schemaOf(cols []pgwire.Column) *arrow.Schema {
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		fields[i] = arrow.Field{Name: c.Name, Type: c.Type.ArrowType(), Nullable: true}
	}
	return arrow.NewSchema(fields, nil)
}

func toRecord(schema *arrow.Schema, b *exec.Batch) arrow.RecordBatch {
	return array.NewRecordBatch(schema, b.Cols, int64(b.N))
}

// rowsResult streams a query's batches from its operator tree.
type rowsResult struct {
	ctx     *exec.Ctx
	op      exec.Operator
	cols    []pgwire.Column
	schema  *arrow.Schema
	verb    string
	opened  bool
	done    bool
	count   int64
	onClose func()
	closed  bool
	// onErr runs when producing the rows fails (a transaction block is
	// then aborted, as the statement failed).
	onErr func()
}

func newRowsResult(ctx context.Context, ec *exec.Ctx, op exec.Operator, cols []pgwire.Column, verb string) *rowsResult {
	return &rowsResult{ctx: ec, op: op, cols: cols, schema: schemaOf(cols), verb: verb}
}

func (r *rowsResult) Columns() []pgwire.Column { return r.cols }

func (r *rowsResult) failed() {
	if r.onErr != nil {
		r.onErr()
	}
}

func (r *rowsResult) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if r.done {
		return nil, nil
	}
	r.ctx.Context = ctx
	if !r.opened {
		r.opened = true
		if err := r.op.Open(r.ctx); err != nil {
			r.done = true
			r.failed()
			return nil, err
		}
	}
	for {
		b, err := r.op.Next(r.ctx)
		if err != nil {
			r.done = true
			r.failed()
			return nil, err
		}
		if b == nil {
			r.done = true
			return nil, nil
		}
		if b.N == 0 {
			b.Release()
			continue
		}
		r.count += int64(b.N)
		rec := toRecord(r.schema, b)
		b.Release()
		return rec, nil
	}
}

func (r *rowsResult) Tag() string { return fmt.Sprintf("%s %d", r.verb, r.count) }

func (r *rowsResult) Close() {
	if r.closed {
		return
	}
	r.closed = true
	if r.opened {
		r.op.Close()
	}
	r.ctx.Mem.Close()
	if r.onClose != nil {
		r.onClose()
	}
}

// staticResult is a result computed in full before it is returned.
type staticResult struct {
	cols []pgwire.Column
	recs []arrow.RecordBatch
	tag  string
	i    int
}

func (r *staticResult) Columns() []pgwire.Column { return r.cols }
func (r *staticResult) Next(context.Context) (arrow.RecordBatch, error) {
	if r.i >= len(r.recs) {
		return nil, nil
	}
	r.i++
	rec := r.recs[r.i-1]
	rec.Retain()
	return rec, nil
}
func (r *staticResult) Tag() string { return r.tag }
func (r *staticResult) Close() {
	for _, rec := range r.recs {
		rec.Release()
	}
	r.recs = nil
}

func tagResult(tag string) pgwire.Result { return &staticResult{tag: tag} }

// noticeResult is a result without rows that sends notices before its
// tag (pgwire.NoticeResult).
type noticeResult struct {
	staticResult
	notices []pgwire.Notice
}

func (r *noticeResult) Notices() []pgwire.Notice { return r.notices }

// memResult builds a result from rows of datums.
func memResult(cols []pgwire.Column, rows [][]types.Datum, tag string) pgwire.Result {
	if tag == "SELECT" || tag == "SHOW" {
		if tag == "SELECT" {
			tag = fmt.Sprintf("SELECT %d", len(rows))
		}
	}
	schema := schemaOf(cols)
	arrs := make([]arrow.Array, len(cols))
	for j, c := range cols {
		ds := make([]types.Datum, len(rows))
		for i, r := range rows {
			ds[i] = r[j]
		}
		arrs[j] = types.ArrayFromDatums(c.Type, ds)
	}
	rec := array.NewRecordBatch(schema, arrs, int64(len(rows)))
	for _, a := range arrs {
		a.Release()
	}
	return &staticResult{cols: cols, recs: []arrow.RecordBatch{rec}, tag: tag}
}

// batchesResult wraps collected batches.
func batchesResult(cols []pgwire.Column, bs []*exec.Batch, tag string) pgwire.Result {
	schema := schemaOf(cols)
	r := &staticResult{cols: cols, tag: tag}
	for _, b := range bs {
		if b.N > 0 {
			r.recs = append(r.recs, toRecord(schema, b))
		}
		b.Release()
	}
	return r
}

// drainRows runs r to its end and returns its rows as a result held in
// memory, for a statement whose transaction commits before its rows are
// sent.
func drainRows(ctx context.Context, r *rowsResult) (pgwire.Result, error) {
	defer r.Close()
	out := &staticResult{cols: r.cols}
	for {
		rec, err := r.Next(ctx)
		if err != nil {
			out.Close()
			return nil, err
		}
		if rec == nil {
			out.tag = r.Tag()
			return out, nil
		}
		out.recs = append(out.recs, rec)
	}
}
