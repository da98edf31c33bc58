package pgcatalog

import (
	"maps"
	"slices"

	"streamsql/catalog"
	"streamsql/sql/types"
)

// Roles in pg_roles, pg_user, pg_authid and pg_auth_members. A declared
// role shows its attributes; a name that owns objects or is the session's
// user without being a role (trust connections of undeclared users, owners
// recorded before roles existed) shows as a superuser, which is what it
// acts as.

// roleAttrs is one row's worth of role attributes.
type roleAttrs struct {
	oid                                                 uint32
	name                                                string
	super, inherit, createRole, createDB, login, hasPwd bool
	bypassRLS                                           bool
	connLimit                                           int64
	validUntil                                          types.Datum
	secret                                              string
	config                                              map[string]string // ALTER ROLE SET
}

func (s *Snapshot) roleAttrs() []roleAttrs {
	var out []roleAttrs
	for _, n := range s.Roles() {
		var r *catalog.Role
		if s.Catalog != nil {
			r, _ = s.Catalog.Role(n)
		}
		if r == nil {
			out = append(out, roleAttrs{oid: s.RoleOID(n), name: n, super: true, inherit: true, createRole: true,
				createDB: true, login: true, connLimit: -1, bypassRLS: true})
			continue
		}
		a := roleAttrs{oid: r.OID, name: r.Name, super: r.Superuser, inherit: r.Inherit, createRole: r.CreateRole,
			createDB: r.CreateDB, login: r.CanLogin, connLimit: int64(r.ConnLimit), hasPwd: r.Password != "", secret: r.Password,
			bypassRLS: r.BypassRLS, config: r.Settings}
		if r.ValidUntil != nil {
			a.validUntil = types.TimeToTimestamp(*r.ValidUntil)
		}
		out = append(out, a)
	}
	return out
}

func roleRows(s *Snapshot) []row {
	var out []row
	for _, a := range s.roleAttrs() {
		out = append(out, row{
			"rolname": a.name, "rolsuper": a.super, "rolinherit": a.inherit, "rolcreaterole": a.createRole,
			"rolcreatedb": a.createDB, "rolcanlogin": a.login, "rolconnlimit": a.connLimit, "rolbypassrls": a.bypassRLS,
			"rolpassword": "********", "rolvaliduntil": a.validUntil, "oid": int64(a.oid),
		})
		if len(a.config) > 0 {
			out[len(out)-1]["rolconfig"] = settingConfig(a.config)
		}
	}
	return out
}

// settingConfig is a set of role settings as setconfig and rolconfig
// show them: name=value, by name.
func settingConfig(set map[string]string) string {
	names := slices.Sorted(maps.Keys(set))
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = n + "=" + set[n]
	}
	return textArray(out)
}

// dbRoleSettingRows are the settings of ALTER ROLE ... SET: per role
// (setrole 0 for ALTER ROLE ALL) and database (setdatabase 0 for every
// database; settings for a database name other than the session's are
// for no database pg_database shows, and are left out).
func dbRoleSettingRows(s *Snapshot) []row {
	if s.Catalog == nil {
		return nil
	}
	var out []row
	add := func(db, role uint32, set map[string]string) {
		if len(set) > 0 {
			out = append(out, row{"setdatabase": int64(db), "setrole": int64(role), "setconfig": settingConfig(set)})
		}
	}
	add(0, 0, s.Catalog.AllRoleSettings(""))
	add(OIDDatabase, 0, s.Catalog.AllRoleSettings(s.Database))
	for _, n := range s.Roles() {
		r, ok := s.Catalog.Role(n)
		if !ok {
			continue
		}
		add(0, r.OID, r.Settings)
		add(OIDDatabase, r.OID, r.DatabaseSettings[s.Database])
	}
	return out
}

func userRows(s *Snapshot) []row {
	var out []row
	for _, a := range s.roleAttrs() {
		if !a.login {
			continue
		}
		out = append(out, row{"usename": a.name, "usesysid": int64(a.oid), "usecreatedb": a.createDB,
			"usesuper": a.super, "passwd": "********", "valuntil": a.validUntil, "usebypassrls": a.bypassRLS})
	}
	return out
}

// authidRows shows the stored secrets; only superusers may read pg_authid
// (the planner refuses the table to others, as PostgreSQL does).
func authidRows(s *Snapshot) []row {
	var out []row
	for _, a := range s.roleAttrs() {
		var pwd types.Datum
		if a.secret != "" {
			pwd = a.secret
		}
		out = append(out, row{
			"oid": int64(a.oid), "rolname": a.name, "rolsuper": a.super, "rolinherit": a.inherit,
			"rolcreaterole": a.createRole, "rolcreatedb": a.createDB, "rolcanlogin": a.login, "rolbypassrls": a.bypassRLS,
			"rolconnlimit": a.connLimit, "rolpassword": pwd, "rolvaliduntil": a.validUntil,
		})
	}
	return out
}

func authMemberRows(s *Snapshot) []row {
	if s.Catalog == nil {
		return nil
	}
	var out []row
	for _, r := range s.Catalog.Roles() {
		for _, m := range r.MemberOf {
			g, ok := s.Catalog.Role(m.Role)
			if !ok {
				continue
			}
			grantor := m.Grantor
			if grantor == "" {
				grantor = catalog.DefaultOwner
			}
			out = append(out, row{"roleid": int64(g.OID), "member": int64(r.OID),
				"grantor": int64(s.RoleOID(grantor)), "admin_option": m.Admin})
		}
	}
	return out
}

// defaultACLRows are pg_default_acl: the roles' ALTER DEFAULT PRIVILEGES
// entries (object type r: tables, S: sequences).
func defaultACLRows(s *Snapshot) []row {
	if s.Catalog == nil {
		return nil
	}
	var out []row
	for _, r := range s.Catalog.Roles() {
		for i, d := range r.DefaultACLs {
			items := make([]string, len(d.ACL))
			for j, it := range d.ACL {
				items[j] = it.String()
			}
			nsp := int64(0)
			if d.Schema != "" {
				nsp = int64(s.schemaOID(d.Schema))
			}
			objType := "r"
			if d.ObjType != 0 {
				objType = string(d.ObjType)
			}
			out = append(out, row{"oid": int64(r.OID)<<8 | int64(i), "defaclrole": int64(r.OID), "defaclnamespace": nsp,
				"defaclobjtype": objType, "defaclacl": aclArray(items)})
		}
	}
	return out
}
