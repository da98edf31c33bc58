package kafka

import (
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

// recordPool lends kgo the slices it decodes fetched record batches into
// (kgo.PoolRecords), so that a reader does not allocate, zero and later
// collect a slice of Records for every batch of every fetch. kgo takes a
// slice back once every record decoded into it is recycled: the reader
// recycles each record as soon as it is decoded into a chunk (the chunk
// holds copies of the values), and keeps the records it has not decoded
// yet.
type recordPool struct{ p sync.Pool }

// GetRecords implements kgo.PoolRecords. A slice shorter than n is
// grown by kgo, and the grown one comes back.
func (rp *recordPool) GetRecords(n int) []kgo.Record {
	if s, ok := rp.p.Get().(*[]kgo.Record); ok {
		return (*s)[:0]
	}
	return make([]kgo.Record, 0, n)
}

// PutRecords implements kgo.PoolRecords; kgo zeroed the records.
func (rp *recordPool) PutRecords(rs []kgo.Record) {
	rs = rs[:0]
	rp.p.Put(&rs)
}
