package udf

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// The system information and catalog functions that psql and the drivers
// call in their metadata queries (format_type, pg_get_viewdef,
// pg_table_is_visible, obj_description, has_table_privilege, ...), and the
// array helpers those queries use on catalog arrays. Catalog answers come
// from env.Catalog through CatalogInfo; without it the functions return
// NULL or their neutral answer.
//
// Arrays are held in their PostgreSQL text form ("{a,b}"), so the array
// functions here parse that form.

func init() { builtins.addCatalogFuncs() }

// ProcInfo describes one built-in function, for pg_proc.
type ProcInfo struct {
	OID        uint32
	Name       string
	Args       []types.T
	Ret        types.T
	Kind       byte // 'f' function, 'a' aggregate
	Variadic   bool
	RetSet     bool
	Strict     bool
	Volatility Volatility
}

// Procs lists the built-in functions, aggregates and set-returning
// functions (operators excluded), in registration order.
func Procs() []ProcInfo {
	r := builtins
	out := make([]ProcInfo, 0, len(r.allFuncs)+len(r.allAggs)+len(r.allTFuncs))
	for _, s := range r.allFuncs {
		out = append(out, ProcInfo{OID: s.OID, Name: s.Name, Args: s.Args, Ret: s.Ret, Kind: 'f', Variadic: s.Variadic, Strict: s.Strict, Volatility: s.Volatility})
	}
	for _, a := range r.allAggs {
		out = append(out, ProcInfo{OID: a.OID, Name: a.Name, Args: a.Args, Ret: a.Ret, Kind: 'a', Volatility: Immutable})
	}
	for _, f := range r.allTFuncs {
		ret := types.TUnknown
		if len(f.Args) > 0 {
			ret = f.Args[0]
		}
		if isAnyArray(ret) {
			ret = Any // SETOF anyelement
		}
		out = append(out, ProcInfo{OID: f.OID, Name: f.Name, Args: f.Args, Ret: ret, Kind: 'f', Variadic: f.Variadic, RetSet: true, Volatility: Immutable})
	}
	return out
}

// ProcTypeOID is the pg_proc type OID of a declared argument or result
// type: "any" for the polymorphic marker.
func ProcTypeOID(t types.T) uint32 {
	if isAny(t) {
		return oidAny
	}
	if isAnyArray(t) {
		return types.OIDAnyArray
	}
	return t.OID()
}

const (
	oidAny         uint32 = 2276
	oidAnyElement  uint32 = 2283
	oidUnknownType uint32 = 705
)

// pseudoTypeNames are format_type's names for the types StreamSQL has no
// types.T for but its catalogs mention.
var pseudoTypeNames = map[uint32]string{
	18: `"char"`, 22: "int2vector", 28: "xid", 30: "oidvector", 194: "pg_node_tree", 705: "unknown",
	869: "inet", 1033: "aclitem", 2275: "cstring", 2276: `"any"`, 2277: "anyarray", 2278: "void",
	2283: "anyelement", 1002: `"char"[]`, 1034: "aclitem[]",
}

// FormatType is format_type(oid, typmod): the SQL name of a type with its
// modifiers.
func FormatType(oid uint32, typmod int32) string {
	if n, ok := pseudoTypeNames[oid]; ok {
		return n
	}
	t, ok := types.FromOID(oid)
	if !ok {
		return "???"
	}
	elem := &t
	if t.Kind == types.Array && t.Elem != nil {
		e := *t.Elem
		elem = &e
	}
	if typmod >= 4 {
		switch elem.Kind {
		case types.Numeric:
			elem.Precision, elem.Scale = (typmod-4)>>16, (typmod-4)&0xFFFF
		case types.Varchar, types.Char:
			elem.Width = typmod - 4
		}
	} else if elem.Kind == types.Char {
		if t.Kind == types.Array {
			return "bpchar[]"
		}
		return "bpchar"
	}
	if t.Kind == types.Array {
		return elem.String() + "[]"
	}
	return elem.String()
}

// RegIn converts the text form of a reg* type to an OID, for the casts
// text::regclass, text::regtype and text::regproc. A number is taken as
// the OID itself.
func RegIn(env *Env, regType uint32, s string) (uint32, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseUint(s, 10, 32); err == nil {
		return uint32(n), nil
	}
	switch regType {
	case types.OIDRegclass:
		if ci := catalogInfo(env); ci != nil {
			if oid, ok := ci.LookupRelation(s); ok {
				return oid, nil
			}
		} else if env != nil && env.Catalog != nil {
			if oid, ok := env.Catalog.RelationOID(s); ok {
				return oid, nil
			}
		}
		return 0, sqlerr.New(sqlerr.UndefinedTable, "relation \"%s\" does not exist", s)
	case types.OIDRegtype:
		for oid, n := range pseudoTypeNames {
			if n == s {
				return oid, nil
			}
		}
		t, err := types.ParseTypeName(strings.TrimSuffix(s, "[]"), nil, len(s)-len(strings.TrimSuffix(s, "[]")))
		if err != nil {
			return 0, sqlerr.New(sqlerr.UndefinedObject, "type \"%s\" does not exist", s)
		}
		return t.OID(), nil
	case types.OIDRegnamespace:
		if ni, ok := namespaces(env); ok {
			if oid, ok := ni.LookupNamespace(s); ok {
				return oid, nil
			}
		}
		return 0, sqlerr.New(sqlerr.UndefinedSchema, "schema \"%s\" does not exist", s)
	case types.OIDRegproc:
		var found []ProcInfo
		for _, p := range Procs() {
			if p.Name == strings.TrimPrefix(s, "pg_catalog.") {
				found = append(found, p)
			}
		}
		if uf := userFunctions(env); uf != nil && len(found) == 0 {
			switch oids := uf.LookupUserFunctions(s); len(oids) {
			case 0:
			case 1:
				return oids[0], nil
			default:
				return 0, sqlerr.New(sqlerr.AmbiguousFunction, "more than one function named \"%s\"", s)
			}
		}
		switch len(found) {
		case 0:
			return 0, sqlerr.New(sqlerr.UndefinedFunction, "function \"%s\" does not exist", s)
		case 1:
			return found[0].OID, nil
		}
		return 0, sqlerr.New(sqlerr.AmbiguousFunction, "more than one function named \"%s\"", s)
	}
	return 0, sqlerr.New(sqlerr.InvalidTextRepresentation, "invalid input syntax for type oid: \"%s\"", s)
}

