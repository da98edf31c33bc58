package sortedpart

// What top-N and OVER windows share about a partition's rows in storage:
// a partition's entries lie under its partition key, in sort order, each
// keyed by its sort key past that prefix.

import (
	"bytes"
	"slices"

	"streamsql/exec/stream"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// readRows appends to rows the rows stored under partition key pk, in
// order, made by mk from each entry's sort key and value, at most max of
// them (max < 0: all). more reports that rows remain past the last one
// read. The reads are counted in the job's statistics.
func readRows[R any](state *stream.StateTable, env *stream.Env, pk []byte, rows []R, max int,
	mk func(sk, val []byte) (R, error)) (_ []R, more bool, err error) {
	it, err := state.NewIter(env.State, pk)
	if err != nil {
		return rows, false, err
	}
	n := 0
	for ok := it.First(); ok; ok = it.Next() {
		if n == max {
			more = true
			break
		}
		r, err := mk(it.Key()[len(pk):], it.Value())
		if err != nil {
			it.Close()
			return rows, false, err
		}
		rows = append(rows, r)
		n++
	}
	if err := it.Close(); err != nil {
		return rows, false, err
	}
	env.Stats.StateReads.Add(int64(n))
	return rows, more, nil
}

// sortedEntry returns the key and value of a state entry in one
// allocation, after checking that its sort key sk starts with orderKey,
// the order key of its decoded row; what names the operator in the error.
func sortedEntry(what string, sk, val, orderKey []byte) ([]byte, error) {
	if !bytes.HasPrefix(sk, orderKey) {
		return nil, sqlerr.New(sqlerr.DataCorrupted, "%s state: key does not match its row", what)
	}
	kv := make([]byte, len(sk)+len(val))
	copy(kv, sk)
	copy(kv[len(sk):], val)
	return kv, nil
}

// partLoad is a restart load: it walks the committed state entries in key
// order, a partition at a time, while the cache stays within the load
// budget; the rest of the state stays in storage, read when rows need it.
type partLoad struct {
	what      string // the operator, for errors
	state     *stream.StateTable
	cache     *stream.StateCache
	partition []int // the partition columns
	decode    func(val []byte) ([]types.Datum, error)
	// begin starts a partition with key pk (valid until the next entry);
	// end completes the partition begun last.
	begin func(pk []byte)
	end   func() error
	// entry takes an entry of the current partition: sk is its sort key
	// (past the partition key), row its decoded value. false: the rest of
	// the partition stays in storage.
	entry func(sk, val []byte, row []types.Datum) (bool, error)
	// all loads every partition, whatever the budget.
	all bool
}

func (l *partLoad) run(it *stream.StateIter) error {
	budget := l.cache.Acct.LoadBudget()
	var pk, cur []byte
	open := false
	for valid := it.First(); valid; {
		key := it.Key()
		row, err := l.decode(it.Value())
		if err != nil {
			return err
		}
		pk = pk[:0]
		for j, c := range l.partition {
			pk = l.state.AppendKeyValue(pk, j, row[c])
		}
		if !bytes.HasPrefix(key, pk) {
			return sqlerr.New(sqlerr.DataCorrupted, "%s state: key does not match its row", l.what)
		}
		if !open || !bytes.Equal(cur, pk) {
			if open {
				open = false
				if err := l.end(); err != nil {
					return err
				}
			}
			if !l.all && budget >= 0 && l.cache.Bytes > budget {
				l.cache.Evicted = true
				return nil
			}
			cur = append(cur[:0], pk...)
			l.begin(pk)
			open = true
		}
		more, err := l.entry(key[len(pk):], it.Value(), row)
		if err != nil {
			return err
		}
		if more {
			valid = it.Next()
		} else {
			valid = it.SeekPast(pk)
		}
	}
	if open {
		return l.end()
	}
	return nil
}

// sidMatch pairs the rows of a partition's new output with its rows
// emitted before by stream key, each earlier row at most once: a scan
// over a few earlier rows, a map over more.
type sidMatch struct {
	matched []bool // matched[j]: earlier row j was found
	ids     map[string]int
	sid     func(j int) []byte
	useMap  bool
}

// reset indexes n earlier rows, whose stream keys sid returns; a map
// serves more than mapAbove rows.
func (m *sidMatch) reset(n, mapAbove int, sid func(j int) []byte) {
	m.matched = slices.Grow(m.matched[:0], n)[:n]
	clear(m.matched)
	m.sid, m.useMap = sid, n > mapAbove
	if m.useMap {
		if m.ids == nil {
			m.ids = map[string]int{}
		}
		clear(m.ids)
		for j := range n {
			m.ids[string(sid(j))] = j
		}
	}
}

// find returns the earlier row with stream key k, not found before, and
// marks it found; -1 when there is none.
func (m *sidMatch) find(k []byte) int {
	j := -1
	if m.useMap {
		if i, ok := m.ids[string(k)]; ok && !m.matched[i] {
			j = i
		}
	} else {
		for i := range m.matched {
			if !m.matched[i] && bytes.Equal(m.sid(i), k) {
				j = i
				break
			}
		}
	}
	if j >= 0 {
		m.matched[j] = true
	}
	return j
}
