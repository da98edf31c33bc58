package catalog

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// User functions (CREATE FUNCTION) live beside the relations:
//
//	'c' "fn/" + OID (4 bytes)  a Function as JSON
//
// Their OIDs come from the same counter as relations, so an OID names one
// object of either kind. Functions are overloaded: a schema may hold
// several functions of one name whose argument types differ. Relations
// that call a function (views, materialized views, sinks) list its OID in
// Relation.FuncDeps, so DROP FUNCTION can refuse or cascade as it does for
// relations.

var keyFuncPrefix = []byte("cfn/")

// Function volatilities, with pg_proc.provolatile's letters.
const (
	Immutable byte = 'i'
	Stable    byte = 's'
	Volatile  byte = 'v'
)

// Function is a user-defined function. A *Function handed out by the
// catalog is never modified.
type Function struct {
	OID    uint32
	Schema string
	Name   string
	// ArgNames has one entry per argument, "" for an unnamed one.
	ArgNames []string
	ArgTypes []types.T
	// ArgDefaults are the SQL texts of the DEFAULT expressions of the
	// last len(ArgDefaults) input parameters (pg_proc.proargdefaults).
	ArgDefaults []string `json:",omitempty"`
	// Variadic: the last input parameter is VARIADIC, an array that a
	// call's trailing arguments fill (pg_proc.provariadic); aggregates
	// say so in Agg.Variadic.
	Variadic bool `json:",omitempty"`
	RetType  types.T
	// RetSet: a table function (RETURNS SETOF RetType, or RETURNS TABLE
	// with the columns OutNames and OutTypes; RetType is then record).
	RetSet   bool      `json:",omitempty"`
	OutNames []string  `json:",omitempty"`
	OutTypes []types.T `json:",omitempty"`
	// RowType names the table whose row type a RETURNS SETOF table
	// function returns; OutNames and OutTypes are its columns when the
	// function was created.
	RowType string `json:",omitempty"`
	// Language is the LANGUAGE, lower-case ("sql", "javascript", "wasm").
	Language string
	// Body is the function's body: for AS '...' the string as given (the
	// pg_proc.prosrc), for a SQL-standard RETURN expr body the query
	// "SELECT expr" it stands for.
	Body string
	// StdBody: the body was written RETURN expr.
	StdBody bool `json:",omitempty"`
	// AtomicBody: the body was written BEGIN ATOMIC SELECT ...; END (Body
	// is that SELECT).
	AtomicBody bool `json:",omitempty"`
	// Statements: a LANGUAGE sql body of several statements, or of one
	// that writes (INSERT, UPDATE, DELETE). It is not inlined: each call
	// runs the statements in turn and returns the last one's first row.
	// Writes says that some statement writes.
	Statements bool `json:",omitempty"`
	Writes     bool `json:",omitempty"`
	Volatility byte
	// Strict functions return NULL, without evaluating the body, when
	// any argument is NULL (STRICT, RETURNS NULL ON NULL INPUT).
	Strict bool
	// SecurityDefiner: the body reads with its owner's rights (SECURITY
	// DEFINER), not the caller's.
	SecurityDefiner bool `json:",omitempty"`
	Owner           string
	Created         time.Time
	// ACL lists the privileges (X EXECUTE) granted on the function
	// (acl.go); nil while the default holds.
	ACL []ACLItem `json:",omitempty"`
	// Agg is set for an aggregate (aggregate.go).
	Agg *AggregateDef `json:",omitempty"`
	// Procedure: CREATE PROCEDURE, run by CALL (prokind 'p'). ArgNames
	// and ArgTypes are its input parameters (IN and INOUT), OutNames and
	// OutTypes its output parameters (INOUT and OUT), which CALL returns
	// as one row; RetType is void without output parameters, else
	// record.
	Procedure bool `json:",omitempty"`
	// ArgModes holds pg_proc.proargmodes' letters of a procedure's
	// parameters in the order written ('i' IN, 'b' INOUT, 'o' OUT); ""
	// when every parameter is IN.
	ArgModes string `json:",omitempty"`
}

// IsVariadic reports whether the last input parameter is VARIADIC.
func (f *Function) IsVariadic() bool {
	return (f.Variadic || f.Agg != nil && f.Agg.Variadic) && len(f.ArgTypes) > 0 && f.ArgTypes[len(f.ArgTypes)-1].Elem != nil
}

