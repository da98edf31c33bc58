package engine

import (
	"streamsql/sql/types"
	"streamsql/storage"
)

// The writer's side of secondary indexes: its table's write path with
// the indexes, and the ON CONFLICT arbiter lookups.

// indexed returns the write path of the written table: rows and indexes.
func (wr *writer) indexed() *storage.IndexedTable {
	if wr.ixt == nil {
		wr.ixt = storage.NewIndexedTable(wr.w.Table, wr.w.Rel.StorageIndexes())
	}
	return wr.ixt
}

// conflictRow finds the existing row that the proposed row r conflicts
// with under the statement's ON CONFLICT arbiter. id identifies the
// conflicting values (to catch a command that would change a row twice;
// "" when r cannot conflict); key and old are the stored row.
func (wr *writer) conflictRow(r []types.Datum) (id string, key []byte, old []types.Datum, found bool, err error) {
	tbl, txn := wr.w.Table, wr.x.txn
	arb := wr.w.Arbiter
	if arb.Index == nil && len(tbl.PK) > 0 {
		pk := wr.pk(r)
		key = tbl.EncodePK(nil, pk)
		old, found, err = tbl.Get(txn, pk)
		if found || err != nil || !arb.Any {
			return "p" + string(key), key, old, found, err
		}
		id = "p" + string(key)
	}
	for _, ix := range wr.indexed().Indexes {
		if !ix.Unique || arb.Index != nil && arb.Index.OID != ix.ID || arb.Index == nil && !arb.Any {
			continue
		}
		vals := make([]types.Datum, len(ix.Cols))
		hasNull := false
		for i, c := range ix.Cols {
			vals[i] = r[c]
			hasNull = hasNull || r[c] == nil
		}
		if hasNull {
			continue // NULLs never conflict
		}
		pk, ok, err := ix.Lookup(txn, tbl, vals)
		if err != nil {
			return "", nil, nil, false, err
		}
		vid := "i" + string(ix.EncodeValues(storage.IndexKey(ix.ID, nil), tbl, vals))
		if id == "" {
			id = vid
		}
		if ok {
			old, found, err = tbl.GetKey(txn, pk)
			if err != nil || found {
				return vid, pk, old, found, err
			}
		}
	}
	return id, nil, nil, false, nil
}
