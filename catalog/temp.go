package catalog

// Temporary relations (CREATE TEMP TABLE, SEQUENCE, VIEW) live in a schema
// of the session that made them, pg_temp_N, as in PostgreSQL: N is the
// session's slot among the open sessions, and the schema (with its
// companion pg_toast_temp_N, which holds nothing here) stays once made,
// to be reused by the next session in that slot. The relations are
// ordinary catalog entries, so everything that works on a relation works
// on them; what makes them temporary is only the schema they are in:
//
//   - a session's search path holds its own temporary schema (first, unless
//     the path names pg_temp explicitly) and never another session's, so
//     unqualified names find only its own temporary relations;
//   - Lookup maps the alias pg_temp to the reader's own temporary schema
//     and refuses another session's (0A000);
//   - the session drops them when it ends, and the server drops whatever
//     a crash left behind when it starts (TempRelations).

import (
	"strconv"
	"strings"

	"streamsql/sql/sqlerr"
)

// Prefixes of the temporary schemas' names, and the alias of a session's
// own temporary schema.
const (
	tempSchemaPrefix      = "pg_temp_"
	toastTempSchemaPrefix = "pg_toast_temp_"
	// TempAlias names the session's own temporary schema, in qualified
	// names and in search_path.
	TempAlias = "pg_temp"
)

// TempSchemaName is the name of the temporary schema of slot n.
func TempSchemaName(n int) string { return tempSchemaPrefix + strconv.Itoa(n) }

// IsTempSchema reports whether name is a temporary schema's (pg_temp_N).
func IsTempSchema(name string) bool {
	digits, ok := strings.CutPrefix(name, tempSchemaPrefix)
	if !ok || digits == "" {
		return false
	}
	_, err := strconv.ParseUint(digits, 10, 31)
	return err == nil
}

// Temporary reports whether r is a temporary relation.
func (r *Relation) Temporary() bool { return IsTempSchema(r.Schema) }

// OwnTempSchema returns the temporary schema on search path path (a
// session's path holds only its own), "" when there is none.
func OwnTempSchema(path []string) string {
	for _, s := range path {
		if IsTempSchema(s) {
			return s
		}
	}
	return ""
}

// Lookup finds the relation schema.name for a reader whose search path is
// path: the alias pg_temp names the reader's own temporary schema, and the
// relations in another session's temporary schema cannot be read
// (0A000), as in PostgreSQL.
func (c *Catalog) Lookup(path []string, schema, name string) (*Relation, error) {
	own := OwnTempSchema(path)
	in := schema
	if schema == TempAlias {
		in = own
	}
	r, ok := c.Relation(in, name)
	if !ok {
		return nil, sqlerr.New(sqlerr.UndefinedTable, "relation \"%s.%s\" does not exist", schema, name)
	}
	if r.Temporary() && r.Schema != own {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "cannot access temporary tables of other sessions")
	}
	return r, nil
}

// EnsureTempSchema makes the temporary schema of slot n (and its
// pg_toast_temp_n) unless it exists, and returns its name.
func (c *Catalog) EnsureTempSchema(n int) (string, error) {
	name := TempSchemaName(n)
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if _, ok := c.SchemaByName(name); ok {
		return name, nil
	}
	s := Schema{OID: c.nextOID, Name: name, Owner: DefaultOwner}
	toast := Schema{OID: c.nextOID + 1, Name: toastTempSchemaPrefix + strconv.Itoa(n), Owner: DefaultOwner}
	if err := c.commit(&change{putNsp: []Schema{s, toast}, nextOID: toast.OID + 1}); err != nil {
		return "", err
	}
	return name, nil
}

// TempRelations returns the relations in temporary schema schema, or in
// every temporary schema when schema is "", sorted by schema and name.
func (c *Catalog) TempRelations(schema string) []*Relation {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.relationsWhere(func(r *Relation) bool {
		return r.Temporary() && (schema == "" || r.Schema == schema)
	})
}