// CallParams returns the parameters of a procedure in the order written,
// with their modes: a CALL passes an argument for each, OUT ones
// included.
func (f *Function) CallParams() (names []string, ts []types.T, modes []byte) {
	if f.ArgModes == "" {
		modes = make([]byte, len(f.ArgTypes))
		for i := range modes {
			modes[i] = 'i'
		}
		return slices.Clone(f.ArgNames), slices.Clone(f.ArgTypes), modes
	}
	in, out := 0, 0
	for i := 0; i < len(f.ArgModes); i++ {
		m := f.ArgModes[i]
		switch m {
		case 'o':
			names, ts = append(names, f.OutNames[out]), append(ts, f.OutTypes[out])
			out++
		case 'b':
			names, ts = append(names, f.ArgNames[in]), append(ts, f.ArgTypes[in])
			in++
			out++
		default:
			names, ts = append(names, f.ArgNames[in]), append(ts, f.ArgTypes[in])
			in++
		}
		modes = append(modes, m)
	}
	return names, ts, modes
}

// Signature is the function's identity as PostgreSQL's format_procedure
// prints it in messages: name(type,...), qualified unless in public.
func (f *Function) Signature() string {
	name := f.Name
	if f.Schema != "public" {
		name = f.Schema + "." + name
	}
	return name + "(" + strings.ReplaceAll(TypeList(f.ArgTypes), ", ", ",") + ")"
}

// TypeList renders argument types as PostgreSQL does in function
// signatures: "integer, text".
func TypeList(ts []types.T) string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = t.String()
	}
	return strings.Join(parts, ", ")
}

// SameArgs reports whether two argument lists are the same signature:
// PostgreSQL compares type OIDs, so modifiers (varchar(10)) do not count.
func SameArgs(a, b []types.T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].OID() != b[i].OID() {
			return false
		}
	}
	return true
}

// clone returns a deep copy of f.
func (f *Function) clone() *Function {
	c := *f
	c.ArgNames = slices.Clone(f.ArgNames)
	c.ArgTypes = slices.Clone(f.ArgTypes)
	c.ArgDefaults = slices.Clone(f.ArgDefaults)
	c.OutNames = slices.Clone(f.OutNames)
	c.OutTypes = slices.Clone(f.OutTypes)
	return &c
}

// funcIndex holds the published functions; guarded by Catalog.mu.
type funcIndex struct {
	byOID  map[uint32]*Function
	byName map[string]map[string][]*Function // schema -> name -> overloads
}

func (x *funcIndex) init() {
	if x.byOID == nil {
		x.byOID = map[uint32]*Function{}
		x.byName = map[string]map[string][]*Function{}
	}
}

func (x *funcIndex) publish(f *Function) {
	x.init()
	if old := x.byOID[f.OID]; old != nil {
		x.unpublish(old)
	}
	x.byOID[f.OID] = f
	m := x.byName[f.Schema]
	if m == nil {
		m = map[string][]*Function{}
		x.byName[f.Schema] = m
	}
	m[f.Name] = append(m[f.Name], f)
}

func (x *funcIndex) unpublish(f *Function) {
	delete(x.byOID, f.OID)
	list := x.byName[f.Schema][f.Name]
	list = slices.DeleteFunc(slices.Clone(list), func(g *Function) bool { return g.OID == f.OID })
	if len(list) == 0 {
		delete(x.byName[f.Schema], f.Name)
	} else {
		x.byName[f.Schema][f.Name] = list
	}
}

func (c *Catalog) loadFunction(k, v []byte) error {
	f := &Function{}
	if err := json.Unmarshal(v, f); err != nil {
		return fmt.Errorf("function %x: %w", k[len(keyFuncPrefix):], err)
	}
	c.funcs.publish(f)
	return nil
}

// Function returns the function with OID oid.
func (c *Catalog) Function(oid uint32) (*Function, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	f, ok := c.funcs.byOID[oid]
	return f, ok
}

// FunctionsNamed returns the overloads of schema.name, sorted by OID.
func (c *Catalog) FunctionsNamed(schema, name string) []*Function {
	c.mu.RLock()
	out := slices.Clone(c.funcs.byName[schema][name])
	c.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].OID < out[j].OID })
	return out
}

// HasFunctionNamed reports whether any schema holds a function called
// name; the planner asks it before searching a path.
func (c *Catalog) HasFunctionNamed(name string) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, m := range c.funcs.byName {
		if len(m[name]) > 0 {
			return true
		}
	}
	return false
}

// Functions returns every user function, sorted by schema, name and OID.
func (c *Catalog) Functions() []*Function {
	c.mu.RLock()
	out := make([]*Function, 0, len(c.funcs.byOID))
	for _, f := range c.funcs.byOID {
		out = append(out, f)
	}
	c.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Schema != b.Schema {
			return a.Schema < b.Schema
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.OID < b.OID
	})
	return out
}

// LookupFunction finds the function schema.name with exactly these
// argument types (as DROP FUNCTION name(types) names one).
func (c *Catalog) LookupFunction(schema, name string, args []types.T) (*Function, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, f := range c.funcs.byName[schema][name] {
		if SameArgs(f.ArgTypes, args) {
			return f, true
		}
	}
	return nil, false
}

