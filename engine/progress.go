package engine

// Committed progress of a streaming job, for tools that measure freshness
// (the Nexmark harness): which epoch is committed, and how far into its
// sources a view or sink is as of that epoch. Everything a committed
// epoch covers is readable by SELECT, so "source position committed at
// wall time t" is "its events' effects are visible at t".

import (
	"context"

	"streamsql/catalog"
	"streamsql/exec/stream"
	"streamsql/sql/sqlerr"
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
	var err error
	if p.Epoch, p.Positions, err = stream.CommittedPositions(snap, r.OID); err != nil {
		return Progress{}, err
	}
	p.Err = e.coord.JobError(r.OID)
	return p, nil
}

// WaitCommit blocks until an epoch after epoch has committed, or ctx ends.
func (e *Engine) WaitCommit(ctx context.Context, epoch uint64) error {
	return e.coord.WaitCommitted(ctx, epoch+1)
}
