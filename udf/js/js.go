// Package js runs user functions written in JavaScript (CREATE FUNCTION
// ... LANGUAGE javascript) on goja, a JavaScript engine in pure Go.
//
// A function is written as RisingWave spells it: either the body of the
// function (`AS $$ return a + b; $$`, the arguments by name), or a script
// that defines it (`AS $$ export function f(a, b) { ... } $$`, the
// function named as the SQL function). A table function is a generator:
// its body yields the rows (`yield i;`, or `yield [a, b]` / `yield {x: a,
// y: b}` for several columns).
//
// The body is compiled once per definition into a goja.Program. Running
// it needs a goja.Runtime, which is single-threaded: each function keeps
// a sync.Pool of runtimes with the program loaded, so every core that
// evaluates the function at once takes its own and no lock is shared.
// The executors call the function once per Arrow batch; the argument
// columns are converted to JavaScript values column by column, then the
// rows run in a loop over the runtime's compiled function.
//
// Sandbox: a runtime has only the ECMAScript built-ins (no require, no
// file, network or process access). A watchdog bounds each row's call by
// udf_timeout and the heap growth of the call by udf_memory_limit (when
// the process heap has grown by the limit during the call, the watchdog
// collects garbage and measures again: what is left is what the call
// holds, give or take other goroutines' allocations), and
// interrupts the runtime (vm.Interrupt) when either is exceeded or the
// statement is cancelled. An interrupted runtime is dropped.
package js

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"reflect"
	"regexp"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/dop251/goja"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
	"streamsql/udf"
)

// maxCallStack bounds JavaScript recursion (a RangeError beyond it).
const maxCallStack = 10_000

// Runtime compiles JavaScript functions; it implements udf.UserRuntime.
type Runtime struct {
	log *slog.Logger
}

// New returns the JavaScript runtime; log receives the failures that do
// not end a statement (rows rejected in views).
func New(log *slog.Logger) *Runtime {
	if log == nil {
		log = slog.Default()
	}
	return &Runtime{log: log}
}

var exportRE = regexp.MustCompile(`(?m)(^|[;{}\s])export\s+(default\s+)?((async\s+)?function\b|const\b|let\b|var\b|class\b)`)

// entryName is the name a function-body definition is compiled under.
const entryName = "__streamsql_fn"

// function is one compiled definition.
type function struct {
	def  *udf.UserDef
	prog *goja.Program
	// entry is the global the runtime calls.
	entry string
	pool  sync.Pool
}

// instance is one runtime with the program loaded.
type instance struct {
	vm   *goja.Runtime
	fn   goja.Callable
	conv *conv
	// seq counts the calls started, for the watchdog.
	seq  atomic.Uint64
	args [][]goja.Value
	row  []goja.Value
	// The trampoline the rows of a batch run in (trampoline), and the
	// Go function it is running.
	batch  goja.Callable
	goRows goja.Value
	inner  func()
}

func jsIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if r == '_' || r == '$' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r > 127 || i > 0 && r >= '0' && r <= '9' {
			continue
		}
		return false
	}
	return true
}

// source returns the script for d and the global its entry point is.
func source(d *udf.UserDef) (src, entry string, err error) {
	if exportRE.MatchString(d.Body) {
		src = exportRE.ReplaceAllString(d.Body, "$1$3")
		if !jsIdent(d.Name) {
			return "", "", sqlerr.New(sqlerr.InvalidFunctionDefinition, "function name %q is not a JavaScript identifier: write the body of the function instead of export function", d.Name)
		}
		return src, d.Name, nil
	}
	params := make([]string, len(d.ArgTypes))
	for i := range params {
		params[i] = "$" + strconv.Itoa(i+1)
		if n := d.ArgNames[i]; n != "" {
			if !jsIdent(n) {
				return "", "", sqlerr.New(sqlerr.InvalidFunctionDefinition, "argument name %q is not a JavaScript identifier", n)
			}
			params[i] = n
		}
	}
	star := ""
	if d.Set {
		star = "*"
	}
	return "function" + star + " " + entryName + "(" + strings.Join(params, ", ") + ") {\n" + d.Body + "\n}\n", entryName, nil
}

