package catalog

import (
	"slices"
	"strings"

	"streamsql/sql/sqlerr"
)

// Privileges on relations are kept as PostgreSQL keeps them in
// pg_class.relacl (and on columns in pg_attribute.attacl): one item per
// grantee and grantor with the privilege letters
//
//	r SELECT  a INSERT  w UPDATE  d DELETE  D TRUNCATE  x REFERENCES  t TRIGGER
//
// each followed by * when held WITH GRANT OPTION. A relation with no ACL
// has the default one: its owner holds every privilege and nobody else
// any. The first GRANT or REVOKE makes the default explicit (the owner's
// item first), as PostgreSQL does. The owner may always grant (ownership
// carries the grant options, which its item does not show); another role
// grants with the grant options it was given, and the items it grants
// name it as grantor, so that revoking its grant option can revoke them
// too (CASCADE). A column's ACL has no default: it holds only what was
// granted on the column, NULL again when that is all revoked.

// AllTablePrivileges are the letters of ALL PRIVILEGES on a table.
const AllTablePrivileges = "arwdDxt"

// AllSequencePrivileges are the letters of ALL PRIVILEGES on a sequence:
// SELECT (currval), UPDATE (nextval, setval) and USAGE (nextval,
// currval).
const AllSequencePrivileges = "rwU"

// AllPrivileges are the letters of ALL PRIVILEGES on relations of r's
// kind.
func (r *Relation) AllPrivileges() string {
	if r.Kind == KindSequence {
		return AllSequencePrivileges
	}
	return AllTablePrivileges
}

// ACLItem is one grantee's privileges from one grantor; Grantee "" is
// PUBLIC.
type ACLItem struct {
	Grantee string
	Grantor string
	Privs   string
	// GrantOpts are the letters of Privs held WITH GRANT OPTION.
	GrantOpts string `json:",omitempty"`
}

// String renders the item as aclitem's text form: grantee=privs/grantor.
func (a ACLItem) String() string {
	var b strings.Builder
	b.WriteString(a.Grantee)
	b.WriteByte('=')
	for _, c := range a.Privs {
		b.WriteRune(c)
		if strings.ContainsRune(a.GrantOpts, c) {
			b.WriteByte('*')
		}
	}
	b.WriteByte('/')
	b.WriteString(a.Grantor)
	return b.String()
}

// EffectiveACL returns r's ACL, the default one if none was set.
func (r *Relation) EffectiveACL() []ACLItem {
	if r.ACL != nil {
		return r.ACL
	}
	return []ACLItem{{Grantee: owner(r.Owner), Grantor: owner(r.Owner), Privs: r.AllPrivileges()}}
}

func owner(o string) string {
	if o == "" {
		return DefaultOwner
	}
	return o
}

// AllSchemaPrivileges are the letters of ALL PRIVILEGES on a schema:
// USAGE and CREATE.
const AllSchemaPrivileges = "UC"

// privOrder is the order of privilege letters in aclitem's text form.
const privOrder = "arwdDxtXUCTc"

