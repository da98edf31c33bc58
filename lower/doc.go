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
// (Scan, SourceScan, VirtualScan, TableFunction, ProjectSet, Aggregate,
// LookupJoin, Values, Filter, Project, Limit, Sort, Distinct, SetOp,
// Join). The planner still builds the other batch executors itself
// (window table functions, session windows, recursive unions) and hands
// them over as expr.OperatorRel leaves.
//
// The stream lowering walks the same logical plan, after the rewrites
// that hold for streams, and builds one streaming operator (or a few) per
// node. Below an executor leaf it reads the logical plan the leaf's input
// was lowered from (planner.Planner.Lowered, stream_fallback.go).
package lower
