package catalog

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"streamsql/sql/sqlerr"
	"streamsql/storage"
)

// Index is a secondary index of a table: one made by CREATE INDEX, or the
// index behind a UNIQUE constraint. It is part of its table's Relation
// (persisted with it, dropped with it), and its name lives in the schema's
// relation namespace, as in PostgreSQL. Its entries are a key range of
// their own in storage (see storage/index.go).
type Index struct {
	OID  uint32
	Name string
	// Columns are the indexed columns, as indexes into the table's
	// Columns; Desc and NullsFirst hold their declared order.
	Columns    []int
	Desc       []bool `json:",omitempty"`
	NullsFirst []bool `json:",omitempty"`
	Unique     bool
	// Constraint says the index enforces a UNIQUE constraint of the same
	// name (pg_constraint contype 'u').
	Constraint bool `json:",omitempty"`
}

func cloneIndexes(xs []Index) []Index {
	if xs == nil {
		return nil
	}
	out := make([]Index, len(xs))
	for i, x := range xs {
		x.Columns = slices.Clone(x.Columns)
		x.Desc = slices.Clone(x.Desc)
		x.NullsFirst = slices.Clone(x.NullsFirst)
		out[i] = x
	}
	return out
}

// Storage returns the storage view of the index.
func (ix *Index) Storage() *storage.Index {
	return &storage.Index{ID: ix.OID, Name: ix.Name, Cols: slices.Clone(ix.Columns), Desc: slices.Clone(ix.Desc), Unique: ix.Unique}
}

// StorageIndexes returns the storage view of r's indexes.
func (r *Relation) StorageIndexes() []*storage.Index {
	if len(r.Indexes) == 0 {
		return nil
	}
	out := make([]*storage.Index, len(r.Indexes))
	for i := range r.Indexes {
		out[i] = r.Indexes[i].Storage()
	}
	return out
}

// IndexedTable returns the write path of a table: its rows and its
// indexes.
func (r *Relation) IndexedTable() *storage.IndexedTable {
	return storage.NewIndexedTable(r.Table(), r.StorageIndexes())
}

// FindIndex returns r's index called name.
func (r *Relation) FindIndex(name string) (Index, bool) {
	for _, ix := range r.Indexes {
		if ix.Name == name {
			return ix, true
		}
	}
	return Index{}, false
}

// IndexByName returns the index called name in schema and its table.
func (c *Catalog) IndexByName(schema, name string) (*Relation, Index, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, r := range c.byName[schema] {
		if ix, ok := r.FindIndex(name); ok {
			return r, ix, true
		}
	}
	return nil, Index{}, false
}

// IndexByOID returns the index with OID oid and its table.
func (c *Catalog) IndexByOID(oid uint32) (*Relation, Index, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, r := range c.byOID {
		for _, ix := range r.Indexes {
			if ix.OID == oid {
				return r, ix, true
			}
		}
	}
	return nil, Index{}, false
}

// relNameTaken reports whether name is used in schema by a relation, an
// index or a primary key index ("<table>_pkey"). c.mu must be held.
func (c *Catalog) relNameTakenLocked(schema, name string) bool {
	if _, ok := c.byName[schema][name]; ok {
		return true
	}
	for _, r := range c.byName[schema] {
		if len(r.PrimaryKey) > 0 && r.Name+"_pkey" == name {
			return true
		}
		if _, ok := r.FindIndex(name); ok {
			return true
		}
	}
	return false
}

// indexNameTaken reports whether an index (or a primary key's index) of
// schema is called name: a new relation cannot take it.
func (c *Catalog) indexNameTaken(schema, name string) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, r := range c.byName[schema] {
		if _, ok := r.FindIndex(name); ok {
			return true
		}
	}
	return false
}

// maxIdentifier is PostgreSQL's NAMEDATALEN - 1.
const maxIdentifier = 63

// ChooseIndexName returns PostgreSQL's default name for an index of table
// over cols: table_col1_col2_suffix ("idx" for CREATE INDEX, "key" for a
// UNIQUE constraint), with a number appended when the name is taken.
func (c *Catalog) ChooseIndexName(schema, table string, cols []string, suffix string) string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.chooseIndexNameLocked(schema, table, cols, suffix, nil)
}

