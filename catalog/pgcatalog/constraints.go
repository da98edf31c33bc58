package pgcatalog

// CHECK and FOREIGN KEY constraints in the catalogs:
//
//	pg_constraint                         contype 'c' and 'f', OID CheckFKConstraintOID
//	information_schema.table_constraints  CHECK and FOREIGN KEY rows
//	information_schema.check_constraints  the check clauses
//	information_schema.referential_constraints  the referential actions
//
// psql's \d lists them under "Check constraints:" and "Foreign-key
// constraints:" from pg_constraint and pg_get_constraintdef.

import (
	"strings"

	"streamsql/catalog"
	"streamsql/sql/types"
	"streamsql/udf"
)

// CheckFKConstraintOID is the OID of the k-th CHECK or FOREIGN KEY
// constraint of relation rel (checks first, then foreign keys), derived in
// the constraint range above the primary keys' OIDs. Up to 31 per table
// get an OID of their own.
func CheckFKConstraintOID(rel uint32, k int) uint32 {
	return oidConstrBase + uint32(k+1)<<22 + rel&0x3FFFFF
}

// DecodeCheckFK splits an OID made by CheckFKConstraintOID of a relation
// in the relation OID's range; ok is false for other OIDs.
func DecodeCheckFK(oid uint32) (rel uint32, k int, ok bool) {
	if oid&oidBaseMask != oidConstrBase || (oid-oidConstrBase)>>22 == 0 {
		return 0, 0, false
	}
	return oid & 0x3FFFFF, int((oid-oidConstrBase)>>22) - 1, true
}

// ForeignKeyDef is pg_get_constraintdef of a FOREIGN KEY constraint of r
// referencing parent.
func ForeignKeyDef(r, parent *catalog.Relation, fk catalog.ForeignKey) string {
	var sb strings.Builder
	sb.WriteString("FOREIGN KEY (")
	sb.WriteString(columnList(r, fk.Columns))
	sb.WriteString(") REFERENCES ")
	if parent.Schema != "public" {
		sb.WriteString(udf.QuoteIdent(parent.Schema) + ".")
	}
	sb.WriteString(udf.QuoteIdent(parent.Name) + "(" + columnList(parent, fk.RefColumns) + ")")
	if fk.OnUpdate != catalog.FKNoAction {
		sb.WriteString(" ON UPDATE " + fk.OnUpdate.String())
	}
	if fk.OnDelete != catalog.FKNoAction {
		sb.WriteString(" ON DELETE " + fk.OnDelete.String())
	}
	return sb.String()
}

func columnList(r *catalog.Relation, cols []int) string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = udf.QuoteIdent(r.Columns[c].Name)
	}
	return strings.Join(names, ", ")
}

func attnums(r *catalog.Relation, cols []int) []int16 {
	out := make([]int16, len(cols))
	for i, c := range cols {
		out[i] = r.Columns[c].AttNum
	}
	return out
}

// checkFKConstraintRows are the pg_constraint rows of CHECK and FOREIGN
// KEY constraints.
func checkFKConstraintRows(s *Snapshot) []row {
	var out []row
	for _, r := range s.relations() {
		for k, c := range r.Checks {
			out = append(out, row{
				"oid": int64(CheckFKConstraintOID(r.OID, k)), "conname": c.Name, "connamespace": int64(s.schemaOID(r.Schema)),
				"contype": "c", "condeferrable": false, "condeferred": false, "convalidated": true, "conrelid": int64(r.OID),
				"contypid": int64(0), "conindid": int64(0), "conparentid": int64(0), "confrelid": int64(0),
				"confupdtype": " ", "confdeltype": " ", "confmatchtype": " ", "conislocal": true, "coninhcount": int64(0),
				"connoinherit": false, "conkey": arrayText(attnums(r, c.Columns)), "conbin": s.exprText(r, c.Expr, types.TBool),
			})
		}
		for j, fk := range r.ForeignKeys {
			parent, ok := s.Catalog.ByOID(fk.RefRel)
			if !ok {
				continue
			}
			conindid := int64(IndexOID(parent.OID))
			for _, ix := range parent.Indexes {
				if ix.Unique && sameSet(ix.Columns, fk.RefColumns) {
					conindid = int64(ix.OID)
				}
			}
			out = append(out, row{
				"oid": int64(CheckFKConstraintOID(r.OID, len(r.Checks)+j)), "conname": fk.Name, "connamespace": int64(s.schemaOID(r.Schema)),
				"contype": "f", "condeferrable": false, "condeferred": false, "convalidated": true, "conrelid": int64(r.OID),
				"contypid": int64(0), "conindid": conindid, "conparentid": int64(0), "confrelid": int64(parent.OID),
				"confupdtype": string(fk.OnUpdate), "confdeltype": string(fk.OnDelete), "confmatchtype": "s", "conislocal": true,
				"coninhcount": int64(0), "connoinherit": true,
				"conkey": arrayText(attnums(r, fk.Columns)), "confkey": arrayText(attnums(parent, fk.RefColumns)),
			})
		}
	}
	return out
}

