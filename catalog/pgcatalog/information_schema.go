package pgcatalog

import (
	"strconv"

	"streamsql/catalog"
	"streamsql/sql/types"
)

// The information_schema views follow PostgreSQL's definitions: tables and
// columns list base tables and views (not materialized views, as in
// PostgreSQL; sources are base tables), constraints list primary keys.
// PostgreSQL also lists NOT NULL columns as CHECK constraints in
// table_constraints; StreamSQL does not.

func yesNo(b bool) string {
	if b {
		return "YES"
	}
	return "NO"
}

func schemataRows(s *Snapshot) []row {
	var out []row
	for _, sc := range s.Catalog.Schemas() {
		out = append(out, row{"catalog_name": s.Database, "schema_name": sc.Name, "schema_owner": owner(sc.Owner)})
	}
	return out
}

// isListed reports whether information_schema.tables and columns show a
// relation of pg_class kind k.
func isListed(k byte) bool { return k == 'r' || k == 'v' }

func isTableRows(s *Snapshot) []row {
	var out []row
	for _, e := range s.entries() {
		if !isListed(e.kind) {
			continue
		}
		if catalog.IsTempSchema(e.schema) && e.schema != catalog.OwnTempSchema(s.SearchPath) {
			continue // another session's, as PostgreSQL leaves them out
		}
		typ := "BASE TABLE"
		insertable := e.rel != nil && e.rel.Kind == catalog.KindTable
		switch {
		case catalog.IsTempSchema(e.schema):
			typ = "LOCAL TEMPORARY"
		case e.kind == 'v':
			typ = "VIEW"
		}
		out = append(out, row{"table_catalog": s.Database, "table_schema": e.schema, "table_name": e.name, "table_type": typ,
			"is_insertable_into": yesNo(insertable), "is_typed": "NO"})
	}
	return out
}

// DataType is information_schema's data_type of t: the SQL name without
// modifiers, "ARRAY" for arrays.
func DataType(t types.T) string {
	switch {
	case t.Kind == types.Array:
		return "ARRAY"
	case t.OIDOverride == types.OIDChar1:
		return `"char"`
	case t.OIDOverride != 0 && t.Kind != types.Oid:
		n, _ := TypeName(t.OIDOverride)
		return n
	}
	return types.T{Kind: t.Kind, OIDOverride: t.OIDOverride}.String()
}

func isColumnRows(s *Snapshot) []row {
	var out []row
	for _, e := range s.entries() {
		if !isListed(e.kind) {
			continue
		}
		updatable := e.rel != nil && e.rel.Kind == catalog.KindTable
		for i, c := range e.cols {
			udt, _ := TypeName(c.Type.OID())
			r := row{
				"table_catalog": s.Database, "table_schema": e.schema, "table_name": e.name, "column_name": c.Name,
				"ordinal_position": int64(i + 1), "is_nullable": "YES", "data_type": DataType(c.Type),
				"udt_catalog": s.Database, "udt_schema": "pg_catalog", "udt_name": udt, "dtd_identifier": itoa(i + 1),
				"is_self_referencing": "NO", "is_identity": "NO", "identity_cycle": "NO", "is_generated": "NEVER",
				"is_updatable":             yesNo(updatable),
				"character_maximum_length": nil, "character_octet_length": nil, "numeric_precision": nil,
				"numeric_precision_radix": nil, "numeric_scale": nil, "datetime_precision": nil,
			}
			if e.notNul != nil && e.notNul[i] {
				r["is_nullable"] = "NO"
			}
			if e.defs != nil && e.defs[i] != "" {
				r["column_default"] = e.defs[i]
				if e.rel != nil {
					// pg_get_expr of the default, as PostgreSQL shows it.
					for _, rc := range e.rel.Columns {
						if rc.Name == c.Name && !rc.Dropped {
							r["column_default"] = s.exprText(e.rel, rc.Default, rc.Type)
						}
					}
				}
			}
			typeFacts(r, c.Type)
			if e.rel != nil {
				if i := e.rel.ColumnIndex(c.Name); i >= 0 && e.rel.Columns[i].Identity != 0 {
					s.identityFacts(r, e.rel.Columns[i])
				}
			}
			out = append(out, r)
		}
	}
	return out
}

// identityFacts fills the identity columns of information_schema.columns
// for identity column c: how it is generated and its sequence's
// parameters.
func (s *Snapshot) identityFacts(r row, c catalog.Column) {
	r["is_identity"] = "YES"
	r["identity_generation"] = "BY DEFAULT"
	if c.Identity == catalog.IdentityAlways {
		r["identity_generation"] = "ALWAYS"
	}
	for _, q := range s.sequences() {
		if q.OID == c.Seq {
			d := q.Sequence
			r["identity_start"] = strconv.FormatInt(d.Start, 10)
			r["identity_increment"] = strconv.FormatInt(d.Increment, 10)
			r["identity_maximum"] = strconv.FormatInt(d.Max, 10)
			r["identity_minimum"] = strconv.FormatInt(d.Min, 10)
			r["identity_cycle"] = yesNo(d.Cycle)
		}
	}
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}

