package engine

import (
	"fmt"
	"slices"

	pg "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"

	"streamsql/catalog"
	"streamsql/sql/parser"
	"streamsql/sql/sqlerr"
)

// Policies and the columns they read. A policy's USING and WITH CHECK
// expressions are stored as SQL text over the table's column names
// (catalog/policy.go), so ALTER TABLE ... RENAME COLUMN rewrites them, as
// it rewrites CHECK constraints, and DROP COLUMN of a column a policy
// reads is refused unless CASCADE, which drops the policy, as PostgreSQL
// records a policy's dependency on the columns it uses.

// parsePolicyExpr parses one stored policy expression.
func parsePolicyExpr(r *catalog.Relation, p catalog.Policy, text string) (*pg.Node, error) {
	stmts, err := parser.Parse("SELECT " + text)
	if err != nil || len(stmts) != 1 {
		return nil, sqlerr.New(sqlerr.DataCorrupted, "policy %q of relation %q is unreadable: %s", p.Name, r.Name, text)
	}
	return stmts[0].AST.GetSelectStmt().TargetList[0].GetResTarget().Val, nil
}

// renameInPolicies rewrites the policy expressions of table oid after its
// column oldName became newName.
func (e *Engine) renameInPolicies(oid uint32, oldName, newName string) error {
	r, ok := e.cat.ByOID(oid)
	if !ok || len(r.Policies) == 0 {
		return nil
	}
	n := r.Clone()
	for i, p := range n.Policies {
		for _, text := range []*string{&n.Policies[i].Using, &n.Policies[i].Check} {
			if *text == "" {
				continue
			}
			node, err := parsePolicyExpr(r, p, *text)
			if err != nil {
				return err
			}
			renameColumnRefs(node.ProtoReflect(), oldName, newName)
			if *text, err = parser.DeparseExpr(node); err != nil {
				return err
			}
		}
	}
	_, err := e.cat.UpdateRelation(n)
	return err
}

// policiesUsing returns the names of r's policies whose expressions read
// column name.
func policiesUsing(r *catalog.Relation, name string) ([]string, error) {
	var out []string
	for _, p := range r.Policies {
		for _, text := range []string{p.Using, p.Check} {
			if text == "" {
				continue
			}
			node, err := parsePolicyExpr(r, p, text)
			if err != nil {
				return nil, err
			}
			if usesColumn(node.ProtoReflect(), name) {
				out = append(out, p.Name)
				break
			}
		}
	}
	return out, nil
}

// usesColumn reports whether a grammar tree has a column reference
// called name.
func usesColumn(m protoreflect.Message, name string) bool {
	if cr, ok := m.Interface().(*pg.ColumnRef); ok {
		if len(cr.Fields) > 0 {
			last := cr.Fields[len(cr.Fields)-1].GetString_()
			return last != nil && last.Sval == name
		}
		return false
	}
	found := false
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsMap() || fd.Message() == nil:
		case fd.IsList():
			for i, l := 0, v.List(); i < l.Len() && !found; i++ {
				found = usesColumn(l.Get(i).Message(), name)
			}
		default:
			found = usesColumn(v.Message(), name)
		}
		return !found
	})
	return found
}

// dropColumnPolicies handles the policies of r that read column name when
// it is dropped: without cascade it returns a DETAIL line for each (the
// drop is refused), with it they are dropped.
func (e *Engine) dropColumnPolicies(r *catalog.Relation, name string, cascade bool) ([]string, error) {
	names, err := policiesUsing(r, name)
	if err != nil || len(names) == 0 {
		return nil, err
	}
	if !cascade {
		lines := make([]string, len(names))
		for i, n := range names {
			lines[i] = fmt.Sprintf("policy %s on table %s depends on column %s of table %s", n, r.Name, name, r.Name)
		}
		return lines, nil
	}
	n := r.Clone()
	n.Policies = slices.DeleteFunc(n.Policies, func(p catalog.Policy) bool { return slices.Contains(names, p.Name) })
	_, err = e.cat.UpdateRelation(n)
	return nil, err
}
