package engine

import (
	"sort"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/catalog"
	"streamsql/catalog/pgcatalog"
	"streamsql/sql/parser"
	"streamsql/sql/planner"
	"streamsql/sql/sqlerr"
	"streamsql/udf"
)

// Privileges on relations: GRANT and REVOKE of SELECT, INSERT, UPDATE,
// DELETE, TRUNCATE, REFERENCES and TRIGGER on tables, views, materialized
// views and sources, and their checks.
//
// Each statement checks, when it runs (so a REVOKE takes effect for open
// sessions and for cached plans), the relations it names: SELECT on every
// relation a query reads, INSERT/UPDATE/DELETE on a write's target (and
// SELECT on it when the write reads it: a WHERE, RETURNING or SET that
// uses its columns), TRUNCATE for TRUNCATE. A view's own query is planned
// apart and not checked against the reader: a view runs with its owner's
// rights, so granting SELECT on a view does not expose its tables.
// Superusers, and owners through their default ACL item, pass every
// check; a role also holds the privileges of the roles it inherits from,
// and of PUBLIC.

var privLetter = map[string]byte{"select": 'r', "insert": 'a', "update": 'w', "delete": 'd', "truncate": 'D', "references": 'x', "trigger": 't'}

// seqPrivLetter are the privileges on sequences by name.
var seqPrivLetter = map[string]byte{"select": 'r', "update": 'w', "usage": 'U'}

// functionPrivLetter and databasePrivLetter are the privileges on
// functions and on the database by name (TEMP and TEMPORARY are one).
var (
	functionPrivLetter = map[string]byte{"execute": 'X'}
	databasePrivLetter = map[string]byte{"connect": 'c', "temp": 'T', "temporary": 'T', "create": 'C'}
)

// relKindWord is how PostgreSQL names a relation in "permission denied
// for ..." messages: views, materialized views and sequences by their
// kind, everything else (sources, sinks and subscriptions too) as a table.
func relKindWord(r *catalog.Relation) string {
	switch r.Kind {
	case catalog.KindView, catalog.KindMatView, catalog.KindSequence:
		return r.Kind.String()
	}
	return "table"
}

// checkPrivilege fails with 42501 unless the current role holds priv on r.
func (s *Session) checkPrivilege(r *catalog.Relation, priv byte) error {
	if s.isSuperuser() {
		return nil
	}
	held := r.PrivilegesOf(s.e.cat.RolesInheritedBy(s.currentUser()))
	if strings.IndexByte(held, priv) >= 0 {
		return nil
	}
	return sqlerr.New(sqlerr.InsufficientPrivilege, "permission denied for %s %s", relKindWord(r), r.Name)
}

// checkColumns fails with 42501 unless the current role holds priv on r
// as a whole, or on each of the columns attnums through column grants;
// with no columns, on some column (PostgreSQL's rule for count(*) and the
// like, and for writes that name no column).
func (s *Session) checkColumns(r *catalog.Relation, priv byte, attnums map[int16]bool) error {
	return s.checkColumnsAs(s.currentUser(), r, priv, attnums)
}

// checkColumnsAs is checkColumns for role rather than the current role.
func (s *Session) checkColumnsAs(role string, r *catalog.Relation, priv byte, attnums map[int16]bool) error {
	if s.roleIsSuperuser(role) {
		return nil
	}
	roles := s.e.cat.RolesInheritedBy(role)
	if strings.IndexByte(r.PrivilegesOf(roles), priv) >= 0 {
		return nil
	}
	denied := sqlerr.New(sqlerr.InsufficientPrivilege, "permission denied for %s %s", relKindWord(r), r.Name)
	if len(attnums) == 0 {
		if r.AnyColumnHas(priv, roles) {
			return nil
		}
		return denied
	}
	for a := range attnums {
		if strings.IndexByte(r.ColumnPrivilegesOf(a, roles), priv) < 0 {
			return denied
		}
	}
	return nil
}

// checkReads checks SELECT on every relation in deps (planner Deps) and
// EXECUTE on every user function in it, SELECT on the columns of each that
// cols (planner ColDeps) lists when the role lacks SELECT on the whole
// relation; then what each view in views (planner ViewReads) reads, with
// the rights of that view's owner.
func (s *Session) checkReads(deps []uint32, cols map[uint32]map[int16]bool, views []planner.ViewRead) error {
	for _, oid := range deps {
		r, ok := s.e.cat.ByOID(oid)
		if !ok {
			if f, ok := s.e.cat.Function(oid); ok {
				if err := s.checkExecute(f); err != nil {
					return err
				}
			}
			continue // or dropped since planning (the run fails anyway)
		}
		if err := s.checkUsage(r.Schema); err != nil {
			return err
		}
		if err := s.checkColumns(r, 'r', cols[oid]); err != nil {
			return err
		}
	}
	return s.checkViewReads(views)
}

