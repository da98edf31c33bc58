// Package wasm runs user functions compiled to WebAssembly (CREATE
// FUNCTION ... LANGUAGE wasm USING BASE64 '...') on wazero, a WebAssembly
// runtime in pure Go.
//
// # ABI
//
// A module is a WASI reactor (Go: GOOS=wasip1 GOARCH=wasm go build
// -buildmode=c-shared with //go:wasmexport; Rust: a cdylib for
// wasm32-wasip1). It exports:
//
//	memory                                  its linear memory
//	streamsql_buffer(size i32) -> i32       the address of at least size bytes
//	                                        the host may write between calls
//	NAME(n i32, cols i32) -> i32            the scalar function, named as in SQL,
//	                                        over n rows; 0 when it succeeded
//	streamsql_error() -> i32                (optional) the address of a
//	                                        NUL-terminated message for a failure
//
// cols is the address of 2*(args+1) little-endian i32 addresses: for each
// argument its values and its validity, then the result's values and its
// validity. Values are packed arrays of n elements (0 for a NULL): smallint and integer
// as i32, bigint as i64, real and double precision as f64, boolean as one
// byte (0 or 1). A validity array has one byte per row, 1 for a value and
// 0 for NULL. Before the call the host sets the result's validity to 1
// for every row it wants computed (for a STRICT function, the rows
// without NULL arguments); the function writes the values and may set a
// row's validity to 0 to return NULL.
//
// A table function (RETURNS TABLE (...) or SETOF type) exports
//
//	NAME(start i32, cap i32, cols i32) -> i32
//
// over one row of arguments: cols holds 2*(args+columns) addresses, each
// argument's value and validity (one row), then each output column's
// values and validity with room for cap rows (validity preset to 1). The
// function writes rows start, start+1, ... of its result, at most cap,
// and returns how many it wrote; fewer than cap ends the result, and a
// negative number is a failure (streamsql_error). The host calls again
// with start advanced by cap while the result fills the room, so the
// module keeps no state between calls (table.go).
//
// The host calls the function once per Arrow batch. In a materialized
// view, a batch that fails is run again row by row so that only the
// failing rows become NULL and go to rejects.
//
// # Sandbox
//
// WASI is there only for the language runtimes that need it: no
// directories are mounted, no environment or arguments are passed, output
// is discarded, and there are no sockets. The module's memory is capped
// (WithMemoryLimitPages) and a call is stopped when its time is up or the
// statement is cancelled (WithCloseOnContextDone); a stopped instance is
// dropped.
package wasm

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/udf"
)

const pageSize = 64 << 10

// Runtime compiles WebAssembly functions; it implements udf.UserRuntime.
// One wazero runtime holds every module, with the memory limit of each
// instance.
type Runtime struct {
	rt       wazero.Runtime
	memLimit int64
}

// New returns the runtime; memLimit caps each instance's linear memory
// (udf_memory_limit's server default).
func New(memLimit int64) (*Runtime, error) {
	if memLimit <= 0 {
		memLimit = udf.DefaultUDFMemory
	}
	pages := uint32(min(memLimit/pageSize, 65536))
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().
		WithCloseOnContextDone(true).
		WithMemoryLimitPages(pages))
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		return nil, fmt.Errorf("wasm: WASI: %w", err)
	}
	return &Runtime{rt: rt, memLimit: int64(pages) * pageSize}, nil
}

// Close frees the runtime and every module.
func (r *Runtime) Close() error { return r.rt.Close(context.Background()) }

// width is the bytes of one value of t in the ABI, 0 if t is not supported.
func width(t types.T) int {
	switch t.Kind {
	case types.Bool:
		return 1
	case types.Int2, types.Int4:
		return 4
	case types.Int8, types.Float4, types.Float8:
		return 8
	}
	return 0
}

type function struct {
	r        *Runtime
	def      *udf.UserDef
	compiled wazero.CompiledModule
	pool     sync.Pool
	// exports are the entry points an instance looks up, in the order of
	// instance.fns; the required ones are the first nRequired.
	exports   []string
	nRequired int
}

type instance struct {
	mod    api.Module
	fn     api.Function // fns[0]
	fns    []api.Function
	buffer api.Function
	errMsg api.Function
}

// CompileScalar implements udf.UserRuntime.
func (r *Runtime) CompileScalar(d *udf.UserDef) (*udf.Scalar, error) {
	if err := checkTypes(d); err != nil {
		return nil, err
	}
	f, err := r.compile(d, []string{d.Name}, 1)
	if err != nil {
		return nil, err
	}
	return &udf.Scalar{Name: d.Name, Args: d.ArgTypes, Ret: d.Ret, Strict: d.Strict, Volatility: d.Volatility,
		OID: d.OID, Eval: f.eval}, nil
}

