package catalog

import (
	"fmt"
	"slices"
	"strings"

	"streamsql/sql/sqlerr"
)

// What depends on a role, PostgreSQL's pg_shdepend computed from the
// catalog: the objects it owns, the privileges granted to it or by it,
// the policies that name it and the default privileges that mention it.
// DROP ROLE refuses a role anything depends on (2BP01, listing them as
// PostgreSQL does); DROP OWNED BY and REASSIGN OWNED BY clear them.

// aclMentions reports whether acl has an item granted to or by role
// (other than an owner's own item).
func aclMentions(acl []ACLItem, role, objOwner string) bool {
	for _, it := range acl {
		if it.Grantee == role && role != objOwner || it.Grantor == role && role != objOwner {
			return true
		}
	}
	return false
}

// roleDependents lists, as PostgreSQL's DETAIL lines, what depends on
// role. c.writeMu is held.
func (c *Catalog) roleDependents(name string) []string {
	var deps []string
	for _, s := range c.Schemas() {
		if aclMentions(s.ACL, name, owner(s.Owner)) {
			deps = append(deps, "privileges for schema "+s.Name)
		}
	}
	for _, rel := range c.Relations() {
		word := rel.Kind.String()
		if aclMentions(rel.ACL, name, owner(rel.Owner)) {
			deps = append(deps, fmt.Sprintf("privileges for %s %s", word, rel.qualifiedName()))
		}
		for _, col := range rel.Columns {
			if !col.Dropped && aclMentions(col.ACL, name, "") {
				deps = append(deps, fmt.Sprintf("privileges for column %s of %s %s", col.Name, word, rel.qualifiedName()))
			}
		}
		for _, p := range rel.Policies {
			if slices.Contains(p.Roles, name) {
				deps = append(deps, fmt.Sprintf("target of policy %s on %s %s", p.Name, word, rel.qualifiedName()))
			}
		}
	}
	c.mu.RLock()
	fns := c.allFunctionsLocked()
	c.mu.RUnlock()
	for _, f := range fns {
		if aclMentions(f.ACL, name, owner(f.Owner)) {
			deps = append(deps, "privileges for function "+f.Signature())
		}
	}
	for _, r := range c.Roles() {
		for _, d := range r.DefaultACLs {
			switch {
			case r.Name == name:
				deps = append(deps, "owner of "+defaultACLObject(d, r.Name))
			case aclMentions(d.ACL, name, r.Name):
				deps = append(deps, "privileges for "+defaultACLObject(d, r.Name))
			}
		}
	}
	for _, s := range c.Schemas() {
		if s.Owner == name {
			deps = append(deps, "owner of schema "+s.Name)
		}
	}
	for _, rel := range c.Relations() {
		if rel.Owner == name {
			deps = append(deps, fmt.Sprintf("owner of %s %s", rel.Kind, rel.qualifiedName()))
		}
	}
	for _, f := range fns {
		if f.Owner == name {
			deps = append(deps, "owner of function "+f.Signature())
		}
	}
	return deps
}

// defaultACLObject names what entry d gives privileges on, as
// PostgreSQL describes a pg_default_acl entry of role.
func defaultACLObject(d DefaultACL, role string) string {
	what := "relations"
	if d.ObjType == DefaultACLSequences {
		what = "sequences"
	}
	s := "default privileges on new " + what + " belonging to role " + role
	if d.Schema != "" {
		s += " in schema " + d.Schema
	}
	return s
}

// dropRoleFromACL returns acl without the items granted to or by role
// (nil stays nil).
func dropRoleFromACL(acl []ACLItem, role string) []ACLItem {
	if acl == nil {
		return nil
	}
	out := []ACLItem{}
	for _, it := range acl {
		if it.Grantee != role && it.Grantor != role {
			out = append(out, it)
		}
	}
	return out
}

// renameInACL returns acl with role from replaced by to, as grantee and
// grantor (nil stays nil).
func renameInACL(acl []ACLItem, from, to string) []ACLItem {
	if acl == nil {
		return nil
	}
	out := make([]ACLItem, 0, len(acl))
	for _, it := range acl {
		if it.Grantee == from {
			it.Grantee = to
		}
		if it.Grantor == from {
			it.Grantor = to
		}
		// The new owner may already hold an item of its own: merge.
		merged := false
		for i := range out {
			if out[i].Grantee == it.Grantee && out[i].Grantor == it.Grantor {
				out[i].Privs = orderPrivs(out[i].Privs + it.Privs)
				out[i].GrantOpts = orderPrivs(out[i].GrantOpts + it.GrantOpts)
				merged = true
			}
		}
		if !merged {
			out = append(out, it)
		}
	}
	return out
}

