package engine

import (
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/catalog"
	"streamsql/sql/sqlerr"
)

// Ownership changes: ALTER TABLE/VIEW/MATERIALIZED VIEW ... OWNER TO and
// ALTER SCHEMA ... OWNER TO, with PostgreSQL's rules: the current owner (or
// a superuser) may give an object to a role it is a member of, and a
// relation's new owner must be able to create in its schema.

// ownerOnly reports whether every command of at is OWNER TO, and returns
// the last one's role (PostgreSQL applies them in order).
func ownerOnly(at *pg.AlterTableStmt) (*pg.RoleSpec, bool) {
	var to *pg.RoleSpec
	for _, cn := range at.Cmds {
		c := cn.GetAlterTableCmd()
		if c == nil || c.Subtype != pg.AlterTableType_AT_ChangeOwner {
			return nil, false
		}
		to = c.Newowner
	}
	return to, to != nil
}

// alterRelationOwner gives r to the role rs names. objtype is the object
// the statement named (ALTER VIEW on a table is refused as PostgreSQL does).
func (s *Session) alterRelationOwner(r *catalog.Relation, objtype pg.ObjectType, rs *pg.RoleSpec) error {
	switch {
	case objtype == pg.ObjectType_OBJECT_VIEW && r.Kind != catalog.KindView:
		return sqlerr.New(sqlerr.WrongObjectType, "%q is not a view", r.Name)
	case objtype == pg.ObjectType_OBJECT_MATVIEW && r.Kind != catalog.KindMatView:
		return sqlerr.New(sqlerr.WrongObjectType, "%q is not a materialized view", r.Name)
	}
	to, err := s.roleSpecName(rs)
	if err != nil {
		return err
	}
	if _, ok := s.e.cat.Role(to); !ok {
		return sqlerr.New(sqlerr.UndefinedObject, "role %q does not exist", to)
	}
	if catalog.OwnerOf(r) == to {
		return nil
	}
	if !s.isSuperuser() {
		if err := s.checkOwner(r); err != nil {
			return err
		}
		if !s.e.cat.RolesInheritedBy(s.currentUser())[to] {
			return sqlerr.New(sqlerr.InsufficientPrivilege, "must be member of role %q", to)
		}
		if !s.hasSchemaPrivilege(to, r.Schema, 'C') {
			return sqlerr.New(sqlerr.InsufficientPrivilege, "permission denied for schema %s", r.Schema)
		}
	}
	_, err = s.e.cat.ChangeRelationOwner(r.OID, to)
	return err
}

// alterOwner runs ALTER SCHEMA|FUNCTION|PROCEDURE|AGGREGATE ... OWNER TO
// (other objects: 0A000).
func (s *Session) alterOwner(st *pg.AlterOwnerStmt) (string, error) {
	switch st.ObjectType {
	case pg.ObjectType_OBJECT_SCHEMA:
	case pg.ObjectType_OBJECT_FUNCTION, pg.ObjectType_OBJECT_PROCEDURE, pg.ObjectType_OBJECT_AGGREGATE, pg.ObjectType_OBJECT_ROUTINE:
		return s.alterFunctionOwner(st)
	default:
		return "", sqlerr.New(sqlerr.FeatureNotSupported, "ALTER %s ... OWNER TO is not supported", strings.TrimPrefix(st.ObjectType.String(), "OBJECT_"))
	}
	name := st.Object.GetString_().GetSval()
	sc, ok := s.e.cat.SchemaByName(name)
	if !ok {
		return "", sqlerr.New(sqlerr.UndefinedSchema, "schema %q does not exist", name)
	}
	to, err := s.roleSpecName(st.Newowner)
	if err != nil {
		return "", err
	}
	if _, ok := s.e.cat.Role(to); !ok {
		return "", sqlerr.New(sqlerr.UndefinedObject, "role %q does not exist", to)
	}
	old := sc.Owner
	if old == "" {
		old = catalog.DefaultOwner
	}
	if old == to {
		return "ALTER SCHEMA", nil
	}
	if !s.isSuperuser() {
		if !s.e.cat.RolesInheritedBy(s.currentUser())[old] {
			return "", sqlerr.New(sqlerr.InsufficientPrivilege, "must be owner of schema %s", name)
		}
		if !s.e.cat.RolesInheritedBy(s.currentUser())[to] {
			return "", sqlerr.New(sqlerr.InsufficientPrivilege, "must be member of role %q", to)
		}
		// PostgreSQL: the new owner of a schema needs CREATE on the database.
		if !s.canCreateSchema(to) {
			return "", sqlerr.New(sqlerr.InsufficientPrivilege, "permission denied for database %s", s.info.Database)
		}
	}
	return "ALTER SCHEMA", s.e.cat.ChangeSchemaOwner(name, to)
}

// alterTag is the command tag of an ALTER of objtype.
func alterTag(objtype pg.ObjectType) string {
	switch objtype {
	case pg.ObjectType_OBJECT_VIEW:
		return "ALTER VIEW"
	case pg.ObjectType_OBJECT_MATVIEW:
		return "ALTER MATERIALIZED VIEW"
	}
	return "ALTER TABLE"
}

// alterFunctionOwner runs ALTER FUNCTION|PROCEDURE|AGGREGATE ... OWNER TO:
// the owner (or a superuser) gives the function to a role it is a member
// of that may create in the function's schema.
func (s *Session) alterFunctionOwner(st *pg.AlterOwnerStmt) (string, error) {
	tag := "ALTER " + strings.TrimPrefix(st.ObjectType.String(), "OBJECT_")
	p := s.newPlanner(&statement{s: s}, nil, nil, nil)
	f, err := s.lookupFunctionForDrop(p, st.Object.GetObjectWithArgs())
	if err != nil {
		return "", err
	}
	to, err := s.roleSpecName(st.Newowner)
	if err != nil {
		return "", err
	}
	if _, ok := s.e.cat.Role(to); !ok {
		return "", sqlerr.New(sqlerr.UndefinedObject, "role %q does not exist", to)
	}
	old := f.Owner
	if old == "" {
		old = catalog.DefaultOwner
	}
	if old == to {
		return tag, nil
	}
	if !s.isSuperuser() {
		roles := s.e.cat.RolesInheritedBy(s.currentUser())
		if !roles[old] {
			return "", sqlerr.New(sqlerr.InsufficientPrivilege, "must be owner of function %s", f.Name)
		}
		if !roles[to] {
			return "", sqlerr.New(sqlerr.InsufficientPrivilege, "must be member of role %q", to)
		}
		if !s.hasSchemaPrivilege(to, f.Schema, 'C') {
			return "", sqlerr.New(sqlerr.InsufficientPrivilege, "permission denied for schema %s", f.Schema)
		}
	}
	return tag, s.e.cat.ChangeFunctionOwner(f.OID, to)
}
