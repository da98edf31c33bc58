// Package lower turns plans into something that runs. It sits above
// sql/ (binding and logical plans) and exec/ (operators): the batch
// lowering gives a tree of batch executors for ad-hoc queries, and the
// stream lowering (PlanStream) gives the dataflow of a materialized view
// or sink, with every stream's properties (stream key, append-only,
// watermark columns), its state tables, cleanup and parallelism.
//
// A Statement holds what lowering one statement's plans needs (its
// reader, sequences, the planner's rewrites for subquery plans): its Batch
// lowers a query, Write an INSERT, UPDATE or DELETE (plan.Insert,
// plan.Update, plan.Delete) for the engine's writer, and Checks a table's
// CHECK constraints.
//
// Batch lowers the relational nodes of sql/plan that the planner emits
// (Scan, SourceScan, VirtualScan, TableFunction, ProjectSet, Aggregate, Expand,
// LookupJoin, Values, Filter, Project, Limit, Sort, Distinct, SetOp,
// Join, Window, WindowTVF, SessionWindow, RecursiveUnion).
//
// The stream lowering walks the same logical plan, after the rewrites
// that hold for streams, and builds one streaming operator (or a few) per
// node; the scalars a node's operator needs fixed (window sizes, a
// session's gap) are evaluated when the view is created. A node kind it
// has no operator for is refused (0A000).
package lower
