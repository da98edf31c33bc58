package pgcatalog

import (
	"slices"
	"strconv"
	"strings"

	"streamsql/catalog"
	"streamsql/sql/types"
)

// User functions (CREATE FUNCTION) in pg_proc and
// information_schema.routines: LANGUAGE sql is prolang 14 as in
// PostgreSQL, prosrc is the body as written (empty for a SQL-standard
// RETURN body, whose text PostgreSQL keeps in prosqlbody).

// OIDLangSQL is pg_language's OID of LANGUAGE sql.
const OIDLangSQL = 14

// pg_language OIDs of StreamSQL's own languages: below PostgreSQL's first
// user OID, beside the rejects relation's.
const (
	OIDLangJavaScript = 16010
	OIDLangWasm       = 16011
)

// OIDLangInternal is pg_language's OID of LANGUAGE internal, the
// language of aggregates in PostgreSQL's form.
const OIDLangInternal = 12

// LanguageOID is the pg_language OID of a function language.
func LanguageOID(lang string) int64 {
	switch lang {
	case "internal":
		return OIDLangInternal
	case "javascript":
		return OIDLangJavaScript
	case "wasm":
		return OIDLangWasm
	}
	return OIDLangSQL
}

func (s *Snapshot) functions() []*catalog.Function {
	if s.Catalog == nil {
		return nil
	}
	return s.Catalog.Functions()
}

// ProcSrc is pg_proc.prosrc of f.
func ProcSrc(f *catalog.Function) string {
	if f.IsAggregate() && f.Language == "internal" {
		return "aggregate_dummy"
	}
	if f.StdBody || f.AtomicBody {
		return ""
	}
	return f.Body
}

func userProcRows(s *Snapshot) []row {
	var out []row
	for _, f := range s.functions() {
		args := make([]string, len(f.ArgTypes))
		for i, t := range f.ArgTypes {
			args[i] = strconv.FormatUint(uint64(t.OID()), 10)
		}
		variadic := int64(0)
		if f.IsVariadic() {
			variadic = int64(f.ArgTypes[len(f.ArgTypes)-1].Elem.OID())
		}
		r := row{
			"oid": int64(f.OID), "proname": f.Name, "pronamespace": int64(s.schemaOID(f.Schema)), "proowner": int64(s.RoleOID(f.Owner)),
			"prolang": LanguageOID(f.Language), "procost": float64(100), "provariadic": variadic, "prokind": string(f.Kind()),
			"proisstrict": f.Strict, "proretset": f.RetSet, "provolatile": string(f.Volatility), "proparallel": "u",
			"prosecdef": f.SecurityDefiner, "proleakproof": false,
			"pronargs": int64(len(f.ArgTypes)), "pronargdefaults": int64(len(f.ArgDefaults)), "prorettype": int64(f.RetType.OID()),
			"proargtypes": strings.Join(args, " "), "prosrc": ProcSrc(f),
		}
		if len(f.ArgDefaults) > 0 {
			// As pg_get_expr prints the stored list.
			r["proargdefaults"] = strings.Join(f.ArgDefaults, ", ")
		}
		if f.Procedure {
			procArgRows(f, r)
		} else if len(f.OutNames) > 0 && f.RowType == "" {
			// RETURNS TABLE: the columns are TABLE parameters.
			all, modes := strings.Split(r["proargtypes"].(string), " "), make([]string, 0, len(f.ArgTypes)+len(f.OutTypes))
			if len(f.ArgTypes) == 0 {
				all = all[:0]
			}
			for range f.ArgTypes {
				modes = append(modes, "i")
			}
			for _, t := range f.OutTypes {
				all = append(all, strconv.FormatUint(uint64(t.OID()), 10))
				modes = append(modes, "t")
			}
			r["proallargtypes"] = "{" + strings.Join(all, ",") + "}"
			r["proargmodes"] = "{" + strings.Join(modes, ",") + "}"
		} else if variadic != 0 {
			modes := make([]string, len(f.ArgTypes))
			for i := range modes {
				modes[i] = "i"
			}
			modes[len(modes)-1] = "v"
			r["proargmodes"] = "{" + strings.Join(modes, ",") + "}"
		}
		if f.ACL != nil {
			// proacl is NULL while the default holds, as in PostgreSQL.
			items := make([]string, len(f.ACL))
			for i, it := range f.ACL {
				items[i] = it.String()
			}
			r["proacl"] = aclArray(items)
		}
		named := len(f.OutNames) > 0 && f.RowType == ""
		for _, n := range f.ArgNames {
			named = named || n != ""
		}
		if named && !f.Procedure {
			names := make([]string, 0, len(f.ArgNames)+len(f.OutNames))
			outs := f.OutNames
			if f.RowType != "" {
				outs = nil
			}
			for _, n := range append(append([]string{}, f.ArgNames...), outs...) {
				names = append(names, arrayElem(n))
			}
			r["proargnames"] = "{" + strings.Join(names, ",") + "}"
		}
		out = append(out, r)
	}
	return out
}

