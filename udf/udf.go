// Package udf is the function registry: built-in scalar functions and
// operators, aggregate functions and table functions, and (later) user
// functions. Functions work on whole Arrow columns: a scalar function takes
// its argument columns and returns its result column.
//
// Overload resolution follows PostgreSQL: an exact match first, then the
// candidates reachable by implicit casts, preferring the preferred type of
// each category (double precision among numbers, text among strings).
//
// Conventions the planner relies on:
//   - A declared argument of kind types.Unknown (udf.Any) is PostgreSQL's
//     polymorphic "any": it accepts every type uncast (an untyped literal
//     becomes text) and the function reads the actual types through
//     Scalar.EvalTyped (callers use Scalar.Call).
//   - EXTRACT(f FROM x) is the function extract(text, x) returning numeric;
//     date_part returns double precision.
//   - x LIKE p ESCAPE e is x ~~ like_escape(p, e), as PostgreSQL rewrites it.
//   - GREATEST/LEAST, COALESCE and NULLIF are expression nodes, not functions.
package udf

import (
	"context"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"streamsql/sql/types"
)

// Env is what a function may read about the statement that calls it.
type Env struct {
	Context context.Context
	// Location is the session's TimeZone.
	Location *time.Location
	// TxnTime is the start of the current transaction (now(), current_timestamp).
	TxnTime time.Time
	// StmtTime is the start of the current statement (statement_timestamp()).
	StmtTime time.Time
	// Settings reads a session setting (current_setting()); may be nil.
	Settings func(name string) (string, bool)
	// Catalog answers the catalog questions functions ask; may be nil.
	Catalog CatalogReader
	// Sessions reaches the server's sessions (pg_backend_pid,
	// pg_cancel_backend, pg_terminate_backend); may be nil.
	Sessions Sessions
	// OnRowError, when set, takes the rows a user function in a sandboxed
	// language fails on (a throw, a timeout, too much memory): the row's
	// result becomes NULL and the statement goes on. Streaming jobs set it
	// to record the row as a reject; ad-hoc statements leave it nil and
	// fail with the function's error.
	OnRowError func(fn string, err error, args []types.Datum, argTypes []types.T)
}

// CatalogReader is what functions may ask the catalog.
type CatalogReader interface {
	RelationOID(name string) (uint32, bool)
	TypeOID(name string) (uint32, bool)
	RelationName(oid uint32) (string, bool)
	CurrentSchema() string
	CurrentUser() string
	SessionUser() string
	CurrentDatabase() string
}

// Sessions is what the server-signalling functions ask of the server: the
// calling session's process id and the signalling of another session.
type Sessions interface {
	// BackendPID is the calling session's process id.
	BackendPID() int32
	// CancelBackend cancels the statement running in session pid, if the
	// caller may. It reports false (after a WARNING to the caller) when pid
	// is no session; a caller without the right gets 42501.
	CancelBackend(pid int32) (bool, error)
	// TerminateBackend ends session pid as CancelBackend cancels; with a
	// positive timeout it waits that long for the session to end.
	TerminateBackend(pid int32, timeout time.Duration) (bool, error)
	// AdvisoryLock takes the advisory lock named by keys (one bigint or
	// two integers) for the calling session, shared or exclusive, until
	// the transaction ends (xact) or it is unlocked; with try it reports
	// false instead of waiting.
	AdvisoryLock(ctx context.Context, keys []int64, shared, xact, try bool) (bool, error)
	// AdvisoryUnlock releases one session-level hold, reporting false
	// (after a WARNING) when there is none.
	AdvisoryUnlock(keys []int64, shared bool) bool
	// AdvisoryUnlockAll releases every session-level hold.
	AdvisoryUnlockAll()
	// TxidCurrent is the id of the calling session's transaction,
	// assigning one if it has none.
	TxidCurrent() (int64, error)
	// BlockingPIDs are the process ids of the sessions that session pid
	// waits for (pg_blocking_pids), in ascending order.
	BlockingPIDs(pid int32) []int32
	// Nextval advances sequence oid and returns its new value; Currval
	// and Lastval return the value nextval last gave this session (for
	// oid, or for any sequence); Setval sets the sequence's value.
	Nextval(oid uint32) (int64, error)
	// IdentityNextval is Nextval for an identity column's default: the
	// statement's INSERT or UPDATE privilege on the table stands for the
	// privileges on the sequence, as in PostgreSQL.
	IdentityNextval(oid uint32) (int64, error)
	Currval(oid uint32) (int64, error)
	Lastval() (int64, error)
	Setval(oid uint32, v int64, called bool) (int64, error)
	// SequenceRow is what SELECT * FROM the sequence shows: last_value,
	// log_cnt and is_called.
	SequenceRow(oid uint32) ([]types.Datum, error)
}

