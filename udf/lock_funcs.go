package udf

import (
	"context"
	"strconv"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// Advisory lock functions (the pg_advisory_lock family), txid_current and
// pg_blocking_pids, answered by the server through Env.Sessions: the locks and the
// transaction belong to the calling session.

func (r *registry) addLockFuncs() {
	i4, i8, b := types.TInt4, types.TInt8, types.TBool
	sessions := func(env *Env) (Sessions, context.Context, error) {
		if env == nil || env.Sessions == nil {
			return nil, nil, sqlerr.New(sqlerr.FeatureNotSupported, "advisory locks are not available in this context")
		}
		ctx := env.Context
		if ctx == nil {
			ctx = context.Background()
		}
		return env.Sessions, ctx, nil
	}
	keys := func(a []types.Datum) []int64 {
		out := make([]int64, len(a))
		for i, d := range a {
			out[i] = d.(int64)
		}
		return out
	}
	forms := [][]types.T{ts(i8), ts(i4, i4)}
	for _, args := range forms {
		for _, xact := range []bool{false, true} {
			for _, shared := range []bool{false, true} {
				name := "advisory_lock"
				if xact {
					name = "advisory_xact_lock"
				}
				if shared {
					name += "_shared"
				}
				xact, shared := xact, shared
				r.fn(&Scalar{Name: "pg_" + name, Args: args, Ret: types.TVoid, Strict: true, Volatility: Volatile,
					Eval: rowFunc(args, types.TVoid, true, func(env *Env, a []types.Datum) (types.Datum, error) {
						ss, ctx, err := sessions(env)
						if err != nil {
							return nil, err
						}
						if _, err := ss.AdvisoryLock(ctx, keys(a), shared, xact, false); err != nil {
							return nil, err
						}
						return "", nil
					})})
				r.fn(&Scalar{Name: "pg_try_" + name, Args: args, Ret: b, Strict: true, Volatility: Volatile,
					Eval: rowFunc(args, b, true, func(env *Env, a []types.Datum) (types.Datum, error) {
						ss, ctx, err := sessions(env)
						if err != nil {
							return nil, err
						}
						return ss.AdvisoryLock(ctx, keys(a), shared, xact, true)
					})})
			}
		}
		for _, shared := range []bool{false, true} {
			name := "pg_advisory_unlock"
			if shared {
				name += "_shared"
			}
			shared := shared
			r.fn(&Scalar{Name: name, Args: args, Ret: b, Strict: true, Volatility: Volatile,
				Eval: rowFunc(args, b, true, func(env *Env, a []types.Datum) (types.Datum, error) {
					ss, _, err := sessions(env)
					if err != nil {
						return nil, err
					}
					return ss.AdvisoryUnlock(keys(a), shared), nil
				})})
		}
	}
	r.fn(&Scalar{Name: "pg_advisory_unlock_all", Ret: types.TVoid, Volatility: Volatile,
		Eval: rowFunc(nil, types.TVoid, false, func(env *Env, _ []types.Datum) (types.Datum, error) {
			ss, _, err := sessions(env)
			if err != nil {
				return nil, err
			}
			ss.AdvisoryUnlockAll()
			return "", nil
		})})
	// Volatile rather than PostgreSQL's stable: a cached plan must not keep
	// one transaction's id.
	r.fn(&Scalar{Name: "txid_current", Ret: i8, Volatility: Volatile,
		Eval: rowFunc(nil, i8, false, func(env *Env, _ []types.Datum) (types.Datum, error) {
			if env == nil || env.Sessions == nil {
				return nil, sqlerr.New(sqlerr.FeatureNotSupported, "txid_current() is not available in this context")
			}
			return env.Sessions.TxidCurrent()
		})})
	// pg_blocking_pids: the sessions whose locks (held, or requested
	// before) keep session pid waiting, whatever the kind of lock.
	i4s := types.T{Kind: types.Array, Elem: &i4}
	r.fn(&Scalar{Name: "pg_blocking_pids", Args: ts(i4), Ret: i4s, Strict: true, Volatility: Volatile,
		Eval: rowFunc(ts(i4), i4s, true, func(env *Env, a []types.Datum) (types.Datum, error) {
			if env == nil || env.Sessions == nil {
				return FormatArray(nil), nil
			}
			pids := env.Sessions.BlockingPIDs(int32(a[0].(int64)))
			out := make([]string, len(pids))
			for i, p := range pids {
				out[i] = strconv.Itoa(int(p))
			}
			return FormatArray(out), nil
		})})
}