func sameSet(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		found := false
		for _, y := range b {
			found = found || x == y
		}
		if !found {
			return false
		}
	}
	return true
}

// isCheckFKConstraintRows are the information_schema.table_constraints
// rows of CHECK and FOREIGN KEY constraints.
func isCheckFKConstraintRows(s *Snapshot) []row {
	var out []row
	add := func(r *catalog.Relation, name, typ string) {
		out = append(out, row{"constraint_catalog": s.Database, "constraint_schema": r.Schema, "constraint_name": name,
			"table_catalog": s.Database, "table_schema": r.Schema, "table_name": r.Name, "constraint_type": typ,
			"is_deferrable": "NO", "initially_deferred": "NO", "enforced": "YES", "nulls_distinct": nil})
	}
	for _, r := range s.relations() {
		for _, c := range r.Checks {
			add(r, c.Name, "CHECK")
		}
		for _, fk := range r.ForeignKeys {
			add(r, fk.Name, "FOREIGN KEY")
		}
	}
	return out
}

// isCheckRows are the rows of information_schema.check_constraints.
func isCheckRows(s *Snapshot) []row {
	var out []row
	for _, r := range s.relations() {
		for _, c := range r.Checks {
			out = append(out, row{"constraint_catalog": s.Database, "constraint_schema": r.Schema, "constraint_name": c.Name,
				"check_clause": "(" + s.exprText(r, c.Expr, types.TBool) + ")"})
		}
	}
	return out
}

// isReferentialRows are the rows of
// information_schema.referential_constraints.
func isReferentialRows(s *Snapshot) []row {
	var out []row
	for _, r := range s.relations() {
		for _, fk := range r.ForeignKeys {
			parent, ok := s.Catalog.ByOID(fk.RefRel)
			if !ok {
				continue
			}
			unique := PKName(parent.Name)
			for _, ix := range parent.Indexes {
				if ix.Unique && sameSet(ix.Columns, fk.RefColumns) && !sameSet(parent.PrimaryKey, fk.RefColumns) {
					unique = ix.Name
				}
			}
			out = append(out, row{"constraint_catalog": s.Database, "constraint_schema": r.Schema, "constraint_name": fk.Name,
				"unique_constraint_catalog": s.Database, "unique_constraint_schema": parent.Schema, "unique_constraint_name": unique,
				"match_option": "NONE", "update_rule": fk.OnUpdate.String(), "delete_rule": fk.OnDelete.String()})
		}
	}
	return out
}

// addConstraintCounts sets the pg_class fields psql reads before it looks
// for CHECK constraints (relchecks) and foreign keys (relhastriggers: in
// PostgreSQL foreign keys are enforced by triggers, on both tables).
func addConstraintCounts(r row, rel *catalog.Relation, s *Snapshot) {
	if rel == nil {
		return
	}
	r["relchecks"] = int64(len(rel.Checks))
	has := len(rel.ForeignKeys) > 0
	for _, o := range s.relations() {
		for _, fk := range o.ForeignKeys {
			has = has || fk.RefRel == rel.OID
		}
	}
	// psql's foreign key section also lists incoming references through
	// pg_partition_ancestors: without that function \d would fail, so
	// the section stays hidden until it exists.
	r["relhastriggers"] = has && udf.IsTableFunc("pg_partition_ancestors")
}