func (c *Catalog) chooseIndexNameLocked(schema, table string, cols []string, suffix string, taken map[string]bool) string {
	base := table
	if len(cols) > 0 {
		base += "_" + strings.Join(cols, "_")
	}
	for n := 0; ; n++ {
		tail := "_" + suffix
		if n > 0 {
			tail += strconv.Itoa(n)
		}
		name := base
		if len(name)+len(tail) > maxIdentifier {
			name = name[:maxIdentifier-len(tail)]
		}
		name += tail
		if !c.relNameTakenLocked(schema, name) && !taken[name] {
			return name
		}
	}
}

// NameIndexes gives every index of r (a table being created) without a
// name PostgreSQL's default one, distinct from each other and from the
// schema's relations.
func (c *Catalog) NameIndexes(r *Relation) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	taken := map[string]bool{r.Name: true}
	if len(r.PrimaryKey) > 0 {
		taken[r.Name+"_pkey"] = true
	}
	for _, ix := range r.Indexes {
		taken[ix.Name] = true
	}
	for i := range r.Indexes {
		ix := &r.Indexes[i]
		if ix.Name != "" {
			continue
		}
		cols := make([]string, len(ix.Columns))
		for j, k := range ix.Columns {
			cols[j] = r.Columns[k].Name
		}
		suffix := "idx"
		if ix.Constraint {
			suffix = "key"
		}
		ix.Name = c.chooseIndexNameLocked(r.Schema, r.Name, cols, suffix, taken)
		taken[ix.Name] = true
	}
}

// checkNewIndexes validates the indexes of a relation being created and
// numbers them with OIDs from next on; it returns the next free OID.
func (c *Catalog) checkNewIndexes(r *Relation, next uint32) (uint32, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	seen := map[string]bool{r.Name: true}
	if len(r.PrimaryKey) > 0 {
		seen[r.Name+"_pkey"] = true
	}
	for i := range r.Indexes {
		ix := &r.Indexes[i]
		if ix.Name == "" {
			return 0, fmt.Errorf("catalog: index %d of %s has no name", i, r.Name)
		}
		if seen[ix.Name] || c.relNameTakenLocked(r.Schema, ix.Name) {
			return 0, sqlerr.New(sqlerr.DuplicateTable, "relation %q already exists", ix.Name)
		}
		seen[ix.Name] = true
		for _, k := range ix.Columns {
			if k < 0 || k >= len(r.Columns) {
				return 0, fmt.Errorf("catalog: index %s column %d out of range", ix.Name, k)
			}
		}
		ix.OID = next
		next++
	}
	return next, nil
}

// AddIndex adds ix to table oid, giving it the next OID. build, called
// with the numbered index before anything is published, writes its
// entries; if it fails nothing changes.
func (c *Catalog) AddIndex(oid uint32, ix Index, build func(ix Index) error) (*Relation, error) {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	c.mu.RLock()
	old, ok := c.byOID[oid]
	taken := ok && c.relNameTakenLocked(old.Schema, ix.Name)
	next := c.nextOID
	c.mu.RUnlock()
	if !ok {
		return nil, noRelation(oid)
	}
	if taken {
		return nil, sqlerr.New(sqlerr.DuplicateTable, "relation %q already exists", ix.Name)
	}
	ix.OID = next
	if err := build(ix); err != nil {
		return nil, err
	}
	n := old.Clone()
	n.Indexes = append(n.Indexes, cloneIndexes([]Index{ix})...)
	if err := c.commit(&change{putRels: []*Relation{n}, nextOID: next + 1}); err != nil {
		return nil, err
	}
	return n, nil
}

// DropIndex removes the index called name from table oid and returns the
// changed table.
func (c *Catalog) DropIndex(oid uint32, name string) (*Relation, error) {
	return c.alter(oid, func(r *Relation) error {
		i := slices.IndexFunc(r.Indexes, func(ix Index) bool { return ix.Name == name })
		if i < 0 {
			return sqlerr.New(sqlerr.UndefinedObject, "index %q does not exist", name)
		}
		r.Indexes = slices.Delete(r.Indexes, i, i+1)
		return nil
	})
}

// dropIndexesOn removes the indexes that cover column col (being
// dropped), as PostgreSQL does.
func dropIndexesOn(xs []Index, col int) []Index {
	return slices.DeleteFunc(xs, func(ix Index) bool { return slices.Contains(ix.Columns, col) })
}
