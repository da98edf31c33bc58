package udf

import (
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"sync"
	"time"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// User functions in other languages than SQL (JavaScript, WebAssembly)
// are compiled by a language runtime into the same Scalar and TableFunc
// values the built-ins are: the planner puts a call of one into the plan
// like any other call, and the executors call it once per Arrow batch.
//
// UserRuntimes holds the languages a server knows and the functions
// compiled so far. The cache is looked up when a statement is planned,
// never while one runs: evaluation takes no lock of its own here, and each
// compiled function pools its language instances (one per core in use).

// UserDef is a user function's definition as a language runtime needs it.
type UserDef struct {
	OID uint32
	// Name is the function's name; Signature its identity in messages
	// ("f(integer)").
	Name, Signature string
	// ArgNames has one entry per argument, "" for an unnamed one.
	ArgNames []string
	ArgTypes []types.T
	// Ret is the result type of a scalar function, or the element type of
	// a RETURNS SETOF function.
	Ret types.T
	// Set: a table function. Cols and ColTypes are its output columns
	// (RETURNS TABLE), or one column named after the function (SETOF).
	Set      bool
	Cols     []string
	ColTypes []types.T
	Language string
	// Body is the source text (AS $$ ... $$); Binary the module of a
	// language that compiles to one (USING BASE64).
	Body       string
	Binary     []byte
	Strict     bool
	Volatility Volatility
	// Aggregate: CREATE AGGREGATE in this language; Ret is the result.
	Aggregate bool
	// OrderedSet: an ordered-set aggregate, name(direct ORDER BY
	// aggregated), whose first NumDirect arguments are the direct ones
	// (constant in a group, given to the final entry point); its rows
	// reach the accumulator in the WITHIN GROUP order.
	OrderedSet bool
	NumDirect  int
	// Procedure: CREATE PROCEDURE in this language. ArgNames and
	// ArgTypes are its input parameters (IN, INOUT), Cols and ColTypes
	// its output ones (INOUT, OUT).
	Procedure bool
}

// UserRuntime compiles the functions of one language.
type UserRuntime interface {
	// CompileScalar returns the scalar function d defines. Syntax and
	// definition errors are 42P13.
	CompileScalar(d *UserDef) (*Scalar, error)
	// CompileTable returns the table function d defines.
	CompileTable(d *UserDef) (*TableFunc, error)
}

// AggregateRuntime is a UserRuntime that also compiles aggregates.
type AggregateRuntime interface {
	// CompileAggregate returns the aggregate d defines.
	CompileAggregate(d *UserDef) (*Aggregate, error)
}

// ProcedureRuntime is a UserRuntime that also compiles procedures.
type ProcedureRuntime interface {
	// CompileProcedure returns the procedure d defines.
	CompileProcedure(d *UserDef) (*Procedure, error)
}

// Procedure is a compiled procedure in a sandboxed language.
type Procedure struct {
	Name string
	// Call runs one CALL with the input parameters' values and returns
	// the output parameters' values.
	Call func(env *Env, args []types.Datum) ([]types.Datum, error)
}

// UserRuntimes is the set of language runtimes and the cache of compiled
// user functions, keyed by OID and definition: a replaced function
// compiles anew, and statements planned before keep the old one.
type UserRuntimes struct {
	langs map[string]UserRuntime

	mu    sync.Mutex
	cache map[userKey]any // *Scalar, *TableFunc or *Aggregate
}

type userKey struct {
	oid  uint32
	hash uint64
}

// NewUserRuntimes returns runtimes for the languages given by name
// ("javascript", "wasm").
func NewUserRuntimes(langs map[string]UserRuntime) *UserRuntimes {
	return &UserRuntimes{langs: langs, cache: map[userKey]any{}}
}

// Knows reports whether lang has a runtime.
func (u *UserRuntimes) Knows(lang string) bool {
	if u == nil {
		return false
	}
	_, ok := u.langs[lang]
	return ok
}

func (u *UserRuntimes) runtime(d *UserDef) (UserRuntime, error) {
	if u != nil {
		if r, ok := u.langs[d.Language]; ok {
			return r, nil
		}
	}
	return nil, sqlerr.New(sqlerr.UndefinedObject, "language %q does not exist", d.Language)
}

func defKey(d *UserDef) userKey {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%v\x00%v\x00%c\x00%v\x00%v/%d/%v\x00", d.Language, d.Signature, d.Ret, d.Set, d.Strict, d.Volatility, d.Aggregate, d.OrderedSet, d.NumDirect, d.Procedure)
	for i, t := range d.ArgTypes {
		fmt.Fprintf(h, "%s %s,", d.ArgNames[i], t)
	}
	for i, c := range d.Cols {
		fmt.Fprintf(h, "%s %s,", c, d.ColTypes[i])
	}
	h.Write([]byte(d.Body))
	h.Write([]byte{0})
	h.Write(d.Binary)
	return userKey{oid: d.OID, hash: h.Sum64()}
}

// Scalar returns the compiled scalar function of d, compiling it on first
// use.
func (u *UserRuntimes) Scalar(d *UserDef) (*Scalar, error) {
	v, err := u.compiled(d, func(r UserRuntime) (any, error) {
		s, err := r.CompileScalar(d)
		if err == nil && s.Volatility == Immutable {
			// The planner folds immutable calls of constants while it
			// plans, outside the statement's limits and cancellation;
			// sandboxed code runs when the statement runs instead. The
			// catalog keeps the declared volatility (views check it).
			s.Volatility = Stable
		}
		return s, err
	})
	if err != nil {
		return nil, err
	}
	return v.(*Scalar), nil
}

// Table returns the compiled table function of d.
func (u *UserRuntimes) Table(d *UserDef) (*TableFunc, error) {
	v, err := u.compiled(d, func(r UserRuntime) (any, error) { return r.CompileTable(d) })
	if err != nil {
		return nil, err
	}
	return v.(*TableFunc), nil
}

// Aggregate returns the compiled aggregate of d.
func (u *UserRuntimes) Aggregate(d *UserDef) (*Aggregate, error) {
	v, err := u.compiled(d, func(r UserRuntime) (any, error) { return compileAggregate(r, d) })
	if err != nil {
		return nil, err
	}
	return v.(*Aggregate), nil
}

// Procedure returns the compiled procedure of d.
func (u *UserRuntimes) Procedure(d *UserDef) (*Procedure, error) {
	v, err := u.compiled(d, func(r UserRuntime) (any, error) { return compileProcedure(r, d) })
	if err != nil {
		return nil, err
	}
	return v.(*Procedure), nil
}

func compileProcedure(r UserRuntime, d *UserDef) (*Procedure, error) {
	pr, ok := r.(ProcedureRuntime)
	if !ok {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "procedures in LANGUAGE %s are not supported", d.Language).
			WithHint("Write the procedure in LANGUAGE sql or javascript; it can call functions in any language.")
	}
	return pr.CompileProcedure(d)
}

