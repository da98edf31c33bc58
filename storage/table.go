package storage

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// Table is the storage view of a table (or materialized view): where its
// rows live and how they are encoded. Rows are stored under
// TableKey(ID, pk) where pk is the key encoding of the primary key columns,
// or of a hidden int8 row id when PK is empty; the value is
// types.EncodeRow of the physical columns.
type Table struct {
	ID uint32
	// Name is the table's name, for error messages.
	Name string
	// Types are the physical columns, dropped ones included, in attnum
	// order; ColNames are their names.
	Types    []types.T
	ColNames []string
	// PK are the primary key columns (indexes into Types); empty means the
	// rows are keyed by a hidden int8 row id.
	PK []int
	// Logged tables record every change in their changelog (changelog.go)
	// for the streaming jobs that read them.
	Logged bool
}

// rowIDSequence is the NextSequence counter of a table's hidden row ids.
func (t *Table) rowIDSequence() string { return "rowid/" + strconv.FormatUint(uint64(t.ID), 10) }

// EncodePK appends the key encoding of the primary key values pk (one per
// PK column, or a prefix of them) to buf.
func (t *Table) EncodePK(buf []byte, pk []types.Datum) []byte {
	for i, d := range pk {
		buf = types.AppendKey(buf, d, t.pkType(i), false)
	}
	return buf
}

// pkType is the type of the i-th key column (int8 for the hidden row id).
func (t *Table) pkType(i int) types.T {
	if len(t.PK) == 0 {
		return types.TInt8
	}
	return t.Types[t.PK[i]]
}

// pkLen is the number of key columns (1 for the hidden row id).
func (t *Table) pkLen() int {
	if len(t.PK) == 0 {
		return 1
	}
	return len(t.PK)
}

// DecodePK decodes an encoded primary key (as RowIter.Key returns it).
func (t *Table) DecodePK(pk []byte) ([]types.Datum, error) {
	out := make([]types.Datum, 0, t.pkLen())
	for i := 0; i < t.pkLen() && len(pk) > 0; i++ {
		d, rest, err := types.DecodeKey(pk, t.pkType(i), false)
		if err != nil {
			return nil, fmt.Errorf("table %s: decode key: %w", t.Name, err)
		}
		out = append(out, d)
		pk = rest
	}
	return out, nil
}

// rowKey returns the storage key of row (a table with a primary key).
func (t *Table) rowKey(row []types.Datum) []byte {
	return t.appendRowKey(nil, row)
}

// appendRowKey appends the storage key of row to buf.
func (t *Table) appendRowKey(buf []byte, row []types.Datum) []byte {
	k := append(buf, PrefixTable, 0, 0, 0, 0)
	putUint32(k[len(buf)+1:], t.ID)
	for _, c := range t.PK {
		k = types.AppendKey(k, row[c], t.Types[c], false)
	}
	return k
}

func (t *Table) checkRow(row []types.Datum) error {
	if len(row) != len(t.Types) {
		return fmt.Errorf("table %s: row has %d columns, want %d", t.Name, len(row), len(t.Types))
	}
	return nil
}

