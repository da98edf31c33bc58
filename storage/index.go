package storage

import (
	"bytes"
	"fmt"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// Secondary indexes.
//
// An index is a key range of its own, next to its table's rows:
//
//	'x' + index id (4 bytes) + enc(indexed columns) [+ pk]  ->  pk
//
// enc is types.AppendKey of each indexed column (complemented for DESC
// columns), so the range is sorted by the indexed values and a prefix of
// them selects an equality or a range. pk is the row's encoded primary key
// (Table.EncodePK, or the hidden row id), and the value holds it too so a
// reader never has to decode the indexed columns to find the row.
//
// A non-unique index appends pk to every key, which keeps entries of equal
// values apart. A unique index does not: the key is the values alone, and
// writing it through Txn.SetAbsent both checks for a duplicate now and
// re-checks at commit against concurrent transactions (the mechanism that
// guards primary keys). A row with a NULL in an indexed column never
// conflicts (NULLs are distinct, as in PostgreSQL), so its entry gets pk
// appended like a non-unique one.
//
// Entries are maintained by IndexedTable, the write path of a table with
// indexes; TRUNCATE and DROP delete whole index ranges.

// PrefixIndex is the first byte of secondary index entries.
const PrefixIndex byte = 'x'

// Index is a secondary index of a table.
type Index struct {
	ID   uint32
	Name string
	// Cols are the indexed columns, as indexes into the table's physical
	// columns; Desc says which are stored in descending order.
	Cols   []int
	Desc   []bool
	Unique bool
}

// desc reports whether the i-th indexed column is descending.
func (ix *Index) desc(i int) bool { return i < len(ix.Desc) && ix.Desc[i] }

// IndexKey returns the key prefix of index id followed by enc.
func IndexKey(id uint32, enc []byte) []byte { return idKey(PrefixIndex, id, enc) }

// IndexSpan returns the key range [lo, hi) holding every entry of index id.
func IndexSpan(id uint32) (lo, hi []byte) { return idSpan(PrefixIndex, id) }

// EncodeValues appends the key encoding of vals, the values of the leading
// indexed columns, to buf: a prefix for Bounds.
func (ix *Index) EncodeValues(buf []byte, t *Table, vals []types.Datum) []byte {
	for i, v := range vals {
		buf = types.AppendKey(buf, v, t.Types[ix.Cols[i]], ix.desc(i))
	}
	return buf
}

// entryKey appends the key of row's entry to buf; unique says whether it
// must be absent (a unique index and no NULL among the values).
func (ix *Index) entryKey(buf []byte, t *Table, row []types.Datum, pk []byte) (key []byte, unique bool) {
	start := len(buf)
	buf = append(buf, PrefixIndex, 0, 0, 0, 0)
	putUint32(buf[start+1:], ix.ID)
	hasNull := false
	for i, c := range ix.Cols {
		if row[c] == nil {
			hasNull = true
		}
		buf = types.AppendKey(buf, row[c], t.Types[c], ix.desc(i))
	}
	if ix.Unique && !hasNull {
		return buf, true
	}
	return append(buf, pk...), false
}

// duplicate is the unique violation of a row whose indexed values are
// val(i).
func (ix *Index) duplicate(t *Table, val func(i int) types.Datum) error {
	return t.duplicate(ix.Name, ix.Cols, val)
}

// decodeValues decodes the indexed values at the start of an entry key
// (the full storage key).
func (ix *Index) decodeValues(t *Table, key []byte) ([]types.Datum, error) {
	rest := key[5:]
	out := make([]types.Datum, len(ix.Cols))
	for i, c := range ix.Cols {
		d, r, err := types.DecodeKey(rest, t.Types[c], ix.desc(i))
		if err != nil {
			return nil, fmt.Errorf("index %s: decode key: %w", ix.Name, err)
		}
		out[i], rest = d, r
	}
	return out, nil
}

// duplicateKey reports a duplicate found at commit, from the entry key.
func (ix *Index) duplicateKey(t *Table) func(key []byte) error {
	return func(key []byte) error {
		vals, err := ix.decodeValues(t, key)
		if err != nil {
			return err
		}
		return ix.duplicate(t, func(i int) types.Datum { return vals[i] })
	}
}

// IndexedTable is the write path of a table with secondary indexes: every
// row change goes to the table and to each index. With no indexes it is
// the table's own write path.
type IndexedTable struct {
	*Table
	Indexes []*Index

	keyBuf, oldBuf []byte
}

// NewIndexedTable returns the write path of t with indexes ixs.
func NewIndexedTable(t *Table, ixs []*Index) *IndexedTable {
	return &IndexedTable{Table: t, Indexes: ixs}
}

// Insert adds rows as Table.Insert does and indexes them; a duplicate in a
// unique index fails with 23505 naming the index.
func (it *IndexedTable) Insert(txn *Txn, rows [][]types.Datum) error {
	if len(it.Indexes) == 0 {
		return it.Table.Insert(txn, rows)
	}
	if len(it.PK) == 0 {
		return it.insertRowIDs(txn, rows)
	}
	var rk []byte
	for i, row := range rows {
		// One row at a time, so errors come in row order as in PostgreSQL.
		if err := it.Table.Insert(txn, rows[i:i+1]); err != nil {
			return err
		}
		rk = it.appendRowKey(rk[:0], row)
		if err := it.addEntries(txn, row, rk[5:]); err != nil {
			return err
		}
	}
	return nil
}

// InsertSeen is Table.InsertSeen with the row's index entries.
func (it *IndexedTable) InsertSeen(txn *Txn, row []types.Datum, since uint64) error {
	if len(it.Indexes) == 0 || len(it.PK) == 0 {
		if len(it.PK) == 0 {
			return it.Insert(txn, [][]types.Datum{row})
		}
		return it.Table.InsertSeen(txn, row, since)
	}
	if err := it.Table.InsertSeen(txn, row, since); err != nil {
		return err
	}
	rk := it.appendRowKey(nil, row)
	return it.addEntries(txn, row, rk[5:])
}

// insertRowIDs is Insert for a table keyed by hidden row ids, which the
// entries need to know.
func (it *IndexedTable) insertRowIDs(txn *Txn, rows [][]types.Datum) error {
	t := it.Table
	first, err := txn.db.NextSequence(t.rowIDSequence(), int64(len(rows)))
	if err != nil {
		return err
	}
	var key, val []byte
	for i, row := range rows {
		if err := t.checkRow(row); err != nil {
			return err
		}
		key = types.AppendKey(append(key[:0], PrefixTable, 0, 0, 0, 0), first+int64(i), types.TInt8, false)
		putUint32(key[1:], t.ID)
		val = types.EncodeRow(val[:0], row, t.Types)
		if err := txn.Set(key, val); err != nil {
			return err
		}
		if t.Logged {
			t.logRow(txn, LogInsert, append([]byte(nil), key[5:]...), append([]byte(nil), val...))
		}
		if err := it.addEntries(txn, row, key[5:]); err != nil {
			return err
		}
	}
	return nil
}

// addEntries writes row's entry in every index.
func (it *IndexedTable) addEntries(txn *Txn, row []types.Datum, pk []byte) error {
	for _, ix := range it.Indexes {
		if err := it.addEntry(txn, ix, row, pk); err != nil {
			return err
		}
	}
	return nil
}

func (it *IndexedTable) addEntry(txn *Txn, ix *Index, row []types.Datum, pk []byte) error {
	key, unique := ix.entryKey(it.keyBuf[:0], it.Table, row, pk)
	it.keyBuf = key
	if !unique {
		return txn.Set(key, pk)
	}
	err := txn.SetAbsent(key, pk, ix.duplicateKey(it.Table))
	if sqlerr.Code(err) == sqlerr.UniqueViolation {
		// Report the values as written (1.50, not the stored 1.5).
		return ix.duplicate(it.Table, func(i int) types.Datum { return row[ix.Cols[i]] })
	}
	return err
}

// removeEntries deletes row's entry from every index.
func (it *IndexedTable) removeEntries(txn *Txn, row []types.Datum, pk []byte) error {
	for _, ix := range it.Indexes {
		key, _ := ix.entryKey(it.keyBuf[:0], it.Table, row, pk)
		it.keyBuf = key
		if err := txn.Delete(key); err != nil {
			return err
		}
	}
	return nil
}

// Update replaces old, stored under the encoded primary key pk, by row
// (same key), touching only the indexes whose columns changed.
func (it *IndexedTable) Update(txn *Txn, pk []byte, old, row []types.Datum) error {
	if err := it.Table.PutKey(txn, pk, row); err != nil {
		return err
	}
	for _, ix := range it.Indexes {
		oldKey, _ := ix.entryKey(it.oldBuf[:0], it.Table, old, pk)
		newKey, _ := ix.entryKey(it.keyBuf[:0], it.Table, row, pk)
		it.oldBuf, it.keyBuf = oldKey, newKey
		if bytes.Equal(oldKey, newKey) {
			continue
		}
		if err := txn.Delete(oldKey); err != nil {
			return err
		}
		if err := it.addEntry(txn, ix, row, pk); err != nil {
			return err
		}
	}
	return nil
}

// Delete removes old, the row stored under the encoded primary key pk.
func (it *IndexedTable) Delete(txn *Txn, pk []byte, old []types.Datum) error {
	if err := it.Table.Delete(txn, pk); err != nil {
		return err
	}
	if len(it.Indexes) == 0 {
		return nil
	}
	return it.removeEntries(txn, old, pk)
}

// Truncate removes every row and every index entry.
func (it *IndexedTable) Truncate(txn *Txn) error {
	if err := it.Table.Truncate(txn); err != nil {
		return err
	}
	for _, ix := range it.Indexes {
		if err := DropIndex(txn, ix.ID); err != nil {
			return err
		}
	}
	return nil
}

// DropIndex deletes every entry of index id.
func DropIndex(txn *Txn, id uint32) error {
	lo, hi := IndexSpan(id)
	return txn.DeleteRange(lo, hi)
}

// BuildIndex writes the entries of ix for every row of t (CREATE INDEX on
// a table with rows). Duplicates in a unique index fail with 23505 "could
// not create unique index".
func BuildIndex(txn *Txn, t *Table, ix *Index) error {
	it, err := t.Scan(txn, FullSpan)
	if err != nil {
		return err
	}
	defer it.Close()
	var buf []byte
	for it.Next() {
		row := it.Row()
		key, unique := ix.entryKey(buf[:0], t, row, it.Key())
		buf = key
		if !unique {
			if err := txn.Set(key, it.Key()); err != nil {
				return err
			}
			continue
		}
		err := txn.SetAbsent(key, it.Key(), func([]byte) error {
			return sqlerr.New(sqlerr.UniqueViolation, "could not create unique index %q", ix.Name).
				WithDetail("Key %s is duplicated.", t.keyText(ix.Cols, func(i int) types.Datum { return row[ix.Cols[i]] }))
		})
		if err != nil {
			return err
		}
	}
	return it.Err()
}

// Lookup returns the encoded primary key of the row whose values in the
// unique index ix are vals (every indexed column, none NULL).
func (ix *Index) Lookup(r Reader, t *Table, vals []types.Datum) (pk []byte, found bool, err error) {
	return r.Get(IndexKey(ix.ID, ix.EncodeValues(nil, t, vals)))
}

// IndexIter walks the entries of an index in a key range, yielding the
// encoded primary keys of their rows in index order.
type IndexIter struct {
	it      Iter
	started bool
}

// ScanIndex returns an iterator over the entries of ix whose keys lie in
// span, a range of encoded leading values (EncodeValues) with the same
// meaning as a table's KeySpan.
func (ix *Index) Scan(r Reader, span KeySpan) (*IndexIter, error) {
	lo, hi := spanBounds(PrefixIndex, ix.ID, span)
	it, err := r.NewIter(lo, hi)
	if err != nil {
		return nil, fmt.Errorf("index %s: scan: %w", ix.Name, err)
	}
	return &IndexIter{it: it}, nil
}

// Next moves to the next entry.
func (ii *IndexIter) Next() bool {
	if !ii.started {
		ii.started = true
		return ii.it.First()
	}
	return ii.it.Next()
}

// PK returns the current entry's encoded primary key, valid until Next.
func (ii *IndexIter) PK() []byte { return ii.it.Value() }

// Close releases the iterator and returns the first error it met.
func (ii *IndexIter) Close() error { return closeIter(&ii.it) }