func compile(d *udf.UserDef) (*function, error) {
	for _, t := range append(append([]types.T{}, d.ArgTypes...), d.ColTypes...) {
		if !supported(t) {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "type %s is not supported in JavaScript functions", t)
		}
	}
	if !d.Set && !d.Procedure && !supported(d.Ret) {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "type %s is not supported in JavaScript functions", d.Ret)
	}
	src, entry, err := source(d)
	if err != nil {
		return nil, err
	}
	prog, err := goja.Compile(d.Name, src, false)
	if err != nil {
		return nil, syntaxError(d, err)
	}
	f := &function{def: d, prog: prog, entry: entry}
	// Load it once now: a script that fails at its top level, or does not
	// define the function, is refused at CREATE.
	inst, err := f.newInstance(context.Background(), udf.Limits{Timeout: udf.DefaultUDFTimeout, Memory: udf.DefaultUDFMemory})
	if err != nil {
		return nil, err
	}
	f.pool.Put(inst)
	return f, nil
}

// syntaxError is the 42P13 of a script that does not compile.
func syntaxError(d *udf.UserDef, err error) error {
	msg := err.Error()
	var se *goja.CompilerSyntaxError
	if errors.As(err, &se) {
		msg = "SyntaxError: " + se.Message
	}
	return sqlerr.New(sqlerr.InvalidFunctionDefinition, "%s", msg).
		WithDetail("In JavaScript function %s.", d.Signature)
}

// newInstance makes a runtime and runs the program in it.
func (f *function) newInstance(ctx context.Context, lim udf.Limits) (*instance, error) {
	vm := goja.New()
	vm.SetMaxCallStackSize(maxCallStack)
	c, err := newConv(vm)
	if err != nil {
		return nil, err
	}
	inst := &instance{vm: vm, conv: c}
	w := startWatch(ctx, inst, lim)
	_, err = vm.RunProgram(f.prog)
	werr := w.stop()
	if err != nil {
		return nil, f.callError(err, werr, lim)
	}
	fn, ok := goja.AssertFunction(vm.Get(f.entry))
	if !ok {
		return nil, sqlerr.New(sqlerr.InvalidFunctionDefinition, "JavaScript for function %s does not define function %s", f.def.Signature, f.entry).
			WithHint("Write the body of the function, or export function %s(...) { ... }.", f.entry)
	}
	inst.fn = fn
	return inst, nil
}

// getFor is get with the context and limits of a call's env, which it
// returns as well.
func (f *function) getFor(env *udf.Env) (*instance, context.Context, udf.Limits, error) {
	var ctx context.Context
	if env != nil {
		ctx = env.Context
	}
	lim := udf.UserLimits(env)
	inst, err := f.get(ctx, lim)
	return inst, ctx, lim, err
}

func (f *function) get(ctx context.Context, lim udf.Limits) (*instance, error) {
	if v := f.pool.Get(); v != nil {
		return v.(*instance), nil
	}
	return f.newInstance(ctx, lim)
}

// Reasons a watchdog interrupts a runtime.
var (
	errTimeout = errors.New("timeout")
	errMemory  = errors.New("memory")
)

// watch interrupts inst's runtime when one call runs longer than the
// timeout, when the live heap grows by more than the memory limit, or
// when ctx ends. It ticks on a timer while the batch runs.
type watch struct {
	ctx  context.Context
	inst *instance
	lim  udf.Limits
	tick time.Duration

	mu      sync.Mutex
	stopped bool
	reason  error
	timer   *time.Timer
	lastSeq uint64
	since   time.Time
	// heap0 is the heap when the watch started or last collected; live0
	// the live heap of the collection before it started, the base of the
	// memory limit.
	heap0, live0 uint64
	sample       []metrics.Sample
}