// RegOut is the text form of an OID of a reg* type: the relation, type or
// function name (the number when nothing has that OID), for the casts
// regclass::text and friends.
func RegOut(env *Env, regType uint32, oid uint32) string {
	num := strconv.FormatUint(uint64(oid), 10)
	if oid == 0 {
		return "-"
	}
	switch regType {
	case types.OIDRegclass:
		if ci := catalogInfo(env); ci != nil {
			if o, ok := ci.Object(oid); ok {
				if o.Visible {
					return quoteIdentSimple(o.Name)
				}
				return quoteIdentSimple(o.Schema) + "." + quoteIdentSimple(o.Name)
			}
		} else if env != nil && env.Catalog != nil {
			if n, ok := env.Catalog.RelationName(oid); ok {
				return n
			}
		}
	case types.OIDRegtype:
		if f := FormatType(oid, -1); f != "???" {
			return f
		}
	case types.OIDRegproc:
		if p, ok := procByOID(oid); ok {
			return p.Name
		}
	case types.OIDRegnamespace:
		if ni, ok := namespaces(env); ok {
			if n, ok := ni.NamespaceName(oid); ok {
				return quoteIdentSimple(n)
			}
		}
	}
	return num
}

// quoteIdentSimple quotes an identifier that is not a plain lower-case name.
func quoteIdentSimple(s string) string {
	for i, r := range s {
		if !(r >= 'a' && r <= 'z' || r == '_' || i > 0 && r >= '0' && r <= '9') {
			return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
		}
	}
	return s
}

func procByOID(oid uint32) (ProcInfo, bool) {
	for _, p := range Procs() {
		if p.OID == oid {
			return p, true
		}
	}
	return ProcInfo{}, false
}

func procArgs(p ProcInfo) string {
	parts := make([]string, len(p.Args))
	for i, a := range p.Args {
		parts[i] = FormatType(ProcTypeOID(a), -1)
		if p.Variadic && i == len(p.Args)-1 {
			if isAny(a) {
				parts[i] = `VARIADIC "any"`
			} else {
				parts[i] = "VARIADIC " + parts[i] + "[]"
			}
		}
	}
	return strings.Join(parts, ", ")
}

func procResult(p ProcInfo) string {
	oid := ProcTypeOID(p.Ret)
	if oid == oidAny || oid == oidUnknownType {
		oid = oidAnyElement
	}
	s := FormatType(oid, -1)
	if p.RetSet {
		s = "SETOF " + s
	}
	return s
}

func oidOf(d types.Datum) uint32 { return uint32(d.(int64)) }

