package pgcatalog

import (
	"sort"
	"strconv"

	"streamsql/catalog"
	"streamsql/sql/types"
)

// Row-level security in the catalogs: pg_policy (one row per policy, its
// roles as OIDs, {0} for PUBLIC, its expressions as the text that
// pg_get_expr returns, printed by Snapshot.ExprText as PostgreSQL's
// deparser prints them) and the pg_policies view over it; pg_class's
// relrowsecurity and relforcerowsecurity and pg_tables.rowsecurity are
// set in rows.go.

// policyCmdNames are pg_policies.cmd by polcmd.
var policyCmdNames = map[byte]string{catalog.PolicyAll: "ALL", catalog.PolicySelect: "SELECT", catalog.PolicyInsert: "INSERT",
	catalog.PolicyUpdate: "UPDATE", catalog.PolicyDelete: "DELETE"}

func policyRows(s *Snapshot) []row {
	var out []row
	for _, r := range s.relations() {
		for _, p := range r.Policies {
			roles := "{0}"
			if len(p.Roles) > 0 {
				roles = "{"
				for i, name := range p.Roles {
					if i > 0 {
						roles += ","
					}
					roles += strconv.FormatUint(uint64(s.RoleOID(name)), 10)
				}
				roles += "}"
			}
			out = append(out, row{"oid": int64(p.OID), "polname": p.Name, "polrelid": int64(r.OID), "polcmd": string(p.Cmd),
				"polpermissive": p.Permissive, "polroles": roles, "polqual": s.policyExpr(r, p.Using), "polwithcheck": s.policyExpr(r, p.Check)})
		}
	}
	return out
}

func policiesViewRows(s *Snapshot) []row {
	var out []row
	for _, r := range s.relations() {
		for _, p := range r.Policies {
			perm := "RESTRICTIVE"
			if p.Permissive {
				perm = "PERMISSIVE"
			}
			roles := []string{"public"}
			if len(p.Roles) > 0 {
				roles = append([]string(nil), p.Roles...)
				sort.Strings(roles)
			}
			out = append(out, row{"schemaname": r.Schema, "tablename": r.Name, "policyname": p.Name, "permissive": perm,
				"roles": aclArray(roles), "cmd": policyCmdNames[p.Cmd], "qual": s.policyExpr(r, p.Using), "with_check": s.policyExpr(r, p.Check)})
		}
	}
	return out
}

// policyExpr is a policy's USING or WITH CHECK expression of r as
// pg_get_expr prints it, NULL for "".
func (s *Snapshot) policyExpr(r *catalog.Relation, text string) types.Datum {
	if text == "" {
		return nil
	}
	return s.exprText(r, text, types.TBool)
}