func compileAggregate(r UserRuntime, d *UserDef) (*Aggregate, error) {
	ar, ok := r.(AggregateRuntime)
	if !ok {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "aggregates in LANGUAGE %s are not supported", d.Language)
	}
	return ar.CompileAggregate(d)
}

// Check compiles d without keeping it (CREATE FUNCTION validates the body).
func (u *UserRuntimes) Check(d *UserDef) error {
	r, err := u.runtime(d)
	if err != nil {
		return err
	}
	if d.Aggregate {
		_, err = compileAggregate(r, d)
		return err
	}
	if d.Procedure {
		_, err = compileProcedure(r, d)
		return err
	}
	if d.Set {
		_, err = r.CompileTable(d)
	} else {
		_, err = r.CompileScalar(d)
	}
	return err
}

func (u *UserRuntimes) compiled(d *UserDef, compile func(UserRuntime) (any, error)) (any, error) {
	r, err := u.runtime(d)
	if err != nil {
		return nil, err
	}
	k := defKey(d)
	u.mu.Lock()
	v, ok := u.cache[k]
	u.mu.Unlock()
	if ok {
		return v, nil
	}
	v, err = compile(r)
	if err != nil {
		return nil, err
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if old, ok := u.cache[k]; ok {
		return old, nil
	}
	// Older versions of a replaced function stay only while in use by the
	// plans that hold them; the cache keeps the newest per OID.
	for ok := range u.cache {
		if ok.oid == k.oid && k.oid != 0 {
			delete(u.cache, ok)
		}
	}
	u.cache[k] = v
	return v, nil
}

// Close closes the runtimes that hold resources of their own (compiled
// WebAssembly code).
func (u *UserRuntimes) Close() error {
	if u == nil {
		return nil
	}
	var errs []error
	for _, r := range u.langs {
		if c, ok := r.(interface{ Close() error }); ok {
			errs = append(errs, c.Close())
		}
	}
	return errors.Join(errs...)
}

// Forget drops the compiled versions of function oid (DROP FUNCTION).
func (u *UserRuntimes) Forget(oid uint32) {
	if u == nil {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	for k := range u.cache {
		if k.oid == oid {
			delete(u.cache, k)
		}
	}
}

// Limits bound one call of a user function in a sandboxed language.
type Limits struct {
	// Timeout is the longest one call (one row) may run.
	Timeout time.Duration
	// Memory is how much a call may grow the heap (JavaScript) or the
	// module's linear memory (WebAssembly), in bytes.
	Memory int64
}

// Defaults of the udf_timeout and udf_memory_limit settings.
const (
	DefaultUDFTimeout = time.Second
	DefaultUDFMemory  = 256 << 20
)

// UserLimits reads the udf_timeout and udf_memory_limit settings of env,
// with their defaults.
func UserLimits(env *Env) Limits {
	l := Limits{Timeout: DefaultUDFTimeout, Memory: DefaultUDFMemory}
	if env == nil || env.Settings == nil {
		return l
	}
	if v, ok := env.Settings("udf_timeout"); ok && v != "" {
		if d, err := ParseDurationSetting(v); err == nil && d > 0 {
			l.Timeout = d
		}
	}
	if v, ok := env.Settings("udf_memory_limit"); ok && v != "" {
		if n, err := ParseBytesSetting(v); err == nil && n > 0 {
			l.Memory = n
		}
	}
	return l
}

// ParseDurationSetting reads a duration setting as PostgreSQL does for
// its timeouts: a bare number is milliseconds, or a number with a unit
// (ms, s, min, h, d; "1s", "500ms", "2 min").
func ParseDurationSetting(v string) (time.Duration, error) {
	s := strings.TrimSpace(strings.Trim(v, "'\" "))
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
		i++
	}
	num, unit := s[:i], strings.ToLower(strings.TrimSpace(s[i:]))
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("invalid duration %q", v)
	}
	var u time.Duration
	switch unit {
	case "", "ms":
		u = time.Millisecond
	case "us":
		u = time.Microsecond
	case "s", "sec", "second", "seconds":
		u = time.Second
	case "min", "minute", "minutes":
		u = time.Minute
	case "h", "hour", "hours":
		u = time.Hour
	case "d", "day", "days":
		u = 24 * time.Hour
	default:
		return 0, fmt.Errorf("invalid duration unit %q", unit)
	}
	return time.Duration(f * float64(u)), nil
}

// ParseBytesSetting reads a memory setting: a bare number is kilobytes,
// as PostgreSQL's memory settings, or a number with kB, MB, GB.
func ParseBytesSetting(v string) (int64, error) {
	s := strings.TrimSpace(strings.Trim(v, "'\" "))
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid memory size %q", v)
	}
	switch strings.ToUpper(strings.TrimSpace(s[i:])) {
	case "", "KB":
		return n << 10, nil
	case "B":
		return n, nil
	case "MB":
		return n << 20, nil
	case "GB":
		return n << 30, nil
	case "TB":
		return n << 40, nil
	}
	return 0, fmt.Errorf("invalid memory unit in %q", v)
}

// RowError reports one row a user function failed on while env says
// failing rows are not the statement's end (Env.OnRowError): the row's
// result is NULL and the handler records it. It returns false when the
// caller must fail instead.
func RowError(env *Env, fn string, err error, args []types.Datum, argTypes []types.T) bool {
	if env == nil || env.OnRowError == nil {
		return false
	}
	env.OnRowError(fn, err, args, argTypes)
	return true
}
