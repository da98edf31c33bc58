package udf

import (
	"crypto/rand"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// Session and system information functions, pg_typeof, uuid and jsonb
// helpers.

// Version is what version() reports.
const Version = "PostgreSQL 15.0 (StreamSQL) on x86_64-pc-linux-gnu, compiled by Go, 64-bit"

// constText returns a function of no arguments whose value comes from
// the environment.
func envText(f func(env *Env) (string, bool)) ScalarFunc {
	return func(env *Env, _ []arrow.Array, n int) (arrow.Array, error) {
		b := array.NewStringBuilder(types.Mem)
		defer b.Release()
		v, ok := f(env)
		for i := 0; i < n; i++ {
			if ok {
				b.Append(v)
			} else {
				b.AppendNull()
			}
		}
		return b.NewArray(), nil
	}
}

func (r *registry) addMiscFuncs() {
	t, name := types.TText, types.TName
	r.fn(&Scalar{Name: "version", Ret: t, Volatility: Stable, Eval: envText(func(*Env) (string, bool) { return Version, true })})
	cat := func(f func(c CatalogReader) string, def string) ScalarFunc {
		return envText(func(env *Env) (string, bool) {
			if env != nil && env.Catalog != nil {
				return f(env.Catalog), true
			}
			return def, true
		})
	}
	r.fn(&Scalar{Name: "current_database", Ret: name, Volatility: Stable, Eval: cat(CatalogReader.CurrentDatabase, "streamsql")})
	r.fn(&Scalar{Name: "current_schema", Ret: name, Volatility: Stable, Eval: cat(CatalogReader.CurrentSchema, "public")})
	for _, n := range []string{"current_user", "user", "current_role"} {
		r.fn(&Scalar{Name: n, Ret: name, Volatility: Stable, Eval: cat(CatalogReader.CurrentUser, "streamsql")})
	}
	r.fn(&Scalar{Name: "session_user", Ret: name, Volatility: Stable, Eval: cat(CatalogReader.SessionUser, "streamsql")})
	setting := func(env *Env, a []types.Datum, missingOK bool) (types.Datum, error) {
		nm := strings.ToLower(a[0].(string))
		if env != nil && env.Settings != nil {
			if v, ok := env.Settings(nm); ok {
				return v, nil
			}
		}
		if missingOK {
			return nil, nil
		}
		return nil, sqlerr.New(sqlerr.UndefinedObject, "unrecognized configuration parameter \"%s\"", a[0].(string))
	}
	r.fn(&Scalar{Name: "current_setting", Args: ts(t), Ret: t, Strict: true, Volatility: Stable,
		Eval: rowFunc(ts(t), t, true, func(env *Env, a []types.Datum) (types.Datum, error) { return setting(env, a, false) })})
	r.fn(&Scalar{Name: "current_setting", Args: ts(t, types.TBool), Ret: t, Strict: true, Volatility: Stable,
		Eval: rowFunc(ts(t, types.TBool), t, true, func(env *Env, a []types.Datum) (types.Datum, error) {
			return setting(env, a, a[1].(bool))
		})})
	regtype := types.T{Kind: types.Oid, OIDOverride: types.OIDRegtype}
	r.fn(&Scalar{Name: "pg_typeof", Args: ts(Any), Ret: regtype, Volatility: Stable,
		Eval: func(_ *Env, _ []arrow.Array, n int) (arrow.Array, error) {
			return types.ConstArray(regtype, int64(types.OIDText), n), nil
		},
		EvalTyped: func(_ *Env, argTypes []types.T, _ []arrow.Array, n int) (arrow.Array, error) {
			return types.ConstArray(regtype, int64(argTypes[0].OID()), n), nil
		}})
	r.fn(&Scalar{Name: "gen_random_uuid", Ret: t, Volatility: Volatile, Eval: func(_ *Env, _ []arrow.Array, n int) (arrow.Array, error) {
		b := array.NewStringBuilder(types.Mem)
		defer b.Release()
		var u [16]byte
		for i := 0; i < n; i++ {
			_, _ = rand.Read(u[:])
			u[6] = u[6]&0x0f | 0x40
			u[8] = u[8]&0x3f | 0x80
			b.Append(fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16]))
		}
		return b.NewArray(), nil
	}})
	r.strictRow("jsonb_typeof", ts(types.TJSONB), t, func(_ *Env, a []types.Datum) (types.Datum, error) {
		return jsonTypeof(a[0].(string)), nil
	})
	r.addJSONOps()
}

func jsonTypeof(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return "null"
	}
	switch s[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}
