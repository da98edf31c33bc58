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

// newOwner resolves the role rs names for an object of kind (a word of
// PostgreSQL's messages) called name, owned by old, and checks PostgreSQL's
// rules: unless a superuser, the current role must own the object (through
// its roles) and be a member of the new owner, who must be able to create
// where the object lives (canCreate; in is that place, for the message).
// same is true when the object has that owner already.
func (s *Session) newOwner(rs *pg.RoleSpec, kind, name, old string, canCreate func(role string) bool, in string) (to string, same bool, err error) {
	if to, err = s.roleSpecName(rs); err != nil {
		return "", false, err
	}
	if _, ok := s.e.cat.Role(to); !ok {
		return "", false, sqlerr.New(sqlerr.UndefinedObject, "role %q does not exist", to)
	}
	if old == "" {
		old = catalog.DefaultOwner
	}
	if old == to {
		return to, true, nil
	}
	if !s.isSuperuser() {
		roles := s.e.cat.RolesInheritedBy(s.currentUser())
		if !roles[old] {
			return "", false, sqlerr.New(sqlerr.InsufficientPrivilege, "must be owner of %s %s", kind, name)
		}
		if !roles[to] {
			return "", false, sqlerr.New(sqlerr.InsufficientPrivilege, "must be member of role %q", to)
		}
		if !canCreate(to) {
			return "", false, sqlerr.New(sqlerr.InsufficientPrivilege, "permission denied for %s", in)
		}
	}
	return to, false, nil
}

// createsIn returns whether a role may create in schema.
func (s *Session) createsIn(schema string) func(role string) bool {
	return func(role string) bool { return s.hasSchemaPrivilege(role, schema, 'C') }
}

// alterRelationOwner gives r to the role rs names. objtype is the object
// the statement named (ALTER VIEW on a table is refused as PostgreSQL does).
func (s *Session) alterRelationOwner(r *catalog.Relation, objtype pg.ObjectType, rs *pg.RoleSpec) error {
	switch {
	case objtype == pg.ObjectType_OBJECT_VIEW && r.Kind != catalog.KindView:
		return sqlerr.New(sqlerr.WrongObjectType, "%q is not a view", r.Name)
	case objtype == pg.ObjectType_OBJECT_MATVIEW && r.Kind != catalog.KindMatView:
		return sqlerr.New(sqlerr.WrongObjectType, "%q is not a materialized view", r.Name)
	case objtype == pg.ObjectType_OBJECT_SEQUENCE && r.Kind != catalog.KindSequence:
		return sqlerr.New(sqlerr.WrongObjectType, "%q is not a sequence", r.Name)
	case r.Kind == catalog.KindSequence && r.Sequence.OwnedBy != 0:
		if t, ok := s.e.cat.ByOID(r.Sequence.OwnedBy); ok {
			return sqlerr.New(sqlerr.FeatureNotSupported, "cannot change owner of sequence %q", r.Name).
				WithDetail("Sequence %q is linked to table %q.", r.Name, t.Name)
		}
	}
	to, same, err := s.newOwner(rs, relKindWord(r), r.Name, catalog.OwnerOf(r), s.createsIn(r.Schema), "schema "+r.Schema)
	if err != nil || same {
		return err
	}
	if _, err = s.e.cat.ChangeRelationOwner(r.OID, to); err != nil {
		return err
	}
	// The sequences a table's columns own follow the table.
	for _, q := range s.e.ownedSequences([]*catalog.Relation{r}) {
		if _, err := s.e.cat.ChangeRelationOwner(q.OID, to); err != nil {
			return err
		}
	}
	return nil
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
	// PostgreSQL: the new owner of a schema needs CREATE on the database.
	to, same, err := s.newOwner(st.Newowner, "schema", name, sc.Owner, s.canCreateSchema, "database "+s.info.Database)
	if err != nil || same {
		return "ALTER SCHEMA", err
	}
	return "ALTER SCHEMA", s.e.cat.ChangeSchemaOwner(name, to)
}

// alterTags are the command tags of ALTER by object type; any other
// relation's is ALTER TABLE.
var alterTags = map[pg.ObjectType]string{
	pg.ObjectType_OBJECT_VIEW:     "ALTER VIEW",
	pg.ObjectType_OBJECT_MATVIEW:  "ALTER MATERIALIZED VIEW",
	pg.ObjectType_OBJECT_SEQUENCE: "ALTER SEQUENCE",
}

// alterTag is the command tag of an ALTER of objtype.
func alterTag(objtype pg.ObjectType) string {
	if tag, ok := alterTags[objtype]; ok {
		return tag
	}
	return "ALTER TABLE"
}

// alterFunctionOwner runs ALTER FUNCTION|PROCEDURE|AGGREGATE ... OWNER TO.
func (s *Session) alterFunctionOwner(st *pg.AlterOwnerStmt) (string, error) {
	tag := "ALTER " + strings.TrimPrefix(st.ObjectType.String(), "OBJECT_")
	p := s.newPlanner(&statement{s: s}, nil, nil, nil)
	f, err := s.lookupRoutine(p, st.Object.GetObjectWithArgs(), st.ObjectType)
	if err != nil {
		return "", err
	}
	to, same, err := s.newOwner(st.Newowner, f.KindName(), f.Name, f.Owner, s.createsIn(f.Schema), "schema "+f.Schema)
	if err != nil || same {
		return tag, err
	}
	return tag, s.alterRoutine(f.OID, func() error { return s.e.cat.ChangeFunctionOwner(f.OID, to) })
}
