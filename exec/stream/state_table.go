package stream

// State tables.
//
// Every stateful operator keeps its state in state tables: ranges of
// pebble keys under storage.StateKey(id, key), one range per table id the
// job allocated for the operator (BuildCtx.NewStateTable). A StateTable
// knows its layout: the key columns, each with its type, direction and
// NULL placement, encoded one after the other with the order-preserving
// key encoding of sql/types (so a prefix of the key columns is a prefix of
// the key and a range scan follows SQL order), and the value columns,
// stored as a types.EncodeRow row unless the operator documents another
// value layout. Operators encode whole chunks of keys at once (AppendKeys)
// and single rows where they hold datums (AppendKey); no operator encodes
// keys of its own.
//
// Writes go into the epoch's batch (Barrier.Writes) at barriers, so a
// table's contents in storage are those of the last committed epoch.
// Reads go to the state snapshot the job was started from (Env.State) or
// to the latest committed state. The operator's in-memory copy of its
// state is a cache over the table, kept within the state memory budget
// through the table's account (state_cache.go).

import (
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/cockroachdb/pebble/v2"

	"streamsql/sql/types"
	"streamsql/storage"
)

// KeyCol is one key column of a state table.
type KeyCol struct {
	T types.T
	// Desc orders the column descending; NullsFirst puts NULL before
	// every value (in either direction).
	Desc, NullsFirst bool
}

// AscKeys returns ascending, NULLs-last key columns of types ts.
func AscKeys(ts ...types.T) []KeyCol {
	ks := make([]KeyCol, len(ts))
	for i, t := range ts {
		ks[i] = KeyCol{T: t}
	}
	return ks
}

// StateTable is one table of an operator's state.
type StateTable struct {
	id     uint32
	keys   []KeyCol
	values []types.T
	prefix []byte // storage.StateKey(id, nil)
	buf    []byte // scratch for full keys
	env    *Env
	acct   *StateAccount
	opened bool // acct was asked for
}

// NewStateTable returns the state table id with the given layout.
func NewStateTable(id uint32, keys []KeyCol, values []types.T) *StateTable {
	return &StateTable{id: id, keys: keys, values: values, prefix: storage.StateKey(id, nil)}
}

// NewStateTable returns the operator's next state table, with the given
// layout. Ids are stable across restarts: the job's ids are stored in its
// catalog entry and handed out in the same plan order every time the plan
// is built.
func (b *BuildCtx) NewStateTable(keys []KeyCol, values []types.T) *StateTable {
	t := NewStateTable(b.nextStateID(), keys, values)
	t.env = b.Env
	return t
}

// ID returns the table id.
func (t *StateTable) ID() uint32 { return t.id }

// KeyCols returns the key columns.
func (t *StateTable) KeyCols() []KeyCol { return t.keys }

// ValueTypes returns the types of the value columns.
func (t *StateTable) ValueTypes() []types.T { return t.values }

// Prefix returns the storage prefix of the table's keys (not to be
// modified).
func (t *StateTable) Prefix() []byte { return t.prefix }

// ---------------------------------------------------------------- keys

// AppendKey appends the key of vals, the values of the first len(vals)
// key columns (a key prefix when shorter than the key).
func (t *StateTable) AppendKey(buf []byte, vals ...types.Datum) []byte {
	for i, d := range vals {
		k := t.keys[i]
		buf = types.AppendKeyNulls(buf, d, k.T, k.Desc, k.NullsFirst)
	}
	return buf
}

// AppendKeyValue appends the encoding of d as the value of key column j
// (for keys built column by column).
func (t *StateTable) AppendKeyValue(buf []byte, j int, d types.Datum) []byte {
	k := t.keys[j]
	return types.AppendKeyNulls(buf, d, k.T, k.Desc, k.NullsFirst)
}

// AppendKeyCol appends to keys[i] the encoding of row i of arr as the
// value of key column j.
func (t *StateTable) AppendKeyCol(keys [][]byte, j int, arr arrow.Array) {
	k := t.keys[j]
	types.AppendKeys(keys, arr, k.T, k.Desc, k.NullsFirst)
}

// AppendKeys appends to keys[i] the key of row i of cols, the columns of
// the first len(cols) key columns.
func (t *StateTable) AppendKeys(keys [][]byte, cols []arrow.Array) {
	for j, c := range cols {
		t.AppendKeyCol(keys, j, c)
	}
}

// DecodeKey decodes the first n key columns of key and returns them with
// the rest of key.
func (t *StateTable) DecodeKey(key []byte, n int) ([]types.Datum, []byte, error) {
	vals := make([]types.Datum, n)
	for i := range vals {
		var err error
		if vals[i], key, err = types.DecodeKey(key, t.keys[i].T, t.keys[i].Desc); err != nil {
			return nil, nil, fmt.Errorf("state table %d: %w", t.id, err)
		}
	}
	return vals, key, nil
}

// AppendValue appends the value row (types.EncodeRow of the value
// columns).
func (t *StateTable) AppendValue(buf []byte, row []types.Datum) []byte {
	return types.EncodeRow(buf, row, t.values)
}

// DecodeValue decodes a value row.
func (t *StateTable) DecodeValue(v []byte) ([]types.Datum, error) {
	row, err := types.DecodeRow(v, t.values)
	if err != nil {
		return nil, fmt.Errorf("state table %d: %w", t.id, err)
	}
	return row, nil
}

// FullKey appends the storage key of key to buf.
func (t *StateTable) FullKey(buf, key []byte) []byte {
	buf = slices.Grow(buf, len(t.prefix)+len(key))
	return append(append(buf, t.prefix...), key...)
}

// ---------------------------------------------------------------- writes

