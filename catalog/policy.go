package catalog

import (
	"slices"

	"streamsql/sql/sqlerr"
)

// Row-level security, as PostgreSQL has it: a table with row security
// enabled (ALTER TABLE t ENABLE ROW LEVEL SECURITY) shows a role only the
// rows its policies let through, and takes only the new rows they accept.
// The policies live in the table's Relation (so they are persisted,
// renamed and dropped with it), each as SQL text over the table's column
// names that is planned again wherever it applies, as CHECK constraints
// are. A policy's OID comes from the catalog's OID counter, for
// pg_policy.
//
// Which policies apply, how they combine (permissive ones OR-ed,
// restrictive ones AND-ed) and who bypasses them is the engine's
// (engine/rowsecurity.go).

// Policy commands, as pg_policy.polcmd spells them.
const (
	PolicyAll    byte = '*'
	PolicySelect byte = 'r'
	PolicyInsert byte = 'a'
	PolicyUpdate byte = 'w'
	PolicyDelete byte = 'd'
)

// Policy is one CREATE POLICY of a table.
type Policy struct {
	OID  uint32
	Name string
	// Cmd is the command the policy is for (PolicyAll ...).
	Cmd byte
	// Permissive policies are OR-ed, restrictive ones AND-ed.
	Permissive bool
	// Roles the policy applies to; empty means PUBLIC (every role).
	Roles []string `json:",omitempty"`
	// Using is the USING expression, Check the WITH CHECK expression, as
	// SQL text ("" for none).
	Using string `json:",omitempty"`
	Check string `json:",omitempty"`
}

// Policy returns r's policy called name.
func (r *Relation) Policy(name string) (Policy, bool) {
	for _, p := range r.Policies {
		if p.Name == name {
			return p, true
		}
	}
	return Policy{}, false
}

// CreatePolicy adds p to relation oid, assigning its OID.
func (c *Catalog) CreatePolicy(oid uint32, p Policy) (*Relation, error) {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	old, ok := c.ByOID(oid)
	if !ok {
		return nil, noRelation(oid)
	}
	if _, dup := old.Policy(p.Name); dup {
		return nil, sqlerr.New(sqlerr.DuplicateObject, "policy %q for table %q already exists", p.Name, old.Name)
	}
	n := old.Clone()
	c.mu.RLock()
	p.OID = c.nextOID
	c.mu.RUnlock()
	p.Roles = slices.Clone(p.Roles)
	n.Policies = append(n.Policies, p)
	if err := c.commit(&change{putRels: []*Relation{n}, nextOID: p.OID + 1}); err != nil {
		return nil, err
	}
	return n, nil
}

// AlterPolicy applies f to the policy name of relation oid.
func (c *Catalog) AlterPolicy(oid uint32, name string, f func(p *Policy) error) (*Relation, error) {
	return c.alter(oid, func(r *Relation) error {
		i := slices.IndexFunc(r.Policies, func(p Policy) bool { return p.Name == name })
		if i < 0 {
			return sqlerr.New(sqlerr.UndefinedObject, "policy %q for table %q does not exist", name, r.Name)
		}
		p := r.Policies[i]
		p.Roles = slices.Clone(p.Roles)
		if err := f(&p); err != nil {
			return err
		}
		if p.Name != name {
			if _, dup := r.Policy(p.Name); dup {
				return sqlerr.New(sqlerr.DuplicateObject, "policy %q for table %q already exists", p.Name, r.Name)
			}
		}
		r.Policies[i] = p
		return nil
	})
}

// DropPolicy removes the policy name of relation oid.
func (c *Catalog) DropPolicy(oid uint32, name string) (*Relation, error) {
	return c.alter(oid, func(r *Relation) error {
		i := slices.IndexFunc(r.Policies, func(p Policy) bool { return p.Name == name })
		if i < 0 {
			return sqlerr.New(sqlerr.UndefinedObject, "policy %q for table %q does not exist", name, r.Name)
		}
		r.Policies = slices.Delete(r.Policies, i, i+1)
		return nil
	})
}

// SetRowSecurity sets relation oid's relrowsecurity (enable) and
// relforcerowsecurity (force); nil leaves one as it is.
func (c *Catalog) SetRowSecurity(oid uint32, enable, force *bool) (*Relation, error) {
	return c.alter(oid, func(r *Relation) error {
		if enable != nil {
			r.RowSecurity = *enable
		}
		if force != nil {
			r.ForceRowSecurity = *force
		}
		return nil
	})
}

// HasRowSecurity reports whether some relation has row security enabled:
// until one has, no plan depends on the role that made it.
func (c *Catalog) HasRowSecurity() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.rowSecurity > 0
}

// clonePolicies deep-copies a policy list.
func clonePolicies(ps []Policy) []Policy {
	out := slices.Clone(ps)
	for i := range out {
		out[i].Roles = slices.Clone(out[i].Roles)
	}
	return out
}

// OwnerOf returns r's owner (DefaultOwner for relations made before
// owners were recorded).
func OwnerOf(r *Relation) string { return owner(r.Owner) }
