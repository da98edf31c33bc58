package engine

// Committed progress of a streaming job, for tools that measure freshness
// (the Nexmark harness): which epoch is committed, and how far into its
// sources a view or sink is as of that epoch. Everything a committed
// epoch covers is readable by SELECT, so "source position committed at
// wall time t" is "its events' effects are visible at t".

import (
	"context"
	"encoding/binary"

	"streamsql/catalog"
	"streamsql/sql/sqlerr"
	"streamsql/storage"
)

// Progress is a job's committed progress.
type Progress struct {
	// Epoch is the last committed epoch of the database.
	Epoch uint64
	// Positions are the job's source positions recorded by Epoch, by
	// source index (plan order); an entry is nil when that source has not
	// recorded one. Their encoding is the source connector's.
	Positions [][]byte
	// Err is the error that stopped the job, if it failed.
	Err error
}

// Job position keys, as exec/stream's job.go lays them out:
// PrefixEpoch + job id (4 bytes) + 'p' + source index (2 bytes), and
// PrefixEpoch + "epoch" for the last committed epoch. Both are written in
// the same pebble commit, so one snapshot reads a consistent pair.
var committedEpochKey = []byte{storage.PrefixEpoch, 'e', 'p', 'o', 'c', 'h'}

func positionPrefix(id uint32) []byte {
	k := make([]byte, 6)
	k[0] = storage.PrefixEpoch
	binary.BigEndian.PutUint32(k[1:], id)
	k[5] = 'p'
	return k
}

// Progress returns the committed progress of the materialized view or
// sink name (in schema public).
func (e *Engine) Progress(name string) (Progress, error) {
	r, ok := e.cat.Relation("public", name)
	if !ok || (r.Kind != catalog.KindMatView && r.Kind != catalog.KindSink) {
		return Progress{}, sqlerr.New(sqlerr.UndefinedTable, "materialized view or sink %q does not exist", name)
	}
	snap := e.db.Snapshot()
	defer snap.Close()
	var p Progress
	v, found, err := snap.Get(committedEpochKey)
	if err != nil {
		return Progress{}, err
	}
	if found && len(v) == 8 {
		p.Epoch = binary.BigEndian.Uint64(v)
	}
	lo := positionPrefix(r.OID)
	it, err := snap.NewIter(lo, storage.PrefixEnd(lo))
	if err != nil {
		return Progress{}, err
	}
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		if len(k) != len(lo)+2 {
			continue
		}
		idx := int(binary.BigEndian.Uint16(k[len(lo):]))
		for len(p.Positions) <= idx {
			p.Positions = append(p.Positions, nil)
		}
		p.Positions[idx] = append([]byte(nil), it.Value()...)
	}
	if err := it.Close(); err != nil {
		return Progress{}, err
	}
	p.Err = e.coord.JobError(r.OID)
	return p, nil
}

// WaitCommit blocks until an epoch after epoch has committed, or ctx ends.
func (e *Engine) WaitCommit(ctx context.Context, epoch uint64) error {
	return e.coord.WaitCommitted(ctx, epoch+1)
}