// FunctionDependents returns the relations that call function oid
// directly, sorted by schema and name.
func (c *Catalog) FunctionDependents(oid uint32) []*Relation {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.dependentsLocked(oid, functionDeps)
}

// splitFuncDeps returns a copy of r whose DependsOn entries that name
// functions (the planner collects relations and functions in one set)
// are moved to FuncDeps.
func (c *Catalog) splitFuncDeps(r *Relation) *Relation {
	n := r.Clone()
	n.DependsOn = n.DependsOn[:0]
	for _, oid := range r.DependsOn {
		if _, ok := c.Function(oid); ok {
			if !slices.Contains(n.FuncDeps, oid) {
				n.FuncDeps = append(n.FuncDeps, oid)
			}
			continue
		}
		n.DependsOn = append(n.DependsOn, oid)
	}
	slices.Sort(n.FuncDeps)
	return n
}

// CreateFunction adds f (assigning its OID), or with replace replaces the
// function of the same schema, name and argument types, keeping its OID.
// A replacement must keep the return type (42P13) and is refused while a
// materialized view or sink calls the function: their running jobs hold
// the body they were planned with. It returns the published function.
//
// A new function's OID is at least minOID (the caller's reserved range of
// built-in function OIDs ends below it).
func (c *Catalog) CreateFunction(f *Function, replace bool, minOID uint32) (*Function, error) {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if _, ok := c.SchemaByName(f.Schema); !ok {
		return nil, sqlerr.New(sqlerr.UndefinedSchema, "schema %q does not exist", f.Schema)
	}
	n := f.clone()
	if n.Created.IsZero() {
		n.Created = time.Now().UTC()
	}
	if n.Owner == "" {
		n.Owner = DefaultOwner
	}
	ch := &change{}
	if old, ok := c.LookupFunction(f.Schema, f.Name, f.ArgTypes); ok {
		if !replace {
			return nil, sqlerr.New(sqlerr.DuplicateFunction, "function %q already exists with same argument types", f.Name)
		}
		if old.Kind() != f.Kind() {
			return nil, sqlerr.New(sqlerr.WrongObjectType, "cannot change routine kind").
				WithDetail("%q is %s.", f.Name, map[byte]string{'a': "an aggregate function", 'f': "a function", 'p': "a procedure"}[old.Kind()])
		}
		if f.Procedure && (old.RetType.OID() != f.RetType.OID() || !SameArgs(old.OutTypes, f.OutTypes)) {
			return nil, sqlerr.New(sqlerr.InvalidFunctionDefinition, "cannot change whether a procedure has output parameters").
				WithHint("Use DROP PROCEDURE %s first.", old.Signature())
		}
		if old.RetType.OID() != f.RetType.OID() {
			return nil, sqlerr.New(sqlerr.InvalidFunctionDefinition, "cannot change return type of existing function").
				WithHint("Use DROP FUNCTION %s first.", old.Signature())
		}
		if len(f.ArgDefaults) < len(old.ArgDefaults) {
			// Calls that leave those parameters out would stop fitting.
			return nil, sqlerr.New(sqlerr.InvalidFunctionDefinition, "cannot remove parameter defaults from existing function").
				WithHint("Use DROP %s %s first.", strings.ToUpper(old.KindName()), old.Signature())
		}
		for _, d := range c.FunctionDependents(old.OID) {
			if d.Kind == KindMatView || d.Kind == KindSink {
				return nil, sqlerr.New(sqlerr.FeatureNotSupported, "cannot replace %s %s because %s %s uses it", old.KindName(), old.Signature(), d.Kind, d.qualifiedName()).
					WithDetail("A running %s keeps the body it was created with.", d.Kind).
					WithHint("Drop the %s (or use DROP FUNCTION ... CASCADE) and create it again.", d.Kind)
			}
		}
		n.OID, n.Created, n.Owner, n.ACL = old.OID, old.Created, old.Owner, old.ACL
	} else {
		n.OID = max(c.nextOID, minOID)
		ch.nextOID = n.OID + 1
	}
	ch.putFns = []*Function{n}
	if err := c.commit(ch); err != nil {
		return nil, err
	}
	return n, nil
}

// DropFunction drops function oid. Relations that call it, and
// aggregates it is a support function of, make it fail (2BP01) unless
// cascade, which drops them (and the relations that call those
// aggregates, and what depends on them) too. It returns the dropped
// relations, dependents first, and the dropped functions.
func (c *Catalog) DropFunction(oid uint32, cascade bool) ([]*Relation, []*Function, error) {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	c.mu.RLock()
	f, ok := c.funcs.byOID[oid]
	if !ok {
		c.mu.RUnlock()
		return nil, nil, sqlerr.New(sqlerr.UndefinedFunction, "function with OID %d does not exist", oid)
	}
	deps, aggs, lines := c.functionCascadeLocked(f)
	c.mu.RUnlock()
	if (len(deps) > 0 || len(aggs) > 0) && !cascade {
		return nil, nil, dependencyError("function", f.Signature(), lines)
	}
	fns := append(aggs, f)
	if err := c.commit(&change{dropRels: deps, dropFns: fns}); err != nil {
		return nil, nil, err
	}
	return deps, fns, nil
}

