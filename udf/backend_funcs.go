package udf

import (
	"time"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// Server signalling functions: pg_backend_pid, pg_cancel_backend and
// pg_terminate_backend, answered by the server through Env.Sessions.

func (r *registry) addBackendFuncs() {
	i4, i8, b := types.TInt4, types.TInt8, types.TBool
	sessions := func(env *Env) (Sessions, error) {
		if env == nil || env.Sessions == nil {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "server sessions are not available in this context")
		}
		return env.Sessions, nil
	}
	r.fn(&Scalar{Name: "pg_backend_pid", Ret: i4, Volatility: Stable,
		Eval: rowFunc(nil, i4, false, func(env *Env, _ []types.Datum) (types.Datum, error) {
			if env == nil || env.Sessions == nil {
				return int64(0), nil
			}
			return int64(env.Sessions.BackendPID()), nil
		})})
	r.fn(&Scalar{Name: "pg_cancel_backend", Args: ts(i4), Ret: b, Strict: true, Volatility: Volatile,
		Eval: rowFunc(ts(i4), b, true, func(env *Env, a []types.Datum) (types.Datum, error) {
			ss, err := sessions(env)
			if err != nil {
				return nil, err
			}
			return ss.CancelBackend(int32(a[0].(int64)))
		})})
	terminate := func(env *Env, a []types.Datum) (types.Datum, error) {
		ss, err := sessions(env)
		if err != nil {
			return nil, err
		}
		var timeout int64
		if len(a) > 1 {
			timeout = a[1].(int64)
		}
		if timeout < 0 {
			return nil, sqlerr.New(sqlerr.InvalidParameterValue, "\"timeout\" must not be negative")
		}
		return ss.TerminateBackend(int32(a[0].(int64)), time.Duration(timeout)*time.Millisecond)
	}
	// PostgreSQL has one function with timeout DEFAULT 0.
	r.fn(&Scalar{Name: "pg_terminate_backend", Args: ts(i4), Ret: b, Strict: true, Volatility: Volatile,
		Eval: rowFunc(ts(i4), b, true, terminate)})
	r.fn(&Scalar{Name: "pg_terminate_backend", Args: ts(i4, i8), Ret: b, Strict: true, Volatility: Volatile,
		Eval: rowFunc(ts(i4, i8), b, true, terminate)})
}
