package pgcatalog

import (
	"strings"

	"streamsql/catalog"
	"streamsql/udf"
)

// Secondary indexes and UNIQUE constraints in the catalog tables.
//
//	secondary index    an index (relkind 'i', its own catalog OID) in
//	                   pg_class, pg_index, pg_attribute and pg_indexes
//	UNIQUE constraint  its index, plus a constraint (contype 'u', OID
//	                   ConstraintOID(index OID)) in pg_constraint and
//	                   information_schema
//
// psql's \d lists them under "Indexes:" from pg_index joined with
// pg_constraint and pg_get_indexdef, as for PostgreSQL.

// SecondaryIndexDef is pg_get_indexdef of index ix of table r.
func SecondaryIndexDef(r *catalog.Relation, ix catalog.Index) string {
	var b strings.Builder
	b.WriteString("CREATE ")
	if ix.Unique {
		b.WriteString("UNIQUE ")
	}
	b.WriteString("INDEX " + udf.QuoteIdent(ix.Name) + " ON " + udf.QuoteIdent(r.Schema) + "." + udf.QuoteIdent(r.Name) + " USING btree (")
	for i, k := range ix.Columns {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(udf.QuoteIdent(r.Columns[k].Name))
		desc := i < len(ix.Desc) && ix.Desc[i]
		nullsFirst := desc
		if i < len(ix.NullsFirst) {
			nullsFirst = ix.NullsFirst[i]
		}
		if desc {
			b.WriteString(" DESC")
		}
		switch {
		case desc && !nullsFirst:
			b.WriteString(" NULLS LAST")
		case !desc && nullsFirst:
			b.WriteString(" NULLS FIRST")
		}
	}
	b.WriteString(")")
	return b.String()
}

// UniqueConstraintDef is pg_get_constraintdef of the UNIQUE constraint
// behind index ix of table r.
func UniqueConstraintDef(r *catalog.Relation, ix catalog.Index) string {
	return "UNIQUE (" + strings.Join(indexColNames(r, ix), ", ") + ")"
}

func indexColNames(r *catalog.Relation, ix catalog.Index) []string {
	out := make([]string, len(ix.Columns))
	for i, k := range ix.Columns {
		out[i] = udf.QuoteIdent(r.Columns[k].Name)
	}
	return out
}

func indexAttnums(r *catalog.Relation, ix catalog.Index) []int16 {
	out := make([]int16, len(ix.Columns))
	for i, k := range ix.Columns {
		out[i] = r.Columns[k].AttNum
	}
	return out
}

// concat returns a producer of the rows of a then those of b.
func concat(a, b func(s *Snapshot) []row) func(s *Snapshot) []row {
	return func(s *Snapshot) []row { return append(a(s), b(s)...) }
}

// hasIndexes reports whether r has any index, its primary key's included.
func hasIndexes(r *catalog.Relation) bool {
	return r != nil && (len(r.PrimaryKey) > 0 || len(r.Indexes) > 0)
}

// indexClassRow is the pg_class row of index oid, a B-tree over natts
// columns of a relation in schema owned by relOwner.
func (s *Snapshot) indexClassRow(oid uint32, name, schema, relOwner string, natts int) row {
	return row{
		"oid": int64(oid), "relname": name, "relnamespace": int64(s.schemaOID(schema)),
		"relowner": int64(s.RoleOID(relOwner)), "relam": int64(OIDBtreeAM), "relfilenode": int64(oid),
		"relpersistence": persistence(schema), "relkind": "i", "relnatts": int64(natts), "relispopulated": true,
		"relreplident": "n", "reltuples": float64(-1),
	}
}

// secondaryClassRows are the pg_class rows of the secondary indexes.
func secondaryClassRows(s *Snapshot) []row {
	var out []row
	for _, r := range s.relations() {
		for _, ix := range r.Indexes {
			out = append(out, s.indexClassRow(ix.OID, ix.Name, r.Schema, owner(r.Owner), len(ix.Columns)))
		}
	}
	return out
}