// checkViewReads checks what views read as PostgreSQL does when a query
// reads a view: SELECT on the relations and columns the view's query reads
// with the rights of the view's owner, looked up now, so a REVOKE from the
// owner takes effect at once for every session and cached plan. The
// functions a view calls are checked for the role running the query, as if
// it called them itself (PostgreSQL's rule for functions in views).
// Schemas are not checked again: the view's names were resolved when it
// was created.
func (s *Session) checkViewReads(views []planner.ViewRead) error {
	for _, v := range views {
		owner := v.Owner
		if view, ok := s.e.cat.ByOID(v.View); ok {
			owner = catalog.OwnerOf(view) // ALTER VIEW ... OWNER TO since planning
		}
		for oid := range v.Deps {
			r, ok := s.e.cat.ByOID(oid)
			if !ok {
				if f, ok := s.e.cat.Function(oid); ok {
					if err := s.checkExecute(f); err != nil {
						return err
					}
				}
				continue
			}
			if err := s.checkColumnsAs(owner, r, 'r', v.ColDeps[oid]); err != nil {
				return err
			}
		}
	}
	return nil
}

func attnumSet(attnums []int16) map[int16]bool {
	m := make(map[int16]bool, len(attnums))
	for _, a := range attnums {
		m[a] = true
	}
	return m
}

// checkOwner fails with 42501 unless the current role owns r (directly or
// through an inherited role) or is a superuser.
func (s *Session) checkOwner(r *catalog.Relation) error {
	if s.isSuperuser() {
		return nil
	}
	owner := r.Owner
	if owner == "" {
		owner = catalog.DefaultOwner
	}
	if s.e.cat.RolesInheritedBy(s.currentUser())[owner] {
		return nil
	}
	return sqlerr.New(sqlerr.InsufficientPrivilege, "must be owner of %s %s", relKindWord(r), r.Name)
}

func depList(m map[uint32]bool) []uint32 {
	out := make([]uint32, 0, len(m))
	for oid := range m {
		out = append(out, oid)
	}
	return out
}

