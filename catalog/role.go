package catalog

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	"streamsql/sql/sqlerr"
)

// Roles (users and groups) live beside the relations:
//
//	'c' "role/" + OID (4 bytes)  a Role as JSON
//
// A role's memberships (GRANT role TO member) are kept on the member, so
// one write changes one role. Role OIDs come from the same counter as
// relations, except the bootstrap superuser's, which is 10 as in
// PostgreSQL. Passwords are stored only as the secret auth.EncryptPassword
// returns (a SCRAM-SHA-256 verifier, or an md5 hash given as such).

var keyRolePrefix = []byte("crole/")

// OIDBootstrapSuperuser is the OID of the role created at first start.
const OIDBootstrapSuperuser uint32 = 10

// Role is a user or group. A *Role handed out by the catalog is never
// modified.
type Role struct {
	OID        uint32
	Name       string
	Superuser  bool
	Inherit    bool
	CreateRole bool
	CreateDB   bool
	CanLogin   bool
	// BypassRLS roles are not bound by row-level security policies.
	BypassRLS bool `json:",omitempty"`
	// ConnLimit is CONNECTION LIMIT; -1 means none.
	ConnLimit int
	// Password is the stored secret, "" for none.
	Password   string `json:",omitempty"`
	ValidUntil *time.Time
	// MemberOf lists the roles this role was granted, in grant order.
	MemberOf []Membership `json:",omitempty"`
	Created  time.Time
	// DefaultACLs are the role's ALTER DEFAULT PRIVILEGES entries
	// (acl.go), pg_default_acl.
	DefaultACLs []DefaultACL `json:",omitempty"`
	// Settings are ALTER ROLE ... SET name = value: the session settings
	// of the role's connections (pg_db_role_setting).
	Settings map[string]string `json:",omitempty"`
	// DatabaseSettings are ALTER ROLE ... IN DATABASE d SET name = value
	// by database name: they apply to the role's connections to d, over
	// Settings.
	DatabaseSettings map[string]map[string]string `json:",omitempty"`
}

// Membership is one GRANT role TO member.
type Membership struct {
	Role    string // the granted role
	Admin   bool   // WITH ADMIN OPTION
	Grantor string
}

// Clone returns a deep copy.
func (r *Role) Clone() *Role {
	n := *r
	n.MemberOf = slices.Clone(r.MemberOf)
	n.DefaultACLs = slices.Clone(r.DefaultACLs)
	n.Settings = maps.Clone(r.Settings)
	if r.DatabaseSettings != nil {
		n.DatabaseSettings = make(map[string]map[string]string, len(r.DatabaseSettings))
		for db, m := range r.DatabaseSettings {
			n.DatabaseSettings[db] = maps.Clone(m)
		}
	}
	if r.ValidUntil != nil {
		t := *r.ValidUntil
		n.ValidUntil = &t
	}
	return &n
}

// HasMembership reports whether r was granted role directly.
func (r *Role) HasMembership(role string) bool {
	return slices.ContainsFunc(r.MemberOf, func(m Membership) bool { return m.Role == role })
}

func (c *Catalog) loadRole(v []byte) error {
	r := &Role{}
	if err := json.Unmarshal(v, r); err != nil {
		return fmt.Errorf("role: %w", err)
	}
	c.roles[r.Name] = r
	return nil
}

// publishRoles applies ch's role changes in memory, with c.mu held.
func (c *Catalog) publishRoles(ch *change) {
	for _, r := range ch.dropRoles {
		if c.roles[r.Name] != nil && c.roles[r.Name].OID == r.OID {
			delete(c.roles, r.Name)
		}
	}
	for _, r := range ch.putRoles {
		for name, old := range c.roles {
			if old.OID == r.OID && name != r.Name {
				delete(c.roles, name) // renamed
			}
		}
		c.roles[r.Name] = r
	}
}

// Role returns the role called name.
func (c *Catalog) Role(name string) (*Role, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	r, ok := c.roles[name]
	return r, ok
}

// existingRole returns role name, or an undefined_object error.
func (c *Catalog) existingRole(name string) (*Role, error) {
	r, ok := c.Role(name)
	if !ok {
		return nil, sqlerr.New(sqlerr.UndefinedObject, "role %q does not exist", name)
	}
	return r, nil
}