// compile compiles d's module and checks that an instance starts and
// exports the required entry points.
func (r *Runtime) compile(d *udf.UserDef, exports []string, nRequired int) (*function, error) {
	ctx := context.Background()
	compiled, err := r.rt.CompileModule(ctx, d.Binary)
	if err != nil {
		return nil, sqlerr.New(sqlerr.InvalidFunctionDefinition, "invalid WebAssembly module for function %s: %v", d.Signature, err)
	}
	f := &function{r: r, def: d, compiled: compiled, exports: exports, nRequired: nRequired}
	inst, err := f.newInstance(ctx)
	if err != nil {
		compiled.Close(ctx)
		return nil, err
	}
	f.pool.Put(inst)
	// The compiled code goes when the function is no longer referenced
	// (dropped or replaced, and no plan holds it).
	runtime.AddCleanup(f, func(c wazero.CompiledModule) { c.Close(context.Background()) }, compiled)
	return f, nil
}

func (f *function) newInstance(ctx context.Context) (*instance, error) {
	cfg := wazero.NewModuleConfig().WithName("").WithStartFunctions("_initialize")
	mod, err := f.r.rt.InstantiateModule(ctx, f.compiled, cfg)
	if err != nil {
		return nil, sqlerr.New(sqlerr.InvalidFunctionDefinition, "WebAssembly module of function %s does not start: %v", f.def.Signature, err)
	}
	inst := &instance{mod: mod, buffer: mod.ExportedFunction("streamsql_buffer"),
		errMsg: mod.ExportedFunction("streamsql_error")}
	for i, name := range f.exports {
		fn := mod.ExportedFunction(name)
		if fn == nil && i < f.nRequired && err == nil {
			err = sqlerr.New(sqlerr.InvalidFunctionDefinition, "WebAssembly module does not export function %s", name)
		}
		inst.fns = append(inst.fns, fn)
	}
	inst.fn = inst.fns[0]
	switch {
	case err != nil:
	case inst.buffer == nil:
		err = sqlerr.New(sqlerr.InvalidFunctionDefinition, "WebAssembly module of function %s does not export streamsql_buffer", f.def.Signature)
	case mod.Memory() == nil:
		err = sqlerr.New(sqlerr.InvalidFunctionDefinition, "WebAssembly module of function %s does not export its memory", f.def.Signature)
	}
	if err != nil {
		mod.Close(ctx)
		return nil, err
	}
	return inst, nil
}

// eval runs the function over a batch; in a view, a failing batch runs
// again row by row.
func (f *function) eval(env *udf.Env, args []arrow.Array, n int) (arrow.Array, error) {
	ctx := context.Background()
	if env != nil && env.Context != nil {
		ctx = env.Context
	}
	lim := udf.UserLimits(env)
	vals, valid, err := f.call(ctx, lim, args, 0, n)
	if err != nil && env != nil && env.OnRowError != nil && ctx.Err() == nil {
		return f.rowByRow(ctx, env, lim, args, n)
	}
	if err != nil {
		return nil, err
	}
	return f.result(vals, valid, n), nil
}

func (f *function) rowByRow(ctx context.Context, env *udf.Env, lim udf.Limits, args []arrow.Array, n int) (arrow.Array, error) {
	w := width(f.def.Ret)
	vals, valid := make([]byte, n*w), make([]byte, n)
rows:
	for i := 0; i < n; i++ {
		if f.def.Strict {
			for _, a := range args {
				if a.IsNull(i) {
					continue rows // NULL without a call
				}
			}
		}
		v, ok, err := f.call(ctx, lim, args, i, 1)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			row := make([]types.Datum, len(args))
			for j, a := range args {
				row[j] = types.GetDatum(a, i, f.def.ArgTypes[j])
			}
			udf.RowError(env, f.def.Signature, err, row, f.def.ArgTypes)
			continue
		}
		copy(vals[i*w:], v)
		valid[i] = ok[0]
	}
	return f.result(vals, valid, n), nil
}