// heapBytes reads the bytes of heap objects, live or not yet collected.
func heapBytes(s []metrics.Sample) uint64 {
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// liveBytes reads the heap marked live by the last collection.
func liveBytes(s []metrics.Sample) uint64 {
	metrics.Read(s)
	if s[1].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[1].Value.Uint64()
}

func startWatch(ctx context.Context, inst *instance, lim udf.Limits) *watch {
	tick := min(max(lim.Timeout/8, time.Millisecond), 20*time.Millisecond)
	w := &watch{ctx: ctx, inst: inst, lim: lim, tick: tick, lastSeq: inst.seq.Load(), since: time.Now(),
		sample: []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/live:bytes"}}}
	w.heap0 = heapBytes(w.sample)
	w.live0 = liveBytes(w.sample)
	// The first check may fire before AfterFunc returns: it waits for
	// the timer to be set.
	w.mu.Lock()
	w.timer = time.AfterFunc(tick, w.check)
	w.mu.Unlock()
	return w
}

func (w *watch) check() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return
	}
	now := time.Now()
	switch seq := w.inst.seq.Load(); {
	case seq != w.lastSeq:
		w.lastSeq, w.since = seq, now
	case now.Sub(w.since) >= w.lim.Timeout:
		w.interrupt(errTimeout)
		return
	}
	if h := heapBytes(w.sample); h > w.heap0 && int64(h-w.heap0) > w.lim.Memory {
		// The heap grew by more than the limit: garbage, or what the
		// function holds? A collection tells.
		runtime.GC()
		if live := liveBytes(w.sample); live > w.live0 && int64(live-w.live0) > w.lim.Memory {
			w.interrupt(errMemory)
			return
		}
		w.heap0 = heapBytes(w.sample)
	}
	if w.ctx != nil && w.ctx.Err() != nil {
		w.interrupt(w.ctx.Err())
		return
	}
	w.timer.Reset(w.tick)
}

func (w *watch) interrupt(reason error) {
	w.reason = reason
	w.inst.vm.Interrupt(reason)
}

// stop ends the watch and returns why it interrupted the runtime, if it
// did; the runtime's pending interrupt is cleared.
func (w *watch) stop() error {
	w.mu.Lock()
	w.stopped = true
	w.timer.Stop()
	r := w.reason
	w.mu.Unlock()
	w.inst.vm.ClearInterrupt()
	return r
}

// callError turns an error from the runtime into the SQL error a client
// sees: 38000 with the thrown value's text, or the timeout or memory
// limit hit; cancellation passes through.
func (f *function) callError(err, reason error, lim udf.Limits) error {
	var ie *goja.InterruptedError
	if errors.As(err, &ie) || reason != nil {
		switch reason {
		case errTimeout:
			return sqlerr.New(sqlerr.ExternalRoutineException, "JavaScript function %s timed out after %s", f.def.Signature, lim.Timeout).
				WithHint("A single call may run for udf_timeout; raise it with SET udf_timeout if the function is meant to run longer.")
		case errMemory:
			return sqlerr.New(sqlerr.ExternalRoutineException, "JavaScript function %s exceeded the memory limit of %s", f.def.Signature, byteSize(lim.Memory)).
				WithHint("A call may grow the heap by udf_memory_limit.")
		case nil:
			return sqlerr.New(sqlerr.ExternalRoutineException, "JavaScript function %s was interrupted", f.def.Signature)
		}
		return reason // the statement was cancelled
	}
	var ex *goja.Exception
	if errors.As(err, &ex) {
		msg := "undefined"
		if v := ex.Value(); v != nil {
			msg = v.String()
		}
		e := sqlerr.New(sqlerr.ExternalRoutineException, "%s", msg).WithDetail("In JavaScript function %s.", f.def.Signature)
		for _, fr := range ex.Stack() {
			if fr.SrcName() != f.def.Name {
				continue // a frame of a built-in
			}
			pos := fr.Position()
			line := pos.Line
			if f.entry == entryName {
				line-- // the body starts on the wrapper's second line
			}
			if line > 0 {
				e.Detail = fmt.Sprintf("In JavaScript function %s, line %d, column %d.", f.def.Signature, line, pos.Column)
			}
			break
		}
		return e
	}
	if se := sqlerr.From(err); se.Code != sqlerr.InternalError {
		return err
	}
	return sqlerr.New(sqlerr.ExternalRoutineException, "JavaScript function %s failed: %v", f.def.Signature, err)
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return strconv.FormatInt(n>>30, 10) + "GB"
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + "MB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + "kB"
	}
	return strconv.FormatInt(n, 10) + "B"
}