func (r *registry) addCatalogFuncs() {
	oid, text, name, i4, i8, b := types.TOid, types.TText, types.TName, types.TInt4, types.TInt8, types.TBool

	// nonStrict registers a function that sees NULL arguments itself.
	nonStrict := func(fname string, args []types.T, ret types.T, vol Volatility, f func(env *Env, a []types.Datum) (types.Datum, error)) {
		r.fn(&Scalar{Name: fname, Args: args, Ret: ret, Volatility: vol, Eval: rowFunc(args, ret, false, f)})
	}
	stable := func(fname string, args []types.T, ret types.T, f func(env *Env, a []types.Datum) (types.Datum, error)) {
		r.fn(&Scalar{Name: fname, Args: args, Ret: ret, Strict: true, Volatility: Stable, Eval: rowFunc(args, ret, true, f)})
	}
	constant := func(fname string, args []types.T, ret types.T, v types.Datum) {
		stable(fname, args, ret, func(*Env, []types.Datum) (types.Datum, error) { return v, nil })
	}

	nonStrict("format_type", ts(oid, i4), text, Stable, func(_ *Env, a []types.Datum) (types.Datum, error) {
		if a[0] == nil {
			return nil, nil
		}
		mod := int32(-1)
		if a[1] != nil {
			mod = int32(a[1].(int64))
		}
		return FormatType(oidOf(a[0]), mod), nil
	})

	// The catalogs hold stored expressions as pg_get_expr prints them
	// (adbin, conbin, polqual); pretty asks the catalog for the same
	// expression with fewer parentheses.
	expr := func(_ *Env, a []types.Datum) (types.Datum, error) { return a[0], nil }
	stable("pg_get_expr", ts(text, oid), text, expr)
	stable("pg_get_expr", ts(text, oid, b), text, func(env *Env, a []types.Datum) (types.Datum, error) {
		if a[0] == nil || a[1] == nil || a[2] == nil || !a[2].(bool) {
			return a[0], nil
		}
		if pp, ok := catalogInfo(env).(PrettyExprPrinter); ok {
			if out, ok := pp.PrettyExpr(oidOf(a[1]), a[0].(string)); ok {
				return out, nil
			}
		}
		return a[0], nil
	})

	definition := func(kinds string) func(env *Env, a []types.Datum) (types.Datum, error) {
		return func(env *Env, a []types.Datum) (types.Datum, error) {
			ci := catalogInfo(env)
			if ci == nil {
				return nil, nil
			}
			o, ok := ci.Object(oidOf(a[0]))
			if !ok || !strings.ContainsRune(kinds, rune(o.Kind)) {
				return nil, nil
			}
			return o.Definition, nil
		}
	}
	// pg_get_viewdef(view [, pretty | wrap column]), the view given by
	// OID or by name: always indented, pretty without the parentheses
	// precedence makes unnecessary; a wrap column implies pretty.
	viewdef := func(byName bool) func(env *Env, a []types.Datum) (types.Datum, error) {
		return func(env *Env, a []types.Datum) (types.Datum, error) {
			ci := catalogInfo(env)
			vp, ok := ci.(ViewDefPrinter)
			if !ok {
				return nil, nil
			}
			var o uint32
			if byName {
				if o, ok = ci.LookupRelation(a[0].(string)); !ok {
					return nil, sqlerr.New(sqlerr.UndefinedTable, "relation %q does not exist", a[0].(string))
				}
			} else {
				o = oidOf(a[0])
			}
			pretty, wrap := false, 0
			if len(a) > 1 {
				switch v := a[1].(type) {
				case bool:
					pretty = v
				case int64:
					pretty, wrap = true, int(v)
				}
			}
			def, ok := vp.ViewDef(o, pretty, wrap)
			if !ok {
				return definition("vm")(env, []types.Datum{int64(o)})
			}
			return def, nil
		}
	}
	for _, args := range [][]types.T{ts(oid), ts(oid, b), ts(oid, i4)} {
		stable("pg_get_viewdef", args, text, viewdef(false))
	}
	for _, args := range [][]types.T{ts(text), ts(text, b)} {
		stable("pg_get_viewdef", args, text, viewdef(true))
	}
	stable("pg_get_indexdef", ts(oid), text, definition("i"))
	stable("pg_get_indexdef", ts(oid, i4, b), text, func(env *Env, a []types.Datum) (types.Datum, error) {
		d, err := definition("i")(env, a)
		if d == nil || err != nil {
			return d, err
		}
		col := a[1].(int64)
		if col == 0 {
			// Pretty-printing leaves out the schema of a visible table.
			if a[2].(bool) {
				if o, _ := catalogInfo(env).Object(oidOf(a[0])); o.Visible {
					return strings.Replace(d.(string), " ON "+quoteIdentSimple(o.Schema)+".", " ON ", 1), nil
				}
			}
			return d, nil
		}
		// Column col of the index: the col-th name in "USING btree (a, b)".
		s := d.(string)
		lo, hi := strings.LastIndexByte(s, '('), strings.LastIndexByte(s, ')')
		if lo < 0 || hi < lo {
			return nil, nil
		}
		cols := strings.Split(s[lo+1:hi], ", ")
		if col < 0 || int(col) > len(cols) {
			return nil, nil
		}
		return cols[col-1], nil
	})
	stable("pg_get_constraintdef", ts(oid), text, definition("c"))
	stable("pg_get_constraintdef", ts(oid, b), text, func(env *Env, a []types.Datum) (types.Datum, error) {
		if a[1].(bool) {
			if o, ok := catalogInfo(env).Object(oidOf(a[0])); ok && o.Kind == 'c' && o.PrettyDefinition != "" {
				return o.PrettyDefinition, nil
			}
		}
		return definition("c")(env, a)
	})
	stable("pg_get_ruledef", ts(oid), text, definition("R"))
	stable("pg_get_ruledef", ts(oid, b), text, func(env *Env, a []types.Datum) (types.Datum, error) {
		if ci := catalogInfo(env); ci != nil && a[1].(bool) {
			if o, ok := ci.Object(oidOf(a[0])); ok && o.Kind == 'R' && o.PrettyDefinition != "" {
				return o.PrettyDefinition, nil
			}
		}
		return definition("R")(env, a)
	})
	constant("pg_get_partkeydef", ts(oid), text, nil)
	// There are no triggers: pg_trigger is empty, so these never see a
	// trigger's oid.
	constant("pg_get_triggerdef", ts(oid), text, nil)
	constant("pg_get_triggerdef", ts(oid, b), text, nil)
	constant("pg_get_statisticsobjdef_columns", ts(oid), text, nil)
	constant("pg_relation_is_publishable", ts(oid), b, false)
	constant("pg_get_function_sqlbody", ts(oid), text, nil)

	stable("pg_get_userbyid", ts(oid), name, func(env *Env, a []types.Datum) (types.Datum, error) {
		if ci := catalogInfo(env); ci != nil {
			if n, ok := ci.RoleName(oidOf(a[0])); ok {
				return n, nil
			}
		}
		return "unknown (OID=" + strconv.FormatUint(uint64(oidOf(a[0])), 10) + ")", nil
	})
	// The session's temporary schema (0 until its first temporary
	// relation), and whether a schema is another session's.
	stable("pg_my_temp_schema", nil, oid, func(env *Env, a []types.Datum) (types.Datum, error) {
		if ci := catalogInfo(env); ci != nil {
			return int64(ci.MyTempSchema()), nil
		}
		return int64(0), nil
	})
	stable("pg_is_other_temp_schema", ts(oid), b, func(env *Env, a []types.Datum) (types.Datum, error) {
		if ci := catalogInfo(env); ci != nil {
			return ci.IsOtherTempSchema(oidOf(a[0])), nil
		}
		return false, nil
	})
	stable("pg_table_is_visible", ts(oid), b, func(env *Env, a []types.Datum) (types.Datum, error) {
		ci := catalogInfo(env)
		if ci == nil {
			return nil, nil
		}
		o, ok := ci.Object(oidOf(a[0]))
		if !ok {
			return nil, nil
		}
		return o.Visible, nil
	})
	stable("pg_type_is_visible", ts(oid), b, func(_ *Env, a []types.Datum) (types.Datum, error) {
		if _, ok := types.FromOID(oidOf(a[0])); ok {
			return true, nil
		}
		_, ok := pseudoTypeNames[oidOf(a[0])]
		return ok, nil
	})
	stable("pg_function_is_visible", ts(oid), b, func(env *Env, a []types.Datum) (types.Datum, error) {
		if _, ok := procByOID(oidOf(a[0])); ok {
			return true, nil
		}
		if f, ok := userFunction(env, oidOf(a[0])); ok {
			return f.Visible, nil
		}
		return false, nil
	})
	stable("pg_get_function_result", ts(oid), text, func(env *Env, a []types.Datum) (types.Datum, error) {
		if p, ok := procByOID(oidOf(a[0])); ok {
			return procResult(p), nil
		}
		if f, ok := userFunction(env, oidOf(a[0])); ok && f.Result != "" {
			return f.Result, nil
		}
		return nil, nil
	})
	for _, fname := range []string{"pg_get_function_arguments", "pg_get_function_identity_arguments"} {
		stable(fname, ts(oid), text, func(env *Env, a []types.Datum) (types.Datum, error) {
			if p, ok := procByOID(oidOf(a[0])); ok {
				return procArgs(p), nil
			}
			if f, ok := userFunction(env, oidOf(a[0])); ok {
				return f.Arguments, nil
			}
			return nil, nil
		})
	}

	describe := func(env *Env, a []types.Datum) (types.Datum, error) {
		ci := catalogInfo(env)
		if ci == nil {
			return nil, nil
		}
		if o, ok := ci.Object(oidOf(a[0])); ok && o.Description != "" {
			return o.Description, nil
		}
		return nil, nil
	}
	stable("obj_description", ts(oid), text, describe)
	stable("obj_description", ts(oid, name), text, func(env *Env, a []types.Datum) (types.Datum, error) {
		if a[1].(string) != "pg_class" {
			return nil, nil
		}
		return describe(env, a)
	})
	// Columns and shared objects carry no comments yet.
	constant("col_description", ts(oid, i4), text, nil)
	constant("shobj_description", ts(oid, name), text, nil)

	r.fn(&Scalar{Name: "current_schemas", Args: ts(b), Ret: types.T{Kind: types.Array, Elem: &name}, Strict: true, Volatility: Stable,
		Eval: rowFunc(ts(b), types.T{Kind: types.Array, Elem: &name}, true, func(env *Env, a []types.Datum) (types.Datum, error) {
			// With true the schemas searched implicitly come too: the
			// temporary schema first, then pg_catalog unless placed.
			var path []string
			if ci := catalogInfo(env); ci != nil {
				path = ci.SearchPath()
				if !a[0].(bool) {
					path = path[ci.ImplicitSchemas():]
				}
			} else if env != nil && env.Catalog != nil {
				path = []string{env.Catalog.CurrentSchema()}
			}
			if a[0].(bool) && !slices.Contains(path, "pg_catalog") {
				path = append([]string{"pg_catalog"}, path...)
			}
			return FormatArray(path), nil
		})})

	// The has_*_privilege functions and pg_has_role answer from the
	// catalog's privileges when the session's catalog reader knows them
	// (privilege.go in the engine); without one every check passes. Each
	// comes in forms without a user (the current role) and forms with a
	// user as first argument; the privilege list is always last, and
	// check gets the object arguments between the two.
	privFunc := func(fname string, noUser, withUser [][]types.T, check func(pc PrivilegeChecker, user types.Datum, obj []types.Datum, privs string) (bool, error)) {
		ask := func(env *Env, user types.Datum, obj []types.Datum, privs types.Datum) (types.Datum, error) {
			if env == nil {
				return true, nil
			}
			pc, ok := env.Catalog.(PrivilegeChecker)
			if !ok {
				return true, nil
			}
			return check(pc, user, obj, privs.(string))
		}
		for _, args := range noUser {
			stable(fname, args, b, func(env *Env, a []types.Datum) (types.Datum, error) {
				return ask(env, nil, a[:len(a)-1], a[len(a)-1])
			})
		}
		for _, args := range withUser {
			stable(fname, args, b, func(env *Env, a []types.Datum) (types.Datum, error) {
				return ask(env, a[0], a[1:len(a)-1], a[len(a)-1])
			})
		}
	}
	oneObjectNoUser := [][]types.T{ts(text, text), ts(oid, text)}
	oneObjectWithUser := [][]types.T{ts(text, text, text), ts(name, oid, text), ts(oid, oid, text)}
	privFunc("has_table_privilege", oneObjectNoUser, oneObjectWithUser, func(pc PrivilegeChecker, user types.Datum, obj []types.Datum, privs string) (bool, error) {
		return pc.HasTablePrivilege(user, obj[0], privs)
	})
	privFunc("has_schema_privilege", oneObjectNoUser, oneObjectWithUser, func(pc PrivilegeChecker, user types.Datum, obj []types.Datum, privs string) (bool, error) {
		return pc.HasSchemaPrivilege(user, obj[0], privs)
	})
	privFunc("has_column_privilege",
		[][]types.T{ts(text, text, text), ts(oid, text, text), ts(oid, i4, text)},
		[][]types.T{ts(text, text, text, text), ts(name, oid, text, text), ts(oid, oid, text, text), ts(name, oid, i4, text)},
		func(pc PrivilegeChecker, user types.Datum, obj []types.Datum, privs string) (bool, error) {
			return pc.HasColumnPrivilege(user, obj[0], obj[1], privs)
		})
	privFunc("has_any_column_privilege", oneObjectNoUser, oneObjectWithUser, func(pc PrivilegeChecker, user types.Datum, obj []types.Datum, privs string) (bool, error) {
		return pc.HasColumnPrivilege(user, obj[0], nil, privs)
	})
	privFunc("has_function_privilege", oneObjectNoUser, oneObjectWithUser, func(pc PrivilegeChecker, user types.Datum, obj []types.Datum, privs string) (bool, error) {
		return pc.HasFunctionPrivilege(user, obj[0], privs)
	})
	privFunc("has_database_privilege", oneObjectNoUser, oneObjectWithUser, func(pc PrivilegeChecker, user types.Datum, obj []types.Datum, privs string) (bool, error) {
		return pc.HasDatabasePrivilege(user, obj[0], privs)
	})
	// has_sequence_privilege and pg_has_role also take a name after an OID user.
	seqRoleWithUser := [][]types.T{ts(text, text, text), ts(name, text, text), ts(name, oid, text), ts(oid, text, text), ts(oid, oid, text)}
	privFunc("has_sequence_privilege", oneObjectNoUser, seqRoleWithUser, func(pc PrivilegeChecker, user types.Datum, obj []types.Datum, privs string) (bool, error) {
		return pc.HasSequencePrivilege(user, obj[0], privs)
	})
	privFunc("pg_has_role", oneObjectNoUser, seqRoleWithUser, func(pc PrivilegeChecker, user types.Datum, obj []types.Datum, privs string) (bool, error) {
		return pc.HasRolePrivilege(user, obj[0], privs)
	})

	stable("pg_encoding_to_char", ts(i4), name, func(_ *Env, a []types.Datum) (types.Datum, error) {
		switch a[0].(int64) {
		case 0:
			return "SQL_ASCII", nil
		case 6:
			return "UTF8", nil
		}
		return "", nil
	})
	stable("pg_char_to_encoding", ts(name), i4, func(_ *Env, a []types.Datum) (types.Datum, error) {
		switch strings.ToUpper(a[0].(string)) {
		case "SQL_ASCII":
			return int64(0), nil
		case "UTF8", "UTF-8":
			return int64(6), nil
		}
		return int64(-1), nil
	})
	for _, fname := range []string{"pg_relation_size", "pg_total_relation_size", "pg_table_size", "pg_indexes_size"} {
		constant(fname, ts(oid), i8, int64(0))
	}
	stable("pg_size_pretty", ts(i8), text, func(_ *Env, a []types.Datum) (types.Datum, error) {
		return sizePretty(a[0].(int64)), nil
	})
	constant("pg_is_in_recovery", nil, b, false)

	// Array helpers over the text form of arrays.
	anyArr := func(fname string, args []types.T, ret types.T, f func(elems []*string, a []types.Datum) (types.Datum, error)) {
		r.fn(&Scalar{Name: fname, Args: args, Ret: ret, Strict: true, Volatility: Immutable,
			Eval: func(env *Env, cols []arrow.Array, n int) (arrow.Array, error) {
				return nil, sqlerr.New(sqlerr.InternalError, "%s needs its argument types", fname)
			},
			EvalTyped: func(env *Env, argTypes []types.T, cols []arrow.Array, n int) (arrow.Array, error) {
				decl := append([]types.T{argTypes[0]}, args[1:]...)
				return rowFunc(decl, ret, true, func(env *Env, a []types.Datum) (types.Datum, error) {
					s, ok := a[0].(string)
					if !ok {
						return nil, sqlerr.New(sqlerr.DatatypeMismatch, "%s: argument is not an array", fname)
					}
					elems, err := ParseArray(s)
					if err != nil {
						return nil, err
					}
					return f(elems, a)
				})(env, cols, n)
			}})
	}
	join := func(elems []*string, a []types.Datum) (types.Datum, error) {
		var sb strings.Builder
		first := true
		for _, e := range elems {
			v := ""
			switch {
			case e != nil:
				v = *e
			case len(a) > 2 && a[2] != nil:
				v = a[2].(string)
			default:
				continue
			}
			if !first {
				sb.WriteString(a[1].(string))
			}
			first = false
			sb.WriteString(v)
		}
		return sb.String(), nil
	}
	anyArr("array_to_string", ts(Any, text), text, join)
	anyArr("array_to_string", ts(Any, text, text), text, join)
	bound := func(upper bool) func(elems []*string, a []types.Datum) (types.Datum, error) {
		return func(elems []*string, a []types.Datum) (types.Datum, error) {
			if len(elems) == 0 || a[1].(int64) != 1 {
				return nil, nil
			}
			if upper {
				return int64(len(elems)), nil
			}
			return int64(1), nil
		}
	}
	anyArr("array_upper", ts(Any, i4), i4, bound(true))
	anyArr("array_lower", ts(Any, i4), i4, bound(false))
	anyArr("array_length", ts(Any, i4), i4, bound(true))
	anyArr("cardinality", ts(Any), i4, func(elems []*string, _ []types.Datum) (types.Datum, error) { return int64(len(elems)), nil })

	// Equality of catalog arrays (pg_policy.polroles = '{0}'), element by
	// element over the text form.
	for _, e := range []types.T{types.TText, types.TOid, types.TInt2, types.TInt4, types.TInt8, types.TName, types.TVarchar, types.TBool} {
		e := e
		arr := types.T{Kind: types.Array, Elem: &e}
		// arrayOp registers a binary operator over two arrays' elements.
		arrayOp := func(op string, ret types.T, f func(x, y []*string) types.Datum) {
			r.op(&Scalar{Name: op, Args: ts(arr, arr), Ret: ret, Strict: true, Eval: rowFunc(ts(arr, arr), ret, true, func(_ *Env, a []types.Datum) (types.Datum, error) {
				x, err := ParseArray(a[0].(string))
				if err != nil {
					return nil, err
				}
				y, err := ParseArray(a[1].(string))
				if err != nil {
					return nil, err
				}
				return f(x, y), nil
			})})
		}
		arrayOp("=", b, func(x, y []*string) types.Datum { return arraysEqual(x, y) })
		arrayOp("<>", b, func(x, y []*string) types.Datum { return !arraysEqual(x, y) })
	}

	// json_build_object(k, v, ...), which SQLAlchemy's column reflection
	// calls; the result is held as jsonb.
	r.fn(&Scalar{Name: "json_build_object", Args: ts(Any), Variadic: true, Ret: types.TJSONB, Volatility: Stable,
		Eval: func(*Env, []arrow.Array, int) (arrow.Array, error) {
			return nil, sqlerr.New(sqlerr.InternalError, "json_build_object needs its argument types")
		},
		EvalTyped: func(env *Env, argTypes []types.T, cols []arrow.Array, n int) (arrow.Array, error) {
			if len(argTypes)%2 != 0 {
				return nil, sqlerr.New(sqlerr.InvalidParameterValue, "argument list must have even number of elements").
					WithHint("The arguments of json_build_object() must consist of alternating keys and values.")
			}
			return rowFunc(argTypes, types.TJSONB, false, func(env *Env, a []types.Datum) (types.Datum, error) {
				return buildJSONObject(a, argTypes, envLocation(env))
			})(env, cols, n)
		}})

	// The reg* casts (text::regclass, regclass::text): the planner turns
	// them into these calls, which look names up in the session's catalog.
	// to_regclass and friends give NULL where the cast raises an error.
	for _, rt := range []struct {
		name string
		oid  uint32
	}{{"regclass", types.OIDRegclass}, {"regtype", types.OIDRegtype}, {"regproc", types.OIDRegproc}, {"regnamespace", types.OIDRegnamespace}} {
		rt := rt
		reg := types.T{Kind: types.Oid, OIDOverride: rt.oid}
		stable(RegInFunc(rt.oid), ts(text), reg, func(env *Env, a []types.Datum) (types.Datum, error) {
			o, err := RegIn(env, rt.oid, a[0].(string))
			return int64(o), err
		})
		stable("to_"+rt.name, ts(text), reg, func(env *Env, a []types.Datum) (types.Datum, error) {
			o, err := RegIn(env, rt.oid, a[0].(string))
			if err != nil {
				return nil, nil
			}
			return int64(o), nil
		})
		stable(RegOutFunc(rt.oid), ts(reg), text, func(env *Env, a []types.Datum) (types.Datum, error) {
			return RegOut(env, rt.oid, oidOf(a[0])), nil
		})
	}

	r.tfunc(&TableFunc{Name: "unnest", Args: ts(AnyArray), Cols: func(args []types.T) ([]string, []types.T) {
		return []string{"unnest"}, []types.T{elemType(args[0])}
	}, Eval: func(env *Env, args []types.Datum, argTypes []types.T) (RowIter, error) {
		et := elemType(argTypes[0])
		return arrayRows(args[0], argTypes[0], et, "argument is not an array", func(_, _ int, e *string) (types.Datum, error) {
			if e == nil {
				return nil, nil
			}
			return types.Cast(*e, types.TText, et, envLocation(env))
		})
	}})
	// unnest(a, b, ...) in FROM: the arrays side by side, one column each,
	// as many rows as the longest has (the shorter ones padded with NULL).
	r.tfunc(&TableFunc{Name: "unnest", Args: ts(AnyArray, AnyArray), Variadic: true, Cols: func(args []types.T) ([]string, []types.T) {
		names := make([]string, len(args))
		cts := make([]types.T, len(args))
		for i, a := range args {
			names[i], cts[i] = "unnest", elemType(a)
		}
		return names, cts
	}, Eval: unnestZip})
	// information_schema._pg_expandarray(a): one (x, n) row per element,
	// n counting from 1; pgjdbc's getPrimaryKeys selects its fields. The
	// record's type carries the element type in Elem (see ExpandArrayType).
	r.tfunc(&TableFunc{Name: "_pg_expandarray", Args: ts(Any), Cols: func(args []types.T) ([]string, []types.T) {
		return []string{"_pg_expandarray"}, []types.T{ExpandArrayType(elemType(args[0]))}
	}, Eval: func(env *Env, args []types.Datum, argTypes []types.T) (RowIter, error) {
		return arrayRows(args[0], argTypes[0], ExpandArrayType(elemType(argTypes[0])), "_pg_expandarray: argument is not an array", func(i, _ int, e *string) (types.Datum, error) {
			x := ""
			if e != nil {
				x = quoteRecordField(*e)
			}
			return "(" + x + "," + strconv.Itoa(i+1) + ")", nil
		})
	}})
	r.tfunc(&TableFunc{Name: "generate_subscripts", Args: ts(Any, i4), Cols: func([]types.T) ([]string, []types.T) {
		return []string{"generate_subscripts"}, []types.T{i4}
	}, Eval: func(env *Env, args []types.Datum, argTypes []types.T) (RowIter, error) {
		if args[1] == nil || args[1].(int64) != 1 {
			return emptyIter{}, nil
		}
		return arrayRows(args[0], argTypes[0], i4, "argument is not an array", func(i, lower int, _ *string) (types.Datum, error) {
			return int64(i + lower), nil
		})
	}})
}

