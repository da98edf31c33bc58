package catalog

import "strings"

// Privileges on relations are kept as PostgreSQL keeps them in
// pg_class.relacl: one item per grantee with the privilege letters
//
//	r SELECT  a INSERT  w UPDATE  d DELETE  D TRUNCATE  x REFERENCES  t TRIGGER
//
// A relation with no ACL has the default one: its owner holds every
// privilege and nobody else any. The first GRANT or REVOKE makes the
// default explicit (the owner's item first), as PostgreSQL does.

// AllTablePrivileges are the letters of ALL PRIVILEGES on a table.
const AllTablePrivileges = "arwdDxt"

// ACLItem is one grantee's privileges; Grantee "" is PUBLIC.
type ACLItem struct {
	Grantee string
	Grantor string
	Privs   string
}

// String renders the item as aclitem's text form: grantee=privs/grantor.
func (a ACLItem) String() string {
	return a.Grantee + "=" + a.Privs + "/" + a.Grantor
}

// EffectiveACL returns r's ACL, the default one if none was set.
func (r *Relation) EffectiveACL() []ACLItem {
	if r.ACL != nil {
		return r.ACL
	}
	return []ACLItem{{Grantee: owner(r.Owner), Grantor: owner(r.Owner), Privs: AllTablePrivileges}}
}

func owner(o string) string {
	if o == "" {
		return DefaultOwner
	}
	return o
}

// orderPrivs sorts privilege letters in PostgreSQL's order.
func orderPrivs(p string) string {
	var b strings.Builder
	for _, c := range AllTablePrivileges {
		if strings.ContainsRune(p, c) {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// GrantPrivileges adds privs (letters) for each grantee ("" = PUBLIC) to
// relation oid.
func (c *Catalog) GrantPrivileges(oid uint32, grantees []string, privs, grantor string) (*Relation, error) {
	return c.alter(oid, func(r *Relation) error {
		r.ACL = grantItems(r.EffectiveACL(), grantees, privs, grantor)
		return nil
	})
}

// RevokePrivileges removes privs from each grantee's items on relation
// oid, and from its items on every column (a privilege revoked on a
// table is revoked on its columns too, as in PostgreSQL).
func (c *Catalog) RevokePrivileges(oid uint32, grantees []string, privs string) (*Relation, error) {
	return c.alter(oid, func(r *Relation) error {
		acl := revokeItems(r.EffectiveACL(), grantees, privs)
		if acl == nil {
			acl = []ACLItem{} // explicit: nobody holds anything
		}
		r.ACL = acl
		for i := range r.Columns {
			if r.Columns[i].ACL != nil {
				// An empty column ACL is NULL again (attacl), as in PostgreSQL.
				r.Columns[i].ACL = revokeItems(r.Columns[i].ACL, grantees, privs)
			}
		}
		return nil
	})
}

// revokeItems returns acl without privs for grantees (a new slice).
func revokeItems(acl []ACLItem, grantees []string, privs string) []ACLItem {
	var out []ACLItem
	for _, it := range acl {
		for _, g := range grantees {
			if it.Grantee == g {
				it.Privs = strings.Map(func(c rune) rune {
					if strings.ContainsRune(privs, c) {
						return -1
					}
					return c
				}, it.Privs)
			}
		}
		if it.Privs != "" {
			out = append(out, it)
		}
	}
	return out
}

// grantItems returns acl with privs added for each grantee (a new slice).
func grantItems(acl []ACLItem, grantees []string, privs, grantor string) []ACLItem {
	acl = append([]ACLItem(nil), acl...)
	for _, g := range grantees {
		found := false
		for i := range acl {
			if acl[i].Grantee == g && acl[i].Grantor == grantor {
				acl[i].Privs = orderPrivs(acl[i].Privs + privs)
				found = true
			}
		}
		if !found {
			acl = append(acl, ACLItem{Grantee: g, Grantor: grantor, Privs: orderPrivs(privs)})
		}
	}
	return acl
}

// ColumnPrivileges are the letters that may be granted on a column.
const ColumnPrivileges = "arwx"

// GrantColumnPrivileges adds privs for each grantee on the columns
// attnums of relation oid. A column's ACL has no default items: the
// owner's rights come from the relation's.
func (c *Catalog) GrantColumnPrivileges(oid uint32, attnums []int16, grantees []string, privs, grantor string) (*Relation, error) {
	return c.alter(oid, func(r *Relation) error {
		for i := range r.Columns {
			if slicesContains(attnums, r.Columns[i].AttNum) {
				r.Columns[i].ACL = grantItems(r.Columns[i].ACL, grantees, privs, grantor)
			}
		}
		return nil
	})
}

// RevokeColumnPrivileges removes privs from each grantee on the columns
// attnums of relation oid.
func (c *Catalog) RevokeColumnPrivileges(oid uint32, attnums []int16, grantees []string, privs string) (*Relation, error) {
	return c.alter(oid, func(r *Relation) error {
		for i := range r.Columns {
			if slicesContains(attnums, r.Columns[i].AttNum) && r.Columns[i].ACL != nil {
				// An empty column ACL is NULL again (attacl), as in PostgreSQL.
				r.Columns[i].ACL = revokeItems(r.Columns[i].ACL, grantees, privs)
			}
		}
		return nil
	})
}

func slicesContains(s []int16, v int16) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// ColumnPrivilegesOf returns the privilege letters the grantees hold on
// column attnum of r through grants on the column itself.
func (r *Relation) ColumnPrivilegesOf(attnum int16, grantees map[string]bool) string {
	var p string
	for _, c := range r.Columns {
		if c.AttNum != attnum || c.Dropped {
			continue
		}
		for _, it := range c.ACL {
			if grantees[it.Grantee] {
				p += it.Privs
			}
		}
	}
	return orderPrivs(p)
}

// AnyColumnHas reports whether the grantees hold priv on some column of
// r through column grants.
func (r *Relation) AnyColumnHas(priv byte, grantees map[string]bool) bool {
	for _, c := range r.Columns {
		if c.Dropped {
			continue
		}
		for _, it := range c.ACL {
			if grantees[it.Grantee] && strings.IndexByte(it.Privs, priv) >= 0 {
				return true
			}
		}
	}
	return false
}

// PrivilegesOf returns the privilege letters the grantees (a role and the
// roles whose privileges it inherits; "" for PUBLIC) hold on r, owner's
// included.
func (r *Relation) PrivilegesOf(grantees map[string]bool) string {
	var p string
	for _, it := range r.EffectiveACL() {
		if grantees[it.Grantee] {
			p += it.Privs
		}
	}
	return orderPrivs(p)
}

// RolesInheritedBy returns role and every role whose privileges it uses
// without SET ROLE (memberships through INHERIT roles), plus "" (PUBLIC).
func (c *Catalog) RolesInheritedBy(role string) map[string]bool {
	out := map[string]bool{"": true, role: true}
	c.mu.RLock()
	defer c.mu.RUnlock()
	queue := []string{role}
	for len(queue) > 0 {
		r := c.roles[queue[0]]
		queue = queue[1:]
		if r == nil || !r.Inherit {
			continue
		}
		for _, m := range r.MemberOf {
			if !out[m.Role] {
				out[m.Role] = true
				queue = append(queue, m.Role)
			}
		}
	}
	return out
}
