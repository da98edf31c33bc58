// Package catalog holds the schemas and relations (tables, views,
// materialized views, sources and sinks) of the database.
//
// The catalog lives in memory and in storage under the catalog prefix:
//
//	'c' "nsp/" + name           a Schema as JSON
//	'c' "rel/" + OID (4 bytes)  a Relation as JSON
//	'c' "fn/" + OID (4 bytes)   a Function as JSON (function.go)
//	'c' "role/" + OID (4 bytes) a Role as JSON (role.go)
//	'c' "meta/nextoid"          the next OID to assign (8 bytes, big endian)
//
// Open loads it all; every mutation writes the changed entries and the OID
// counter in one synced commit before it publishes the change in memory,
// so a mutation that returned survives a crash and one that failed left
// nothing behind.
//
// Readers never see a half-made change: a published *Relation is never
// modified (mutations publish a changed copy), and the maps are guarded by
// an RWMutex. Mutations are serialized among themselves.
package catalog

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"streamsql/sql/sqlerr"
	"streamsql/storage"
)

// Fixed OIDs of the built-in schemas (as in PostgreSQL) and the first OID
// of user objects.
const (
	OIDPgCatalog         uint32 = 11
	OIDPublic            uint32 = 2200
	OIDInformationSchema uint32 = 13207
	FirstUserOID         uint32 = 16384
)

// DefaultOwner owns the built-in schemas and objects created without an
// owner.
const DefaultOwner = "streamsql"

// Schema is a namespace of relations.
type Schema struct {
	OID   uint32
	Name  string
	Owner string
	// ACL lists the privileges (U USAGE, C CREATE) granted on the schema
	// (acl.go); nil while the default holds.
	ACL []ACLItem `json:",omitempty"`
}

// Catalog is the set of schemas and relations.
type Catalog struct {
	db *storage.DB

	// writeMu serializes mutations; mu guards the maps below.
	writeMu sync.Mutex
	mu      sync.RWMutex
	schemas map[string]Schema
	byOID   map[uint32]*Relation
	byName  map[string]map[string]*Relation // schema -> name -> relation
	funcs   funcIndex
	roles   map[string]*Role // by name
	// allRoleSettings are the ALTER ROLE ALL settings (role_settings.go).
	allRoleSettings map[string]map[string]string
	nextOID         uint32
	// rowSecurity counts the relations with row security enabled.
	rowSecurity int
	// version counts published changes (Version).
	version atomic.Uint64
}

// Catalog keys.
var (
	keySchemaPrefix = []byte("cnsp/")
	keyRelPrefix    = []byte("crel/")
	keyNextOID      = []byte("cmeta/nextoid")
)

func schemaKey(name string) []byte { return append(slices.Clone(keySchemaPrefix), name...) }

// oidKey is the key of the object oid under prefix.
func oidKey(prefix []byte, oid uint32) []byte {
	return binary.BigEndian.AppendUint32(slices.Clone(prefix), oid)
}

func (s Schema) key() []byte    { return schemaKey(s.Name) }
func (r *Relation) key() []byte { return oidKey(keyRelPrefix, r.OID) }
func (f *Function) key() []byte { return oidKey(keyFuncPrefix, f.OID) }
func (r *Role) key() []byte     { return oidKey(keyRolePrefix, r.OID) }