// FunctionCascadeRelations returns the relations DropFunction(oid, true)
// would drop, dependents first.
func (c *Catalog) FunctionCascadeRelations(oid uint32) []*Relation {
	c.mu.RLock()
	defer c.mu.RUnlock()
	f, ok := c.funcs.byOID[oid]
	if !ok {
		return nil
	}
	deps, _, _ := c.functionCascadeLocked(f)
	return deps
}

// functionCascadeLocked returns what dropping f takes with it: the
// relations that call it or the aggregates it supports (and what depends
// on them), dependents first; the aggregates; and PostgreSQL's detail
// lines for them. c.mu must be held.
func (c *Catalog) functionCascadeLocked(f *Function) (deps []*Relation, aggs []*Function, lines []string) {
	seen, visited := map[uint32]bool{}, map[uint32]bool{}
	deps, lines = c.funcDropOrder(f, seen, visited, nil, nil)
	// The aggregates f supports go with it, and the relations that call
	// them, as PostgreSQL's CASCADE does.
	aggs = c.aggregatesUsingLocked(f.OID)
	for _, a := range aggs {
		lines = append(lines, "function "+a.Signature()+" depends on function "+f.Signature())
		deps, lines = c.funcDropOrder(a, seen, visited, deps, lines)
	}
	return deps, aggs, lines
}

// RestoreFunction publishes prev, an earlier version of a function, in
// place of what its OID holds now (or again, when it was dropped since):
// a rolled-back transaction block undoes its changes of functions so. It
// fails (42723) when another function has taken prev's name and argument
// types since.
func (c *Catalog) RestoreFunction(prev *Function) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if g, ok := c.LookupFunction(prev.Schema, prev.Name, prev.ArgTypes); ok && g.OID != prev.OID {
		return sqlerr.New(sqlerr.DuplicateFunction, "function %s already exists with same argument types", g.Signature())
	}
	return c.commit(&change{putFns: []*Function{prev}})
}

// funcDropOrder appends to out the relations that call f and everything
// that depends on them, deepest first (seen holds those already placed),
// and to lines PostgreSQL's detail lines for them (visited holds the
// relations already reported). c.mu must be held.
func (c *Catalog) funcDropOrder(f *Function, seen, visited map[uint32]bool, out []*Relation, lines []string) ([]*Relation, []string) {
	for _, d := range c.dependentsLocked(f.OID, functionDeps) {
		if !visited[d.OID] {
			visited[d.OID] = true
			lines = append(lines, fmt.Sprintf("%s %s depends on function %s", d.Kind, d.qualifiedName(), f.Signature()))
			lines = c.dependencyLines(lines, d.OID, visited)
		}
		if seen[d.OID] {
			continue
		}
		seen[d.OID] = true
		out = c.dropOrder(d.OID, seen, out)
		out = append(out, d)
	}
	return out, lines
}

// schemaFunctions returns the functions of schema, sorted by name and
// OID. c.mu must be held.
func (c *Catalog) schemaFunctionsLocked(schema string) []*Function {
	var out []*Function
	for _, list := range c.funcs.byName[schema] {
		out = append(out, list...)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].OID < out[j].OID
	})
	return out
}

// publishFunctions makes the function part of ch visible; c.mu is held.
func (c *Catalog) publishFunctions(ch *change) {
	for _, f := range ch.dropFns {
		c.funcs.unpublish(f)
	}
	for _, f := range ch.putFns {
		c.funcs.publish(f)
	}
}

// RenameFunction renames function oid (ALTER FUNCTION|PROCEDURE ...
// RENAME TO). Another function of the new name with the same argument
// types makes it fail (42723). A function that views or sinks call keeps
// its name: their definitions name it.
func (c *Catalog) RenameFunction(oid uint32, name string) error {
	return c.alterFunction(oid, func(f *Function) error {
		if g, ok := c.LookupFunction(f.Schema, name, f.ArgTypes); ok && g.OID != f.OID {
			return sqlerr.New(sqlerr.DuplicateFunction, "function %s(%s) already exists in schema %q", name, TypeList(f.ArgTypes), f.Schema)
		}
		if deps := c.FunctionDependents(oid); len(deps) > 0 {
			return sqlerr.New(sqlerr.FeatureNotSupported, "cannot rename %s %s because %s %s uses it", f.KindName(), f.Signature(), deps[0].Kind, deps[0].qualifiedName())
		}
		f.Name = name
		return nil
	})
}