func envLocation(env *Env) *time.Location {
	if env == nil {
		return nil
	}
	return env.Location
}

func arraysEqual(x, y []*string) bool {
	if len(x) != len(y) {
		return false
	}
	for i := range x {
		if (x[i] == nil) != (y[i] == nil) || x[i] != nil && *x[i] != *y[i] {
			return false
		}
	}
	return true
}

// elemType is the element type of an array type (text for an untyped
// array literal).
func elemType(t types.T) types.T {
	if t.Kind == types.Array && t.Elem != nil {
		return *t.Elem
	}
	return types.TText
}

// ParseArray parses the text form of a one-dimensional array ("{a,"b c",NULL}")
// into its elements; a nil element is NULL.
func ParseArray(s string) ([]*string, error) {
	s = strings.TrimSpace(s)
	if len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' {
		return nil, sqlerr.New(sqlerr.InvalidTextRepresentation, "malformed array literal: %q", s)
	}
	body := s[1 : len(s)-1]
	var out []*string
	if strings.TrimSpace(body) == "" {
		return out, nil
	}
	i := 0
	for i <= len(body) {
		for i < len(body) && body[i] == ' ' {
			i++
		}
		var sb strings.Builder
		quoted := false
		if i < len(body) && body[i] == '"' {
			quoted = true
			i++
			for i < len(body) && body[i] != '"' {
				if body[i] == '\\' && i+1 < len(body) {
					i++
				}
				sb.WriteByte(body[i])
				i++
			}
			if i >= len(body) {
				return nil, sqlerr.New(sqlerr.InvalidTextRepresentation, "malformed array literal: %q", s)
			}
			i++
		}
		for i < len(body) && body[i] != ',' {
			if body[i] == '\\' && i+1 < len(body) {
				i++
			}
			sb.WriteByte(body[i])
			i++
		}
		v := sb.String()
		if !quoted {
			v = strings.TrimSpace(v)
		}
		if !quoted && strings.EqualFold(v, "NULL") {
			out = append(out, nil)
		} else {
			out = append(out, &v)
		}
		i++ // the comma
	}
	return out, nil
}