// call runs rows [off, off+n) through the module and returns the result
// values and validity, copied out of its memory.
func (f *function) call(ctx context.Context, lim udf.Limits, args []arrow.Array, off, n int) ([]byte, []byte, error) {
	var inst *instance
	if v := f.pool.Get(); v != nil {
		inst = v.(*instance)
	} else {
		var err error
		if inst, err = f.newInstance(context.Background()); err != nil {
			return nil, nil, err
		}
	}
	// Layout: the address table, then per column its values and validity.
	nCols := len(args) + 1
	size := 8 * nCols
	widths := make([]int, nCols)
	for j := range args {
		widths[j] = width(f.def.ArgTypes[j])
	}
	widths[nCols-1] = width(f.def.Ret)
	for _, w := range widths {
		size += align8(w*n) + align8(n)
	}
	res, err := inst.buffer.Call(ctx, uint64(size))
	if err != nil {
		return nil, nil, f.callError(ctx, inst, err, lim)
	}
	base := uint32(res[0])
	mem := inst.mod.Memory()
	buf, ok := mem.Read(base, uint32(size))
	if !ok {
		inst.mod.Close(ctx)
		return nil, nil, sqlerr.New(sqlerr.ExternalRoutineException, "WebAssembly function %s: streamsql_buffer returned %d bytes at %d, outside its memory", f.def.Signature, size, base)
	}
	at := 8 * nCols
	addrs := make([][2]int, nCols)
	for j := range addrs {
		addrs[j][0] = at
		at += align8(widths[j] * n)
		addrs[j][1] = at
		at += align8(n)
		binary.LittleEndian.PutUint32(buf[8*j:], base+uint32(addrs[j][0]))
		binary.LittleEndian.PutUint32(buf[8*j+4:], base+uint32(addrs[j][1]))
	}
	rv := buf[addrs[nCols-1][1] : addrs[nCols-1][1]+n]
	for i := range rv {
		rv[i] = 1
	}
	for j, a := range args {
		writeColumn(buf[addrs[j][0]:], buf[addrs[j][1]:addrs[j][1]+n], a, f.def.ArgTypes[j], off, n)
		if f.def.Strict && a.NullN() > 0 {
			for i := 0; i < n; i++ {
				if a.IsNull(off + i) {
					rv[i] = 0
				}
			}
		}
	}
	cctx, cancel := context.WithTimeout(ctx, lim.Timeout)
	res, err = inst.fn.Call(cctx, uint64(n), uint64(base))
	cancel()
	if err == nil && int32(res[0]) != 0 {
		err = f.failure(ctx, inst, int32(res[0]))
		f.pool.Put(inst)
		return nil, nil, err
	}
	if err != nil {
		return nil, nil, f.callError(ctx, inst, err, lim)
	}
	// The call may have grown the memory: read the buffer again.
	if buf, ok = mem.Read(base, uint32(size)); !ok {
		inst.mod.Close(ctx)
		return nil, nil, sqlerr.New(sqlerr.ExternalRoutineException, "WebAssembly function %s lost its buffer", f.def.Signature)
	}
	r := addrs[nCols-1]
	vals := append([]byte(nil), buf[r[0]:r[0]+widths[nCols-1]*n]...)
	valid := append([]byte(nil), buf[r[1]:r[1]+n]...)
	f.pool.Put(inst)
	return vals, valid, nil
}

func align8(n int) int { return (n + 7) &^ 7 }

// failure is the error of a call that returned code: the module's
// message when it exports streamsql_error.
func (f *function) failure(ctx context.Context, inst *instance, code int32) error {
	msg := fmt.Sprintf("WebAssembly function %s failed with code %d", f.def.Signature, code)
	if inst.errMsg != nil {
		if res, err := inst.errMsg.Call(ctx); err == nil && res[0] != 0 {
			mem := inst.mod.Memory()
			var b []byte
			for p := uint32(res[0]); len(b) < 4096; p++ {
				c, ok := mem.ReadByte(p)
				if !ok || c == 0 {
					break
				}
				b = append(b, c)
			}
			if len(b) > 0 {
				msg = string(b)
			}
		}
	}
	return sqlerr.New(sqlerr.ExternalRoutineException, "%s", msg).WithDetail("In WebAssembly function %s.", f.def.Signature)
}

// callError reports a trap, an exit or a stop; the instance is dropped.
func (f *function) callError(ctx context.Context, inst *instance, err error, lim udf.Limits) error {
	defer inst.mod.Close(context.Background())
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var ee *sys.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == sys.ExitCodeDeadlineExceeded {
		return sqlerr.New(sqlerr.ExternalRoutineException, "WebAssembly function %s timed out after %s", f.def.Signature, lim.Timeout).
			WithHint("A call over one batch may run for udf_timeout; raise it with SET udf_timeout if the function is meant to run longer.")
	}
	if m := inst.mod.Memory(); m != nil && int64(m.Size())+pageSize > f.r.memLimit {
		return sqlerr.New(sqlerr.ExternalRoutineException, "WebAssembly function %s exceeded the memory limit of %d MB", f.def.Signature, f.r.memLimit>>20).
			WithDetail("%v", err)
	}
	return sqlerr.New(sqlerr.ExternalRoutineException, "WebAssembly function %s failed: %v", f.def.Signature, err)
}

