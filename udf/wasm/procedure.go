package wasm

import (
	"github.com/apache/arrow-go/v18/arrow"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/udf"
)

// A procedure in WebAssembly (CREATE PROCEDURE NAME(in args..., {INOUT |
// OUT} result type) LANGUAGE wasm AS 'base64') has exactly one output
// parameter: the module exports NAME with the scalar ABI, and a CALL is
// one call over one row of the input parameters, whose result is the
// output parameter's value.

// CompileProcedure implements udf.ProcedureRuntime.
func (r *Runtime) CompileProcedure(d *udf.UserDef) (*udf.Procedure, error) {
	if len(d.ColTypes) != 1 {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "procedures in LANGUAGE wasm must have exactly one INOUT or OUT parameter").
			WithHint("The module's NAME(n, cols) returns one value per row, as for a scalar function.")
	}
	sd := *d
	sd.Procedure, sd.Ret, sd.Cols, sd.ColTypes = false, d.ColTypes[0], nil, nil
	sc, err := r.CompileScalar(&sd)
	if err != nil {
		return nil, err
	}
	return &udf.Procedure{Name: d.Name, Call: func(env *udf.Env, args []types.Datum) ([]types.Datum, error) {
		cols := make([]arrow.Array, len(args))
		for j, a := range args {
			cols[j] = types.ArrayFromDatums(d.ArgTypes[j], []types.Datum{a})
		}
		defer func() {
			for _, c := range cols {
				c.Release()
			}
		}()
		res, err := sc.Call(env, d.ArgTypes, cols, 1)
		if err != nil {
			return nil, err
		}
		defer res.Release()
		return []types.Datum{types.GetDatum(res, 0, sd.Ret)}, nil
	}}, nil
}