// FormatArray writes elements in the text form of an array, quoting those
// that need it.
func FormatArray(elems []string) string {
	var sb strings.Builder
	sb.WriteByte('{')
	for i, e := range elems {
		if i > 0 {
			sb.WriteByte(',')
		}
		if e == "" || strings.EqualFold(e, "NULL") || strings.ContainsAny(e, "{},\"\\ \t\n") {
			sb.WriteByte('"')
			sb.WriteString(strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(e))
			sb.WriteByte('"')
		} else {
			sb.WriteString(e)
		}
	}
	sb.WriteByte('}')
	return sb.String()
}

// sizePretty is pg_size_pretty(bigint), with PostgreSQL's rounding: one
// extra bit is kept and rounded half away from zero at the end.
func sizePretty(n int64) string {
	const limit, limit2 = 10 * 1024, 10*1024*2 - 1
	abs := func(x int64) int64 { return max(x, -x) }
	half := func(x int64) int64 {
		if x < 0 {
			return (x - 1) / 2
		}
		return (x + 1) / 2
	}
	if abs(n) < limit {
		return strconv.FormatInt(n, 10) + " bytes"
	}
	n >>= 9
	for _, unit := range []string{"kB", "MB", "GB", "TB"} {
		if abs(n) < limit2 {
			return strconv.FormatInt(half(n), 10) + " " + unit
		}
		n >>= 10
	}
	return strconv.FormatInt(half(n), 10) + " PB"
}