// CompileScalar implements udf.UserRuntime.
func (r *Runtime) CompileScalar(d *udf.UserDef) (*udf.Scalar, error) {
	if d.Set {
		return nil, fmt.Errorf("js: %s is a table function", d.Signature)
	}
	f, err := compile(d)
	if err != nil {
		return nil, err
	}
	return &udf.Scalar{Name: d.Name, Args: d.ArgTypes, Ret: d.Ret, Strict: d.Strict, Volatility: d.Volatility,
		OID: d.OID, Eval: f.evalScalar}, nil
}

// evalScalar runs the function over n rows.
func (f *function) evalScalar(env *udf.Env, args []arrow.Array, n int) (arrow.Array, error) {
	inst, ctx, lim, err := f.getFor(env)
	if err != nil {
		return nil, err
	}
	if len(inst.args) < len(args) {
		inst.args = make([][]goja.Value, len(args))
	}
	for j, a := range args {
		if inst.args[j], err = inst.conv.column(inst.args[j], a, f.def.ArgTypes[j], n); err != nil {
			f.pool.Put(inst)
			return nil, err
		}
	}
	b := types.NewBuilder(f.def.Ret)
	defer b.Release()
	b.Reserve(n)
	inst.row = inst.row[:0]
	for range args {
		inst.row = append(inst.row, nil)
	}
	w := startWatch(ctx, inst, lim)
	i := 0
	for i < n {
		failed, err := f.runRows(inst, b, args, &i, n)
		if err == nil {
			break
		}
		reason := w.stop()
		cerr := f.callError(err, reason, lim)
		if ctx != nil && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if reason != nil {
			// An interrupted runtime may hold what it allocated: drop it.
			if inst, err = f.newInstance(ctx, lim); err != nil {
				return nil, err
			}
			if err := f.reloadArgs(inst, args, n); err != nil {
				return nil, err
			}
		}
		if !failed || !udf.RowError(env, f.def.Signature, cerr, rowDatums(args, f.def.ArgTypes, i), f.def.ArgTypes) {
			f.pool.Put(inst)
			return nil, cerr
		}
		b.AppendNull()
		i++
		w = startWatch(ctx, inst, lim)
	}
	w.stop()
	f.pool.Put(inst)
	return b.NewArray(), nil
}

func (f *function) reloadArgs(inst *instance, args []arrow.Array, n int) error {
	inst.args = make([][]goja.Value, len(args))
	inst.row = make([]goja.Value, len(args))
	for j, a := range args {
		var err error
		if inst.args[j], err = inst.conv.column(nil, a, f.def.ArgTypes[j], n); err != nil {
			return err
		}
	}
	return nil
}

// runRows calls the function for rows *i.. of the batch, appending the
// results to b. On an error, *i is the row that failed and failed says
// the error is the row's own (a throw, a limit); otherwise the batch
// cannot go on.
func (f *function) runRows(inst *instance, b array.Builder, args []arrow.Array, i *int, n int) (failed bool, err error) {
	terr := inst.trampoline(func() { failed, err = f.rowLoop(inst, b, args, i, n) })
	if err == nil && terr != nil {
		return true, terr // interrupted between rows
	}
	return failed, err
}

// trampoline runs fn, which calls into the runtime many times (the rows
// of a batch), inside one call of a JavaScript trampoline (batchProg)
// that calls back into Go: goja frees its value stack whenever a call
// made from Go returns to Go, and allocates it again at the next, so
// calls nested in one outer call keep it. The error is the trampoline's
// own (an interrupt between calls); fn reports its calls' errors itself.
func (inst *instance) trampoline(fn func()) error {
	if inst.batch == nil {
		v, err := inst.vm.RunProgram(batchProg)
		if err != nil {
			return err
		}
		inst.batch, _ = goja.AssertFunction(v)
		inst.goRows = inst.vm.ToValue(func(goja.FunctionCall) goja.Value {
			inst.inner()
			return goja.Undefined()
		})
	}
	inst.inner = fn
	_, err := inst.batch(goja.Undefined(), inst.goRows)
	inst.inner = nil
	return err
}

// batchProg is the trampoline the rows of a batch run in.
var batchProg = goja.MustCompile("batch", "(function (rows) { rows(); })", false)

