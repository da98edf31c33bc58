// Package agg holds the streaming aggregation operators: the hash
// aggregate (GROUP BY, with windowed groups closed by watermarks and
// emit-on-window-close), session windows (SESSION gaps per partition,
// merged and split as rows arrive and retract), and the aggregate state
// they share: one accumulator per call, kept incrementally and written
// to the operator's state tables at every barrier. Its Specs implement
// stream.Spec, so exec/stream never imports this package.
package agg