// ArrayElems splits an array value of type t into its elements and gives
// the subscript of the first one. Arrays start at 1 and use the braced
// text form; the catalog vectors (int2vector, oidvector) start at 0 and
// are space-separated, as in PostgreSQL.
func ArrayElems(s string, t types.T) (elems []*string, lower int, err error) {
	if t.OIDOverride == types.OIDInt2Vector || t.OIDOverride == types.OIDOidVector {
		for _, f := range strings.Fields(s) {
			f := f
			elems = append(elems, &f)
		}
		return elems, 0, nil
	}
	elems, err = ParseArray(s)
	return elems, 1, err
}

// formatArrayElems renders parsed elements back into array text.
func formatArrayElems(elems []*string) string {
	texts := make([]string, len(elems))
	nulls := make([]bool, len(elems))
	for i, e := range elems {
		if e == nil {
			nulls[i] = true
		} else {
			texts[i] = *e
		}
	}
	return FormatArrayText(texts, nulls)
}

// RegInFunc and RegOutFunc name the functions behind the casts from text
// to a reg* type (regclass, regtype, regproc, regnamespace) and back.
func RegInFunc(regType uint32) string  { return regTypeName(regType) + "in" }
func RegOutFunc(regType uint32) string { return regTypeName(regType) + "out" }