// grantPrivileges is GRANT/REVOKE privileges ON [TABLE] t, ... TO/FROM roles.
func (s *Session) grantPrivileges(st *pg.GrantStmt) (string, error) {
	tag := "REVOKE"
	if st.IsGrant {
		tag = "GRANT"
	}
	if st.Objtype == pg.ObjectType_OBJECT_SCHEMA && st.Targtype == pg.GrantTargetType_ACL_TARGET_OBJECT {
		return tag, s.grantSchemaPrivileges(st)
	}
	if (st.Objtype == pg.ObjectType_OBJECT_FUNCTION || st.Objtype == pg.ObjectType_OBJECT_PROCEDURE) && st.Targtype == pg.GrantTargetType_ACL_TARGET_OBJECT {
		return tag, s.grantFunctionPrivileges(st)
	}
	onSeq := st.Objtype == pg.ObjectType_OBJECT_SEQUENCE
	if st.Objtype != pg.ObjectType_OBJECT_TABLE && !onSeq || st.Targtype != pg.GrantTargetType_ACL_TARGET_OBJECT {
		return "", sqlerr.New(sqlerr.FeatureNotSupported, "%s on %s is not supported yet: privileges apply to tables, views, materialized views and sources",
			tag, strings.ToLower(strings.TrimPrefix(st.Objtype.String(), "OBJECT_")))
	}
	// On GRANT, GrantOption is WITH GRANT OPTION; on REVOKE, GRANT
	// OPTION FOR.
	cascade := st.Behavior == pg.DropBehavior_DROP_CASCADE
	// Table privileges as letters; column privileges as letters with the
	// column names they apply to.
	type colPriv struct {
		privs string
		cols  []string
	}
	privs := catalog.AllTablePrivileges
	if onSeq {
		privs = catalog.AllSequencePrivileges
	}
	var colPrivs []colPriv
	if len(st.Privileges) > 0 {
		privs = ""
		for _, n := range st.Privileges {
			ap := n.GetAccessPriv()
			if onSeq {
				l, ok := seqPrivLetter[strings.ToLower(ap.PrivName)]
				if !ok || len(ap.Cols) > 0 {
					return "", sqlerr.New(sqlerr.InvalidGrantOperation, "invalid privilege type %s for sequence", strings.ToUpper(ap.PrivName))
				}
				privs += string(l)
				continue
			}
			if len(ap.Cols) > 0 {
				cp := colPriv{privs: catalog.ColumnPrivileges}
				if ap.PrivName != "" { // ALL (cols) has no name
					l, ok := privLetter[strings.ToLower(ap.PrivName)]
					if !ok || !strings.ContainsRune(catalog.ColumnPrivileges, rune(l)) {
						return "", sqlerr.New(sqlerr.InvalidGrantOperation, "invalid privilege type %s for column", strings.ToUpper(ap.PrivName))
					}
					cp.privs = string(l)
				}
				for _, c := range ap.Cols {
					cp.cols = append(cp.cols, c.GetString_().GetSval())
				}
				colPrivs = append(colPrivs, cp)
				continue
			}
			l, ok := privLetter[strings.ToLower(ap.PrivName)]
			if !ok {
				return "", sqlerr.New(sqlerr.InvalidGrantOperation, "invalid privilege type %s for relation", strings.ToUpper(ap.PrivName))
			}
			privs += string(l)
		}
	}
	grantees, err := s.granteeList(st)
	if err != nil {
		return "", err
	}
	if st.IsGrant && st.GrantOption && contains(grantees, "") {
		return "", sqlerr.New(sqlerr.InvalidGrantOperation, "grant options can only be granted to roles")
	}
	for _, o := range st.Objects {
		rv := o.GetRangeVar()
		r, err := s.resolve(nil, rv)
		if err != nil {
			return "", err
		}
		if onSeq && r.Kind != catalog.KindSequence {
			return "", sqlerr.New(sqlerr.WrongObjectType, "%q is not a sequence", r.Name)
		}
		privs := privs
		if !onSeq && r.Kind == catalog.KindSequence {
			// GRANT ... ON TABLE names a sequence: what applies to one.
			kept := ""
			for _, c := range privs {
				if strings.ContainsRune(catalog.AllSequencePrivileges, c) {
					kept += string(c)
				}
			}
			if kept != privs && len(st.Privileges) > 0 {
				s.warn("sequence \"%s\" only supports USAGE, SELECT, and UPDATE privileges", r.Name)
			}
			privs = kept
		}
		for _, cp := range colPrivs {
			var attnums []int16
			for _, name := range cp.cols {
				i := r.ColumnIndex(name)
				if i < 0 {
					return "", sqlerr.New(sqlerr.UndefinedColumn, "column %q of relation %q does not exist", name, r.Name)
				}
				attnums = append(attnums, r.Columns[i].AttNum)
			}
			grantor, p, err := s.chooseGrantor(r, cp.privs, attnums)
			if err != nil {
				return "", err
			}
			if p == "" {
				continue
			}
			if st.IsGrant {
				_, err = s.e.cat.GrantColumnPrivileges(r.OID, attnums, grantees, p, grantor, st.GrantOption)
			} else {
				_, err = s.e.cat.RevokeColumnPrivileges(r.OID, attnums, catalog.Revoke{Grantees: grantees, Privs: p, Grantor: grantor, OptionOnly: st.GrantOption, Cascade: cascade})
			}
			if err != nil {
				return "", err
			}
		}
		if privs == "" {
			continue
		}
		grantor, p, err := s.chooseGrantor(r, privs, nil)
		if err != nil {
			return "", err
		}
		if p == "" {
			continue
		}
		if st.IsGrant {
			_, err = s.e.cat.GrantPrivileges(r.OID, grantees, p, grantor, st.GrantOption)
		} else {
			_, err = s.e.cat.RevokePrivileges(r.OID, catalog.Revoke{Grantees: grantees, Privs: p, Grantor: grantor, OptionOnly: st.GrantOption, Cascade: cascade})
		}
		if err != nil {
			return "", err
		}
	}
	return tag, nil
}

// chooseGrantor picks the role a GRANT or REVOKE of privs on r (on the
// columns attnums, if any) acts as, and the privileges it may give or
// take: the owner (for the owner, its members and superusers) with every
// one; otherwise the current role, or a role it inherits from, that
// holds the most of them WITH GRANT OPTION, as PostgreSQL's
// select_best_grantor. A role with no grant option that holds some
// privilege on r grants nothing (PostgreSQL warns); one with no privilege
// at all is refused.
func (s *Session) chooseGrantor(r *catalog.Relation, privs string, attnums []int16) (string, string, error) {
	owner := r.Owner
	if owner == "" {
		owner = catalog.DefaultOwner
	}
	if s.checkOwner(r) == nil {
		return owner, privs, nil
	}
	roles := s.e.cat.RolesInheritedBy(s.currentUser())
	best, bestPrivs := "", ""
	for _, role := range sortedRoles(s.currentUser(), roles) {
		opts := r.GrantOptionsOf(role)
		if len(attnums) > 0 {
			colOpts := ""
			for i, a := range attnums {
				o := r.ColumnGrantOptionsOf(a, role)
				if i == 0 {
					colOpts = o
				} else {
					colOpts = catalog.KeepLetters(colOpts, o)
				}
			}
			opts += colOpts
		}
		if p := catalog.KeepLetters(privs, opts); len(p) > len(bestPrivs) {
			best, bestPrivs = role, p
		}
	}
	if best != "" {
		return best, bestPrivs, nil
	}
	if r.PrivilegesOf(roles) == "" && !r.AnyColumnHas(0, roles) {
		return "", "", sqlerr.New(sqlerr.InsufficientPrivilege, "permission denied for %s %s", relKindWord(r), r.Name)
	}
	return "", "", nil
}