// Insert adds rows, failing with 23505 (unique_violation) when a row's
// primary key already exists in the table or earlier in rows. Rows are
// full physical rows (nil for dropped columns).
func (t *Table) Insert(txn *Txn, rows [][]types.Datum) error {
	t.filterKeys(txn)
	if len(t.PK) == 0 {
		first, err := txn.db.NextSequence(t.rowIDSequence(), int64(len(rows)))
		if err != nil {
			return err
		}
		var val []byte
		for i, row := range rows {
			if err := t.checkRow(row); err != nil {
				return err
			}
			key := types.AppendKey(TableKey(t.ID, nil), first+int64(i), types.TInt8, false)
			val = types.EncodeRow(val[:0], row, t.Types)
			if err := txn.Set(key, val); err != nil {
				return err
			}
			if t.Logged {
				t.logRow(txn, LogInsert, key[5:], val)
			}
		}
		return nil
	}
	// Encode the rows up to the first that fails its checks, then check
	// and write their keys at once; a duplicate among them is the error
	// before the failed row's, as one-by-one inserting would report.
	keys, vals := make([][]byte, 0, len(rows)), make([][]byte, 0, len(rows))
	var buf []byte
	var rowErr error
	for _, row := range rows {
		if rowErr = t.checkRow(row); rowErr != nil {
			break
		}
		start := len(buf)
		buf = t.appendRowKey(buf, row)
		k := buf[start:len(buf):len(buf)]
		start = len(buf)
		buf = types.EncodeRow(buf, row, t.Types)
		keys, vals = append(keys, k), append(vals, buf[start:len(buf):len(buf)])
	}
	i, err := txn.SetAbsentMany(keys, vals, t.duplicateKey)
	if err != nil {
		return err
	}
	if i >= 0 {
		// Report the key as written (1.50, not the stored 1.5).
		row := rows[i]
		return t.duplicateError(func(c int) types.Datum { return row[t.PK[c]] })
	}
	if rowErr != nil {
		return rowErr
	}
	if t.Logged {
		for i := range keys {
			t.logRow(txn, LogInsert, keys[i][5:], vals[i])
		}
	}
	return nil
}

// InsertSeen adds one row whose primary key the caller has just found
// absent (Txn.SetAbsentSeen explains since): INSERT ... ON CONFLICT reads
// the key once, not twice. A table without a primary key inserts as
// Insert does.
func (t *Table) InsertSeen(txn *Txn, row []types.Datum, since uint64) error {
	if len(t.PK) == 0 {
		return t.Insert(txn, [][]types.Datum{row})
	}
	if err := t.checkRow(row); err != nil {
		return err
	}
	key := t.appendRowKey(nil, row)
	val := types.EncodeRow(nil, row, t.Types)
	if err := txn.SetAbsentSeen(key, val, since, t.duplicateKey); err != nil {
		return err
	}
	if t.Logged {
		t.logRow(txn, LogInsert, key[5:], val)
	}
	return nil
}

// duplicateKey is PostgreSQL's error for a primary key that exists; key
// is the row's storage key.
func (t *Table) duplicateKey(key []byte) error {
	pk, err := t.DecodePK(key[5:])
	if err != nil {
		return err
	}
	return t.duplicateError(func(i int) types.Datum {
		if i < len(pk) {
			return pk[i]
		}
		return nil
	})
}

// duplicateError reports a duplicate of the key whose i-th column value is
// val(i).
func (t *Table) duplicateError(val func(i int) types.Datum) error {
	return t.duplicate(t.Name+"_pkey", t.PK, val)
}

// duplicate is the violation of unique constraint name by a row whose
// values of columns cols are val(i).
func (t *Table) duplicate(name string, cols []int, val func(i int) types.Datum) error {
	return sqlerr.New(sqlerr.UniqueViolation, "duplicate key value violates unique constraint %q", name).
		WithDetail("Key %s already exists.", t.keyText(cols, val))
}

// keyText renders the values of columns cols as PostgreSQL's detail does:
// "(a, b)=(1, x)".
func (t *Table) keyText(cols []int, val func(i int) types.Datum) string {
	names := make([]string, len(cols))
	vals := make([]string, len(cols))
	for i, c := range cols {
		names[i] = t.colName(c)
		if d := val(i); d == nil {
			vals[i] = "null"
		} else {
			vals[i] = types.FormatText(d, t.Types[c], time.UTC)
		}
	}
	return "(" + strings.Join(names, ", ") + ")=(" + strings.Join(vals, ", ") + ")"
}

func (t *Table) colName(i int) string {
	if i < len(t.ColNames) {
		return t.ColNames[i]
	}
	return "column" + strconv.Itoa(i+1)
}