// orderPrivs sorts privilege letters in PostgreSQL's order.
func orderPrivs(p string) string {
	var b strings.Builder
	for _, c := range privOrder {
		if strings.ContainsRune(p, c) {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// Revoke is one REVOKE applied to an ACL.
type Revoke struct {
	Grantees []string
	// Privs are the letters revoked.
	Privs string
	// Grantor: only the items this role granted are touched.
	Grantor string
	// OptionOnly is REVOKE GRANT OPTION FOR: the privileges stay.
	OptionOnly bool
	// Cascade also revokes what the grantees granted with the grant
	// options they lose; without it such grants fail the REVOKE.
	Cascade bool
}

// GrantPrivileges adds privs (letters) for each grantee ("" = PUBLIC) to
// relation oid, with the grant option when withOption.
func (c *Catalog) GrantPrivileges(oid uint32, grantees []string, privs, grantor string, withOption bool) (*Relation, error) {
	return c.alter(oid, func(r *Relation) error {
		r.ACL = grantItems(r.EffectiveACL(), grantees, privs, grantor, withOption)
		return nil
	})
}

// RevokePrivileges applies rv to relation oid, and to every column of it
// (a privilege revoked on a table is revoked on its columns too, as in
// PostgreSQL).
func (c *Catalog) RevokePrivileges(oid uint32, rv Revoke) (*Relation, error) {
	return c.alter(oid, func(r *Relation) error {
		acl, err := revokeItems(r.EffectiveACL(), rv)
		if err != nil {
			return err
		}
		if acl == nil {
			acl = []ACLItem{} // explicit: nobody holds anything
		}
		r.ACL = acl
		for i := range r.Columns {
			if r.Columns[i].ACL != nil {
				// An empty column ACL is NULL again (attacl), as in PostgreSQL.
				if r.Columns[i].ACL, err = revokeItems(r.Columns[i].ACL, rv); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// revokeItems returns acl with rv applied (a new slice, nil when empty).
func revokeItems(acl []ACLItem, rv Revoke) ([]ACLItem, error) {
	acl = append([]ACLItem(nil), acl...)
	var err error
	for _, g := range rv.Grantees {
		if acl, err = revokeOne(acl, g, rv.Grantor, rv.Privs, rv.OptionOnly, rv.Cascade); err != nil {
			return nil, err
		}
	}
	var out []ACLItem
	for _, it := range acl {
		if it.Privs != "" {
			out = append(out, it)
		}
	}
	return out, nil
}

// revokeOne revokes privs granted by grantor from grantee in acl (in
// place), and, with cascade, what grantee granted with the grant options
// it no longer holds from anyone.
func revokeOne(acl []ACLItem, grantee, grantor, privs string, optionOnly, cascade bool) ([]ACLItem, error) {
	lost := ""
	for i := range acl {
		it := &acl[i]
		if it.Grantee != grantee || it.Grantor != grantor {
			continue
		}
		lost += KeepLetters(it.GrantOpts, privs)
		it.GrantOpts = dropLetters(it.GrantOpts, privs)
		if !optionOnly {
			it.Privs = dropLetters(it.Privs, privs)
		}
	}
	for _, it := range acl {
		if it.Grantee == grantee && it.Privs != "" {
			lost = dropLetters(lost, it.GrantOpts) // still held from another grantor
		}
	}
	if lost == "" || grantee == "" {
		return acl, nil
	}
	var dependents []string
	for _, it := range acl {
		if it.Grantor == grantee && it.Grantee != grantee && KeepLetters(it.Privs, lost) != "" {
			dependents = append(dependents, it.Grantee)
		}
	}
	if len(dependents) > 0 && !cascade {
		return nil, sqlerr.New(sqlerr.DependentObjectsStillExist, "dependent privileges exist").WithHint("Use CASCADE to revoke them too.")
	}
	var err error
	for _, d := range dependents {
		if acl, err = revokeOne(acl, d, grantee, lost, false, true); err != nil {
			return nil, err
		}
	}
	return acl, nil
}

// keepLetters returns the letters of p that are in set.
func KeepLetters(p, set string) string {
	return strings.Map(func(c rune) rune {
		if strings.ContainsRune(set, c) {
			return c
		}
		return -1
	}, p)
}

// dropLetters returns the letters of p that are not in set.
func dropLetters(p, set string) string {
	return strings.Map(func(c rune) rune {
		if strings.ContainsRune(set, c) {
			return -1
		}
		return c
	}, p)
}

// grantItems returns acl with privs added for each grantee (a new slice).
func grantItems(acl []ACLItem, grantees []string, privs, grantor string, withOption bool) []ACLItem {
	acl = append([]ACLItem(nil), acl...)
	opts := ""
	if withOption {
		opts = privs
	}
	for _, g := range grantees {
		found := false
		for i := range acl {
			if acl[i].Grantee == g && acl[i].Grantor == grantor {
				acl[i].Privs = orderPrivs(acl[i].Privs + privs)
				acl[i].GrantOpts = orderPrivs(acl[i].GrantOpts + opts)
				found = true
			}
		}
		if !found {
			acl = append(acl, ACLItem{Grantee: g, Grantor: grantor, Privs: orderPrivs(privs), GrantOpts: orderPrivs(opts)})
		}
	}
	return acl
}

// ColumnPrivileges are the letters that may be granted on a column.
const ColumnPrivileges = "arwx"

// GrantColumnPrivileges adds privs for each grantee on the columns
// attnums of relation oid, with the grant option when withOption.
func (c *Catalog) GrantColumnPrivileges(oid uint32, attnums []int16, grantees []string, privs, grantor string, withOption bool) (*Relation, error) {
	return c.alter(oid, func(r *Relation) error {
		for i := range r.Columns {
			if slicesContains(attnums, r.Columns[i].AttNum) {
				r.Columns[i].ACL = grantItems(r.Columns[i].ACL, grantees, privs, grantor, withOption)
			}
		}
		return nil
	})
}

// RevokeColumnPrivileges applies rv to the columns attnums of relation
// oid.
func (c *Catalog) RevokeColumnPrivileges(oid uint32, attnums []int16, rv Revoke) (*Relation, error) {
	return c.alter(oid, func(r *Relation) error {
		for i := range r.Columns {
			if slicesContains(attnums, r.Columns[i].AttNum) && r.Columns[i].ACL != nil {
				var err error
				if r.Columns[i].ACL, err = revokeItems(r.Columns[i].ACL, rv); err != nil {
					return err
				}
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

// GrantOptionsOf returns the letters role holds WITH GRANT OPTION on r
// (items naming role itself; ownership is checked apart).
func (r *Relation) GrantOptionsOf(role string) string {
	return grantOptions(r.ACL, role)
}

// ColumnGrantOptionsOf returns the letters role holds WITH GRANT OPTION
// on column attnum of r through column grants.
func (r *Relation) ColumnGrantOptionsOf(attnum int16, role string) string {
	for _, c := range r.Columns {
		if c.AttNum == attnum && !c.Dropped {
			return grantOptions(c.ACL, role)
		}
	}
	return ""
}

func grantOptions(acl []ACLItem, role string) string {
	var p string
	for _, it := range acl {
		if it.Grantee == role {
			p += it.GrantOpts
		}
	}
	return orderPrivs(p)
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

// AnyColumnHas reports whether the grantees hold priv (any privilege for
// 0) on some column of r through column grants.
func (r *Relation) AnyColumnHas(priv byte, grantees map[string]bool) bool {
	for _, c := range r.Columns {
		if c.Dropped {
			continue
		}
		for _, it := range c.ACL {
			if grantees[it.Grantee] && (priv == 0 && it.Privs != "" || strings.IndexByte(it.Privs, priv) >= 0) {
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

// EffectiveACL returns s's ACL, the default one if none was set: the
// owner holds USAGE and CREATE, and on the schema public (and the
// catalogs) PUBLIC holds USAGE (PostgreSQL 15's default: since 15, PUBLIC no longer has CREATE
// on public; GRANT CREATE ON SCHEMA public TO PUBLIC restores the old
// behaviour).
func (s Schema) EffectiveACL() []ACLItem {
	if s.ACL != nil {
		return s.ACL
	}
	o := owner(s.Owner)
	acl := []ACLItem{{Grantee: o, Grantor: o, Privs: AllSchemaPrivileges}}
	if publicUsage(s.Name) {
		acl = append(acl, ACLItem{Grantee: "", Grantor: o, Privs: "U"})
	}
	return acl
}

// publicUsage reports the schemas whose default ACL, stored explicitly,
// gives PUBLIC USAGE: public and the system catalogs.
func publicUsage(schema string) bool {
	return schema == "public" || schema == "pg_catalog" || schema == "information_schema"
}

// ExplicitDefaultACL reports whether nspacl shows s's default ACL rather
// than NULL (as PostgreSQL stores it for public and the catalogs).
func (s Schema) ExplicitDefaultACL() bool { return publicUsage(s.Name) }

// PrivilegesOf returns the letters the grantees (see
// Relation.PrivilegesOf) hold on s.
func (s Schema) PrivilegesOf(grantees map[string]bool) string {
	var p string
	for _, it := range s.EffectiveACL() {
		if grantees[it.Grantee] {
			p += it.Privs
		}
	}
	return orderPrivs(p)
}

// GrantOptionsOf returns the letters role holds WITH GRANT OPTION on s.
func (s Schema) GrantOptionsOf(role string) string {
	return grantOptions(s.ACL, role)
}

// alterSchema applies f to a copy of schema name and commits it.
func (c *Catalog) alterSchema(name string, f func(s *Schema) error) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	s, ok := c.SchemaByName(name)
	if !ok {
		return sqlerr.New(sqlerr.UndefinedSchema, "schema %q does not exist", name)
	}
	s.ACL = append([]ACLItem(nil), s.ACL...)
	if err := f(&s); err != nil {
		return err
	}
	return c.commit(&change{putNsp: []Schema{s}})
}

// GrantSchemaPrivileges adds privs for each grantee on schema name.
func (c *Catalog) GrantSchemaPrivileges(name string, grantees []string, privs, grantor string, withOption bool) error {
	return c.alterSchema(name, func(s *Schema) error {
		s.ACL = grantItems(s.EffectiveACL(), grantees, privs, grantor, withOption)
		return nil
	})
}

// RevokeSchemaPrivileges applies rv to schema name.
func (c *Catalog) RevokeSchemaPrivileges(name string, rv Revoke) error {
	return c.alterSchema(name, func(s *Schema) error {
		acl, err := revokeItems(s.EffectiveACL(), rv)
		if err != nil {
			return err
		}
		if acl == nil {
			acl = []ACLItem{}
		}
		s.ACL = acl
		return nil
	})
}

// EffectiveACL returns f's ACL, the default one if none was set: PUBLIC
// and the owner may execute it, as in PostgreSQL.
func (f *Function) EffectiveACL() []ACLItem {
	if f.ACL != nil {
		return f.ACL
	}
	o := owner(f.Owner)
	return []ACLItem{{Grantee: "", Grantor: o, Privs: "X"}, {Grantee: o, Grantor: o, Privs: "X"}}
}

// PrivilegesOf returns the letters the grantees hold on f.
func (f *Function) PrivilegesOf(grantees map[string]bool) string {
	var p string
	for _, it := range f.EffectiveACL() {
		if grantees[it.Grantee] {
			p += it.Privs
		}
	}
	return orderPrivs(p)
}

// GrantOptionsOf returns the letters role holds WITH GRANT OPTION on f.
func (f *Function) GrantOptionsOf(role string) string {
	return grantOptions(f.ACL, role)
}

// alterFunction applies fn to a copy of function oid and commits it.
func (c *Catalog) alterFunction(oid uint32, fn func(f *Function) error) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	old, ok := c.Function(oid)
	if !ok {
		return sqlerr.New(sqlerr.UndefinedFunction, "function with OID %d does not exist", oid)
	}
	n := *old
	if err := fn(&n); err != nil {
		return err
	}
	return c.commit(&change{putFns: []*Function{&n}})
}

// GrantFunctionPrivileges adds privs for each grantee on function oid.
func (c *Catalog) GrantFunctionPrivileges(oid uint32, grantees []string, privs, grantor string, withOption bool) error {
	return c.alterFunction(oid, func(f *Function) error {
		f.ACL = grantItems(f.EffectiveACL(), grantees, privs, grantor, withOption)
		return nil
	})
}

// RevokeFunctionPrivileges applies rv to function oid.
func (c *Catalog) RevokeFunctionPrivileges(oid uint32, rv Revoke) error {
	return c.alterFunction(oid, func(f *Function) error {
		acl, err := revokeItems(f.EffectiveACL(), rv)
		if err != nil {
			return err
		}
		if acl == nil {
			acl = []ACLItem{}
		}
		f.ACL = acl
		return nil
	})
}

// DefaultACL is one ALTER DEFAULT PRIVILEGES entry of a role: the
// privileges that relations of one kind the role creates (in Schema, or
// in any schema for "") start with. An entry for any schema replaces the
// built-in default (the owner holds everything); an entry for a schema
// adds to it, as in PostgreSQL.
type DefaultACL struct {
	Schema string `json:",omitempty"`
	// ObjType is pg_default_acl.defaclobjtype: DefaultACLSequences for
	// ON SEQUENCES; 0 (shown as 'r') for ON TABLES, which covers every
	// other kind of relation.
	ObjType byte `json:",omitempty"`
	ACL     []ACLItem
}

// DefaultACLSequences is DefaultACL.ObjType of ON SEQUENCES entries.
const DefaultACLSequences byte = 'S'

// defaultACLType is the DefaultACL.ObjType whose entries apply to new
// relations of kind k.
func defaultACLType(k RelKind) byte {
	if k == KindSequence {
		return DefaultACLSequences
	}
	return 0
}

// builtinACL is the ACL that holds without ALTER DEFAULT PRIVILEGES for
// role's relations of ObjType objType: the owner holds every privilege.
func builtinACL(role string, objType byte) []ACLItem {
	privs := AllTablePrivileges
	if objType == DefaultACLSequences {
		privs = AllSequencePrivileges
	}
	return []ACLItem{{Grantee: role, Grantor: role, Privs: privs}}
}

// defaultRelationACL is the ACL a relation of kind k owned by role in
// schema starts with; nil for the built-in default.
func (c *Catalog) defaultRelationACL(role, schema string, k RelKind) []ACLItem {
	r, ok := c.Role(role)
	if !ok {
		return nil
	}
	objType := defaultACLType(k)
	var global, inSchema []ACLItem
	found := false
	for _, d := range r.DefaultACLs {
		if d.ObjType != objType {
			continue
		}
		switch d.Schema {
		case "":
			global, found = d.ACL, true
		case schema:
			inSchema = d.ACL
		}
	}
	if !found && inSchema == nil {
		return nil
	}
	acl := global
	if !found {
		acl = builtinACL(role, objType)
	}
	acl = append([]ACLItem{}, acl...)
	for _, it := range inSchema {
		acl = grantItems(acl, []string{it.Grantee}, it.Privs, it.Grantor, false)
		if it.GrantOpts != "" {
			acl = grantItems(acl, []string{it.Grantee}, it.GrantOpts, it.Grantor, true)
		}
	}
	return acl
}

// AlterDefaultPrivileges applies one ALTER DEFAULT PRIVILEGES FOR ROLE
// role [IN SCHEMA schema] GRANT (grant true: privs to grantees) or
// REVOKE (rv) ... ON TABLES (objType 0) or ON SEQUENCES
// (DefaultACLSequences).
func (c *Catalog) AlterDefaultPrivileges(role, schema string, objType byte, grant bool, grantees []string, privs string, withOption bool, rv Revoke) error {
	old, err := c.existingRole(role)
	if err != nil {
		return err
	}
	r := old.Clone()
	builtin := builtinACL(role, objType)
	idx := -1
	var base []ACLItem
	for i, d := range r.DefaultACLs {
		if d.Schema == schema && d.ObjType == objType {
			idx, base = i, d.ACL
		}
	}
	if idx < 0 && schema == "" {
		base = builtin
	}
	var acl []ACLItem
	if grant {
		acl = grantItems(base, grantees, privs, role, withOption)
	} else {
		rv.Grantor = role
		var err error
		if acl, err = revokeItems(base, rv); err != nil {
			return err
		}
	}
	// An entry equal to what holds without it is dropped, as PostgreSQL
	// drops it.
	same := schema == "" && slices.Equal(acl, builtin) || schema != "" && len(acl) == 0
	switch {
	case same && idx >= 0:
		r.DefaultACLs = slices.Delete(r.DefaultACLs, idx, idx+1)
	case same:
	case idx >= 0:
		r.DefaultACLs[idx].ACL = acl
	default:
		if acl == nil {
			acl = []ACLItem{}
		}
		r.DefaultACLs = append(r.DefaultACLs, DefaultACL{Schema: schema, ObjType: objType, ACL: acl})
	}
	return c.UpdateRole(r)
}