// privilegeRole resolves the user argument of has_*_privilege: a name,
// an OID, or nil for the current role.
func (s *Session) privilegeRole(user any) (string, error) {
	role := s.currentUser()
	switch u := user.(type) {
	case string:
		if _, ok := s.e.cat.Role(u); !ok {
			return "", sqlerr.New(sqlerr.UndefinedObject, "role %q does not exist", u)
		}
		role = u
	case int64:
		r, ok := s.e.cat.RoleByOID(uint32(u))
		if !ok {
			return "", sqlerr.New(sqlerr.UndefinedObject, "role with OID %d does not exist", u)
		}
		role = r.Name
	}
	return role, nil
}

// HasSchemaPrivilege implements udf.PrivilegeChecker for
// has_schema_privilege.
func (c catalogReader) HasSchemaPrivilege(user, schema any, privs string) (bool, error) {
	s := c.s
	role, err := s.privilegeRole(user)
	if err != nil {
		return false, err
	}
	name, ok, err := namedObjectArg(schema, "schema", sqlerr.UndefinedSchema, func(name string) bool {
		_, ok := s.e.cat.SchemaByName(name)
		return ok
	}, func(oid uint32) (string, bool) {
		for _, sc := range s.e.cat.Schemas() {
			if sc.OID == oid {
				return sc.Name, true
			}
		}
		return "", false
	})
	if !ok || err != nil {
		return false, err
	}
	want, err := privilegeLetters(privs, schemaPrivLetter)
	if err != nil {
		return false, err
	}
	for _, l := range want {
		if s.hasSchemaPrivilege(role, name, l) {
			return true, nil
		}
	}
	return false, nil
}

// privilegeLetters reads the privilege list of a has_*_privilege function
// ("SELECT, UPDATE WITH GRANT OPTION") into the letters of letters, as
// PostgreSQL reads it: names in any case, the grant option ignored, and
// a name letters does not have refused as written.
func privilegeLetters(privs string, letters map[string]byte) ([]byte, error) {
	var out []byte
	for _, p := range strings.Split(privs, ",") {
		chunk := strings.TrimSpace(p)
		l, ok := letters[strings.TrimSpace(strings.TrimSuffix(strings.ToLower(chunk), "with grant option"))]
		if !ok {
			return nil, sqlerr.New(sqlerr.InvalidParameterValue, "unrecognized privilege type: %q", chunk)
		}
		out = append(out, l)
	}
	return out, nil
}

// namedObjectArg reads the object argument of a privilege function that
// names a schema or a role: a name, which must exist (else undefined, as
// "kind %q does not exist"), or an OID, which is ok when byOID finds it
// (PostgreSQL answers NULL for an OID that names nothing; false here).
func namedObjectArg(arg any, kind string, undefined string, exists func(string) bool, byOID func(uint32) (string, bool)) (name string, ok bool, err error) {
	switch v := arg.(type) {
	case string:
		if !exists(v) {
			return "", false, sqlerr.New(undefined, "%s %q does not exist", kind, v)
		}
		return v, true, nil
	case int64:
		name, ok = byOID(uint32(v))
		return name, ok, nil
	}
	return "", false, sqlerr.New(sqlerr.InvalidParameterValue, "invalid %s argument", kind)
}

// HasTablePrivilege implements udf.PrivilegeChecker for
// has_table_privilege.
func (c catalogReader) HasTablePrivilege(user, table any, privs string) (bool, error) {
	return c.hasRelPrivilege(user, table, nil, false, privs)
}

// HasColumnPrivilege implements udf.PrivilegeChecker for
// has_column_privilege (column a name or an attnum) and, with column nil,
// has_any_column_privilege.
func (c catalogReader) HasColumnPrivilege(user, table, column any, privs string) (bool, error) {
	return c.hasRelPrivilege(user, table, column, column == nil, privs)
}

// hasRelPrivilege answers has_table_privilege and the column forms: the
// privilege on the table, or else on column (a name or attnum), or else,
// with anyCol, on some column.
func (c catalogReader) hasRelPrivilege(user, table, column any, anyCol bool, privs string) (bool, error) {
	s := c.s
	role, err := s.privilegeRole(user)
	if err != nil {
		return false, err
	}
	var rel *catalog.Relation
	switch t := table.(type) {
	case string:
		schema, name, qualified := strings.Cut(t, ".")
		if qualified {
			r, ok := s.e.cat.Relation(schema, name)
			if !ok {
				return false, sqlerr.New(sqlerr.UndefinedTable, "relation %q does not exist", t)
			}
			rel = r
		} else {
			r, err := s.e.cat.Resolve(s.searchPath(), t)
			if err != nil {
				return false, err
			}
			rel = r
		}
	case int64:
		r, ok := s.e.cat.ByOID(uint32(t))
		if !ok {
			return false, nil // PostgreSQL answers NULL-ish false for a missing OID
		}
		rel = r
	default:
		return false, sqlerr.New(sqlerr.InvalidParameterValue, "invalid table argument")
	}
	want, err := privilegeLetters(privs, privLetter)
	if err != nil {
		return false, err
	}
	attnum := int16(0)
	switch v := column.(type) {
	case string:
		i := rel.ColumnIndex(v)
		if i < 0 {
			return false, sqlerr.New(sqlerr.UndefinedColumn, "column %q of relation %q does not exist", v, rel.Name)
		}
		attnum = rel.Columns[i].AttNum
	case int64:
		attnum = int16(v)
	}
	if s.roleIsSuperuser(role) {
		return true, nil
	}
	roles := s.e.cat.RolesInheritedBy(role)
	held := rel.PrivilegesOf(roles)
	if attnum != 0 {
		held += rel.ColumnPrivilegesOf(attnum, roles)
	}
	for _, l := range want {
		if strings.IndexByte(held, l) >= 0 || anyCol && rel.AnyColumnHas(l, roles) {
			return true, nil
		}
	}
	return false, nil
}