// rowLoop is runRows inside the trampoline.
func (f *function) rowLoop(inst *instance, b array.Builder, args []arrow.Array, i *int, n int) (failed bool, err error) {
	num := true // the result type has a fast path (appendNumber)
	strict := f.def.Strict
	switch f.def.Ret.Kind {
	case types.Int2, types.Int4, types.Int8, types.Float8:
	default:
		num = false
	}
rows:
	for ; *i < n; *i++ {
		r := *i
		for j := range args {
			v := inst.args[j][r]
			if strict && goja.IsNull(v) {
				b.AppendNull()
				continue rows
			}
			inst.row[j] = v
		}
		inst.seq.Add(1)
		res, err := inst.fn(goja.Undefined(), inst.row...)
		if err != nil {
			return true, err
		}
		if num && appendNumber(b, res) {
			continue
		}
		d, err := inst.conv.fromJS(res, f.def.Ret)
		if err != nil {
			return true, err
		}
		types.AppendDatum(b, d)
	}
	return false, nil
}

var (
	exportInt64   = reflect.TypeOf(int64(0))
	exportFloat64 = reflect.TypeOf(float64(0))
)

// appendNumber appends a JavaScript integer result of a bigint, integer
// or smallint function, or a number of a double precision one, in range,
// without boxing it, and reports whether it did; fromJS takes the rest.
func appendNumber(b array.Builder, v goja.Value) bool {
	if v == nil {
		return false
	}
	switch bb := b.(type) {
	case *array.Int64Builder:
		if v.ExportType() == exportInt64 {
			bb.Append(v.ToInteger())
			return true
		}
	case *array.Int32Builder:
		if v.ExportType() == exportInt64 {
			if i := v.ToInteger(); i >= math.MinInt32 && i <= math.MaxInt32 {
				bb.Append(int32(i))
				return true
			}
		}
	case *array.Int16Builder:
		if v.ExportType() == exportInt64 {
			if i := v.ToInteger(); i >= math.MinInt16 && i <= math.MaxInt16 {
				bb.Append(int16(i))
				return true
			}
		}
	case *array.Float64Builder:
		if t := v.ExportType(); t == exportFloat64 || t == exportInt64 {
			bb.Append(v.ToFloat())
			return true
		}
	}
	return false
}

func rowDatums(args []arrow.Array, ts []types.T, i int) []types.Datum {
	out := make([]types.Datum, len(args))
	for j, a := range args {
		if i < a.Len() {
			out[j] = types.GetDatum(a, i, ts[j])
		}
	}
	return out
}

// CompileTable implements udf.UserRuntime: the function is a generator
// whose yields are the rows.
func (r *Runtime) CompileTable(d *udf.UserDef) (*udf.TableFunc, error) {
	if !d.Set {
		return nil, fmt.Errorf("js: %s is not a table function", d.Signature)
	}
	f, err := compile(d)
	if err != nil {
		return nil, err
	}
	return udf.UserTableFunc(d, f.evalTable), nil
}

// evalTable starts the generator for one row of arguments.
func (f *function) evalTable(env *udf.Env, args []types.Datum, _ []types.T) (udf.RowIter, error) {
	if f.def.Strict {
		for _, a := range args {
			if a == nil {
				return &emptyIter{}, nil
			}
		}
	}
	inst, ctx, lim, err := f.getFor(env)
	if err != nil {
		return nil, err
	}
	vals := make([]goja.Value, len(args))
	for j, a := range args {
		if vals[j], err = inst.conv.toJS(a, f.def.ArgTypes[j]); err != nil {
			f.pool.Put(inst)
			return nil, err
		}
	}
	w := startWatch(ctx, inst, lim)
	inst.seq.Add(1)
	gen, err := inst.fn(goja.Undefined(), vals...)
	var next goja.Callable
	if err == nil {
		obj := gen.ToObject(inst.vm)
		var ok bool
		if next, ok = goja.AssertFunction(obj.Get("next")); !ok {
			err = sqlerr.New(sqlerr.ExternalRoutineException, "JavaScript function %s did not return a generator", f.def.Signature)
		}
		if err == nil {
			gen = obj
		}
	}
	reason := w.stop()
	if err != nil {
		if reason == nil {
			f.pool.Put(inst)
		}
		return nil, f.callError(err, reason, lim)
	}
	return &genIter{f: f, env: env, ctx: ctx, lim: lim, inst: inst, gen: gen, next: next, args: args}, nil
}