// Get returns the row whose primary key is pk.
func (t *Table) Get(r Reader, pk []types.Datum) ([]types.Datum, bool, error) {
	if len(pk) != t.pkLen() {
		return nil, false, fmt.Errorf("table %s: Get with %d key values, want %d", t.Name, len(pk), t.pkLen())
	}
	t.filterKeys(r)
	v, found, err := r.Get(t.EncodePK(TableKey(t.ID, nil), pk))
	if err != nil || !found {
		return nil, false, err
	}
	row, err := t.decodeRow(v)
	return row, err == nil, err
}

// GetKey returns the row stored under the encoded primary key pk.
func (t *Table) GetKey(r Reader, pk []byte) ([]types.Datum, bool, error) {
	t.filterKeys(r)
	v, found, err := r.Get(TableKey(t.ID, pk))
	if err != nil || !found {
		return nil, false, err
	}
	row, err := t.decodeRow(v)
	return row, err == nil, err
}

// filterKeys gives a user table with a primary key a key filter
// (keyfilter.go) once its rows are read by key through a transaction.
func (t *Table) filterKeys(r Reader) {
	if txn, ok := r.(*Txn); ok && t.Logged && len(t.PK) > 0 {
		txn.db.FilterTableKeys(t.ID)
	}
}

func (t *Table) decodeRow(v []byte) ([]types.Datum, error) {
	row, err := types.DecodeRow(v, t.Types)
	if err != nil {
		return nil, fmt.Errorf("table %s: decode row: %w", t.Name, err)
	}
	return row, nil
}

// Put writes row under its primary key, replacing any row there. For a
// table without a primary key it adds the row under a new row id.
func (t *Table) Put(txn *Txn, row []types.Datum) error {
	if err := t.checkRow(row); err != nil {
		return err
	}
	if len(t.PK) == 0 {
		return t.Insert(txn, [][]types.Datum{row})
	}
	key, val := t.rowKey(row), types.EncodeRow(nil, row, t.Types)
	if t.Logged {
		if err := t.logReplace(txn, key, val); err != nil {
			return err
		}
	}
	return txn.Set(key, val)
}

// PutKey writes row under the encoded primary key pk (as RowIter.Key
// returns it), replacing what is there: UPDATE of a row that keeps its key.
func (t *Table) PutKey(txn *Txn, pk []byte, row []types.Datum) error {
	if err := t.checkRow(row); err != nil {
		return err
	}
	key, val := TableKey(t.ID, pk), types.EncodeRow(nil, row, t.Types)
	if t.Logged {
		if err := t.logReplace(txn, key, val); err != nil {
			return err
		}
	}
	return txn.Set(key, val)
}

// Delete removes the row with encoded primary key pk (as RowIter.Key
// returns it).
func (t *Table) Delete(txn *Txn, pk []byte) error {
	key := TableKey(t.ID, pk)
	if t.Logged {
		if err := t.logDelete(txn, key); err != nil {
			return err
		}
	}
	return txn.Delete(key)
}

// Truncate removes every row.
func (t *Table) Truncate(txn *Txn) error {
	if t.Logged {
		it, err := txn.NewIter(TableSpan(t.ID))
		if err != nil {
			return err
		}
		for ok := it.First(); ok; ok = it.Next() {
			t.logRow(txn, LogDelete, append([]byte(nil), it.Key()[5:]...), append([]byte(nil), it.Value()...))
		}
		if err := it.Close(); err != nil {
			return err
		}
	}
	lo, hi := TableSpan(t.ID)
	return txn.DeleteRange(lo, hi)
}

// Rekey rewrites every row of a table stored under the key layout of from
// into the layout of to (same ID and columns, different PK): after a
// primary key column is dropped, for instance. Rows that collide under the
// new key fail with 23505.
func Rekey(txn *Txn, from, to *Table) error {
	it, err := from.Scan(txn, FullSpan)
	if err != nil {
		return err
	}
	var rows [][]types.Datum
	for it.Next() {
		rows = append(rows, it.Row())
	}
	if err := it.Close(); err != nil {
		return err
	}
	if err := from.Truncate(txn); err != nil {
		return err
	}
	return to.Insert(txn, rows)
}
