// Package lower turns plans into something that runs. It sits above
// sql/ (binding and logical plans) and exec/ (operators): the batch
// lowering gives a tree of batch executors for ad-hoc queries, and the
// stream lowering (PlanStream) gives the dataflow of a materialized view
// or sink, with every stream's properties (stream key, append-only,
// watermark columns), its state tables, cleanup and parallelism.
//
// The planner still builds batch executors itself, and the stream
// lowering still reads that executor tree as its logical plan; both are
// to read logical plans (sql/plan) instead.
package lower