// RoleByOID returns the role with OID oid.
func (c *Catalog) RoleByOID(oid uint32) (*Role, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, r := range c.roles {
		if r.OID == oid {
			return r, true
		}
	}
	return nil, false
}

// Roles returns every role, sorted by name.
func (c *Catalog) Roles() []*Role {
	c.mu.RLock()
	out := make([]*Role, 0, len(c.roles))
	for _, r := range c.roles {
		out = append(out, r)
	}
	c.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// IsMemberOf reports whether member belongs to role directly or through
// other roles (member itself counts). With inheritOnly, only paths through
// roles with INHERIT count: those are the roles whose privileges member
// uses without SET ROLE.
func (c *Catalog) IsMemberOf(member, role string, inheritOnly bool) bool {
	if member == role {
		return true
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	seen := map[string]bool{member: true}
	queue := []string{member}
	for len(queue) > 0 {
		r := c.roles[queue[0]]
		queue = queue[1:]
		if r == nil || (inheritOnly && !r.Inherit) {
			continue
		}
		for _, m := range r.MemberOf {
			if m.Role == role {
				return true
			}
			if !seen[m.Role] {
				seen[m.Role] = true
				queue = append(queue, m.Role)
			}
		}
	}
	return false
}

// BootstrapSuperuser creates the superuser name (OID 10) with the given
// secret when the catalog has no roles yet, and reports whether it did. A
// non-empty secret on a later start is ignored, as PostgreSQL's image
// ignores POSTGRES_PASSWORD once the data directory exists.
func (c *Catalog) BootstrapSuperuser(name, secret string) (bool, error) {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	c.mu.RLock()
	n := len(c.roles)
	c.mu.RUnlock()
	if n > 0 {
		return false, nil
	}
	r := &Role{OID: OIDBootstrapSuperuser, Name: name, Superuser: true, Inherit: true, CreateRole: true,
		CreateDB: true, CanLogin: true, BypassRLS: true, ConnLimit: -1, Password: secret, Created: time.Now().UTC()}
	return true, c.commit(&change{putRoles: []*Role{r}})
}

// CreateRole adds r, assigning its OID.
func (c *Catalog) CreateRole(r *Role) (*Role, error) {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if _, ok := c.Role(r.Name); ok {
		return nil, sqlerr.New(sqlerr.DuplicateObject, "role %q already exists", r.Name)
	}
	puts := []*Role{}
	for _, m := range r.MemberOf {
		if _, err := c.existingRole(m.Role); err != nil {
			return nil, err
		}
	}
	n := r.Clone()
	n.OID = c.nextOID
	if n.Created.IsZero() {
		n.Created = time.Now().UTC()
	}
	puts = append(puts, n)
	if err := c.commit(&change{putRoles: puts, nextOID: n.OID + 1}); err != nil {
		return nil, err
	}
	return n, nil
}

// CreateRoleWithMembers is CreateRole that also makes the roles in members
// members of the new role (CREATE ROLE ... ROLE a, b / ADMIN a), in one
// commit.
func (c *Catalog) CreateRoleWithMembers(r *Role, members []Membership, grantor string) (*Role, error) {
	if len(members) == 0 {
		return c.CreateRole(r)
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if _, ok := c.Role(r.Name); ok {
		return nil, sqlerr.New(sqlerr.DuplicateObject, "role %q already exists", r.Name)
	}
	n := r.Clone()
	n.OID = c.nextOID
	if n.Created.IsZero() {
		n.Created = time.Now().UTC()
	}
	puts := []*Role{n}
	for _, m := range members {
		mr, err := c.existingRole(m.Role)
		if err != nil {
			return nil, err
		}
		mr = mr.Clone()
		mr.MemberOf = append(mr.MemberOf, Membership{Role: n.Name, Admin: m.Admin, Grantor: grantor})
		puts = append(puts, mr)
	}
	if err := c.commit(&change{putRoles: puts, nextOID: n.OID + 1}); err != nil {
		return nil, err
	}
	return n, nil
}

// UpdateRole replaces the role with r.OID by r (ALTER ROLE). A rename
// checks the new name is free.
func (c *Catalog) UpdateRole(r *Role) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	old, ok := c.RoleByOID(r.OID)
	if !ok {
		return sqlerr.New(sqlerr.UndefinedObject, "role %q does not exist", r.Name)
	}
	puts := []*Role{r.Clone()}
	ch := &change{}
	if old.Name != r.Name {
		c.renameRoleEverywhere(old.Name, r.Name, ch)
		if _, taken := c.Role(r.Name); taken {
			return sqlerr.New(sqlerr.DuplicateObject, "role %q already exists", r.Name)
		}
		// Memberships name roles: follow the rename.
		for _, o := range c.Roles() {
			if o.OID == r.OID || !o.HasMembership(old.Name) {
				continue
			}
			o = o.Clone()
			for i := range o.MemberOf {
				if o.MemberOf[i].Role == old.Name {
					o.MemberOf[i].Role = r.Name
				}
				if o.MemberOf[i].Grantor == old.Name {
					o.MemberOf[i].Grantor = r.Name
				}
			}
			puts = append(puts, o)
		}
	}
	ch.putRoles = puts
	return c.commit(ch)
}

// DropRole drops the role name. A role that owns objects, holds or
// granted privileges, or is named by a policy or default privileges
// cannot be dropped (2BP01, role_deps.go); memberships in it are revoked
// with it.
func (c *Catalog) DropRole(name string) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	r, err := c.existingRole(name)
	if err != nil {
		return err
	}
	if deps := c.roleDependents(name); len(deps) > 0 {
		return dependentsError(name, deps)
	}
	ch := &change{dropRoles: []*Role{r}}
	for _, o := range c.Roles() {
		if o.OID == r.OID || !o.HasMembership(name) {
			continue
		}
		o = o.Clone()
		o.MemberOf = slices.DeleteFunc(o.MemberOf, func(m Membership) bool { return m.Role == name })
		ch.putRoles = append(ch.putRoles, o)
	}
	return c.commit(ch)
}

// GrantRole makes member a member of role. A grant that would make a role
// a member of itself fails (0LP01) as in PostgreSQL; granting an existing
// membership again only updates its admin option upwards.
func (c *Catalog) GrantRole(role, member string, admin bool, grantor string) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if _, err := c.existingRole(role); err != nil {
		return err
	}
	m, err := c.existingRole(member)
	if err != nil {
		return err
	}
	if c.IsMemberOf(role, member, false) {
		return sqlerr.New(sqlerr.InvalidGrantOperation, "role %q is a member of role %q", role, member)
	}
	m = m.Clone()
	i := slices.IndexFunc(m.MemberOf, func(x Membership) bool { return x.Role == role })
	switch {
	case i < 0:
		m.MemberOf = append(m.MemberOf, Membership{Role: role, Admin: admin, Grantor: grantor})
	case admin && !m.MemberOf[i].Admin:
		m.MemberOf[i].Admin = true
	default:
		return nil
	}
	return c.commit(&change{putRoles: []*Role{m}})
}

// RevokeRole ends member's membership in role (or with adminOnly only its
// admin option). It reports whether there was such a membership.
func (c *Catalog) RevokeRole(role, member string, adminOnly bool) (bool, error) {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if _, err := c.existingRole(role); err != nil {
		return false, err
	}
	m, err := c.existingRole(member)
	if err != nil {
		return false, err
	}
	i := slices.IndexFunc(m.MemberOf, func(x Membership) bool { return x.Role == role })
	if i < 0 {
		return false, nil
	}
	m = m.Clone()
	if adminOnly {
		m.MemberOf[i].Admin = false
	} else {
		m.MemberOf = slices.Delete(m.MemberOf, i, i+1)
	}
	return true, c.commit(&change{putRoles: []*Role{m}})
}

// allFunctionsLocked returns every function, with c.mu held.
func (c *Catalog) allFunctionsLocked() []*Function {
	out := make([]*Function, 0, len(c.funcs.byOID))
	for _, f := range c.funcs.byOID {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].OID < out[j].OID })
	return out
}
