package storage

import "bytes"

// RowFetcher reads rows by encoded primary key, the second half of an
// index scan. It keeps one iterator over the table and seeks it, so a
// fetch neither allocates nor copies: the row it returns is valid until
// the next Fetch.
type RowFetcher struct {
	it  Iter
	id  uint32
	key []byte
}

// NewRowFetcher returns a fetcher of t's rows reading through r.
func (t *Table) NewRowFetcher(r Reader) (*RowFetcher, error) {
	lo, hi := TableSpan(t.ID)
	it, err := r.NewIter(lo, hi)
	if err != nil {
		return nil, err
	}
	return &RowFetcher{it: it, id: t.ID}, nil
}

// Fetch returns the stored row (types.EncodeRow) under the encoded primary
// key pk, and whether there is one.
func (f *RowFetcher) Fetch(pk []byte) ([]byte, bool) {
	f.key = append(f.key[:0], PrefixTable, 0, 0, 0, 0)
	putUint32(f.key[1:], f.id)
	f.key = append(f.key, pk...)
	if !f.it.SeekGE(f.key) || !bytes.Equal(f.it.Key(), f.key) {
		return nil, false
	}
	return f.it.Value(), true
}

// Close releases the fetcher's iterator and returns the first error it
// met.
func (f *RowFetcher) Close() error { return closeIter(&f.it) }