// typeFacts fills the length, precision and scale columns as PostgreSQL's
// information_schema computes them.
func typeFacts(r row, t types.T) {
	switch t.Kind {
	case types.Int2, types.Int4, types.Int8:
		r["numeric_precision"] = map[types.Kind]int64{types.Int2: 16, types.Int4: 32, types.Int8: 64}[t.Kind]
		r["numeric_precision_radix"] = int64(2)
		r["numeric_scale"] = int64(0)
	case types.Float4, types.Float8:
		r["numeric_precision"] = map[types.Kind]int64{types.Float4: 24, types.Float8: 53}[t.Kind]
		r["numeric_precision_radix"] = int64(2)
	case types.Numeric:
		r["numeric_precision_radix"] = int64(10)
		if t.Precision > 0 {
			r["numeric_precision"] = int64(t.Precision)
			r["numeric_scale"] = int64(t.Scale)
		}
	case types.Varchar, types.Char:
		if t.OIDOverride == types.OIDChar1 {
			break
		}
		if t.Width > 0 {
			r["character_maximum_length"] = int64(t.Width)
			r["character_octet_length"] = int64(t.Width) * 4
		} else {
			r["character_octet_length"] = int64(1073741824)
		}
	case types.Text:
		if t.OIDOverride == 0 {
			r["character_octet_length"] = int64(1073741824)
		}
	case types.DateKind:
		r["datetime_precision"] = int64(0)
	case types.Time, types.TimestampKind, types.TimestampTZ, types.Interval:
		r["datetime_precision"] = int64(6)
	}
}

func isViewRows(s *Snapshot) []row {
	var out []row
	for _, r := range s.relations() {
		if r.Kind == catalog.KindView {
			out = append(out, row{"table_catalog": s.Database, "table_schema": r.Schema, "table_name": r.Name,
				"view_definition": s.viewText(r), "check_option": "NONE", "is_updatable": "NO", "is_insertable_into": "NO",
				"is_trigger_updatable": "NO", "is_trigger_deletable": "NO", "is_trigger_insertable_into": "NO"})
		}
	}
	return out
}

func isConstraintRows(s *Snapshot) []row {
	var out []row
	for _, r := range s.relations() {
		if len(r.PrimaryKey) == 0 || r.Kind == catalog.KindView {
			continue
		}
		out = append(out, row{"constraint_catalog": s.Database, "constraint_schema": r.Schema, "constraint_name": PKName(r.Name),
			"table_catalog": s.Database, "table_schema": r.Schema, "table_name": r.Name, "constraint_type": "PRIMARY KEY",
			"is_deferrable": "NO", "initially_deferred": "NO", "enforced": "YES", "nulls_distinct": nil})
	}
	return out
}

func isKeyColumnRows(s *Snapshot) []row {
	var out []row
	for _, r := range s.relations() {
		if r.Kind == catalog.KindView {
			continue
		}
		for i, k := range r.PrimaryKey {
			out = append(out, row{"constraint_catalog": s.Database, "constraint_schema": r.Schema, "constraint_name": PKName(r.Name),
				"table_catalog": s.Database, "table_schema": r.Schema, "table_name": r.Name, "column_name": r.Columns[k].Name,
				"ordinal_position": int64(i + 1), "position_in_unique_constraint": nil})
		}
	}
	return out
}

func isRoutineRows(s *Snapshot) []row {
	var out []row
	for _, p := range s.Procs {
		if p.Kind != 'f' {
			continue
		}
		ret := "USER-DEFINED"
		udt, _ := TypeName(p.RetType)
		if t, ok := types.FromOID(p.RetType); ok {
			ret = DataType(t)
		}
		spec := p.Name + "_" + itoa(int(p.OID))
		out = append(out, row{
			"specific_catalog": s.Database, "specific_schema": "pg_catalog", "specific_name": spec,
			"routine_catalog": s.Database, "routine_schema": "pg_catalog", "routine_name": p.Name, "routine_type": "FUNCTION",
			"data_type": ret, "type_udt_catalog": s.Database, "type_udt_schema": "pg_catalog", "type_udt_name": udt,
			"dtd_identifier": "0", "routine_body": "EXTERNAL", "routine_definition": p.Name, "external_name": p.Name,
			"external_language": "INTERNAL", "parameter_style": "GENERAL", "is_deterministic": yesNo(p.Volatility == 'i'),
			"sql_data_access": "MODIFIES", "is_null_call": yesNo(p.Strict), "schema_level_routine": "YES",
			"max_dynamic_result_sets": int64(0), "is_user_defined_cast": "NO", "is_implicitly_invocable": "NO",
			"security_type": "INVOKER", "as_locator": "NO", "is_udt_dependent": "NO",
			"created": nil, "last_altered": nil, "new_savepoint_level": nil, "result_cast_as_locator": nil,
		})
	}
	return append(out, isUserRoutineRows(s)...)
}
