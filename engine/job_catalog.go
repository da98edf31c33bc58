package engine

import (
	"strings"

	"streamsql/catalog"
	"streamsql/sql/types"
)

// jobCatalog answers the catalog questions of functions inside a
// streaming job (a materialized view's or a sink's). A job has no session:
// it runs as its owner, as PostgreSQL runs REFRESH MATERIALIZED VIEW with
// the view owner's identity, so current_user and session_user are the
// owner's name there, and row-level security policies that test
// current_user see the owner in the job as they do when the view is
// planned. The owner is stored with the view, so a restarted job runs as
// the same role.
type jobCatalog struct {
	e *Engine
	// role is the job's owner; search its search path.
	role   string
	search []string
}

func (c jobCatalog) RelationOID(name string) (uint32, bool) {
	return relationOID(c.e.cat, c.search, name)
}
func (c jobCatalog) TypeOID(name string) (uint32, bool)     { return typeOID(name) }
func (c jobCatalog) RelationName(oid uint32) (string, bool) { return relationName(c.e.cat, oid) }

// relationOID is the OID of the relation name (qualified or not) found
// on the search path, for regclass.
func relationOID(cat *catalog.Catalog, search []string, name string) (uint32, bool) {
	r, err := cat.Resolve(search, name)
	if err != nil {
		if i := strings.IndexByte(name, '.'); i > 0 {
			if r, ok := cat.Relation(name[:i], name[i+1:]); ok {
				return r.OID, true
			}
		}
		return 0, false
	}
	return r.OID, true
}

// typeOID is the OID of the type name, for regtype.
func typeOID(name string) (uint32, bool) {
	t, err := types.ParseTypeName(name, nil, 0)
	if err != nil {
		return 0, false
	}
	return t.OID(), true
}

// relationName is the name of the relation with the OID oid.
func relationName(cat *catalog.Catalog, oid uint32) (string, bool) {
	r, ok := cat.ByOID(oid)
	if !ok {
		return "", false
	}
	return r.Name, true
}

func (c jobCatalog) CurrentSchema() string {
	for _, p := range c.search {
		if _, ok := c.e.cat.SchemaByName(p); ok {
			return p
		}
	}
	return "public"
}

func (c jobCatalog) CurrentUser() string     { return c.role }
func (c jobCatalog) SessionUser() string     { return c.role }
func (c jobCatalog) CurrentDatabase() string { return "streamsql" }

// newJobCatalog returns the catalog reader of a job run by role ("": the
// server's user) with search path search (nil: public).
func (e *Engine) newJobCatalog(role string, search []string) jobCatalog {
	if role == "" {
		role = catalog.DefaultOwner
	}
	if len(search) == 0 {
		search = []string{"public"}
	}
	return jobCatalog{e: e, role: role, search: search}
}
