package udf

import (
	"streamsql/sql/types"
)

// User-defined functions (CREATE FUNCTION) as the catalog functions see
// them: psql's \df and \sf and the drivers' routine listings call
// pg_function_is_visible, pg_get_function_arguments,
// pg_get_function_result, pg_get_functiondef and text::regproc with the
// OIDs of user functions too. The session's catalog answers through
// UserFunctions; built-ins are answered from the registry as before.

// UserFunction describes a user-defined function.
type UserFunction struct {
	// Visible: found first by its unqualified name and argument types
	// along the search path (pg_function_is_visible).
	Visible bool
	// Arguments is pg_get_function_arguments ("s character varying").
	Arguments string
	// Result is pg_get_function_result ("integer"); "" (NULL) for a
	// procedure.
	Result string
	// Definition is pg_get_functiondef: a complete CREATE OR REPLACE
	// FUNCTION statement.
	Definition string
}

// UserFunctions is implemented by a CatalogInfo that knows user-defined
// functions.
type UserFunctions interface {
	// UserFunction describes the user function with OID oid.
	UserFunction(oid uint32) (UserFunction, bool)
	// LookupUserFunctions returns the OIDs of the user functions a
	// possibly qualified name finds (the input of regproc).
	LookupUserFunctions(name string) []uint32
}

func userFunctions(env *Env) UserFunctions {
	if env == nil || env.Catalog == nil {
		return nil
	}
	uf, _ := env.Catalog.(UserFunctions)
	return uf
}

func userFunction(env *Env, oid uint32) (UserFunction, bool) {
	if uf := userFunctions(env); uf != nil {
		return uf.UserFunction(oid)
	}
	return UserFunction{}, false
}

func init() { builtins.addUserFuncCatalogFuncs() }

func (r *registry) addUserFuncCatalogFuncs() {
	args := []types.T{types.TOid}
	r.fn(&Scalar{Name: "pg_get_functiondef", Args: args, Ret: types.TText, Strict: true, Volatility: Stable,
		Eval: rowFunc(args, types.TText, true, func(env *Env, a []types.Datum) (types.Datum, error) {
			if f, ok := userFunction(env, oidOf(a[0])); ok {
				return f.Definition, nil
			}
			return nil, nil
		})})
}
