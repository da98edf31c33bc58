// Package index keeps a table's secondary indexes (and the unique
// indexes behind UNIQUE constraints) in step with its rows outside the
// row-by-row write path, and answers the unique lookups of writes.
//
// Every row write goes through storage.IndexedTable, which writes a row
// and its index entries in one transaction; this package holds the rest:
// building an index's entries for the rows a table already holds
// (CREATE INDEX, ADD UNIQUE), dropping them (DROP INDEX, DROP TABLE),
// re-keying them when ALTER TABLE DROP COLUMN re-keys the rows, and
// finding the stored row a proposed row conflicts with under an
// INSERT ... ON CONFLICT arbiter. The definitions live in the table's
// catalog.Relation (Indexes); the engine binds them at DDL time.
package index

import (
	"slices"

	"streamsql/catalog"
	"streamsql/sql/plan"
	"streamsql/sql/types"
	"streamsql/storage"
)

// Writer returns the write path of rel's rows stored in t: rows and
// indexes.
func Writer(rel *catalog.Relation, t *storage.Table) *storage.IndexedTable {
	return storage.NewIndexedTable(t, rel.StorageIndexes())
}

// Build returns the build step of an index of r: its entries for the
// rows r holds, written in txn, which it commits if commit is set (so the
// entries are durable before the catalog publishes the index).
func Build(txn *storage.Txn, r *catalog.Relation, commit bool) func(catalog.Index) error {
	return func(ix catalog.Index) error {
		if err := storage.BuildIndex(txn, r.Table(), ix.Storage()); err != nil || !commit {
			return err
		}
		return txn.Commit()
	}
}

// AfterDropColumn brings the index entries of a table in step after
// ALTER TABLE DROP COLUMN changed it from old to nr: the entries of the
// indexes that went with the column are deleted, and when the primary key
// went too (the rows were re-keyed by row id) the others are rebuilt, since
// their entries point at rows by primary key.
func AfterDropColumn(txn *storage.Txn, old, nr *catalog.Relation) error {
	for _, ix := range old.Indexes {
		if _, kept := nr.FindIndex(ix.Name); !kept {
			if err := storage.DropIndex(txn, ix.OID); err != nil {
				return err
			}
		}
	}
	if slices.Equal(old.PrimaryKey, nr.PrimaryKey) {
		return nil
	}
	for _, ix := range nr.Indexes {
		if err := storage.DropIndex(txn, ix.OID); err != nil {
			return err
		}
		if err := storage.BuildIndex(txn, nr.Table(), ix.Storage()); err != nil {
			return err
		}
	}
	return nil
}

// DropAll deletes the index entries of dropped relations.
func DropAll(txn *storage.Txn, dropped []*catalog.Relation) error {
	for _, r := range dropped {
		for _, ix := range r.Indexes {
			if err := storage.DropIndex(txn, ix.OID); err != nil {
				return err
			}
		}
	}
	return nil
}

// Conflict finds the stored row (read through r) that the proposed row
// row of table t conflicts with under the ON CONFLICT arbiter arb. id
// identifies the conflicting values (to catch a command that would change
// a row twice; "" when row cannot conflict); key and old are the stored
// row.
func Conflict(r storage.Reader, t *storage.IndexedTable, arb plan.ConflictArbiter, row []types.Datum) (id string, key []byte, old []types.Datum, found bool, err error) {
	tbl := t.Table
	if arb.Index == nil && len(tbl.PK) > 0 {
		pk := make([]types.Datum, len(tbl.PK))
		for i, k := range tbl.PK {
			pk[i] = row[k]
		}
		key = tbl.EncodePK(nil, pk)
		old, found, err = tbl.Get(r, pk)
		if found || err != nil || !arb.Any {
			return "p" + string(key), key, old, found, err
		}
		id = "p" + string(key)
	}
	for _, ix := range t.Indexes {
		if !ix.Unique || arb.Index != nil && arb.Index.OID != ix.ID || arb.Index == nil && !arb.Any {
			continue
		}
		vals := make([]types.Datum, len(ix.Cols))
		hasNull := false
		for i, c := range ix.Cols {
			vals[i] = row[c]
			hasNull = hasNull || row[c] == nil
		}
		if hasNull {
			continue // NULLs never conflict
		}
		pk, ok, err := ix.Lookup(r, tbl, vals)
		if err != nil {
			return "", nil, nil, false, err
		}
		vid := "i" + string(ix.EncodeValues(storage.IndexKey(ix.ID, nil), tbl, vals))
		if id == "" {
			id = vid
		}
		if ok {
			old, found, err = tbl.GetKey(r, pk)
			if err != nil || found {
				return vid, pk, old, found, err
			}
		}
	}
	return id, nil, nil, false, nil
}
