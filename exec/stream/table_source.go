package stream

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/exec"
	"streamsql/sql/types"
	"streamsql/storage"
)

// TableSourceSpec follows a table: a snapshot of its rows, then every
// change from its changelog. Output: columns Cols of the table, then, for
// a table without a primary key, its hidden int8 row id (the stream key).
//
// Position: the changelog seq up to which changes have been sent (8
// bytes). A job that starts without a position takes a snapshot and its
// seq together, sends the rows, and follows the log from that seq, so no
// change is missed or counted twice.
//
// Watermark, for a table fed by a connector that generates its watermark
// per split (a Kafka table with WATERMARK FOR: the minimum over its
// partitions), makes the scan pass that watermark on: the table's ingest
// loop commits it under TableWatermarkKey in the same transaction as the
// rows it covers, and the scan reads the changelog and the watermark from
// one snapshot, so the watermark follows exactly the rows it was derived
// from. The watermark filter above the scan takes it (FromSource) instead
// of a maximum of its own.
type TableSourceSpec struct {
	Table     *storage.Table
	Cols      []int
	RowID     bool
	Watermark *TableWatermark
}

// TableWatermark is the output column of a table scan that carries the
// watermark its table's connector generates, and its type.
type TableWatermark struct {
	Col  int
	Type types.T
}

// TableWatermarkKey is where the ingest loop of table keeps the table's
// watermark (EncodeTableWatermark). It lies in the span of the loop's
// other keys (its position, its rejects), which DROP TABLE deletes.
func TableWatermarkKey(table uint32) []byte {
	k := []byte{storage.PrefixEpoch, 0, 0, 0, 0, 'w'}
	binary.BigEndian.PutUint32(k[1:], table)
	return k
}

// EncodeTableWatermark encodes a table's watermark of type t.
func EncodeTableWatermark(wm types.Datum, t types.T) []byte {
	return types.EncodeRow(nil, []types.Datum{wm}, []types.T{t})
}

// DecodeTableWatermark decodes what EncodeTableWatermark wrote.
func DecodeTableWatermark(v []byte, t types.T) (types.Datum, error) {
	row, err := types.DecodeRow(v, []types.T{t})
	if err != nil {
		return nil, fmt.Errorf("table watermark: %w", err)
	}
	return row[0], nil
}

func (s *TableSourceSpec) Explain() string {
	if s.RowID {
		return "StreamTableScan " + s.Table.Name + " (with row id)"
	}
	return "StreamTableScan " + s.Table.Name
}

func (s *TableSourceSpec) Open(b *BuildCtx, pos []byte) (Source, error) {
	ts := &tableSource{spec: s, db: b.Env.DB, stats: b.Env.Stats, env: b.Env}
	if pos != nil {
		if len(pos) != 8 {
			return nil, fmt.Errorf("table source %s: bad position", s.Table.Name)
		}
		ts.pos = binary.BigEndian.Uint64(pos)
		ts.started = true
	}
	return ts, nil
}

type tableSource struct {
	spec    *TableSourceSpec
	db      *storage.DB
	stats   *Stats
	pos     uint64
	started bool
	env     *Env
	wm      types.Datum // the last watermark sent (Watermark)
}

func (t *tableSource) Types() []types.T {
	ts := make([]types.T, 0, len(t.spec.Cols)+1)
	for _, c := range t.spec.Cols {
		ts = append(ts, t.spec.Table.Types[c])
	}
	if t.spec.RowID {
		ts = append(ts, types.TInt8)
	}
	return ts
}

func (t *tableSource) position() []byte {
	return binary.BigEndian.AppendUint64(nil, t.pos)
}

func (t *tableSource) Run(ctx context.Context, barriers <-chan uint64, out chan<- Message) error {
	if !t.started {
		if err := t.snapshot(ctx, out); err != nil {
			return err
		}
		t.started = true
	} else if err := t.env.waitRunning(ctx); err != nil {
		// Resumed: what it catches up on goes to every reader of the
		// job's view, which attach before the coordinator runs.
		return err
	}
	for {
		notify := t.db.LogNotify()
		if err := t.catchUp(ctx, out); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case e := <-barriers:
			// Every change committed before the barrier was requested
			// belongs to the epoch it ends.
			if err := t.catchUp(ctx, out); err != nil {
				return err
			}
			if err := Send(ctx, out, Message{Kind: MsgBarrier, Epoch: e, Pos: t.position()}); err != nil {
				return err
			}
		case <-notify:
		}
	}
}

// catchUp sends the changes committed so far and, with Watermark, then
// the table's watermark as the same snapshot holds it.
func (t *tableSource) catchUp(ctx context.Context, out chan<- Message) error {
	if t.spec.Watermark == nil {
		return t.follow(ctx, t.db.Latest(), t.db.LogSeq(), out)
	}
	snap := t.db.Snapshot()
	defer snap.Close()
	seq, err := storage.LogSeqAt(snap)
	if err != nil {
		return err
	}
	if err := t.follow(ctx, snap, seq, out); err != nil {
		return err
	}
	return t.sendWatermark(ctx, snap, out)
}

