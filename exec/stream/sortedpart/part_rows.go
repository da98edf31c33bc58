package sortedpart

// What top-N and OVER windows share about a partition's rows in storage:
// a partition's entries lie under its partition key, in sort order, each
// keyed by its sort key past that prefix.

import (
	"bytes"

	"streamsql/exec/stream"
	"streamsql/sql/sqlerr"
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