// secondaryAttributeRows are the pg_attribute rows of the secondary
// indexes' columns.
func secondaryAttributeRows(s *Snapshot) []row {
	var out []row
	for _, r := range s.relations() {
		for _, ix := range r.Indexes {
			for i, k := range ix.Columns {
				c := r.Columns[k]
				out = append(out, attRow(ix.OID, c.Name, c.Type, int16(i+1), false, ""))
			}
		}
	}
	return out
}

// secondaryIndexRows are the pg_index rows of the secondary indexes.
func secondaryIndexRows(s *Snapshot) []row {
	var out []row
	for _, r := range s.relations() {
		for _, ix := range r.Indexes {
			keys := indexAttnums(r, ix)
			zeros := make([]int16, len(keys))
			opts := make([]int16, len(keys))
			for i := range opts {
				// PostgreSQL's INDOPTION_DESC (1) and INDOPTION_NULLS_FIRST (2).
				if i < len(ix.Desc) && ix.Desc[i] {
					opts[i] |= 1
				}
				if i < len(ix.NullsFirst) && ix.NullsFirst[i] {
					opts[i] |= 2
				}
			}
			out = append(out, row{
				"indexrelid": int64(ix.OID), "indrelid": int64(r.OID), "indnatts": int64(len(keys)),
				"indnkeyatts": int64(len(keys)), "indisunique": ix.Unique, "indisprimary": false, "indimmediate": true,
				"indisvalid": true, "indisready": true, "indislive": true, "indkey": vector(keys),
				"indcollation": vector(zeros), "indclass": vector(zeros), "indoption": vector(opts),
			})
		}
	}
	return out
}

// uniqueConstraintRows are the pg_constraint rows of UNIQUE constraints.
func uniqueConstraintRows(s *Snapshot) []row {
	var out []row
	for _, r := range s.relations() {
		for _, ix := range r.Indexes {
			if !ix.Constraint {
				continue
			}
			out = append(out, row{
				"oid": int64(ConstraintOID(ix.OID)), "conname": ix.Name, "connamespace": int64(s.schemaOID(r.Schema)),
				"contype": "u", "convalidated": true, "conrelid": int64(r.OID), "conindid": int64(ix.OID),
				"confupdtype": " ", "confdeltype": " ", "confmatchtype": " ", "conislocal": true, "connoinherit": true,
				"conkey": arrayText(indexAttnums(r, ix)),
			})
		}
	}
	return out
}

// secondaryIndexesViewRows are the pg_indexes rows of the secondary
// indexes.
func secondaryIndexesViewRows(s *Snapshot) []row {
	var out []row
	for _, r := range s.relations() {
		for _, ix := range r.Indexes {
			out = append(out, row{"schemaname": r.Schema, "tablename": r.Name, "indexname": ix.Name, "indexdef": SecondaryIndexDef(r, ix)})
		}
	}
	return out
}

// isUniqueConstraintRows are the information_schema.table_constraints
// rows of UNIQUE constraints.
func isUniqueConstraintRows(s *Snapshot) []row {
	var out []row
	for _, r := range s.relations() {
		for _, ix := range r.Indexes {
			if ix.Constraint {
				out = append(out, row{"constraint_catalog": s.Database, "constraint_schema": r.Schema, "constraint_name": ix.Name,
					"table_catalog": s.Database, "table_schema": r.Schema, "table_name": r.Name, "constraint_type": "UNIQUE",
					"is_deferrable": "NO", "initially_deferred": "NO", "enforced": "YES", "nulls_distinct": "YES"})
			}
		}
	}
	return out
}

// isUniqueKeyColumnRows are the information_schema.key_column_usage rows
// of UNIQUE constraints.
func isUniqueKeyColumnRows(s *Snapshot) []row {
	var out []row
	for _, r := range s.relations() {
		for _, ix := range r.Indexes {
			if !ix.Constraint {
				continue
			}
			for i, k := range ix.Columns {
				out = append(out, row{"constraint_catalog": s.Database, "constraint_schema": r.Schema, "constraint_name": ix.Name,
					"table_catalog": s.Database, "table_schema": r.Schema, "table_name": r.Name, "column_name": r.Columns[k].Name,
					"ordinal_position": int64(i + 1), "position_in_unique_constraint": nil})
			}
		}
	}
	return out
}