// Open loads the catalog from db, creating the built-in schemas on first
// use.
func Open(db *storage.DB) (*Catalog, error) {
	c := &Catalog{
		db:      db,
		schemas: map[string]Schema{},
		byOID:   map[uint32]*Relation{},
		byName:  map[string]map[string]*Relation{},
		roles:   map[string]*Role{},
		nextOID: FirstUserOID,
	}
	if err := c.load(); err != nil {
		return nil, fmt.Errorf("catalog: load: %w", err)
	}
	if len(c.schemas) == 0 {
		txn := db.Begin()
		for _, s := range []Schema{
			{OID: OIDPgCatalog, Name: "pg_catalog", Owner: DefaultOwner},
			{OID: OIDPublic, Name: "public", Owner: DefaultOwner},
			{OID: OIDInformationSchema, Name: "information_schema", Owner: DefaultOwner},
		} {
			if err := putJSON(txn, s.key(), s); err != nil {
				txn.Rollback()
				return nil, err
			}
			c.schemas[s.Name] = s
		}
		if err := txn.Set(keyNextOID, binary.BigEndian.AppendUint64(nil, uint64(c.nextOID))); err != nil {
			txn.Rollback()
			return nil, err
		}
		if err := txn.Commit(); err != nil {
			return nil, fmt.Errorf("catalog: initialize: %w", err)
		}
	}
	return c, nil
}

func (c *Catalog) load() error {
	snap := c.db.Snapshot()
	defer snap.Close()
	lo := []byte{storage.PrefixCatalog}
	it, err := snap.NewIter(lo, storage.PrefixEnd(lo))
	if err != nil {
		return err
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		k, v := it.Key(), it.Value()
		switch {
		case hasPrefix(k, keySchemaPrefix):
			var s Schema
			if err := json.Unmarshal(v, &s); err != nil {
				return fmt.Errorf("schema %q: %w", k[len(keySchemaPrefix):], err)
			}
			c.schemas[s.Name] = s
		case hasPrefix(k, keyRelPrefix):
			r := &Relation{}
			if err := json.Unmarshal(v, r); err != nil {
				return fmt.Errorf("relation %x: %w", k[len(keyRelPrefix):], err)
			}
			c.publish(r)
		case hasPrefix(k, keyFuncPrefix):
			if err := c.loadFunction(k, v); err != nil {
				return err
			}
		case hasPrefix(k, keyRolePrefix):
			if err := c.loadRole(v); err != nil {
				return err
			}
		case string(k) == string(keyAllRoleSettings):
			if err := json.Unmarshal(v, &c.allRoleSettings); err != nil {
				return fmt.Errorf("settings of all roles: %w", err)
			}
		case string(k) == string(keyNextOID):
			if len(v) != 8 {
				return fmt.Errorf("next OID: corrupt value of %d bytes", len(v))
			}
			c.nextOID = uint32(binary.BigEndian.Uint64(v))
		}
	}
	return it.Close()
}

func hasPrefix(k, p []byte) bool { return len(k) >= len(p) && string(k[:len(p)]) == string(p) }

// writeObjects deletes the key of each of drops from txn, then writes each
// of puts under its key as JSON.
func writeObjects[T any](txn *storage.Txn, puts, drops []T, key func(T) []byte) error {
	for _, v := range drops {
		if err := txn.Delete(key(v)); err != nil {
			return err
		}
	}
	for _, v := range puts {
		if err := putJSON(txn, key(v), v); err != nil {
			return err
		}
	}
	return nil
}

func putJSON(txn *storage.Txn, key []byte, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return txn.Set(key, b)
}

// publish makes r visible (replacing the relation with its OID), with
// c.mu held for writing or before c is shared.
func (c *Catalog) publish(r *Relation) {
	if old := c.byOID[r.OID]; old != nil {
		delete(c.byName[old.Schema], old.Name)
		if old.RowSecurity {
			c.rowSecurity--
		}
	}
	if r.RowSecurity {
		c.rowSecurity++
	}
	c.byOID[r.OID] = r
	m := c.byName[r.Schema]
	if m == nil {
		m = map[string]*Relation{}
		c.byName[r.Schema] = m
	}
	m[r.Name] = r
}

func (c *Catalog) unpublish(r *Relation) {
	if old := c.byOID[r.OID]; old != nil && old.RowSecurity {
		c.rowSecurity--
	}
	delete(c.byOID, r.OID)
	delete(c.byName[r.Schema], r.Name)
}

