// Package join holds the streaming join operators: the hash join (inner,
// outer, semi and anti joins on equality keys, with a residual
// predicate) whose two sides keep their rows in state tables bucketed by
// join key and cached under the state memory budget; the state cleanup
// of interval and window joins, which deletes rows that watermarks have
// put out of reach of any future match; and the lookup join, which
// probes a table's primary key for each stream row and follows the
// table's changes. Its Specs implement stream.Spec, so exec/stream never
// imports this package.
package join
