package js

import (
	"github.com/dop251/goja"

	"streamsql/sql/types"
	"streamsql/udf"
)

// Procedures in JavaScript (CREATE PROCEDURE ... LANGUAGE javascript) are
// written as functions are: the body of a function of the input
// parameters (IN and INOUT, by name), or a script that exports it under
// the procedure's name. What it returns gives the output parameters
// (INOUT and OUT): the value itself for one, an array in their order or
// an object keyed by their names for several; a procedure without output
// parameters returns nothing. A procedure runs in the sandbox and under
// the limits of functions, and reaches no tables: it computes its output
// from its input.

// CompileProcedure implements udf.ProcedureRuntime.
func (r *Runtime) CompileProcedure(d *udf.UserDef) (*udf.Procedure, error) {
	f, err := compile(d)
	if err != nil {
		return nil, err
	}
	return &udf.Procedure{Name: d.Name, Call: f.callProcedure}, nil
}

// callProcedure runs one CALL with the input parameters' values args and
// returns the output parameters' values.
func (f *function) callProcedure(env *udf.Env, args []types.Datum) ([]types.Datum, error) {
	inst, ctx, lim, err := f.getFor(env)
	if err != nil {
		return nil, err
	}
	d := f.def
	vals := make([]goja.Value, len(args))
	for j, a := range args {
		if vals[j], err = inst.conv.toJS(a, d.ArgTypes[j]); err != nil {
			f.pool.Put(inst)
			return nil, err
		}
	}
	w := startWatch(ctx, inst, lim)
	inst.seq.Add(1)
	res, err := inst.fn(goja.Undefined(), vals...)
	var out []types.Datum
	if err == nil && len(d.ColTypes) > 0 {
		out, err = inst.rowValues(res, d.Cols, d.ColTypes)
	}
	reason := w.stop()
	if reason == nil {
		f.pool.Put(inst) // an interrupted runtime is dropped
	}
	if err != nil {
		if ctx != nil && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, f.callError(err, reason, lim)
	}
	return out, nil
}