func regTypeName(regType uint32) string {
	switch regType {
	case types.OIDRegclass:
		return "regclass"
	case types.OIDRegtype:
		return "regtype"
	case types.OIDRegproc:
		return "regproc"
	}
	return "regnamespace"
}

// namespaceInfo is the part of the catalog that regnamespace reads.
type namespaceInfo interface {
	LookupNamespace(name string) (uint32, bool)
	NamespaceName(oid uint32) (string, bool)
}

func namespaces(env *Env) (namespaceInfo, bool) {
	if env == nil || env.Catalog == nil {
		return nil, false
	}
	ni, ok := env.Catalog.(namespaceInfo)
	return ni, ok
}

// ExpandArrayType is the type of the records _pg_expandarray returns: a
// record whose field x has type elem and field n type integer. Record
// values are in their text form ("(x,n)"); RecordField reads the fields.
func ExpandArrayType(elem types.T) types.T {
	return types.T{Kind: types.Record, Elem: &elem}
}

// RecordField describes field name of a record of type t: its position
// and type. Only _pg_expandarray's records have known fields.
func RecordField(t types.T, name string) (int, types.T, bool) {
	if t.Kind != types.Record || t.Elem == nil {
		return 0, types.T{}, false
	}
	switch name {
	case "x":
		return 0, *t.Elem, true
	case "n":
		return 1, types.TInt4, true
	}
	return 0, types.T{}, false
}

