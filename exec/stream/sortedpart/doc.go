// Package sortedpart holds the streaming operators whose state is kept
// per partition in sort order: group top-N (ROW_NUMBER() <= N per
// partition) and OVER windows (ranking, offset and aggregate functions
// over ROWS and RANGE frames). Each keeps a partition's rows under one key
// prefix of its state table, sorted by the ORDER BY columns, and caches
// whole partitions in memory through stream.PartCache, which evicts them
// under the state memory budget and reads them back on demand.
package sortedpart