// DropOwned is DROP OWNED BY role: it returns the relations role owns
// (the caller drops them, with their data and jobs), and revokes, in one
// commit, every privilege granted to role, removes role from the policies
// that name it (dropping a policy left with no role) and drops its
// default privileges. Schemas and functions role owns are dropped too.
func (c *Catalog) DropOwned(role string) (owned []*Relation, err error) {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	r, err := c.existingRole(role)
	if err != nil {
		return nil, err
	}
	ch := &change{}
	for _, rel := range c.Relations() {
		if rel.Owner == role {
			owned = append(owned, rel)
			continue
		}
		n := rel.Clone()
		changed := false
		if aclMentions(rel.ACL, role, owner(rel.Owner)) {
			n.ACL, changed = dropRoleFromACL(n.ACL, role), true
		}
		for i := range n.Columns {
			if aclMentions(n.Columns[i].ACL, role, "") {
				n.Columns[i].ACL, changed = dropRoleFromACL(n.Columns[i].ACL, role), true
				if len(n.Columns[i].ACL) == 0 {
					n.Columns[i].ACL = nil
				}
			}
		}
		var kept []Policy
		for _, p := range n.Policies {
			if slices.Contains(p.Roles, role) {
				changed = true
				p.Roles = slices.DeleteFunc(p.Roles, func(x string) bool { return x == role })
				if len(p.Roles) == 0 {
					continue
				}
			}
			kept = append(kept, p)
		}
		n.Policies = kept
		if changed {
			ch.putRels = append(ch.putRels, n)
		}
	}
	for _, s := range c.Schemas() {
		switch {
		case s.Owner == role:
			ch.dropNsp = append(ch.dropNsp, s.Name)
		case aclMentions(s.ACL, role, owner(s.Owner)):
			s.ACL = dropRoleFromACL(s.ACL, role)
			ch.putNsp = append(ch.putNsp, s)
		}
	}
	c.mu.RLock()
	fns := c.allFunctionsLocked()
	c.mu.RUnlock()
	for _, f := range fns {
		switch {
		case f.Owner == role:
			ch.dropFns = append(ch.dropFns, f)
		case aclMentions(f.ACL, role, owner(f.Owner)):
			n := *f
			n.ACL = dropRoleFromACL(f.ACL, role)
			ch.putFns = append(ch.putFns, &n)
		}
	}
	for _, o := range c.Roles() {
		changed := false
		n := o.Clone()
		if o.Name == role {
			n.DefaultACLs, changed = nil, len(o.DefaultACLs) > 0
		} else {
			for i := range n.DefaultACLs {
				if aclMentions(n.DefaultACLs[i].ACL, role, o.Name) {
					n.DefaultACLs[i].ACL, changed = dropRoleFromACL(n.DefaultACLs[i].ACL, role), true
				}
			}
		}
		if changed {
			ch.putRoles = append(ch.putRoles, n)
		}
	}
	for _, name := range ch.dropNsp {
		for _, rel := range c.Relations() {
			if rel.Schema == name && rel.Owner != role {
				return nil, sqlerr.New(sqlerr.DependentObjectsStillExist, "cannot drop schema %s because other objects depend on it", name).
					WithDetail("%s %s depends on schema %s", rel.Kind, rel.Name, name)
			}
		}
	}
	_ = r
	return owned, c.commit(ch)
}

// ReassignOwned is REASSIGN OWNED BY from TO to: every schema, relation
// and function from owns passes to to, and the owner's items in their
// ACLs with it.
func (c *Catalog) ReassignOwned(from, to string) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	for _, n := range []string{from, to} {
		if _, err := c.existingRole(n); err != nil {
			return err
		}
	}
	ch := &change{}
	for _, s := range c.Schemas() {
		if s.Owner == from {
			s.Owner, s.ACL = to, renameInACL(s.ACL, from, to)
			ch.putNsp = append(ch.putNsp, s)
		}
	}
	for _, rel := range c.Relations() {
		if rel.Owner == from {
			n := rel.Clone()
			n.Owner, n.ACL = to, renameInACL(n.ACL, from, to)
			ch.putRels = append(ch.putRels, n)
		}
	}
	c.mu.RLock()
	fns := c.allFunctionsLocked()
	c.mu.RUnlock()
	for _, f := range fns {
		if f.Owner == from {
			n := *f
			n.Owner, n.ACL = to, renameInACL(f.ACL, from, to)
			ch.putFns = append(ch.putFns, &n)
		}
	}
	return c.commit(ch)
}

