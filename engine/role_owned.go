package engine

import (
	"sort"

	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/sql/sqlerr"
)

// DROP OWNED BY and REASSIGN OWNED BY: what clears a role for DROP ROLE
// (catalog/role_deps.go lists what depends on one).

// ownedRoles resolves the role list of DROP/REASSIGN OWNED: the current
// role must have the privileges of each (be a member or a superuser).
func (s *Session) ownedRoles(nodes []*pg.Node, verb string) ([]string, error) {
	var out []string
	for _, n := range nodes {
		name, err := s.roleSpecName(n.GetRoleSpec())
		if err != nil {
			return nil, err
		}
		if _, ok := s.e.cat.Role(name); !ok {
			return nil, sqlerr.New(sqlerr.UndefinedObject, "role %q does not exist", name)
		}
		if !s.isSuperuser() && !s.e.cat.RolesInheritedBy(s.currentUser())[name] {
			return nil, sqlerr.New(sqlerr.InsufficientPrivilege, "permission denied to %s objects", verb)
		}
		out = append(out, name)
	}
	return out, nil
}

// dropOwned is DROP OWNED BY roles [CASCADE]: the relations, schemas and
// functions they own are dropped, their privileges revoked, and they are
// taken out of policies and default privileges.
func (s *Session) dropOwned(x *execution, st *pg.DropOwnedStmt) (string, error) {
	roles, err := s.ownedRoles(st.Roles, "drop")
	if err != nil {
		return "", err
	}
	cascade := st.Behavior == pg.DropBehavior_DROP_CASCADE
	// The owned objects are the drop's targets; what CASCADE takes along
	// besides them is reported.
	owned := map[uint32]bool{}
	for _, r := range s.e.cat.Relations() {
		for _, role := range roles {
			if r.Owner == role {
				owned[r.OID] = true
			}
		}
	}
	var cascaded []string
	for _, role := range roles {
		// Dependent relations (views over tables) have larger OIDs:
		// drop them first.
		rels := s.e.cat.Relations()
		sort.Slice(rels, func(i, j int) bool { return rels[i].OID > rels[j].OID })
		for _, r := range rels {
			if r.Owner != role {
				continue
			}
			if _, ok := s.e.cat.ByOID(r.OID); !ok {
				continue // dropped with an earlier one
			}
			if cascade {
				cascaded = s.e.relationCascade(r, owned, cascaded)
			}
			if err := s.dropReferences(r, cascade); err != nil {
				return "", err
			}
			dropped, err := s.e.cat.DropRelation(r.OID, cascade)
			if err != nil {
				return "", err
			}
			if err := s.e.dropData(x.txn, dropped); err != nil {
				return "", err
			}
		}
		if _, err := s.e.cat.DropOwned(role); err != nil {
			return "", err
		}
	}
	s.cascadeNotice(cascaded)
	return "DROP OWNED", nil
}

// reassignOwned is REASSIGN OWNED BY roles TO role.
func (s *Session) reassignOwned(st *pg.ReassignOwnedStmt) (string, error) {
	roles, err := s.ownedRoles(st.Roles, "reassign")
	if err != nil {
		return "", err
	}
	to, err := s.roleSpecName(st.Newrole)
	if err != nil {
		return "", err
	}
	if _, ok := s.e.cat.Role(to); !ok {
		return "", sqlerr.New(sqlerr.UndefinedObject, "role %q does not exist", to)
	}
	if !s.isSuperuser() && !s.e.cat.RolesInheritedBy(s.currentUser())[to] {
		return "", sqlerr.New(sqlerr.InsufficientPrivilege, "permission denied to reassign objects")
	}
	for _, r := range roles {
		if err := s.e.cat.ReassignOwned(r, to); err != nil {
			return "", err
		}
	}
	return "REASSIGN OWNED", nil
}