type emptyIter struct{}

func (emptyIter) Next(int) ([]arrow.Array, int, error) { return nil, 0, nil }
func (emptyIter) Close()                               {}

// genIter reads a generator's rows in batches.
type genIter struct {
	f    *function
	env  *udf.Env
	ctx  context.Context
	lim  udf.Limits
	inst *instance
	gen  goja.Value
	next goja.Callable
	args []types.Datum
	done bool
}

func (g *genIter) Next(maxRows int) ([]arrow.Array, int, error) {
	if g.done || g.inst == nil {
		return nil, 0, nil
	}
	d := g.f.def
	bs := make([]array.Builder, len(d.ColTypes))
	for i, t := range d.ColTypes {
		bs[i] = types.NewBuilder(t)
		defer bs[i].Release()
	}
	n := 0
	w := startWatch(g.ctx, g.inst, g.lim)
	var err error
	for n < maxRows {
		g.inst.seq.Add(1)
		var res goja.Value
		if res, err = g.next(g.gen); err != nil {
			break
		}
		obj := res.ToObject(g.inst.vm)
		if obj.Get("done").ToBoolean() {
			g.done = true
			break
		}
		if err = g.appendRow(bs, obj.Get("value")); err != nil {
			break
		}
		n++
	}
	reason := w.stop()
	if err != nil {
		inst := g.inst
		g.inst = nil
		if reason == nil {
			g.f.pool.Put(inst)
		}
		if g.ctx != nil && g.ctx.Err() != nil {
			return nil, 0, g.ctx.Err()
		}
		cerr := g.f.callError(err, reason, g.lim)
		if !udf.RowError(g.env, d.Signature, cerr, g.args, d.ArgTypes) {
			return nil, 0, cerr
		}
		g.done = true // the rows before the failure stand
	}
	if n == 0 {
		return nil, 0, nil
	}
	cols := make([]arrow.Array, len(bs))
	for i, b := range bs {
		cols[i] = b.NewArray()
	}
	return cols, n, nil
}

// appendRow appends one yielded value (see rowValues).
func (g *genIter) appendRow(bs []array.Builder, v goja.Value) error {
	row, err := g.inst.rowValues(v, g.f.def.Cols, g.f.def.ColTypes)
	if err != nil {
		return err
	}
	for i, b := range bs {
		types.AppendDatum(b, row[i])
	}
	return nil
}

// rowValues converts one row given in JavaScript to the columns cols of
// types ts: the value itself for one column, an array or an object keyed
// by column name for several (null or undefined: every column NULL).
func (inst *instance) rowValues(v goja.Value, cols []string, ts []types.T) ([]types.Datum, error) {
	c := inst.conv
	out := make([]types.Datum, len(ts))
	if len(ts) == 1 {
		x, err := c.fromJS(v, ts[0])
		out[0] = x
		return out, err
	}
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return out, nil
	}
	obj := v.ToObject(inst.vm)
	isArray := obj.ClassName() == "Array"
	for i, t := range ts {
		var e goja.Value
		if isArray {
			e = obj.Get(strconv.Itoa(i))
		} else {
			e = obj.Get(cols[i])
		}
		x, err := c.fromJS(e, t)
		if err != nil {
			return nil, err
		}
		out[i] = x
	}
	return out, nil
}

func (g *genIter) Close() {
	if g.inst != nil {
		if g.done {
			g.f.pool.Put(g.inst)
		} else if ret, ok := goja.AssertFunction(g.gen.ToObject(g.inst.vm).Get("return")); ok {
			// Finish the generator (its finally blocks run) before the
			// runtime is reused.
			w := startWatch(g.ctx, g.inst, g.lim)
			_, err := ret(g.gen)
			if w.stop() == nil && err == nil {
				g.f.pool.Put(g.inst)
			}
		}
		g.inst = nil
	}
}