// Relation returns the relation schema.name.
func (c *Catalog) Relation(schema, name string) (*Relation, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	r, ok := c.byName[schema][name]
	return r, ok
}

// Resolve finds an unqualified relation name along a search path.
// pg_catalog is searched first unless the path names it, as in PostgreSQL.
func (c *Catalog) Resolve(searchPath []string, name string) (*Relation, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if !slices.Contains(searchPath, "pg_catalog") {
		if r, ok := c.byName["pg_catalog"][name]; ok {
			return r, nil
		}
	}
	for _, s := range searchPath {
		if r, ok := c.byName[s][name]; ok {
			return r, nil
		}
	}
	return nil, sqlerr.New(sqlerr.UndefinedTable, "relation %q does not exist", name)
}

// ByOID returns the relation with OID oid.
func (c *Catalog) ByOID(oid uint32) (*Relation, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	r, ok := c.byOID[oid]
	return r, ok
}

// Relations returns every relation, sorted by schema and name.
func (c *Catalog) Relations() []*Relation {
	c.mu.RLock()
	out := make([]*Relation, 0, len(c.byOID))
	for _, r := range c.byOID {
		out = append(out, r)
	}
	c.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Schema != out[j].Schema {
			return out[i].Schema < out[j].Schema
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// Schemas returns every schema, sorted by name.
func (c *Catalog) Schemas() []Schema {
	c.mu.RLock()
	out := make([]Schema, 0, len(c.schemas))
	for _, s := range c.schemas {
		out = append(out, s)
	}
	c.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// SchemaByName returns the schema called name.
func (c *Catalog) SchemaByName(name string) (Schema, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	s, ok := c.schemas[name]
	return s, ok
}

// Dependents returns the relations that depend directly on oid, sorted by
// schema and name.
func (c *Catalog) Dependents(oid uint32) []*Relation {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.dependentsLocked(oid, relationDeps)
}

// relationDeps and functionDeps say what a relation depends on: other
// relations, or the functions it calls.
func relationDeps(r *Relation) []uint32 { return r.DependsOn }
func functionDeps(r *Relation) []uint32 { return r.FuncDeps }

// dependentsLocked returns the relations whose deps hold oid, sorted by
// schema and name (c.mu held).
func (c *Catalog) dependentsLocked(oid uint32, deps func(*Relation) []uint32) []*Relation {
	return c.relationsWhere(func(r *Relation) bool { return slices.Contains(deps(r), oid) })
}

// relationsWhere returns the relations for which keep holds, sorted by
// schema and name (c.mu held).
func (c *Catalog) relationsWhere(keep func(*Relation) bool) []*Relation {
	var out []*Relation
	for _, r := range c.byOID {
		if keep(r) {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Schema != out[j].Schema {
			return out[i].Schema < out[j].Schema
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// change is one mutation being prepared: relations to write and delete,
// schemas to write and delete. commit makes it durable, then visible.
type change struct {
	putRels   []*Relation
	dropRels  []*Relation
	putNsp    []Schema
	dropNsp   []string
	putFns    []*Function
	dropFns   []*Function
	putRoles  []*Role
	dropRoles []*Role
	nextOID   uint32
}

// commit writes ch in one synced transaction and publishes it. c.writeMu
// must be held.
func (c *Catalog) commit(ch *change) error {
	txn := c.db.Begin()
	err := func() error {
		// Drops go before puts in each kind, the order they are published in.
		for _, write := range []func() error{
			func() error { return writeObjects(txn, ch.putRels, ch.dropRels, (*Relation).key) },
			func() error { return writeObjects(txn, nil, ch.dropNsp, schemaKey) },
			func() error { return writeObjects(txn, ch.putNsp, nil, Schema.key) },
			func() error { return writeObjects(txn, ch.putFns, ch.dropFns, (*Function).key) },
			func() error { return writeObjects(txn, ch.putRoles, ch.dropRoles, (*Role).key) },
		} {
			if err := write(); err != nil {
				return err
			}
		}
		if ch.nextOID != 0 {
			if err := txn.Set(keyNextOID, binary.BigEndian.AppendUint64(nil, uint64(ch.nextOID))); err != nil {
				return err
			}
		}
		return txn.Commit()
	}()
	if err != nil {
		txn.Rollback()
		return fmt.Errorf("catalog: commit: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range ch.dropRels {
		c.unpublish(r)
	}
	for _, r := range ch.putRels {
		c.publish(r)
	}
	c.publishFunctions(ch)
	c.publishRoles(ch)
	for _, n := range ch.dropNsp {
		delete(c.schemas, n)
		delete(c.byName, n)
	}
	for _, s := range ch.putNsp {
		c.schemas[s.Name] = s
	}
	if ch.nextOID != 0 {
		c.nextOID = ch.nextOID
	}
	c.version.Add(1)
	return nil
}

// Version counts the changes published so far: anything derived from the
// catalog (a cached plan) is stale once the version moved.
func (c *Catalog) Version() uint64 { return c.version.Load() }

// CreateRelation adds r, assigning its OID and column numbers, and returns
// the published relation. r itself is not retained.
func (c *Catalog) CreateRelation(r *Relation) (*Relation, error) {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if _, ok := c.SchemaByName(r.Schema); !ok {
		return nil, sqlerr.New(sqlerr.UndefinedSchema, "schema %q does not exist", r.Schema)
	}
	if _, ok := c.Relation(r.Schema, r.Name); ok || c.indexNameTaken(r.Schema, r.Name) {
		return nil, sqlerr.New(sqlerr.DuplicateTable, "relation %q already exists", r.Name)
	}
	if r.ACL == nil && r.Kind != KindSink {
		r.ACL = c.defaultRelationACL(owner(r.Owner), r.Schema, r.Kind)
	}
	seen := map[string]bool{}
	for _, col := range r.Columns {
		if col.Dropped {
			continue
		}
		if seen[col.Name] {
			return nil, sqlerr.New(sqlerr.DuplicateColumn, "column %q specified more than once", col.Name)
		}
		seen[col.Name] = true
	}
	for _, k := range r.PrimaryKey {
		if k < 0 || k >= len(r.Columns) {
			return nil, fmt.Errorf("catalog: primary key column %d out of range", k)
		}
	}
	r = c.splitFuncDeps(r)
	for _, dep := range r.DependsOn {
		if _, ok := c.ByOID(dep); !ok {
			return nil, fmt.Errorf("catalog: %s depends on unknown relation %d", r.Name, dep)
		}
	}
	for _, dep := range r.FuncDeps {
		if _, ok := c.Function(dep); !ok {
			return nil, sqlerr.New(sqlerr.UndefinedFunction, "%s uses a function that no longer exists (OID %d)", r.Name, dep)
		}
	}
	n := r.Clone()
	n.OID = c.nextOID
	for i := range n.Columns {
		n.Columns[i].AttNum = int16(i + 1)
	}
	if n.Created.IsZero() {
		n.Created = time.Now().UTC()
	}
	if n.Owner == "" {
		n.Owner = DefaultOwner
	}
	next, err := c.checkNewIndexes(n, n.OID+1)
	if err != nil {
		return nil, err
	}
	if err := c.commit(&change{putRels: []*Relation{n}, nextOID: next}); err != nil {
		return nil, err
	}
	return n, nil
}

// dropOrder returns the relations that depend on oid, directly or not,
// deepest first, each once.
func (c *Catalog) dropOrder(oid uint32, seen map[uint32]bool, out []*Relation) []*Relation {
	for _, d := range c.dependentsLocked(oid, relationDeps) {
		if seen[d.OID] {
			continue
		}
		seen[d.OID] = true
		out = c.dropOrder(d.OID, seen, out)
		out = append(out, d)
	}
	return out
}

// dependencyError is PostgreSQL's refusal to drop obj while deps exist.
func dependencyError(objKind, objName string, deps []string) error {
	return sqlerr.New(sqlerr.DependentObjectsStillExist, "cannot drop %s %s because other objects depend on it", objKind, objName).
		WithDetail("%s", strings.Join(deps, "\n")).
		WithHint("Use DROP ... CASCADE to drop the dependent objects too.")
}

// dependencyLines appends to lines, depth first from on outwards, each
// dependent as depending on the relation through which it was reached, as
// PostgreSQL's detail lines do. visited holds relations already reported.
func (c *Catalog) dependencyLines(lines []string, on uint32, visited map[uint32]bool) []string {
	parent := c.byOID[on]
	for _, d := range c.dependentsLocked(on, relationDeps) {
		if visited[d.OID] {
			continue
		}
		visited[d.OID] = true
		lines = append(lines, fmt.Sprintf("%s %s depends on %s %s", d.Kind, d.qualifiedName(), parent.Kind, parent.qualifiedName()))
		lines = c.dependencyLines(lines, d.OID, visited)
	}
	return lines
}

// DropRelation drops the relation oid. With dependents it fails (2BP01)
// unless cascade, which drops them too. It returns everything dropped,
// dependents before what they depend on, so the caller can stop their jobs
// and delete their data.
func (c *Catalog) DropRelation(oid uint32, cascade bool) ([]*Relation, error) {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	r, err := c.rlockRelation(oid)
	if err != nil {
		return nil, err
	}
	deps := c.dropOrder(oid, map[uint32]bool{oid: true}, nil)
	var lines []string
	if len(deps) > 0 && !cascade {
		lines = c.dependencyLines(nil, oid, map[uint32]bool{oid: true})
	}
	c.mu.RUnlock()
	if lines != nil {
		return nil, dependencyError(r.Kind.String(), r.qualifiedName(), lines)
	}
	dropped := append(deps, r)
	if err := c.commit(&change{dropRels: dropped}); err != nil {
		return nil, err
	}
	return dropped, nil
}

// rlockRelation read-locks c and returns relation oid with the read lock
// held; without it, it fails (42P01) with the lock released.
func (c *Catalog) rlockRelation(oid uint32) (*Relation, error) {
	c.mu.RLock()
	r, ok := c.byOID[oid]
	if !ok {
		c.mu.RUnlock()
		return nil, noRelation(oid)
	}
	return r, nil
}

// noRelation is the error for a relation OID the catalog does not hold.
func noRelation(oid uint32) error {
	return sqlerr.New(sqlerr.UndefinedTable, "relation with OID %d does not exist", oid)
}

// alter applies f to a copy of relation oid and publishes the result.
func (c *Catalog) alter(oid uint32, f func(r *Relation) error) (*Relation, error) {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	old, ok := c.ByOID(oid)
	if !ok {
		return nil, noRelation(oid)
	}
	n := old.Clone()
	if err := f(n); err != nil {
		return nil, err
	}
	if err := c.commit(&change{putRels: []*Relation{n}}); err != nil {
		return nil, err
	}
	return n, nil
}

// AddColumn appends col (numbered after every existing column, dropped
// ones included). Rows written before read NULL for it.
func (c *Catalog) AddColumn(oid uint32, col Column) (*Relation, error) {
	return c.alter(oid, func(r *Relation) error {
		if r.ColumnIndex(col.Name) >= 0 {
			return sqlerr.New(sqlerr.DuplicateColumn, "column %q of relation %q already exists", col.Name, r.Name)
		}
		col.AttNum = int16(len(r.Columns) + 1)
		col.Dropped = false
		r.Columns = append(r.Columns, col)
		return nil
	})
}

// DropColumn marks the column name dropped. Dropping a primary key column
// drops the primary key, as PostgreSQL does: the caller must then re-key
// the table's rows (storage.Rekey), since they are stored by primary key.
// Relations that use the column (see Relation.ColumnDeps) make it fail
// (2BP01) unless cascade; with cascade they, and what depends on them, are
// dropped too and returned, dependents first.
func (c *Catalog) DropColumn(oid uint32, name string, cascade bool) (*Relation, []*Relation, error) {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	old, err := c.rlockRelation(oid)
	if err != nil {
		return nil, nil, err
	}
	i := old.ColumnIndex(name)
	if i < 0 {
		c.mu.RUnlock()
		return nil, nil, sqlerr.New(sqlerr.UndefinedColumn, "column %q of relation %q does not exist", name, old.Name)
	}
	attnum := old.Columns[i].AttNum
	seen := map[uint32]bool{oid: true}
	var deps []*Relation
	var lines []string
	visited := map[uint32]bool{oid: true}
	for _, d := range c.dependentsLocked(oid, relationDeps) {
		if !d.usesColumn(oid, attnum) || seen[d.OID] {
			continue
		}
		seen[d.OID] = true
		deps = c.dropOrder(d.OID, seen, deps)
		deps = append(deps, d)
		visited[d.OID] = true
		lines = append(lines, fmt.Sprintf("%s %s depends on column %s of %s %s", d.Kind, d.qualifiedName(), name, old.Kind, old.qualifiedName()))
		lines = c.dependencyLines(lines, d.OID, visited)
	}
	if cascade {
		lines = nil
	}
	c.mu.RUnlock()
	if lines != nil {
		return nil, nil, sqlerr.New(sqlerr.DependentObjectsStillExist, "cannot drop column %s of %s %s because other objects depend on it", name, old.Kind, old.qualifiedName()).
			WithDetail("%s", strings.Join(lines, "\n")).
			WithHint("Use DROP ... CASCADE to drop the dependent objects too.")
	}
	n := old.Clone()
	n.Columns[i].Dropped = true
	n.Columns[i].NotNull = false
	n.Columns[i].Default, n.Columns[i].Seq, n.Columns[i].Identity = "", 0, 0
	n.Indexes = dropIndexesOn(n.Indexes, i)
	dropConstraintsOn(n, i)
	if slices.Contains(n.PrimaryKey, i) {
		n.PrimaryKey = nil
	}
	if err := c.commit(&change{putRels: []*Relation{n}, dropRels: deps}); err != nil {
		return nil, nil, err
	}
	return n, deps, nil
}

// RenameColumn renames a column.
func (c *Catalog) RenameColumn(oid uint32, oldName, newName string) (*Relation, error) {
	return c.alter(oid, func(r *Relation) error {
		i := r.ColumnIndex(oldName)
		if i < 0 {
			return sqlerr.New(sqlerr.UndefinedColumn, "column %q does not exist", oldName)
		}
		if r.ColumnIndex(newName) >= 0 {
			return sqlerr.New(sqlerr.DuplicateColumn, "column %q of relation %q already exists", newName, r.Name)
		}
		r.Columns[i].Name = newName
		for j := range r.Watermarks {
			if r.Watermarks[j].Column == oldName {
				r.Watermarks[j].Column = newName
			}
		}
		return nil
	})
}

// RenameRelation renames a relation within its schema.
func (c *Catalog) RenameRelation(oid uint32, newName string) (*Relation, error) {
	return c.alter(oid, func(r *Relation) error {
		if _, ok := c.Relation(r.Schema, newName); ok {
			return sqlerr.New(sqlerr.DuplicateTable, "relation %q already exists", newName)
		}
		r.Name = newName
		return nil
	})
}

// SetComment sets (or with "" clears) a relation's comment.
func (c *Catalog) SetComment(oid uint32, comment string) (*Relation, error) {
	return c.alter(oid, func(r *Relation) error {
		r.Comment = comment
		return nil
	})
}

// UpdateRelation replaces relation r.OID with r (same OID; name, schema,
// options or definition may change). For changes the other mutations do
// not cover.
func (c *Catalog) UpdateRelation(r *Relation) (*Relation, error) {
	return c.alter(r.OID, func(n *Relation) error {
		if (n.Name != r.Name || n.Schema != r.Schema) && c.hasRelation(r.Schema, r.Name) {
			return sqlerr.New(sqlerr.DuplicateTable, "relation %q already exists", r.Name)
		}
		if _, ok := c.SchemaByName(r.Schema); !ok {
			return sqlerr.New(sqlerr.UndefinedSchema, "schema %q does not exist", r.Schema)
		}
		*n = *c.splitFuncDeps(r)
		return nil
	})
}

func (c *Catalog) hasRelation(schema, name string) bool {
	_, ok := c.Relation(schema, name)
	return ok
}

// CreateSchema adds a schema; with ifNotExists an existing one is no error.
func (c *Catalog) CreateSchema(name string, ifNotExists bool) error {
	return c.CreateSchemaOwned(name, DefaultOwner, ifNotExists)
}

// CreateSchemaOwned is CreateSchema with an owner.
func (c *Catalog) CreateSchemaOwned(name, owner string, ifNotExists bool) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if _, ok := c.SchemaByName(name); ok {
		if ifNotExists {
			return nil
		}
		return sqlerr.New(sqlerr.DuplicateSchema, "schema %q already exists", name)
	}
	s := Schema{OID: c.nextOID, Name: name, Owner: owner}
	return c.commit(&change{putNsp: []Schema{s}, nextOID: s.OID + 1})
}

// DropSchema drops a schema. A schema holding relations cannot be dropped
// (2BP01) unless cascade, which drops them and whatever depends on them,
// and returns them all, dependents first.
func (c *Catalog) DropSchema(name string, cascade bool) ([]*Relation, error) {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if name == "pg_catalog" || name == "information_schema" {
		return nil, sqlerr.New(sqlerr.DependentObjectsStillExist, "cannot drop schema %s because it is required by the database system", name)
	}
	if _, ok := c.SchemaByName(name); !ok {
		return nil, sqlerr.New(sqlerr.UndefinedSchema, "schema %q does not exist", name)
	}
	c.mu.RLock()
	members := make([]*Relation, 0, len(c.byName[name]))
	for _, r := range c.byName[name] {
		members = append(members, r)
	}
	sort.Slice(members, func(i, j int) bool { return members[i].Name < members[j].Name })
	seen := map[uint32]bool{}
	var order []*Relation
	for _, r := range members {
		if seen[r.OID] {
			continue
		}
		seen[r.OID] = true
		order = c.dropOrder(r.OID, seen, order)
		order = append(order, r)
	}
	fns := c.schemaFunctionsLocked(name)
	var fnLines []string
	fnVisited := map[uint32]bool{}
	for _, r := range members {
		fnVisited[r.OID] = true
	}
	for _, f := range fns {
		var ls []string
		order, ls = c.funcDropOrder(f, seen, fnVisited, order, nil)
		fnLines = append(fnLines, fmt.Sprintf("function %s.%s(%s) depends on schema %s", f.Schema, f.Name, TypeList(f.ArgTypes), name))
		fnLines = append(fnLines, ls...)
	}
	var lines []string
	if (len(order) > 0 || len(fns) > 0) && !cascade {
		visited := map[uint32]bool{}
		for _, r := range members {
			visited[r.OID] = true
		}
		for _, r := range members {
			lines = append(lines, fmt.Sprintf("%s %s depends on schema %s", r.Kind, r.Schema+"."+r.Name, name))
			lines = c.dependencyLines(lines, r.OID, visited)
		}
		lines = append(lines, fnLines...)
	}
	c.mu.RUnlock()
	if lines != nil {
		return nil, dependencyError("schema", name, lines)
	}
	if err := c.commit(&change{dropRels: order, dropFns: fns, dropNsp: []string{name}}); err != nil {
		return nil, err
	}
	return order, nil
}