// littleEndian: the host stores numbers as the ABI does, so columns of
// the ABI's own widths are copied into and out of linear memory whole.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// writeColumn writes rows [off, off+n) of a into vals and valid.
func writeColumn(vals, valid []byte, a arrow.Array, t types.T, off, n int) {
	if a.NullN() == 0 {
		for i := range valid[:n] {
			valid[i] = 1
		}
	} else {
		for i := 0; i < n; i++ {
			if a.IsNull(off + i) {
				valid[i] = 0
			} else {
				valid[i] = 1
			}
		}
	}
	switch c := a.(type) {
	case *array.Int32:
		if littleEndian {
			copy(vals[:4*n], arrow.Int32Traits.CastToBytes(c.Int32Values()[off:off+n]))
			break
		}
		for i, v := range c.Int32Values()[off : off+n] {
			binary.LittleEndian.PutUint32(vals[4*i:], uint32(v))
		}
	case *array.Int64:
		if littleEndian {
			copy(vals[:8*n], arrow.Int64Traits.CastToBytes(c.Int64Values()[off:off+n]))
			break
		}
		for i, v := range c.Int64Values()[off : off+n] {
			binary.LittleEndian.PutUint64(vals[8*i:], uint64(v))
		}
	case *array.Float64:
		if littleEndian {
			copy(vals[:8*n], arrow.Float64Traits.CastToBytes(c.Float64Values()[off:off+n]))
			break
		}
		for i, v := range c.Float64Values()[off : off+n] {
			binary.LittleEndian.PutUint64(vals[8*i:], math.Float64bits(v))
		}
	case *array.Int16:
		for i, v := range c.Int16Values()[off : off+n] {
			binary.LittleEndian.PutUint32(vals[4*i:], uint32(int32(v)))
		}
	case *array.Float32:
		for i, v := range c.Float32Values()[off : off+n] {
			binary.LittleEndian.PutUint64(vals[8*i:], math.Float64bits(float64(v)))
		}
	case *array.Boolean:
		for i := 0; i < n; i++ {
			if c.Value(off + i) {
				vals[i] = 1
			} else {
				vals[i] = 0
			}
		}
	}
	// A NULL's slot holds whatever its column held: make it 0.
	if a.NullN() > 0 {
		w := width(t)
		for i := 0; i < n; i++ {
			if valid[i] == 0 {
				clear(vals[i*w : (i+1)*w])
			}
		}
	}
}

// writeRows writes the given rows of a into vals and valid.
func writeRows(vals, valid []byte, a arrow.Array, t types.T, rows []int) {
	w := width(t)
	for k, r := range rows {
		v := vals[k*w : (k+1)*w]
		if a.IsNull(r) {
			valid[k] = 0
			clear(v)
			continue
		}
		valid[k] = 1
		switch c := a.(type) {
		case *array.Int16:
			binary.LittleEndian.PutUint32(v, uint32(int32(c.Value(r))))
		case *array.Int32:
			binary.LittleEndian.PutUint32(v, uint32(c.Value(r)))
		case *array.Int64:
			binary.LittleEndian.PutUint64(v, uint64(c.Value(r)))
		case *array.Float32:
			binary.LittleEndian.PutUint64(v, math.Float64bits(float64(c.Value(r))))
		case *array.Float64:
			binary.LittleEndian.PutUint64(v, math.Float64bits(c.Value(r)))
		case *array.Boolean:
			v[0] = 0
			if c.Value(r) {
				v[0] = 1
			}
		}
	}
}

// result builds the result column from the values and validity the
// module wrote.
func (f *function) result(vals, valid []byte, n int) arrow.Array {
	return buildColumn(f.def.Ret, vals, valid, n)
}