// renameRoleEverywhere returns the relations, schemas and functions whose
// owner, ACLs or policies name role from, with to in its place (ALTER
// ROLE ... RENAME TO: StreamSQL keeps role names, where PostgreSQL keeps
// OIDs).
func (c *Catalog) renameRoleEverywhere(from, to string, ch *change) {
	for _, rel := range c.Relations() {
		n := rel.Clone()
		changed := false
		if n.Owner == from {
			n.Owner, changed = to, true
		}
		if aclMentions(n.ACL, from, "") {
			n.ACL, changed = renameInACL(n.ACL, from, to), true
		}
		for i := range n.Columns {
			if aclMentions(n.Columns[i].ACL, from, "") {
				n.Columns[i].ACL, changed = renameInACL(n.Columns[i].ACL, from, to), true
			}
		}
		for i := range n.Policies {
			for j, pr := range n.Policies[i].Roles {
				if pr == from {
					n.Policies[i].Roles[j], changed = to, true
				}
			}
		}
		if changed {
			ch.putRels = append(ch.putRels, n)
		}
	}
	for _, s := range c.Schemas() {
		if s.Owner == from || aclMentions(s.ACL, from, "") {
			if s.Owner == from {
				s.Owner = to
			}
			s.ACL = renameInACL(s.ACL, from, to)
			ch.putNsp = append(ch.putNsp, s)
		}
	}
	c.mu.RLock()
	fns := c.allFunctionsLocked()
	c.mu.RUnlock()
	for _, f := range fns {
		if f.Owner == from || aclMentions(f.ACL, from, "") {
			n := *f
			if n.Owner == from {
				n.Owner = to
			}
			n.ACL = renameInACL(f.ACL, from, to)
			ch.putFns = append(ch.putFns, &n)
		}
	}
}

// dependentsError is DROP ROLE's 2BP01.
func dependentsError(name string, deps []string) error {
	return sqlerr.New(sqlerr.DependentObjectsStillExist, "role %q cannot be dropped because some objects depend on it", name).
		WithDetail("%s", strings.Join(deps, "\n"))
}

// ChangeRelationOwner makes role to the owner of relation oid (ALTER
// TABLE/VIEW/MATERIALIZED VIEW ... OWNER TO): the old owner's items in the
// relation's and its columns' ACLs, as grantee and grantor, pass to the new
// owner, as PostgreSQL's aclnewowner does.
func (c *Catalog) ChangeRelationOwner(oid uint32, to string) (*Relation, error) {
	if _, err := c.existingRole(to); err != nil {
		return nil, err
	}
	return c.alter(oid, func(n *Relation) error {
		from := OwnerOf(n)
		n.Owner, n.ACL = to, renameInACL(n.ACL, from, to)
		for i := range n.Columns {
			n.Columns[i].ACL = renameInACL(n.Columns[i].ACL, from, to)
		}
		return nil
	})
}

// ChangeSchemaOwner makes role to the owner of schema name (ALTER SCHEMA
// ... OWNER TO), its ACL items passing from the old owner to the new.
func (c *Catalog) ChangeSchemaOwner(name, to string) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if _, err := c.existingRole(to); err != nil {
		return err
	}
	s, ok := c.SchemaByName(name)
	if !ok {
		return sqlerr.New(sqlerr.UndefinedSchema, "schema %q does not exist", name)
	}
	s.Owner, s.ACL = to, renameInACL(s.ACL, owner(s.Owner), to)
	return c.commit(&change{putNsp: []Schema{s}})
}

// ChangeFunctionOwner makes role to the owner of function oid (ALTER
// FUNCTION ... OWNER TO), its ACL items passing from the old owner.
func (c *Catalog) ChangeFunctionOwner(oid uint32, to string) error {
	if _, err := c.existingRole(to); err != nil {
		return err
	}
	return c.alterFunction(oid, func(f *Function) error {
		from := owner(f.Owner)
		f.Owner, f.ACL = to, renameInACL(f.ACL, from, to)
		return nil
	})
}