// sendWatermark sends the table's watermark as r holds it, if it is
// above the last one sent.
func (t *tableSource) sendWatermark(ctx context.Context, r storage.Reader, out chan<- Message) error {
	w := t.spec.Watermark
	v, found, err := r.Get(TableWatermarkKey(t.spec.Table.ID))
	if err != nil || !found {
		return err
	}
	wm, err := DecodeTableWatermark(v, w.Type)
	if err != nil || wm == nil {
		return err
	}
	if t.wm != nil && types.Compare(wm, t.wm, w.Type) <= 0 {
		return nil
	}
	t.wm = wm
	return Send(ctx, out, Message{Kind: MsgWatermark, WM: Watermark{Col: w.Col, Val: wm}})
}

// snapshot sends the table's rows and sets the position to the changelog
// seq of the same snapshot.
func (t *tableSource) snapshot(ctx context.Context, out chan<- Message) error {
	snap := t.db.Snapshot()
	defer snap.Close()
	seq, err := storage.LogSeqAt(snap)
	if err != nil {
		return err
	}
	it, err := t.spec.Table.Scan(snap, storage.FullSpan)
	if err != nil {
		return err
	}
	defer it.Close()
	for {
		cols, n, keys, err := it.NextBatch(t.spec.Cols, exec.BatchSize)
		if err != nil {
			return err
		}
		if n == 0 {
			break
		}
		if t.spec.RowID {
			cols = append(cols, rowIDs(keys))
		}
		if err := Send(ctx, out, Message{Kind: MsgChunk, Chunk: NewChunk(cols, make([]Op, n))}); err != nil {
			return err
		}
	}
	t.pos = seq
	if t.spec.Watermark != nil {
		return t.sendWatermark(ctx, snap, out)
	}
	return nil
}

// follow sends the changelog entries after the position up to upTo, as
// r holds them.
func (t *tableSource) follow(ctx context.Context, r storage.Reader, upTo uint64, out chan<- Message) error {
	for t.pos < upTo {
		lb, err := t.spec.Table.ReadLog(r, t.pos, upTo, t.spec.Cols, exec.BatchSize)
		if err != nil {
			return err
		}
		if len(lb.Ops) == 0 {
			t.pos = upTo
			return nil
		}
		cols := lb.Cols
		if t.spec.RowID {
			cols = append(cols, rowIDs(lb.Keys))
		}
		ops := make([]Op, len(lb.Ops))
		for i, o := range lb.Ops {
			ops[i] = Op(o)
		}
		t.pos = lb.Last
		if err := Send(ctx, out, Message{Kind: MsgChunk, Chunk: NewChunk(cols, ops)}); err != nil {
			return err
		}
	}
	return nil
}

// rowIDs decodes hidden row ids from encoded keys.
func rowIDs(keys [][]byte) arrow.Array {
	b := array.NewInt64Builder(types.Mem)
	defer b.Release()
	b.Reserve(len(keys))
	for _, k := range keys {
		d, _, err := types.DecodeKey(k, types.TInt8, false)
		if err != nil {
			b.AppendNull()
			continue
		}
		b.Append(d.(int64))
	}
	return b.NewArray()
}

// ValuesSpec is a source of constant rows (a view over VALUES or with no
// FROM): it sends them once, when the job starts fresh. Output: the rows'
// columns plus an int8 row number (the stream key).
//
// Position: "done" once sent.
type ValuesSpec struct {
	Rows  [][]types.Datum
	Types []types.T
}

func (s *ValuesSpec) Explain() string { return fmt.Sprintf("StreamValues %d rows", len(s.Rows)) }

func (s *ValuesSpec) Open(b *BuildCtx, pos []byte) (Source, error) {
	return &valuesSource{spec: s, done: pos != nil}, nil
}

type valuesSource struct {
	spec *ValuesSpec
	done bool
}

func (v *valuesSource) Types() []types.T {
	return append(append([]types.T(nil), v.spec.Types...), types.TInt8)
}

func (v *valuesSource) Run(ctx context.Context, barriers <-chan uint64, out chan<- Message) error {
	if !v.done && len(v.spec.Rows) > 0 {
		cols := make([]arrow.Array, 0, len(v.spec.Types)+1)
		for j, t := range v.spec.Types {
			ds := make([]types.Datum, len(v.spec.Rows))
			for i, r := range v.spec.Rows {
				ds[i] = r[j]
			}
			cols = append(cols, types.ArrayFromDatums(t, ds))
		}
		ids := make([]types.Datum, len(v.spec.Rows))
		for i := range ids {
			ids[i] = int64(i)
		}
		cols = append(cols, types.ArrayFromDatums(types.TInt8, ids))
		if err := Send(ctx, out, Message{Kind: MsgChunk, Chunk: NewChunk(cols, make([]Op, len(ids)))}); err != nil {
			return err
		}
	}
	v.done = true
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case e := <-barriers:
			if err := Send(ctx, out, Message{Kind: MsgBarrier, Epoch: e, Pos: []byte("done")}); err != nil {
				return err
			}
		}
	}
}
