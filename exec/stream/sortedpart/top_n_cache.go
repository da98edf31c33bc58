package sortedpart

// The group top-N's state cache (see "Memory" in top_n.go): partitions
// read from storage, cache refills past the bound, the overlay of state
// changes not known to be committed, eviction under the state memory
// budget and the restart load.

import (
	"bytes"
	"slices"
	"unsafe"

	"streamsql/exec/stream"
	"streamsql/sql/types"
	"streamsql/storage"
)

// Bytes of a partition in memory besides its key, rows and slices: the
// struct, its entries in the cache's map (key string header and pointer,
// with the table's load factor and growth) and list; and of an overlay
// entry.
const (
	topNPartBytes  = int(unsafe.Sizeof(topNPart{})) + 48 + 16
	topNEntryBytes = 48
)

// part returns the partition with key pk, reading it from storage when
// it may be there and is not in memory.
func (t *topN) part(pk []byte) (*topNPart, error) {
	if p, ok := t.cache.Get(pk); ok {
		return p, nil
	}
	p := &topNPart{CachedPart: stream.CachedPart{PKey: string(pk)}, complete: true}
	if t.cache.Evicted {
		if err := t.read(p); err != nil {
			return nil, err
		}
	}
	t.add(p)
	return p, nil
}

func (t *topN) add(p *topNPart) {
	t.cache.Add(p)
	t.account(p)
}

// drop forgets p (its state is committed in storage, or it is empty).
func (t *topN) drop(p *topNPart) {
	t.cache.Remove(p)
	t.cache.Bytes -= p.bytes
}

// read loads the first K rows of partition p, evicted or never loaded:
// its state is committed, so storage alone holds it.
func (t *topN) read(p *topNPart) error {
	rows, more, err := readRows(t.state, t.env, []byte(p.PKey), p.rows, t.keep-len(p.rows), func(sk, val []byte) (topNRow, error) {
		return t.storedRow(sk, val, nil)
	})
	p.rows = rows
	if err != nil {
		return err
	}
	p.complete = !more
	if !p.complete {
		p.bound = p.rows[len(p.rows)-1].key()
	}
	if err := t.fillTies(p); err != nil {
		return err
	}
	p.emitted = slices.Clone(p.rows[:t.rankedEnd(p.rows)])
	return nil
}

// refill adds up to want rows to p's partial cache, the rows past its
// bound: the committed ones in storage merged with the overlay.
func (t *topN) refill(p *topNPart, want int) error {
	var ov []topNWrite
	for _, w := range p.over {
		if bytes.Compare(w.row.key(), p.bound) > 0 {
			ov = append(ov, w)
		}
	}
	// The latest change of each key wins.
	slices.SortStableFunc(ov, func(a, b topNWrite) int { return bytes.Compare(a.row.key(), b.row.key()) })
	n := 0
	for i := range ov {
		if n > 0 && bytes.Equal(ov[n-1].row.key(), ov[i].row.key()) {
			ov[n-1] = ov[i]
			continue
		}
		ov[n] = ov[i]
		n++
	}
	ov = ov[:n]

	lo := []byte(p.PKey)
	it, err := t.state.NewIter(t.env.State, lo)
	if err != nil {
		return err
	}
	from := append(lo[:len(lo):len(lo)], p.bound...)
	valid := it.SeekGE(from)
	if valid && bytes.Equal(it.Key(), from) {
		valid = it.Next()
	}
	reads := int64(0)
	j := 0
	for got := 0; got < want; {
		var sk []byte
		if valid {
			sk = it.Key()[len(lo):]
		}
		switch {
		case j < len(ov) && (!valid || bytes.Compare(ov[j].row.key(), sk) <= 0):
			w := ov[j]
			j++
			if valid && bytes.Equal(w.row.key(), sk) {
				valid = it.Next()
			}
			if !w.del {
				p.rows = append(p.rows, w.row)
				got++
			}
		case valid:
			r, err := t.storedRow(sk, it.Value(), nil)
			if err != nil {
				it.Close()
				return err
			}
			p.rows = append(p.rows, r)
			got++
			reads++
			valid = it.Next()
		default:
			p.complete = true
			want = got
		}
	}
	if err := it.Close(); err != nil {
		return err
	}
	t.env.Stats.StateReads.Add(reads)
	if p.complete {
		p.bound = nil
	} else {
		p.bound = p.rows[len(p.rows)-1].key()
	}
	return nil
}