// PrivilegeChecker is implemented by catalog readers that know the
// privileges on relations (has_table_privilege).
type PrivilegeChecker interface {
	// HasTablePrivilege reports whether user (a name, an OID as int64,
	// or nil for the current role) holds any of privs (a comma-separated
	// list such as "SELECT, INSERT") on table, given as a name or an OID.
	HasTablePrivilege(user, table any, privs string) (bool, error)
	// HasColumnPrivilege is the same for a column of table (a name or
	// an attnum as int64), or for any column when column is nil.
	HasColumnPrivilege(user, table, column any, privs string) (bool, error)
	// HasSchemaPrivilege is the same for a schema (USAGE, CREATE).
	HasSchemaPrivilege(user, schema any, privs string) (bool, error)
	// HasFunctionPrivilege is the same for a function ('name(types)' or
	// an OID; EXECUTE).
	HasFunctionPrivilege(user, fn any, privs string) (bool, error)
	// HasDatabasePrivilege is the same for a database (CONNECT, CREATE,
	// TEMPORARY).
	HasDatabasePrivilege(user, db any, privs string) (bool, error)
	// HasSequencePrivilege is the same for a sequence (USAGE, SELECT,
	// UPDATE).
	HasSequencePrivilege(user, seq any, privs string) (bool, error)
	// HasRolePrivilege is pg_has_role: whether user is a member of role
	// (MEMBER), has its privileges (USAGE), or may grant it (... WITH
	// ADMIN OPTION); role is a name or an OID.
	HasRolePrivilege(user, role any, privs string) (bool, error)
}

// Volatility as in pg_proc.provolatile.
type Volatility byte

const (
	Immutable Volatility = 'i'
	Stable    Volatility = 's'
	Volatile  Volatility = 'v'
)

// ScalarFunc evaluates a scalar function over n rows. args are the
// argument columns, already of the overload's declared argument types (the
// caller inserts casts), each of length n.
type ScalarFunc func(env *Env, args []arrow.Array, n int) (arrow.Array, error)

// Scalar is one overload of a scalar function or operator.
type Scalar struct {
	Name string    // "upper", or the operator symbol "+", "=", "~~"
	Args []types.T // declared argument types
	// Variadic: the last element of Args repeats (concat, format, greatest).
	Variadic bool
	Ret      types.T
	// RetFn, if set, computes the result type from the actual argument
	// types (numeric scales, varchar widths); otherwise Ret is used.
	RetFn      func(args []types.T) types.T
	Volatility Volatility
	// Strict: any NULL argument gives NULL without calling Eval on that row
	// (Eval still receives the whole columns and must tolerate nulls, but
	// may produce any value for such rows; the caller masks them).
	Strict bool
	Eval   ScalarFunc
	// EvalTyped, if set, is used instead of Eval by callers that know the
	// actual argument types; functions with polymorphic "any" arguments
	// (declared as types.TUnknown: pg_typeof, concat, format) need them.
	EvalTyped func(env *Env, argTypes []types.T, args []arrow.Array, n int) (arrow.Array, error)
	OID       uint32 // pg_proc oid, for pg_catalog
}

// Call evaluates s with the actual argument types argTypes: EvalTyped when
// the overload has one, Eval otherwise.
func (s *Scalar) Call(env *Env, argTypes []types.T, args []arrow.Array, n int) (arrow.Array, error) {
	if s.EvalTyped != nil {
		return s.EvalTyped(env, argTypes, args, n)
	}
	return s.Eval(env, args, n)
}

// ResultType returns the result type for the given actual argument types.
func (s *Scalar) ResultType(args []types.T) types.T {
	if s.RetFn != nil {
		return s.RetFn(args)
	}
	return s.Ret
}

// SkipRow in a groups vector means "this row feeds no group" (FILTER false,
// a DISTINCT duplicate).
const SkipRow = ^uint32(0)

