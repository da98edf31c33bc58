package pgcatalog

import (
	"strings"

	"streamsql/catalog"
)

// information_schema's privilege views, from the relations' ACLs as
// PostgreSQL 15 defines them: table_privileges has one row per relation
// (table, view, materialized view, source), grantor, grantee and
// privilege; column_privileges one per column, from the column's own
// grants and from the grants on its table (SELECT, INSERT, UPDATE and
// REFERENCES apply to every column); role_table_grants is
// table_privileges limited to grants by or to the current role's roles.
// Like PostgreSQL's, the views show only the grants the current role may
// see: those by or to a role whose privileges it has, and those to PUBLIC.
// The system catalogs are not listed.

// privilegeNames are the privilege types of the ACL letters.
var privilegeNames = map[rune]string{'r': "SELECT", 'a': "INSERT", 'w': "UPDATE", 'd': "DELETE", 'D': "TRUNCATE", 'x': "REFERENCES", 't': "TRIGGER"}

// columnPrivilegeLetters are the letters column_privileges shows.
const columnPrivilegeLetters = "arwx"

// privilegeViewer decides which grants the snapshot's role may see.
type privilegeViewer struct {
	super bool
	roles map[string]bool
}

func (s *Snapshot) privilegeViewer() privilegeViewer {
	role := s.User // the current role
	v := privilegeViewer{roles: map[string]bool{}}
	if s.Catalog == nil {
		return v
	}
	r, ok := s.Catalog.Role(role)
	v.super = !ok || r.Superuser
	v.roles = s.Catalog.RolesInheritedBy(role)
	return v
}

func (v privilegeViewer) sees(it catalog.ACLItem) bool {
	return v.super || it.Grantee == "" || v.roles[it.Grantee] || v.roles[it.Grantor]
}

func granteeName(g string) string {
	if g == "" {
		return "PUBLIC"
	}
	return g
}

// aclPrivilegeRows calls f for each privilege of each item of acl that v
// sees, with whether it is grantable (held WITH GRANT OPTION, or by the
// owner).
func aclPrivilegeRows(v privilegeViewer, acl []catalog.ACLItem, relOwner string, letters string, f func(it catalog.ACLItem, priv string, grantable bool)) {
	for _, it := range acl {
		if !v.sees(it) {
			continue
		}
		for _, c := range it.Privs {
			if !strings.ContainsRune(letters, c) {
				continue
			}
			f(it, privilegeNames[c], strings.ContainsRune(it.GrantOpts, c) || it.Grantee == relOwner)
		}
	}
}

func isTablePrivilegeRows(s *Snapshot) []row {
	v := s.privilegeViewer()
	var out []row
	for _, r := range s.relations() { // no subscriptions: they hold no privileges
		relOwner := owner(r.Owner)
		aclPrivilegeRows(v, r.EffectiveACL(), relOwner, r.AllPrivileges(), func(it catalog.ACLItem, priv string, grantable bool) {
			out = append(out, row{"grantor": granteeName(it.Grantor), "grantee": granteeName(it.Grantee), "table_catalog": s.Database,
				"table_schema": r.Schema, "table_name": r.Name, "privilege_type": priv, "is_grantable": yesNo(grantable),
				"with_hierarchy": yesNo(priv == "SELECT")})
		})
	}
	return out
}

func isRoleTableGrantRows(s *Snapshot) []row {
	v := s.privilegeViewer()
	var out []row
	for _, r := range isTablePrivilegeRows(s) {
		if v.roles[r["grantor"].(string)] || v.roles[r["grantee"].(string)] {
			out = append(out, r)
		}
	}
	return out
}

func isColumnPrivilegeRows(s *Snapshot) []row {
	v := s.privilegeViewer()
	var out []row
	for _, r := range s.relations() {
		relOwner := owner(r.Owner)
		type key struct{ grantor, grantee, col, priv string }
		seen := map[key]bool{}
		add := func(col string) func(it catalog.ACLItem, priv string, grantable bool) {
			return func(it catalog.ACLItem, priv string, grantable bool) {
				k := key{it.Grantor, it.Grantee, col, priv}
				if seen[k] {
					return
				}
				seen[k] = true
				out = append(out, row{"grantor": granteeName(it.Grantor), "grantee": granteeName(it.Grantee), "table_catalog": s.Database,
					"table_schema": r.Schema, "table_name": r.Name, "column_name": col, "privilege_type": priv, "is_grantable": yesNo(grantable)})
			}
		}
		for _, c := range r.Columns {
			if c.Dropped || c.Hidden {
				continue
			}
			aclPrivilegeRows(v, c.ACL, relOwner, columnPrivilegeLetters, add(c.Name))
			aclPrivilegeRows(v, r.EffectiveACL(), relOwner, columnPrivilegeLetters, add(c.Name))
		}
	}
	return out
}