// Insert writes key's value into the epoch batch w (replacing any).
func (t *StateTable) Insert(w *pebble.Batch, key, val []byte) error {
	t.buf = t.FullKey(t.buf[:0], key)
	return w.Set(t.buf, val, nil)
}

// Delete deletes key in the epoch batch w.
func (t *StateTable) Delete(w *pebble.Batch, key []byte) error {
	t.buf = t.FullKey(t.buf[:0], key)
	return w.Delete(t.buf, nil)
}

// DeleteRange deletes the keys in [lo, hi) in the epoch batch w; a nil hi
// is the end of the table.
func (t *StateTable) DeleteRange(w *pebble.Batch, lo, hi []byte) error {
	l := t.FullKey(nil, lo)
	var h []byte
	if hi == nil {
		h = storage.PrefixEnd(t.prefix)
	} else {
		h = t.FullKey(nil, hi)
	}
	return w.DeleteRange(l, h, nil)
}

// DeletePrefix deletes every key starting with prefix in the epoch batch
// w (the whole table for an empty prefix).
func (t *StateTable) DeletePrefix(w *pebble.Batch, prefix []byte) error {
	l := t.FullKey(nil, prefix)
	return w.DeleteRange(l, storage.PrefixEnd(l), nil)
}

// ---------------------------------------------------------------- reads

// Get reads key's value from r.
func (t *StateTable) Get(r storage.Reader, key []byte) ([]byte, bool, error) {
	return r.Get(t.FullKey(nil, key))
}

// Scan calls fn, in key order, with every key of r's table that starts
// with prefix (without the table prefix) and its value. Both are valid
// only during the call. An error from fn stops the scan and is returned.
func (t *StateTable) Scan(r storage.Reader, prefix []byte, fn func(key, val []byte) error) error {
	lo := t.FullKey(nil, prefix)
	return t.scan(r, lo, storage.PrefixEnd(lo), fn)
}

// ScanRange is Scan over the keys in [lo, hi); a nil hi is the end of
// the table.
func (t *StateTable) ScanRange(r storage.Reader, lo, hi []byte, fn func(key, val []byte) error) error {
	h := storage.PrefixEnd(t.prefix)
	if hi != nil {
		h = t.FullKey(nil, hi)
	}
	return t.scan(r, t.FullKey(nil, lo), h, fn)
}

// StateIter walks keys of one state table in order; keys, in Key and
// SeekGE, are without the table prefix. Key and Value are valid until
// the next positioning call.
type StateIter struct {
	storage.Iter
	prefix []byte
	buf    []byte
}

// Key returns the current key.
func (it *StateIter) Key() []byte { return it.Iter.Key()[len(it.prefix):] }

// SeekGE moves to the first key at or after k.
func (it *StateIter) SeekGE(k []byte) bool {
	it.buf = append(append(it.buf[:0], it.prefix...), k...)
	return it.Iter.SeekGE(it.buf)
}

// NewIter returns an iterator over the table's keys that start with
// prefix (the whole table for an empty prefix), for loops that stop
// early; close it.
func (t *StateTable) NewIter(r storage.Reader, prefix []byte) (*StateIter, error) {
	lo := t.FullKey(nil, prefix)
	it, err := r.NewIter(lo, storage.PrefixEnd(lo))
	if err != nil {
		return nil, err
	}
	return &StateIter{Iter: it, prefix: t.prefix}, nil
}

// SeekPast moves to the first key that does not start with prefix and
// sorts after it.
func (it *StateIter) SeekPast(prefix []byte) bool {
	it.buf = append(append(it.buf[:0], it.prefix...), prefix...)
	return it.Iter.SeekGE(storage.PrefixEnd(it.buf))
}

func (t *StateTable) scan(r storage.Reader, lo, hi []byte, fn func(key, val []byte) error) error {
	it, err := r.NewIter(lo, hi)
	if err != nil {
		return err
	}
	for ok := it.First(); ok; ok = it.Next() {
		if err := fn(it.Key()[len(t.prefix):], it.Value()); err != nil {
			_ = it.Close()
			return err
		}
	}
	return it.Close()
}

// ---------------------------------------------------------------- cache

// Account returns the table's share of the state memory budget, nil
// when state memory is unlimited (or the table was not made by a
// BuildCtx). Operators report their resident bytes to it and shrink
// their cache to its target (state_cache.go).
func (t *StateTable) Account() *StateAccount {
	if !t.opened {
		t.acct, t.opened = t.env.StateAccount(), true
	}
	return t.acct
}

// ---------------------------------------------------------------- watermark

// PersistedWatermark is a watermark kept in a state table across
// restarts: one value of type T stored under Key as a one-column row
// (types.EncodeRow). Operators that clean state by watermark store it
// so that after a restart they neither re-open what was closed nor
// accept rows that were late before.
type PersistedWatermark struct {
	Table *StateTable
	Key   []byte
	T     types.T
}

// Load reads the stored watermark: nil when none was stored.
func (p PersistedWatermark) Load(r storage.Reader) (types.Datum, error) {
	v, found, err := p.Table.Get(r, p.Key)
	if err != nil || !found {
		return nil, err
	}
	return p.Decode(v)
}

// Decode decodes a stored watermark value (for loaders that meet it
// while scanning the table).
func (p PersistedWatermark) Decode(v []byte) (types.Datum, error) {
	row, err := types.DecodeRow(v, []types.T{p.T})
	if err != nil {
		return nil, fmt.Errorf("state table %d: watermark: %w", p.Table.id, err)
	}
	return row[0], nil
}

// Store writes wm into the epoch batch w.
func (p PersistedWatermark) Store(w *pebble.Batch, wm types.Datum) error {
	return p.Table.Insert(w, p.Key, types.EncodeRow(nil, []types.Datum{wm}, []types.T{p.T}))
}
