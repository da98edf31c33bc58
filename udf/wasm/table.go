package wasm

// Table functions in WebAssembly (see the package comment for the ABI):
// the host asks for the result of one row of arguments in pages of up to
// cap rows, each page one call of NAME(start, cap, cols), so a page is
// one copy out of the module's memory per column and the module needs no
// iterator state of its own.

import (
	"context"
	"encoding/binary"

	"github.com/apache/arrow-go/v18/arrow"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/udf"
)

// tablePage is the most rows one call of a table function returns.
const tablePage = 1024

// CompileTable implements udf.UserRuntime.
func (r *Runtime) CompileTable(d *udf.UserDef) (*udf.TableFunc, error) {
	if !d.Set {
		return nil, sqlerr.New(sqlerr.InvalidFunctionDefinition, "function %s is not a table function", d.Signature)
	}
	for _, ts := range [][]types.T{d.ArgTypes, d.ColTypes} {
		for _, t := range ts {
			if width(t) == 0 {
				return nil, sqlerr.New(sqlerr.FeatureNotSupported, "type %s is not supported by WebAssembly functions", t)
			}
		}
	}
	f, err := r.compile(d, []string{d.Name}, 1)
	if err != nil {
		return nil, err
	}
	return udf.UserTableFunc(d, f.evalTable), nil
}

// evalTable returns the rows of f for one row of arguments.
func (f *function) evalTable(env *udf.Env, args []types.Datum, _ []types.T) (udf.RowIter, error) {
	ctx := context.Background()
	if env != nil && env.Context != nil {
		ctx = env.Context
	}
	it := &tableIter{f: f, ctx: ctx, lim: udf.UserLimits(env)}
	if f.def.Strict {
		for _, a := range args {
			if a == nil {
				it.done = true // no rows for a NULL argument
				return it, nil
			}
		}
	}
	it.args = make([]arrow.Array, len(args))
	for j, a := range args {
		it.args[j] = types.ArrayFromDatums(f.def.ArgTypes[j], []types.Datum{a})
	}
	return it, nil
}

// tableIter pages through one call's result.
type tableIter struct {
	f     *function
	ctx   context.Context
	lim   udf.Limits
	args  []arrow.Array
	start int
	done  bool
}

func (it *tableIter) Next(max int) ([]arrow.Array, int, error) {
	if it.done {
		return nil, 0, nil
	}
	limit := min(max, tablePage)
	if limit <= 0 {
		limit = tablePage
	}
	cols, n, err := it.f.page(it.ctx, it.lim, it.args, it.start, limit)
	if err != nil {
		it.done = true
		return nil, 0, err
	}
	it.start += n
	if n < limit {
		it.done = true
	}
	if n == 0 {
		return nil, 0, nil
	}
	return cols, n, nil
}

func (it *tableIter) Close() {
	for _, a := range it.args {
		a.Release()
	}
	it.args, it.done = nil, true
}

// page calls the module for rows [start, start+limit) of the result of
// the one-row arguments args.
func (f *function) page(ctx context.Context, lim udf.Limits, args []arrow.Array, start, limit int) ([]arrow.Array, int, error) {
	inst, err := f.take()
	if err != nil {
		return nil, 0, err
	}
	outs := f.def.ColTypes
	nCols := len(args) + len(outs)
	size := 8 * nCols
	for _, t := range f.def.ArgTypes {
		size += align8(width(t)) + 8
	}
	for _, t := range outs {
		size += align8(width(t)*limit) + align8(limit)
	}
	base, buf, err := f.region(ctx, inst, size, lim)
	if err != nil {
		return nil, 0, err
	}
	at := 8 * nCols
	addrs := make([][2]int, nCols)
	for j := range addrs {
		rows := 1
		w := 0
		if j < len(args) {
			w = width(f.def.ArgTypes[j])
		} else {
			rows, w = limit, width(outs[j-len(args)])
		}
		addrs[j][0] = at
		at += align8(w * rows)
		addrs[j][1] = at
		at += align8(rows)
		binary.LittleEndian.PutUint32(buf[8*j:], base+uint32(addrs[j][0]))
		binary.LittleEndian.PutUint32(buf[8*j+4:], base+uint32(addrs[j][1]))
	}
	for j, a := range args {
		writeColumn(buf[addrs[j][0]:], buf[addrs[j][1]:addrs[j][1]+1], a, f.def.ArgTypes[j], 0, 1)
	}
	for j := len(args); j < nCols; j++ {
		v := buf[addrs[j][1] : addrs[j][1]+limit]
		for i := range v {
			v[i] = 1
		}
	}
	cctx, cancel := context.WithTimeout(ctx, lim.Timeout)
	res, err := inst.fn.Call(cctx, uint64(start), uint64(limit), uint64(base))
	cancel()
	if err != nil {
		return nil, 0, f.callError(ctx, inst, err, lim)
	}
	n := int(int32(res[0]))
	if n < 0 {
		err = f.failure(ctx, inst, int32(n))
		f.pool.Put(inst)
		return nil, 0, err
	}
	if n > limit {
		f.pool.Put(inst)
		return nil, 0, sqlerr.New(sqlerr.ExternalRoutineException, "WebAssembly table function %s returned %d rows where %d fit", f.def.Signature, n, limit)
	}
	// The call may have grown the memory: read the buffer again.
	buf, ok := inst.mod.Memory().Read(base, uint32(size))
	if !ok {
		inst.mod.Close(ctx)
		return nil, 0, sqlerr.New(sqlerr.ExternalRoutineException, "WebAssembly function %s lost its buffer", f.def.Signature)
	}
	cols := make([]arrow.Array, len(outs))
	for k, t := range outs {
		a := addrs[len(args)+k]
		vals := append([]byte(nil), buf[a[0]:a[0]+width(t)*n]...)
		cols[k] = buildColumn(t, vals, buf[a[1]:a[1]+n], n)
	}
	f.pool.Put(inst)
	return cols, n, nil
}