// SplitRecord splits the text form of a record ("(a,"b c",)") into its
// fields; a nil field is NULL (nothing between the commas).
func SplitRecord(s string) ([]*string, error) {
	if len(s) < 2 || s[0] != '(' || s[len(s)-1] != ')' {
		return nil, sqlerr.New(sqlerr.InvalidTextRepresentation, "malformed record literal: %q", s)
	}
	body := s[1 : len(s)-1]
	var out []*string
	var sb strings.Builder
	quoted, any := false, false
	flush := func() {
		if any {
			v := sb.String()
			out = append(out, &v)
		} else {
			out = append(out, nil)
		}
		sb.Reset()
		any = false
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case quoted && c == '"' && i+1 < len(body) && body[i+1] == '"':
			sb.WriteByte('"')
			i++
		case c == '"':
			quoted, any = !quoted, true
		case quoted && c == '\\' && i+1 < len(body):
			i++
			sb.WriteByte(body[i])
		case !quoted && c == ',':
			flush()
		default:
			sb.WriteByte(c)
			any = true
		}
	}
	flush()
	return out, nil
}

// quoteRecordField quotes a record field that needs it.
func quoteRecordField(s string) string {
	if s != "" && !strings.ContainsAny(s, "(),\" \t\n\\") {
		return s
	}
	return `"` + strings.NewReplacer(`"`, `""`, `\`, `\\`).Replace(s) + `"`
}

// buildJSONObject renders alternating keys and values as a JSON object:
// numbers and booleans as themselves, jsonb as its value, NULL as null and
// everything else as a string of its text form.
func buildJSONObject(a []types.Datum, ts []types.T, loc *time.Location) (types.Datum, error) {
	var sb strings.Builder
	sb.WriteByte('{')
	for i := 0; i+1 < len(a); i += 2 {
		if a[i] == nil {
			return nil, sqlerr.New(sqlerr.NullValueNotAllowed, "null value not allowed for object key")
		}
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(jsonString(types.FormatText(a[i], textish(ts[i]), loc)))
		sb.WriteByte(':')
		v, t := a[i+1], ts[i+1]
		switch {
		case v == nil:
			sb.WriteString("null")
		case t.Kind == types.Bool, t.Kind == types.Int2, t.Kind == types.Int4, t.Kind == types.Int8,
			t.Kind == types.Float4, t.Kind == types.Float8, t.Kind == types.Numeric, t.Kind == types.JSONB:
			sb.WriteString(types.FormatText(v, t, loc))
		default:
			sb.WriteString(jsonString(types.FormatText(v, textish(t), loc)))
		}
	}
	sb.WriteByte('}')
	return types.ParseJSONB(sb.String())
}

func textish(t types.T) types.T {
	if t.Kind == types.Unknown {
		return types.TText
	}
	return t
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