// procArgRows fills in the pg_proc columns of procedure f's parameters:
// proallargtypes and proargmodes when some are INOUT or OUT, proargnames
// in the order written.
func procArgRows(f *catalog.Function, r row) {
	names, ts, modes := f.CallParams()
	if f.ArgModes != "" {
		all, ms := make([]string, len(ts)), make([]string, len(modes))
		for i, t := range ts {
			all[i], ms[i] = strconv.FormatUint(uint64(t.OID()), 10), string(modes[i])
		}
		if len(f.OutTypes) > 0 {
			r["proallargtypes"] = "{" + strings.Join(all, ",") + "}"
		}
		r["proargmodes"] = "{" + strings.Join(ms, ",") + "}"
	}
	if slices.ContainsFunc(names, func(n string) bool { return n != "" }) {
		for i, n := range names {
			names[i] = arrayElem(n)
		}
		r["proargnames"] = "{" + strings.Join(names, ",") + "}"
	}
}

// arrayElem quotes an element of an array's text form where needed.
func arrayElem(s string) string {
	if s == "" || strings.ContainsAny(s, `{},"\ `) || strings.EqualFold(s, "null") {
		return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
	}
	return s
}

func isUserRoutineRows(s *Snapshot) []row {
	var out []row
	for _, f := range s.functions() {
		ret := "USER-DEFINED"
		udt, _ := TypeName(f.RetType.OID())
		if _, ok := types.FromOID(f.RetType.OID()); ok {
			ret = DataType(f.RetType)
		}
		body := f.Body
		switch {
		case f.StdBody:
			body = "RETURN " + strings.TrimPrefix(f.Body, "SELECT ")
		case f.AtomicBody:
			body = "BEGIN ATOMIC\n " + f.Body + ";\nEND"
		}
		routineBody, extLang := "SQL", "SQL"
		if f.Language != "sql" {
			routineBody, extLang = "EXTERNAL", strings.ToUpper(f.Language)
		}
		out = append(out, row{
			"specific_catalog": s.Database, "specific_schema": f.Schema, "specific_name": f.Name + "_" + itoa(int(f.OID)),
			"routine_catalog": s.Database, "routine_schema": f.Schema, "routine_name": f.Name, "routine_type": map[bool]string{false: "FUNCTION", true: "PROCEDURE"}[f.Procedure],
			"data_type": ret, "type_udt_catalog": s.Database, "type_udt_schema": "pg_catalog", "type_udt_name": udt,
			"dtd_identifier": "0", "routine_body": routineBody, "routine_definition": body,
			"external_language": extLang, "parameter_style": "GENERAL", "is_deterministic": yesNo(f.Volatility == catalog.Immutable),
			"sql_data_access": "MODIFIES", "is_null_call": yesNo(f.Strict), "schema_level_routine": "YES",
			"max_dynamic_result_sets": int64(0), "is_user_defined_cast": "NO", "is_implicitly_invocable": "NO",
			"security_type": "INVOKER", "as_locator": "NO", "is_udt_dependent": "NO",
		})
	}
	return out
}

// userAggregateRows are the pg_aggregate rows of user aggregates.
// Support functions that are built-ins have no OID here and show as 0
// ("-").
func userAggregateRows(s *Snapshot) []row {
	var out []row
	for _, f := range s.functions() {
		a := f.Agg
		if a == nil {
			continue
		}
		kind := "n"
		if a.OrderedSet {
			kind = "o"
		}
		r := row{"aggfnoid": int64(f.OID), "aggkind": kind, "aggnumdirectargs": int64(a.NumDirect),
			"aggtransfn": int64(a.SFunc.OID), "aggfinalfn": int64(a.FinalFunc.OID), "aggcombinefn": int64(a.CombineFunc.OID),
			"aggserialfn": int64(0), "aggdeserialfn": int64(0),
			"aggmtransfn": int64(a.MSFunc.OID), "aggminvtransfn": int64(a.MInvFunc.OID), "aggmfinalfn": int64(a.MFinalFunc.OID),
			"aggfinalextra": a.FinalExtra, "aggmfinalextra": a.MFinalExtra, "aggfinalmodify": "r", "aggmfinalmodify": "r",
			"aggsortop": int64(0), "aggtranstype": int64(a.SType.OID()), "aggtransspace": int64(0),
			"aggmtranstype": int64(0), "aggmtransspace": int64(0)}
		if a.Moving() {
			r["aggmtranstype"] = int64(a.MSType.OID())
		}
		if a.InitCond != nil {
			r["agginitval"] = *a.InitCond
		}
		if a.MInitCond != nil {
			r["aggminitval"] = *a.MInitCond
		}
		out = append(out, r)
	}
	return out
}