// Accumulator holds one aggregate's state for many groups at once (the
// groups-accumulator design): state is indexed by group number, and one
// Update call folds a whole batch in.
type Accumulator interface {
	// Update folds row i of args into group groups[i] (rows with SkipRow
	// are ignored). numGroups is the number of groups that exist now; the
	// accumulator grows its state to that size. len(groups) == n.
	Update(groups []uint32, numGroups int, args []arrow.Array, n int) error
	// Retract removes rows that an earlier Update added (streaming
	// retraction). Aggregates that cannot retract from their own state
	// (min, max, string_agg) return ErrNoRetract; the streaming operator
	// then keeps the inputs itself.
	Retract(groups []uint32, numGroups int, args []arrow.Array, n int) error
	// Finish returns the result for groups 0..numGroups-1 as one column.
	Finish(env *Env, numGroups int) (arrow.Array, error)
	// Release frees the state.
	Release()
}

// SizedAccumulator is an Accumulator whose state grows with the values it
// holds (string_agg, array_agg): Size is the bytes it holds now, so that
// the statement's memory account sees a single huge group.
type SizedAccumulator interface {
	Accumulator
	Size() int64
}

// Aggregate is one overload of an aggregate function.
type Aggregate struct {
	Name  string
	Args  []types.T // declared argument types; count(*) has none
	Ret   types.T
	RetFn func(args []types.T) types.T
	// New returns an empty accumulator for the given actual argument types.
	New func(args []types.T) Accumulator
	// Ordered: the result depends on input order (string_agg, array_agg).
	Ordered bool
	// WithinGroup: an ordered-set aggregate, called as f(direct args)
	// WITHIN GROUP (ORDER BY x); Args are the direct arguments, then x.
	WithinGroup bool
	OID         uint32
	// User: a user-defined aggregate (user_aggregate.go).
	User bool
	// Variadic: the last element of Args is an array a call's trailing
	// arguments fill (CREATE AGGREGATE f(VARIADIC int[])); the planner
	// passes the array.
	Variadic bool
	// OrderedSet: a user ordered-set aggregate (CREATE AGGREGATE
	// f(direct ORDER BY aggregated)), called WITHIN GROUP; its first
	// NumDirect arguments are the direct ones. One in PostgreSQL's form
	// gets its rows in input order, as in PostgreSQL; with SortedInput
	// (JavaScript, WebAssembly) they reach it sorted by the WITHIN GROUP
	// ordering, as those of a call with ORDER BY do.
	OrderedSet  bool
	NumDirect   int
	SortedInput bool
	// Retracts: NewRetracting returns state that takes rows back out, so
	// a materialized view keeps it incrementally instead of the group's
	// inputs.
	Retracts      bool
	NewRetracting func(args []types.T) GroupStates
	// Merges: the GroupStates NewRetracting returns are StateMergers (a
	// JavaScript or WebAssembly merge, a COMBINEFUNC), so a session
	// window that bridges sessions combines their states instead of
	// folding the merged session's rows again.
	Merges bool
}

// ResultType returns the aggregate's result type for actual argument types.
func (a *Aggregate) ResultType(args []types.T) types.T {
	if a.RetFn != nil {
		return a.RetFn(args)
	}
	return a.Ret
}

// RowIter yields a table function's rows in batches.
type RowIter interface {
	// Next returns up to max rows as columns, or n == 0 at the end.
	Next(max int) (cols []arrow.Array, n int, err error)
	Close()
}

// TableFunc is one overload of a set-returning function (generate_series,
// unnest, ...), usable in FROM.
type TableFunc struct {
	Name     string
	Args     []types.T
	Variadic bool
	// Cols returns the output column names and types for the actual
	// argument types (one column named after the function for scalar ones).
	Cols func(args []types.T) (names []string, ts []types.T)
	Eval func(env *Env, args []types.Datum, argTypes []types.T) (RowIter, error)
	OID  uint32
}

// UserTableFunc is the table function of user definition d (CREATE
// FUNCTION ... RETURNS TABLE or SETOF) with its declared columns,
// evaluated by eval.
func UserTableFunc(d *UserDef, eval func(env *Env, args []types.Datum, argTypes []types.T) (RowIter, error)) *TableFunc {
	cols, colTypes := d.Cols, d.ColTypes
	return &TableFunc{Name: d.Name, Args: d.ArgTypes, OID: d.OID,
		Cols: func([]types.T) ([]string, []types.T) { return cols, colTypes },
		Eval: eval}
}