// buildColumn builds a column of type t from n values and their validity
// in the ABI's layout.
func buildColumn(t types.T, vals, valid []byte, n int) arrow.Array {
	var nulls []bool
	for i := 0; i < n; i++ {
		if valid[i] == 0 {
			if nulls == nil {
				nulls = make([]bool, n)
			}
			nulls[i] = true
		}
	}
	if littleEndian && (t.Kind == types.Int4 || t.Kind == types.Int8 || t.Kind == types.Float8) {
		// vals is the caller's copy, in the column's own layout: it
		// becomes the column's data buffer as it is.
		var bitmap *memory.Buffer
		if nulls != nil {
			bits := make([]byte, bitutil.BytesForBits(int64(n)))
			for i := 0; i < n; i++ {
				if valid[i] != 0 {
					bitutil.SetBit(bits, i)
				}
			}
			bitmap = memory.NewBufferBytes(bits)
		}
		nNulls := 0
		for _, isNull := range nulls {
			if isNull {
				nNulls++
			}
		}
		data := array.NewData(t.ArrowType(), n, []*memory.Buffer{bitmap, memory.NewBufferBytes(vals[:n*width(t)])}, nil, nNulls, 0)
		defer data.Release()
		return array.MakeFromData(data)
	}
	valids := validSlice(nulls)
	le := binary.LittleEndian
	switch t.Kind {
	case types.Int2:
		return column(array.NewInt16Builder(types.Mem), n, valids, func(i int) int16 { return int16(int32(le.Uint32(vals[4*i:]))) })
	case types.Int4:
		return column(array.NewInt32Builder(types.Mem), n, valids, func(i int) int32 { return int32(le.Uint32(vals[4*i:])) })
	case types.Int8:
		return column(array.NewInt64Builder(types.Mem), n, valids, func(i int) int64 { return int64(le.Uint64(vals[8*i:])) })
	case types.Float4:
		return column(array.NewFloat32Builder(types.Mem), n, valids, func(i int) float32 { return float32(math.Float64frombits(le.Uint64(vals[8*i:]))) })
	case types.Float8:
		return column(array.NewFloat64Builder(types.Mem), n, valids, func(i int) float64 { return math.Float64frombits(le.Uint64(vals[8*i:])) })
	}
	return column(array.NewBooleanBuilder(types.Mem), n, valids, func(i int) bool { return vals[i] != 0 })
}

// valuesBuilder is the part of an arrow builder of V values that column
// uses.
type valuesBuilder[V any] interface {
	AppendValues(v []V, valid []bool)
	NewArray() arrow.Array
	Release()
}

// column builds a column of n values with the validity valid (nil: no
// NULLs), value i read from the module's output by at.
func column[V any](b valuesBuilder[V], n int, valid []bool, at func(i int) V) arrow.Array {
	defer b.Release()
	out := make([]V, n)
	for i := range out {
		out[i] = at(i)
	}
	b.AppendValues(out, valid)
	return b.NewArray()
}

func validSlice(nulls []bool) []bool {
	if nulls == nil {
		return nil
	}
	v := make([]bool, len(nulls))
	for i, isNull := range nulls {
		v[i] = !isNull
	}
	return v
}

// take returns an instance from the pool, or a new one.
func (f *function) take() (*instance, error) {
	if v := f.pool.Get(); v != nil {
		return v.(*instance), nil
	}
	return f.newInstance(context.Background())
}

// region asks inst for size bytes of its memory and returns their address
// and a view of them (valid until the module's memory grows).
func (f *function) region(ctx context.Context, inst *instance, size int, lim udf.Limits) (uint32, []byte, error) {
	res, err := inst.buffer.Call(ctx, uint64(size))
	if err != nil {
		return 0, nil, f.callError(ctx, inst, err, lim)
	}
	base := uint32(res[0])
	buf, ok := inst.mod.Memory().Read(base, uint32(size))
	if !ok {
		inst.mod.Close(ctx)
		return 0, nil, sqlerr.New(sqlerr.ExternalRoutineException, "WebAssembly function %s: streamsql_buffer returned %d bytes at %d, outside its memory", f.def.Signature, size, base)
	}
	return base, buf, nil
}

// invoke calls fn(n, cols) with the udf_timeout of lim. On success the
// caller reads the results and puts inst back; a failure code puts it
// back here (the module is intact), and a trap, exit or stop drops it.
func (f *function) invoke(ctx context.Context, lim udf.Limits, inst *instance, fn api.Function, n int, cols uint32) error {
	cctx, cancel := context.WithTimeout(ctx, lim.Timeout)
	res, err := fn.Call(cctx, uint64(n), uint64(cols))
	cancel()
	if err != nil {
		return f.callError(ctx, inst, err, lim)
	}
	if code := int32(res[0]); code != 0 {
		err = f.failure(ctx, inst, code)
		f.pool.Put(inst)
		return err
	}
	return nil
}
