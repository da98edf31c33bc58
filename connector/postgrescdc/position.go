package postgrescdc

import (
	"encoding/binary"
	"fmt"
	"slices"

	"streamsql/sql/types"
)

// position is where the source is: how far the snapshot got and how far
// replication got. It is the source's one split's position.
//
// Layout: version byte 1; flags (bit 0: snapshot done); lsn, txnLSN
// (uvarint each); txnRows (uvarint); the number of ranges, then per range
// its point (uvarint) and its upper key: a presence byte and, when
// present, per key column a null byte and the text (uvarint length and
// bytes).
type position struct {
	// snapshotDone: every row of the table was read by some snapshot.
	snapshotDone bool
	// lsn is the end of the last transaction handed on completely (or a
	// keepalive's WAL end past which nothing of the table was pending).
	lsn uint64
	// txnLSN is the commit LSN of a transaction of which the first
	// txnRows changes were handed on; 0 when none.
	txnLSN  uint64
	txnRows uint64
	// ranges partition the key space in key order: range i holds the keys
	// above range i-1's upper and up to its own upper (the last one,
	// once the snapshot is done, has no upper: every key above). The rows
	// of range i were read under a snapshot with consistent point
	// ranges[i].point: a transaction committing before it is already in
	// those rows.
	ranges []keyRange
}

// keyRange is a part of the key space read under one snapshot.
type keyRange struct {
	point uint64
	// upper is the largest key of the range as text per key column
	// (nil: unbounded).
	upper []string
	// upperD are upper's values parsed (filled by parseRanges).
	upperD []types.Datum
}

const posVersion = 1

func (p *position) encode() []byte {
	buf := []byte{posVersion, 0}
	if p.snapshotDone {
		buf[1] = 1
	}
	buf = binary.AppendUvarint(buf, p.lsn)
	buf = binary.AppendUvarint(buf, p.txnLSN)
	buf = binary.AppendUvarint(buf, p.txnRows)
	buf = binary.AppendUvarint(buf, uint64(len(p.ranges)))
	for _, r := range p.ranges {
		buf = binary.AppendUvarint(buf, r.point)
		if r.upper == nil {
			buf = append(buf, 0)
			continue
		}
		buf = append(buf, 1)
		buf = binary.AppendUvarint(buf, uint64(len(r.upper)))
		for _, s := range r.upper {
			buf = binary.AppendUvarint(buf, uint64(len(s)))
			buf = append(buf, s...)
		}
	}
	return buf
}

func decodePosition(b []byte) (*position, error) {
	bad := fmt.Errorf("postgres-cdc: corrupt position %x", b)
	if len(b) < 2 || b[0] != posVersion {
		return nil, bad
	}
	p := &position{snapshotDone: b[1]&1 != 0}
	rest := b[2:]
	uv := func() (uint64, bool) {
		v, n := binary.Uvarint(rest)
		if n <= 0 {
			return 0, false
		}
		rest = rest[n:]
		return v, true
	}
	var ok bool
	if p.lsn, ok = uv(); !ok {
		return nil, bad
	}
	if p.txnLSN, ok = uv(); !ok {
		return nil, bad
	}
	if p.txnRows, ok = uv(); !ok {
		return nil, bad
	}
	n, ok := uv()
	if !ok || n > uint64(len(rest)) {
		return nil, bad
	}
	for range n {
		var r keyRange
		if r.point, ok = uv(); !ok || len(rest) == 0 {
			return nil, bad
		}
		has := rest[0]
		rest = rest[1:]
		if has == 1 {
			k, ok := uv()
			if !ok || k > uint64(len(rest)) {
				return nil, bad
			}
			r.upper = make([]string, k)
			for i := range r.upper {
				l, ok := uv()
				if !ok || l > uint64(len(rest)) {
					return nil, bad
				}
				r.upper[i] = string(rest[:l])
				rest = rest[l:]
			}
		}
		p.ranges = append(p.ranges, r)
	}
	if len(rest) != 0 {
		return nil, bad
	}
	return p, nil
}

func (p *position) clone() *position {
	q := *p
	q.ranges = make([]keyRange, len(p.ranges))
	for i, r := range p.ranges {
		q.ranges[i] = keyRange{point: r.point, upper: slices.Clone(r.upper), upperD: r.upperD}
	}
	return &q
}

// parseRanges parses the ranges' upper keys as values of the key types.
func (p *position) parseRanges(keyTypes []types.T) error {
	for i := range p.ranges {
		r := &p.ranges[i]
		if r.upper == nil || r.upperD != nil {
			continue
		}
		if len(r.upper) != len(keyTypes) {
			return fmt.Errorf("postgres-cdc: position has a key of %d columns, the table's primary key has %d", len(r.upper), len(keyTypes))
		}
		r.upperD = make([]types.Datum, len(keyTypes))
		for j, s := range r.upper {
			d, err := types.ParseText(s, keyTypes[j], nil)
			if err != nil {
				return fmt.Errorf("postgres-cdc: key in position: %w", err)
			}
			r.upperD[j] = d
		}
	}
	return nil
}

// maxPoint is the largest consistent point of the ranges: a transaction
// committing at or after it is applied to every key.
func (p *position) maxPoint() uint64 {
	var m uint64
	for _, r := range p.ranges {
		m = max(m, r.point)
	}
	return m
}

// pointOf returns the consistent point of the snapshot that read key
// (parsed key values): a change of key is applied only by transactions
// committing at or after it. A key above every range (not read yet) has
// no snapshot, and ok is false.
func (p *position) pointOf(key []types.Datum, keyTypes []types.T) (point uint64, ok bool) {
	for _, r := range p.ranges {
		if r.upperD == nil || compareKeys(key, r.upperD, keyTypes) <= 0 {
			return r.point, true
		}
	}
	return 0, false
}

// compareKeys orders two keys as the snapshot's ORDER BY does (text in
// the C collation).
func compareKeys(a, b []types.Datum, ts []types.T) int {
	for i := range a {
		if c := types.Compare(a[i], b[i], ts[i]); c != 0 {
			return c
		}
	}
	return 0
}