// storedRow makes a row from a state entry: key is its sort key, val
// its value, row its decoded value or nil.
func (t *topN) storedRow(key, val []byte, row []types.Datum) (topNRow, error) {
	if row == nil {
		var err error
		if row, err = types.DecodeRow(val, t.spec.Types); err != nil {
			return topNRow{}, err
		}
	}
	ok := t.orderKey(row)
	kv, err := sortedEntry("top-N", key, val, ok)
	if err != nil {
		return topNRow{}, err
	}
	return topNRow{kv: kv, id: int32(len(ok)), kl: int32(len(key))}, nil
}

// orderKey returns the order key of row (valid until the next call).
func (t *topN) orderKey(row []types.Datum) []byte {
	b := t.kbuf[:0]
	for j, k := range t.spec.Order {
		b = t.state.AppendKeyValue(b, len(t.spec.Partition)+j, row[k.Col])
	}
	t.kbuf = b
	return b
}

// account records p's size as allocated: the partition key (held by the
// partition and as the map's key), each row's bytes and the slices at
// their capacity.
func (t *topN) account(p *topNPart) {
	n := int64(topNPartBytes + 2*stream.AllocBytes(len(p.PKey)) + stream.AllocBytes(cap(p.bound)))
	for _, r := range p.rows {
		n += int64(stream.AllocBytes(cap(r.kv)))
	}
	n += int64((cap(p.rows)+cap(p.emitted))*int(unsafe.Sizeof(topNRow{})) + cap(p.over)*topNEntryBytes)
	t.cache.Bytes += n - p.bytes
	p.bytes = n
}

// settle forgets the overlay of partitions whose writes have committed
// and drops those left empty.
func (t *topN) settle() {
	t.settling = t.cache.Settle(t.settling, t.env.CommittedEpoch(), func(p *topNPart) {
		p.settling = false
		if cap(p.over) > 16 {
			p.over = nil
		} else {
			clear(p.over)
			p.over = p.over[:0]
		}
		if p.complete && len(p.rows) == 0 {
			t.drop(p)
			return
		}
		t.account(p)
	})
}

// shrink reports the state's size and, while the budget is exceeded,
// evicts partitions that are clean, committed and not recently used. It
// runs at barriers, after the epoch's writes.
func (t *topN) shrink() {
	t.cache.Shrink(func(p *topNPart) bool { return p.settling }, t.drop)
}

// load restores the partitions of the last committed epoch, the first K
// rows of each, as far as the state memory budget allows (the rest are
// read when rows need them).
func (t *topN) load(r storage.Reader) error {
	var p *topNPart
	l := partLoad{what: "top-N", state: t.state, cache: &t.cache.StateCache, partition: t.spec.Partition,
		decode: t.state.DecodeValue,
		begin: func(pk []byte) {
			p = &topNPart{CachedPart: stream.CachedPart{PKey: string(pk)}, complete: true}
			t.add(p)
		},
		end: func() error {
			if err := t.fillTies(p); err != nil {
				return err
			}
			p.emitted = slices.Clone(p.rows[:t.rankedEnd(p.rows)])
			t.account(p)
			return nil
		},
		entry: func(sk, val []byte, row []types.Datum) (bool, error) {
			if len(p.rows) == t.keep {
				// The rest of the partition stays in storage.
				p.complete = false
				p.bound = p.rows[len(p.rows)-1].key()
				return false, nil
			}
			r, err := t.storedRow(sk, val, row)
			if err != nil {
				return false, err
			}
			p.rows = append(p.rows, r)
			return true, nil
		},
	}
	return t.cache.Load(t.state, r, l.run)
}