// granteeList resolves the grantees of GRANT/REVOKE ("" for PUBLIC).
func (s *Session) granteeList(st *pg.GrantStmt) ([]string, error) {
	var grantees []string
	for _, n := range st.Grantees {
		rs := n.GetRoleSpec()
		if rs != nil && rs.Roletype == pg.RoleSpecType_ROLESPEC_PUBLIC {
			grantees = append(grantees, "")
			continue
		}
		name, err := s.roleSpecName(rs)
		if err != nil {
			return nil, err
		}
		if _, ok := s.e.cat.Role(name); !ok {
			return nil, sqlerr.New(sqlerr.UndefinedObject, "role %q does not exist", name)
		}
		grantees = append(grantees, name)
	}
	if st.IsGrant && st.GrantOption && contains(grantees, "") {
		return nil, sqlerr.New(sqlerr.InvalidGrantOperation, "grant options can only be granted to roles")
	}
	return grantees, nil
}

// schemaPrivLetter maps the privileges of schemas to their letters.
var schemaPrivLetter = map[string]byte{"usage": 'U', "create": 'C'}

// grantSchemaPrivileges is GRANT/REVOKE USAGE, CREATE ON SCHEMA s, ...
func (s *Session) grantSchemaPrivileges(st *pg.GrantStmt) error {
	privs := catalog.AllSchemaPrivileges
	if len(st.Privileges) > 0 {
		privs = ""
		for _, n := range st.Privileges {
			ap := n.GetAccessPriv()
			l, ok := schemaPrivLetter[strings.ToLower(ap.PrivName)]
			if !ok || len(ap.Cols) > 0 {
				return sqlerr.New(sqlerr.InvalidGrantOperation, "invalid privilege type %s for schema", strings.ToUpper(ap.PrivName))
			}
			privs += string(l)
		}
	}
	grantees, err := s.granteeList(st)
	if err != nil {
		return err
	}
	cascade := st.Behavior == pg.DropBehavior_DROP_CASCADE
	for _, o := range st.Objects {
		name := o.GetString_().GetSval()
		sc, ok := s.e.cat.SchemaByName(name)
		if !ok {
			return sqlerr.New(sqlerr.UndefinedSchema, "schema %q does not exist", name)
		}
		grantor, p, err := s.chooseSchemaGrantor(sc, privs)
		if err != nil {
			return err
		}
		if p == "" {
			continue
		}
		if st.IsGrant {
			err = s.e.cat.GrantSchemaPrivileges(name, grantees, p, grantor, st.GrantOption)
		} else {
			err = s.e.cat.RevokeSchemaPrivileges(name, catalog.Revoke{Grantees: grantees, Privs: p, Grantor: grantor, OptionOnly: st.GrantOption, Cascade: cascade})
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// chooseSchemaGrantor is chooseGrantor for a schema.
func (s *Session) chooseSchemaGrantor(sc catalog.Schema, privs string) (string, string, error) {
	owner := sc.Owner
	if owner == "" {
		owner = catalog.DefaultOwner
	}
	roles := s.e.cat.RolesInheritedBy(s.currentUser())
	if s.isSuperuser() || roles[owner] {
		return owner, privs, nil
	}
	best, bestPrivs := "", ""
	for _, role := range sortedRoles(s.currentUser(), roles) {
		if p := catalog.KeepLetters(privs, sc.GrantOptionsOf(role)); len(p) > len(bestPrivs) {
			best, bestPrivs = role, p
		}
	}
	if best != "" {
		return best, bestPrivs, nil
	}
	if sc.PrivilegesOf(roles) == "" {
		return "", "", sqlerr.New(sqlerr.InsufficientPrivilege, "permission denied for schema %s", sc.Name)
	}
	return "", "", nil
}

// sortedRoles lists first, then the other roles of roles (but PUBLIC) by
// name: the order grantors are tried in.
func sortedRoles(first string, roles map[string]bool) []string {
	out := []string{first}
	for role := range roles {
		if role != "" && role != first {
			out = append(out, role)
		}
	}
	sort.Strings(out[1:])
	return out
}

// hasSchemaPrivilege reports whether role holds priv ('U' or 'C') on
// schema name. Schemas outside the catalog (pg_catalog,
// information_schema) are usable by everyone.
func (s *Session) hasSchemaPrivilege(role, name string, priv byte) bool {
	// The session's own temporary schema is all its own (every role has
	// TEMPORARY on the database), as in PostgreSQL.
	if s.roleIsSuperuser(role) || name != "" && name == s.temp.schema {
		return true
	}
	sc, ok := s.e.cat.SchemaByName(name)
	if !ok {
		return priv == 'U'
	}
	return strings.IndexByte(sc.PrivilegesOf(s.e.cat.RolesInheritedBy(role)), priv) >= 0
}

// checkCreateIn fails with 42501 unless the current role may create
// objects in schema (CREATE on it).
func (s *Session) checkCreateIn(schema string) error {
	if _, ok := s.e.cat.SchemaByName(schema); !ok {
		return nil // the statement reports the missing schema itself
	}
	if !s.hasSchemaPrivilege(s.currentUser(), schema, 'C') {
		return sqlerr.New(sqlerr.InsufficientPrivilege, "permission denied for schema %s", schema)
	}
	return nil
}

// checkUsage fails with 42501 unless the current role may look up
// objects in schema (USAGE on it). Unqualified names never reach a schema
// without USAGE: searchPath leaves those out, as PostgreSQL does.
func (s *Session) checkUsage(schema string) error {
	if !s.hasSchemaPrivilege(s.currentUser(), schema, 'U') {
		return sqlerr.New(sqlerr.InsufficientPrivilege, "permission denied for schema %s", schema)
	}
	return nil
}

// checkExecute fails with 42501 unless the current role may execute f.
func (s *Session) checkExecute(f *catalog.Function) error {
	if s.isSuperuser() || strings.IndexByte(f.PrivilegesOf(s.e.cat.RolesInheritedBy(s.currentUser())), 'X') >= 0 {
		return nil
	}
	kind := "function"
	if f.Procedure {
		kind = "procedure"
	}
	return sqlerr.New(sqlerr.InsufficientPrivilege, "permission denied for %s %s", kind, f.Name)
}

// grantFunctionPrivileges is GRANT/REVOKE EXECUTE ON FUNCTION f(types), ...
func (s *Session) grantFunctionPrivileges(st *pg.GrantStmt) error {
	for _, n := range st.Privileges {
		ap := n.GetAccessPriv()
		if !strings.EqualFold(ap.PrivName, "execute") || len(ap.Cols) > 0 {
			return sqlerr.New(sqlerr.InvalidGrantOperation, "invalid privilege type %s for function", strings.ToUpper(ap.PrivName))
		}
	}
	grantees, err := s.granteeList(st)
	if err != nil {
		return err
	}
	cascade := st.Behavior == pg.DropBehavior_DROP_CASCADE
	p := s.newPlanner(&statement{s: s}, nil, nil, nil)
	for _, o := range st.Objects {
		f, err := s.lookupRoutine(p, o.GetObjectWithArgs(), st.Objtype)
		if err != nil {
			return err
		}
		owner := f.Owner
		if owner == "" {
			owner = catalog.DefaultOwner
		}
		roles := s.e.cat.RolesInheritedBy(s.currentUser())
		grantor := ""
		switch {
		case s.isSuperuser() || roles[owner]:
			grantor = owner
		default:
			for _, role := range sortedRoles(s.currentUser(), roles) {
				if strings.Contains(f.GrantOptionsOf(role), "X") {
					grantor = role
					break
				}
			}
			if grantor == "" {
				if f.PrivilegesOf(roles) == "" {
					return sqlerr.New(sqlerr.InsufficientPrivilege, "permission denied for function %s", f.Name)
				}
				continue // holds EXECUTE without the option: nothing granted
			}
		}
		if st.IsGrant {
			err = s.alterRoutine(f.OID, func() error { return s.e.cat.GrantFunctionPrivileges(f.OID, grantees, "X", grantor, st.GrantOption) })
		} else {
			err = s.alterRoutine(f.OID, func() error {
				return s.e.cat.RevokeFunctionPrivileges(f.OID, catalog.Revoke{Grantees: grantees, Privs: "X", Grantor: grantor, OptionOnly: st.GrantOption, Cascade: cascade})
			})
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// alterDefaultPrivileges is ALTER DEFAULT PRIVILEGES [FOR ROLE r, ...]
// [IN SCHEMA s, ...] GRANT/REVOKE ... ON TABLES | SEQUENCES: the
// privileges that relations (or sequences) those roles create start with.
func (s *Session) alterDefaultPrivileges(st *pg.AlterDefaultPrivilegesStmt) (string, error) {
	var roles, schemas []string
	for _, o := range st.Options {
		d := o.GetDefElem()
		for _, it := range d.GetArg().GetList().GetItems() {
			switch d.Defname {
			case "roles":
				name, err := s.roleSpecName(it.GetRoleSpec())
				if err != nil {
					return "", err
				}
				roles = append(roles, name)
			case "schemas":
				schemas = append(schemas, it.GetString_().GetSval())
			}
		}
	}
	if len(roles) == 0 {
		roles = []string{s.currentUser()}
	}
	if len(schemas) == 0 {
		schemas = []string{""}
	}
	g := st.Action
	var objType byte
	privs, letters, what := catalog.AllTablePrivileges, privLetter, "table"
	switch g.Objtype {
	case pg.ObjectType_OBJECT_TABLE:
	case pg.ObjectType_OBJECT_SEQUENCE:
		objType = catalog.DefaultACLSequences
		privs, letters, what = catalog.AllSequencePrivileges, seqPrivLetter, "sequence"
	default:
		return "", sqlerr.New(sqlerr.FeatureNotSupported, "ALTER DEFAULT PRIVILEGES applies to TABLES and SEQUENCES only")
	}
	if len(g.Privileges) > 0 {
		privs = ""
		for _, n := range g.Privileges {
			ap := n.GetAccessPriv()
			l, ok := letters[strings.ToLower(ap.PrivName)]
			if !ok || len(ap.Cols) > 0 {
				return "", sqlerr.New(sqlerr.InvalidGrantOperation, "invalid privilege type %s for %s", strings.ToUpper(ap.PrivName), what)
			}
			privs += string(l)
		}
	}
	grantees, err := s.granteeList(g)
	if err != nil {
		return "", err
	}
	for _, sc := range schemas {
		if _, ok := s.e.cat.SchemaByName(sc); sc != "" && !ok {
			return "", sqlerr.New(sqlerr.UndefinedSchema, "schema %q does not exist", sc)
		}
	}
	for _, role := range roles {
		if _, ok := s.e.cat.Role(role); !ok {
			return "", sqlerr.New(sqlerr.UndefinedObject, "role %q does not exist", role)
		}
		if !s.isSuperuser() && !s.e.cat.RolesInheritedBy(s.currentUser())[role] {
			return "", sqlerr.New(sqlerr.InsufficientPrivilege, "permission denied to change default privileges")
		}
		for _, sc := range schemas {
			rv := catalog.Revoke{Grantees: grantees, Privs: privs, OptionOnly: g.GrantOption, Cascade: g.Behavior == pg.DropBehavior_DROP_CASCADE}
			if err := s.e.cat.AlterDefaultPrivileges(role, sc, objType, g.IsGrant, grantees, privs, g.GrantOption, rv); err != nil {
				return "", err
			}
		}
	}
	return "ALTER DEFAULT PRIVILEGES", nil
}

// HasFunctionPrivilege implements udf.PrivilegeChecker for
// has_function_privilege: EXECUTE on a user function (given as
// 'name(argtypes)' or an OID); built-in functions may be executed by
// everyone, as PostgreSQL's are by PUBLIC.
func (c catalogReader) HasFunctionPrivilege(user, fn any, privs string) (bool, error) {
	s := c.s
	role, err := s.privilegeRole(user)
	if err != nil {
		return false, err
	}
	if _, err := privilegeLetters(privs, functionPrivLetter); err != nil {
		return false, err
	}
	var f *catalog.Function
	switch v := fn.(type) {
	case int64:
		found, ok := s.e.cat.Function(uint32(v))
		if !ok {
			return true, nil // a built-in function's OID
		}
		f = found
	case string:
		stmts, err := parser.Parse("DROP FUNCTION " + v)
		if err != nil || len(stmts) != 1 || stmts[0].AST.GetDropStmt() == nil || len(stmts[0].AST.GetDropStmt().Objects) != 1 {
			return false, sqlerr.New(sqlerr.InvalidTextRepresentation, "invalid function signature %q", v)
		}
		owa := stmts[0].AST.GetDropStmt().Objects[0].GetObjectWithArgs()
		found, err := s.lookupFunctionForDrop(s.newPlanner(&statement{s: s}, nil, nil, nil), owa)
		if err != nil {
			if sqlerr.Code(err) == sqlerr.UndefinedFunction && builtinNamed(owa.Objname[len(owa.Objname)-1].GetString_().GetSval()) {
				return true, nil
			}
			return false, err
		}
		f = found
	default:
		return false, sqlerr.New(sqlerr.InvalidParameterValue, "invalid function argument")
	}
	if s.roleIsSuperuser(role) {
		return true, nil
	}
	return strings.IndexByte(f.PrivilegesOf(s.e.cat.RolesInheritedBy(role)), 'X') >= 0, nil
}

// HasDatabasePrivilege implements udf.PrivilegeChecker for
// has_database_privilege. The one database has PostgreSQL's default
// ACL: everyone may CONNECT and create TEMPORARY objects, its owner (the
// bootstrap superuser) and superusers may CREATE schemas in it.
func (c catalogReader) HasDatabasePrivilege(user, db any, privs string) (bool, error) {
	s := c.s
	role, err := s.privilegeRole(user)
	if err != nil {
		return false, err
	}
	switch v := db.(type) {
	case string:
		if v != s.info.Database && v != catalog.DefaultOwner {
			return false, sqlerr.New(sqlerr.UndefinedDatabase, "database %q does not exist", v)
		}
	case int64:
		if uint32(v) != pgcatalog.OIDDatabase {
			return false, nil
		}
	}
	want, err := privilegeLetters(privs, databasePrivLetter)
	if err != nil {
		return false, err
	}
	for _, l := range want {
		if l != 'C' || s.canCreateSchema(role) {
			return true, nil
		}
	}
	return false, nil
}

// canCreateSchema reports whether role holds CREATE on the database:
// superusers and the database's owner (and its members).
func (s *Session) canCreateSchema(role string) bool {
	return s.roleIsSuperuser(role) || s.e.cat.RolesInheritedBy(role)[catalog.DefaultOwner]
}

// builtinNamed reports whether a built-in function is called name.
func builtinNamed(name string) bool {
	for _, p := range udf.Procs() {
		if p.Name == name {
			return true
		}
	}
	return false
}

// HasSequencePrivilege implements udf.PrivilegeChecker for
// has_sequence_privilege: whether user holds any of privs (USAGE, SELECT,
// UPDATE) on sequence seq, a name or an OID; a relation that is not a
// sequence is refused (42809), a name that is nothing too (42P01).
func (c catalogReader) HasSequencePrivilege(user, seq any, privs string) (bool, error) {
	s := c.s
	role, err := s.privilegeRole(user)
	if err != nil {
		return false, err
	}
	want, err := privilegeLetters(privs, seqPrivLetter)
	if err != nil {
		return false, err
	}
	var r *catalog.Relation
	switch v := seq.(type) {
	case int64:
		var ok bool
		if r, ok = s.e.cat.ByOID(uint32(v)); !ok {
			return false, nil
		}
	case string:
		oid, ok := c.LookupRelation(v)
		if r, _ = s.e.cat.ByOID(oid); !ok || r == nil {
			return false, sqlerr.New(sqlerr.UndefinedTable, "relation \"%s\" does not exist", v)
		}
	default:
		return false, sqlerr.New(sqlerr.InvalidParameterValue, "invalid sequence argument")
	}
	if r.Kind != catalog.KindSequence {
		return false, sqlerr.New(sqlerr.WrongObjectType, "%q is not a sequence", r.Name)
	}
	if s.roleIsSuperuser(role) {
		return true, nil
	}
	return strings.ContainsAny(r.PrivilegesOf(s.e.cat.RolesInheritedBy(role)), string(want)), nil
}

// HasRolePrivilege implements udf.PrivilegeChecker for pg_has_role, as
// PostgreSQL answers it: MEMBER is membership directly or through other
// roles, USAGE membership through roles that inherit, and WITH ADMIN
// OPTION (or WITH GRANT OPTION) a membership with the admin option held
// by user or a role it belongs to. Superusers hold all three.
func (c catalogReader) HasRolePrivilege(user, role any, privs string) (bool, error) {
	s := c.s
	member, err := s.privilegeRole(user)
	if err != nil {
		return false, err
	}
	target, ok, err := namedObjectArg(role, "role", sqlerr.UndefinedObject, func(name string) bool {
		_, ok := s.e.cat.Role(name)
		return ok
	}, func(oid uint32) (string, bool) {
		r, ok := s.e.cat.RoleByOID(oid)
		if !ok {
			return "", false
		}
		return r.Name, true
	})
	if !ok || err != nil {
		return false, err
	}
	superuser := s.roleIsSuperuser(member)
	for _, p := range strings.Split(privs, ",") {
		p = strings.Join(strings.Fields(strings.ToLower(p)), " ")
		var ok bool
		switch p {
		case "member":
			ok = superuser || s.e.cat.IsMemberOf(member, target, false)
		case "usage":
			ok = superuser || s.e.cat.IsMemberOf(member, target, true)
		case "member with admin option", "usage with admin option", "member with grant option", "usage with grant option":
			ok = superuser || s.adminOfRole(member, target)
		default:
			return false, sqlerr.New(sqlerr.InvalidParameterValue, "unrecognized privilege type: %q", strings.TrimSpace(p))
		}
		if ok {
			return true, nil
		}
	}
	return false, nil
}

// adminOfRole reports whether member, or a role it belongs to, was
// granted role WITH ADMIN OPTION.
func (s *Session) adminOfRole(member, role string) bool {
	for _, r := range s.e.cat.Roles() {
		if !s.e.cat.IsMemberOf(member, r.Name, false) {
			continue
		}
		for _, m := range r.MemberOf {
			if m.Role == role && m.Admin {
				return true
			}
		}
	}
	return false
}
