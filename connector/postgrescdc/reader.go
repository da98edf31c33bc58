package postgrescdc

import (
	"context"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/exec/stream"
	"streamsql/sql/types"
)

// reader is the source's one split reader: it reads the snapshot, then
// the replication stream, over connections it re-establishes with backoff
// when the server goes away.
type reader struct {
	rt   *runtime
	spec *Spec

	// pos is the position after the last batch Next returned; cur is the
	// position after the rows collected for the next batch.
	pos, cur *position
	prepared bool
	upstream map[string]upstreamColumn

	snap *snapshotRead
	repl *replication

	// truncAt is the position after a TRUNCATE of the upstream table met
	// but not yet handed on; truncLSN its transaction's commit LSN.
	truncAt  *position
	truncLSN uint64

	// The batch being collected.
	builders []array.Builder
	ops      []stream.Op
	rejects  []stream.Reject

	backoff time.Duration
}

func newReader(rt *runtime) *reader {
	r := &reader{rt: rt, spec: rt.spec, pos: &position{}}
	r.cur = r.pos.clone()
	r.builders = make([]array.Builder, len(rt.spec.ts))
	for i, t := range rt.spec.ts {
		r.builders[i] = types.NewBuilder(t)
	}
	return r
}

// Assign takes the one split at its position.
func (r *reader) Assign(splits []stream.Split) ([]stream.Split, error) {
	for _, sp := range splits {
		if sp.Pos != nil {
			p, err := decodePosition(sp.Pos)
			if err != nil {
				return nil, err
			}
			if err := p.parseRanges(r.spec.keyType); err != nil {
				return nil, err
			}
			r.pos = p
			r.cur = p.clone()
		}
	}
	out := make([]stream.Split, len(splits))
	for i, sp := range splits {
		out[i] = stream.Split{ID: sp.ID, Pos: r.pos.encode()}
	}
	return out, nil
}

// Positions is the split's position after the last batch.
func (r *reader) Positions() []stream.Split {
	return []stream.Split{{ID: splitID, Pos: r.pos.encode()}}
}

// Next returns the next batch of the snapshot or of the replication
// stream. A lost connection is re-established with backoff (from the
// position of the last batch returned); errors that a retry cannot fix
// (authentication, a missing table) end the source.
func (r *reader) Next(ctx context.Context) (stream.Batch, error) {
	for {
		b, err := r.next(ctx)
		if err == nil {
			r.backoff = 0
			r.rt.setRetrying(nil)
			return b, nil
		}
		if ctx.Err() != nil {
			return stream.Batch{}, ctx.Err()
		}
		r.reset()
		if !transient(err) {
			return stream.Batch{}, err
		}
		r.backoff = min(max(2*r.backoff, 100*time.Millisecond), 5*time.Second)
		r.rt.log.Warn("postgres-cdc connection lost, reconnecting", "err", err, "in", r.backoff)
		r.rt.setRetrying(err)
		select {
		case <-ctx.Done():
			return stream.Batch{}, ctx.Err()
		case <-time.After(r.backoff):
		}
	}
}

func (r *reader) next(ctx context.Context) (stream.Batch, error) {
	if !r.prepared {
		cols, err := r.spec.prepare(ctx)
		if err != nil {
			return stream.Batch{}, err
		}
		r.upstream, r.prepared = cols, true
	}
	if !r.cur.snapshotDone {
		if r.snap == nil {
			s, err := r.startSnapshot(ctx)
			if err != nil {
				return stream.Batch{}, err
			}
			r.snap = s
		}
		if err := r.fetchSnapshot(ctx); err != nil {
			return stream.Batch{}, err
		}
		return r.emit(), nil
	}
	if r.repl == nil {
		rp, err := r.startReplication(ctx)
		if err != nil {
			return stream.Batch{}, err
		}
		r.repl = rp
	}
	return r.stream(ctx)
}

// reset drops the connections and the rows collected but not returned:
// reading starts again from pos.
func (r *reader) reset() {
	if r.snap != nil {
		r.snap.close()
		r.snap = nil
	}
	if r.repl != nil {
		r.repl.close()
		r.repl = nil
	}
	for _, b := range r.builders {
		if b.Len() > 0 {
			b.NewArray().Release()
		}
	}
	r.ops = r.ops[:0]
	r.rejects = nil
	r.cur = r.pos.clone()
	r.truncAt = nil
}

// appendRow adds a row (datums in column order) with op to the batch.
func (r *reader) appendRow(row []types.Datum, op stream.Op) {
	for i, b := range r.builders {
		types.AppendDatum(b, row[i])
	}
	r.ops = append(r.ops, op)
}

// reject keeps a change that could not be turned into rows.
func (r *reader) reject(lsn uint64, raw string, err error) {
	if len(raw) > 1024 {
		raw = raw[:1024]
	}
	r.rejects = append(r.rejects, stream.Reject{Relation: r.spec.relation, Split: splitID, Offset: int64(lsn),
		Raw: []byte(raw), Error: err.Error(), Time: time.Now()})
}

// emit returns the rows collected as a batch and makes cur the position.
func (r *reader) emit() stream.Batch {
	var b stream.Batch
	if len(r.ops) > 0 {
		cols := make([]arrow.Array, len(r.builders))
		for i, bl := range r.builders {
			cols[i] = bl.NewArray()
		}
		b.Chunk = stream.NewChunk(cols, r.ops)
		r.ops = nil
	}
	b.Rejects, r.rejects = r.rejects, nil
	r.pos = r.cur.clone()
	return b
}

// pending reports whether the next batch would say something: rows,
// rejects or a new position.
func (r *reader) pending() bool {
	return len(r.ops) > 0 || len(r.rejects) > 0 || r.cur.lsn != r.pos.lsn || r.cur.txnRows != r.pos.txnRows ||
		r.cur.txnLSN != r.pos.txnLSN || len(r.cur.ranges) != len(r.pos.ranges)
}

// Close drops the connections.
func (r *reader) Close() error {
	r.reset()
	for _, b := range r.builders {
		b.Release()
	}
	r.builders = nil
	return nil
}

// parseValue parses a value of column i from PostgreSQL's text output.
func (r *reader) parseValue(i int, text []byte) (types.Datum, error) {
	d, err := types.ParseText(string(text), r.spec.ts[i], time.UTC)
	if err != nil {
		return nil, fmt.Errorf("column %q: %w", r.spec.cols[i].Name, err)
	}
	return d, nil
}

// keyOf returns the primary key values of row.
func (r *reader) keyOf(row []types.Datum) []types.Datum {
	k := make([]types.Datum, len(r.spec.key))
	for i, c := range r.spec.key {
		k[i] = row[c]
	}
	return k
}
