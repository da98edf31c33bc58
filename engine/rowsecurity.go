package engine

import (
	"strings"

	"github.com/apache/arrow-go/v18/arrow/array"
	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/catalog"
	"streamsql/exec"
	"streamsql/exec/expr"
	"streamsql/lower"
	"streamsql/sql/planner"
	"streamsql/sql/sqlerr"
)

// Row-level security, as PostgreSQL has it (catalog/policy.go keeps the
// policies). A table with ENABLE ROW LEVEL SECURITY binds every role but
// superusers, roles with BYPASSRLS and (without FORCE ROW LEVEL SECURITY)
// the table's owner and its members. For a bound role:
//
//   - rows read (SELECT, and the rows UPDATE and DELETE visit) must pass
//     the USING expressions of the policies for the command that apply to
//     the role: at least one permissive policy (OR) and every restrictive
//     one (AND). With no permissive policy nothing passes (default deny).
//   - new rows (INSERT, UPDATE) must pass the WITH CHECK expressions (a
//     policy's USING where it has no WITH CHECK), or the statement fails
//     with 42501 "new row violates row-level security policy ...". NULL
//     fails.
//   - a statement that also reads the target (WHERE, SET expressions,
//     RETURNING) is held to the SELECT policies too, and SELECT ... FOR
//     UPDATE/SHARE to the UPDATE policies' USING.
//
// Reads get the predicate where the planner scans the table (a Filter
// right over the scan, sql/planner/policy.go); writes get theirs in the
// writer (write.go). A view's query is planned for the view's owner, and a
// materialized view's stream job for its owner: both read with their
// owner's rights. Since predicates are planned in, the plan cache keys
// plans by the role once any table has row security (plancache.go).
//
// row_security = off makes a query that policies would filter fail
// instead (42501), as in PostgreSQL, so that a dump never silently misses
// rows.

// rowSecurityBinds reports whether r's policies bind role, and fails when
// they do while row_security is off.
func (e *Engine) rowSecurityBinds(r *catalog.Relation, role string, rowSecurityOn bool) (bool, error) {
	if !r.RowSecurity || e.bypassesRowSecurity(role) {
		return false, nil
	}
	owner := e.cat.RolesInheritedBy(role)[catalog.OwnerOf(r)]
	if owner && !r.ForceRowSecurity {
		return false, nil
	}
	if !rowSecurityOn {
		err := sqlerr.New(sqlerr.InsufficientPrivilege, "query would be affected by row-level security policy for table %q", r.Name)
		if owner {
			err = err.WithHint("To disable the policy for the table's owner, use ALTER TABLE NO FORCE ROW LEVEL SECURITY.")
		}
		return false, err
	}
	return true, nil
}

// bypassesRowSecurity: superusers (and names without a role, which act
// as superusers) and roles with BYPASSRLS.
func (e *Engine) bypassesRowSecurity(role string) bool {
	r, ok := e.cat.Role(role)
	return !ok || r.Superuser || r.BypassRLS
}

// policiesFor returns r's permissive and restrictive policies for cmd
// that apply to role (through its roles' privileges, or PUBLIC).
func (e *Engine) policiesFor(r *catalog.Relation, role string, cmd byte) (permissive, restrictive []catalog.Policy) {
	roles := e.cat.RolesInheritedBy(role)
	for _, p := range r.Policies {
		if p.Cmd != catalog.PolicyAll && p.Cmd != cmd {
			continue
		}
		applies := len(p.Roles) == 0
		for _, pr := range p.Roles {
			applies = applies || roles[pr]
		}
		if !applies {
			continue
		}
		if p.Permissive {
			permissive = append(permissive, p)
		} else {
			restrictive = append(restrictive, p)
		}
	}
	return permissive, restrictive
}

// usingQual combines the USING expressions of policies into one
// predicate: any permissive one and every restrictive one.
func usingQual(permissive, restrictive []catalog.Policy) string {
	var or []string
	for _, p := range permissive {
		if p.Using != "" {
			or = append(or, "("+p.Using+")")
		}
	}
	if len(or) == 0 {
		return "false"
	}
	q := "(" + strings.Join(or, " OR ") + ")"
	for _, p := range restrictive {
		if p.Using != "" {
			q += " AND (" + p.Using + ")"
		}
	}
	return q
}

// policyCheck is one check of new rows: PostgreSQL's WithCheckOption.
type policyCheck struct {
	// policy names a restrictive policy ("" for the permissive ones
	// together), for the message.
	policy string
	// conflict marks ON CONFLICT DO UPDATE's check of the existing row.
	conflict bool
	text     string
	e        expr.Expr
}

// checkQuals returns the checks of new rows for policies: one for the
// permissive ones together and one per restrictive one, each a policy's
// WITH CHECK or else its USING (always USING with forceUsing).
func checkQuals(permissive, restrictive []catalog.Policy, forceUsing, conflict bool) []policyCheck {
	qual := func(p catalog.Policy) string {
		if !forceUsing && p.Check != "" {
			return p.Check
		}
		return p.Using
	}
	var or []string
	for _, p := range permissive {
		if q := qual(p); q != "" {
			or = append(or, "("+q+")")
		}
	}
	out := []policyCheck{{text: "false", conflict: conflict}}
	if len(or) > 0 {
		out[0].text = strings.Join(or, " OR ")
	}
	for _, p := range restrictive {
		if q := qual(p); q != "" {
			out = append(out, policyCheck{policy: p.Name, text: q, conflict: conflict})
		}
	}
	return out
}

// rowSecurityOn reads the row_security setting.
func (s *Session) rowSecurityOn() bool {
	return s.settings().rowSecurity != "off"
}

// readQual is the planner's RowSecurity hook for the session's
// statements: the SELECT policies' predicate (and, for SELECT ... FOR
// UPDATE/SHARE, the UPDATE policies' too) for role ("": the current
// role).
func (s *Session) readQual(forUpdate bool) func(r *catalog.Relation, role string) (string, error) {
	return func(r *catalog.Relation, role string) (string, error) {
		if role == "" {
			role = s.currentUser()
		}
		bound, err := s.e.rowSecurityBinds(r, role, s.rowSecurityOn())
		if err != nil || !bound {
			return "", err
		}
		q := usingQual(s.e.policiesFor(r, role, catalog.PolicySelect))
		if forUpdate {
			q = "(" + q + ") AND (" + usingQual(s.e.policiesFor(r, role, catalog.PolicyUpdate)) + ")"
		}
		return q, nil
	}
}

// ownerQual is the RowSecurity hook of stream jobs: a materialized view
// reads with its owner's rights, the owner being the planner's Role.
func (e *Engine) ownerQual(r *catalog.Relation, role string) (string, error) {
	bound, err := e.rowSecurityBinds(r, role, true)
	if err != nil || !bound {
		return "", err
	}
	return usingQual(e.policiesFor(r, role, catalog.PolicySelect)), nil
}

// writeSecurity is what row-level security asks of one INSERT, UPDATE or
// DELETE: a filter of the rows UPDATE and DELETE visit, and checks of new
// rows (and, for ON CONFLICT DO UPDATE, of the existing row).
type writeSecurity struct {
	filter expr.Expr
	// insert checks INSERT's rows; conflict the existing row of ON
	// CONFLICT DO UPDATE; update the rows UPDATE (or DO UPDATE) writes.
	insert, conflict, update []policyCheck
}

// planWriteSecurity plans row-level security for write w (verb INSERT,
// UPDATE or DELETE) by the current role; reads says the statement reads
// the target's columns (so the SELECT policies apply too). It returns
// nil when no policy binds the role.
func (s *Session) planWriteSecurity(p *planner.Planner, c *expr.Compiler, w *lower.Write, verb string, reads bool) (*writeSecurity, error) {
	role := s.currentUser()
	bound, err := s.e.rowSecurityBinds(w.Rel, role, s.rowSecurityOn())
	if err != nil || !bound {
		return nil, err
	}
	selPerm, selRestr := s.e.policiesFor(w.Rel, role, catalog.PolicySelect)
	ws := &writeSecurity{}
	var filter string
	switch verb {
	case "INSERT":
		perm, restr := s.e.policiesFor(w.Rel, role, catalog.PolicyInsert)
		ws.insert = checkQuals(perm, restr, false, false)
		if reads {
			ws.insert = append(ws.insert, checkQuals(selPerm, selRestr, true, false)...)
		}
		if w.Conflict == lower.ConflictUpdate {
			up, ur := s.e.policiesFor(w.Rel, role, catalog.PolicyUpdate)
			ws.conflict = checkQuals(up, ur, true, true)
			if reads {
				ws.conflict = append(ws.conflict, checkQuals(selPerm, selRestr, true, true)...)
			}
			ws.update = checkQuals(up, ur, false, false)
			if reads {
				ws.update = append(ws.update, checkQuals(selPerm, selRestr, true, false)...)
			}
		}
	case "UPDATE":
		up, ur := s.e.policiesFor(w.Rel, role, catalog.PolicyUpdate)
		filter = usingQual(up, ur)
		ws.update = checkQuals(up, ur, false, false)
		if reads {
			filter = "(" + usingQual(selPerm, selRestr) + ") AND (" + filter + ")"
			ws.update = append(ws.update, checkQuals(selPerm, selRestr, true, false)...)
		}
	default:
		dp, dr := s.e.policiesFor(w.Rel, role, catalog.PolicyDelete)
		filter = usingQual(dp, dr)
		if reads {
			filter = "(" + usingQual(selPerm, selRestr) + ") AND (" + filter + ")"
		}
	}
	if filter != "" {
		if ws.filter, err = compilePolicy(p, c, w.Rel, filter); err != nil {
			return nil, err
		}
	}
	for _, cs := range [][]policyCheck{ws.insert, ws.conflict, ws.update} {
		for i := range cs {
			if cs[i].e, err = compilePolicy(p, c, w.Rel, cs[i].text); err != nil {
				return nil, err
			}
		}
	}
	return ws, nil
}

// compilePolicy binds the policy SQL text of r over its physical row and
// compiles it with c.
func compilePolicy(p *planner.Planner, c *expr.Compiler, r *catalog.Relation, text string) (expr.Expr, error) {
	e, err := p.PlanPolicyExpr(r, text)
	if err != nil {
		return nil, err
	}
	return c.Compile(e)
}

// checkPolicies fails unless every row of b (a batch of rel's physical
// rows) passes every check.
func checkPolicies(ctx *exec.Ctx, rel *catalog.Relation, checks []policyCheck, b *exec.Batch) error {
	for _, c := range checks {
		m, err := c.e.Eval(ctx, b)
		if err != nil {
			return err
		}
		bm := m.(*array.Boolean)
		ok := true
		for i := 0; i < b.N && ok; i++ {
			ok = bm.IsValid(i) && bm.Value(i)
		}
		m.Release()
		if ok {
			continue
		}
		using := ""
		if c.conflict {
			using = " (USING expression)"
		}
		if c.policy != "" {
			return sqlerr.New(sqlerr.InsufficientPrivilege, "new row violates row-level security policy %q%s for table %q", c.policy, using, rel.Name)
		}
		return sqlerr.New(sqlerr.InsufficientPrivilege, "new row violates row-level security policy%s for table %q", using, rel.Name)
	}
	return nil
}

// Policy statements.

// policyTable resolves the table of a policy statement; the current role
// must own it.
func (s *Session) policyTable(p *planner.Planner, rv *pg.RangeVar) (*catalog.Relation, error) {
	r, err := s.resolveTable(p, rv)
	if err != nil {
		return nil, err
	}
	if err := s.checkOwner(r); err != nil {
		return nil, err
	}
	return r, nil
}

// policyRoles resolves TO roles: nil for PUBLIC.
func (s *Session) policyRoles(nodes []*pg.Node) ([]string, error) {
	var out []string
	for _, n := range nodes {
		rs := n.GetRoleSpec()
		if rs != nil && rs.Roletype == pg.RoleSpecType_ROLESPEC_PUBLIC {
			return nil, nil // PostgreSQL ignores other roles next to PUBLIC
		}
		name, err := s.roleSpecName(rs)
		if err != nil {
			return nil, err
		}
		if _, ok := s.e.cat.Role(name); !ok {
			return nil, sqlerr.New(sqlerr.UndefinedObject, "role %q does not exist", name)
		}
		if !contains(out, name) {
			out = append(out, name)
		}
	}
	return out, nil
}

var policyCmds = map[string]byte{"all": catalog.PolicyAll, "select": catalog.PolicySelect, "insert": catalog.PolicyInsert,
	"update": catalog.PolicyUpdate, "delete": catalog.PolicyDelete}

// checkPolicyClauses refuses the clauses a command's policy cannot have.
func checkPolicyClauses(cmd byte, using, check bool) error {
	if check && (cmd == catalog.PolicySelect || cmd == catalog.PolicyDelete) {
		return sqlerr.New(sqlerr.SyntaxError, "WITH CHECK cannot be applied to SELECT or DELETE")
	}
	if using && cmd == catalog.PolicyInsert {
		return sqlerr.New(sqlerr.SyntaxError, "only WITH CHECK expression allowed for INSERT")
	}
	return nil
}

// policyExprs binds and deparses a policy's USING and WITH CHECK (nil
// nodes give "").
func policyExprs(p *planner.Planner, r *catalog.Relation, using, check *pg.Node) (string, string, error) {
	u, err := policyExpr(p, r, using, "POLICY USING expression")
	if err != nil {
		return "", "", err
	}
	c, err := policyExpr(p, r, check, "POLICY WITH CHECK expression")
	return u, c, err
}

// policyExpr binds and deparses one policy expression. An operator
// expression is kept in parentheses, as pg_get_expr shows it.
func policyExpr(p *planner.Planner, r *catalog.Relation, n *pg.Node, what string) (string, error) {
	if n == nil {
		return "", nil
	}
	text, err := p.BindPolicy(r, n, what)
	if err != nil {
		return "", err
	}
	switch {
	case n.GetColumnRef() != nil, n.GetAConst() != nil, n.GetFuncCall() != nil, n.GetTypeCast() != nil, n.GetSqlvalueFunction() != nil:
		return text, nil
	}
	return "(" + text + ")", nil
}

// createPolicy is CREATE POLICY.
func (s *Session) createPolicy(p *planner.Planner, st *pg.CreatePolicyStmt) (string, error) {
	r, err := s.policyTable(p, st.Table)
	if err != nil {
		return "", err
	}
	cmd, ok := policyCmds[strings.ToLower(st.CmdName)]
	if !ok {
		return "", sqlerr.New(sqlerr.SyntaxError, "unrecognized policy command %q", st.CmdName)
	}
	if err := checkPolicyClauses(cmd, st.Qual != nil, st.WithCheck != nil); err != nil {
		return "", err
	}
	if _, dup := r.Policy(st.PolicyName); dup {
		return "", sqlerr.New(sqlerr.DuplicateObject, "policy %q for table %q already exists", st.PolicyName, r.Name)
	}
	roles, err := s.policyRoles(st.Roles)
	if err != nil {
		return "", err
	}
	using, check, err := policyExprs(p, r, st.Qual, st.WithCheck)
	if err != nil {
		return "", err
	}
	_, err = s.e.cat.CreatePolicy(r.OID, catalog.Policy{Name: st.PolicyName, Cmd: cmd, Permissive: st.Permissive, Roles: roles, Using: using, Check: check})
	return "CREATE POLICY", err
}

// alterPolicy is ALTER POLICY name ON t [TO roles] [USING (...)] [WITH
// CHECK (...)].
func (s *Session) alterPolicy(p *planner.Planner, st *pg.AlterPolicyStmt) (string, error) {
	r, err := s.policyTable(p, st.Table)
	if err != nil {
		return "", err
	}
	old, ok := r.Policy(st.PolicyName)
	if !ok {
		return "", sqlerr.New(sqlerr.UndefinedObject, "policy %q for table %q does not exist", st.PolicyName, r.Name)
	}
	if err := checkPolicyClauses(old.Cmd, st.Qual != nil, st.WithCheck != nil); err != nil {
		return "", err
	}
	var roles []string
	if len(st.Roles) > 0 {
		if roles, err = s.policyRoles(st.Roles); err != nil {
			return "", err
		}
	}
	using, check, err := policyExprs(p, r, st.Qual, st.WithCheck)
	if err != nil {
		return "", err
	}
	_, err = s.e.cat.AlterPolicy(r.OID, st.PolicyName, func(pol *catalog.Policy) error {
		if len(st.Roles) > 0 {
			pol.Roles = roles
		}
		if st.Qual != nil {
			pol.Using = using
		}
		if st.WithCheck != nil {
			pol.Check = check
		}
		return nil
	})
	return "ALTER POLICY", err
}

// dropPolicies is DROP POLICY [IF EXISTS] name ON t.
func (s *Session) dropPolicies(p *planner.Planner, ds *pg.DropStmt) (string, error) {
	for _, o := range ds.Objects {
		var parts []string
		for _, it := range o.GetList().GetItems() {
			parts = append(parts, it.GetString_().Sval)
		}
		if len(parts) < 2 {
			return "", sqlerr.New(sqlerr.SyntaxError, "DROP POLICY needs a policy and a table name")
		}
		rv := &pg.RangeVar{Relname: parts[len(parts)-2]}
		if len(parts) > 2 {
			rv.Schemaname = parts[len(parts)-3]
		}
		name := parts[len(parts)-1]
		r, err := s.resolve(p, rv)
		if err != nil {
			if ds.MissingOk && sqlerr.Code(err) == sqlerr.UndefinedTable {
				s.skipping("00000", "relation %q does not exist", rv.Relname)
				continue
			}
			return "", err
		}
		if _, ok := r.Policy(name); !ok {
			if ds.MissingOk {
				s.skipping("00000", "policy %q for relation %q does not exist", name, r.Name)
				continue
			}
			return "", sqlerr.New(sqlerr.UndefinedObject, "policy %q for table %q does not exist", name, r.Name)
		}
		if err := s.checkOwner(r); err != nil {
			return "", err
		}
		if _, err := s.e.cat.DropPolicy(r.OID, name); err != nil {
			return "", err
		}
	}
	return "DROP POLICY", nil
}

// renamePolicy is ALTER POLICY name ON t RENAME TO new.
func (s *Session) renamePolicy(p *planner.Planner, st *pg.RenameStmt) (string, error) {
	r, err := s.policyTable(p, st.Relation)
	if err != nil {
		return "", err
	}
	_, err = s.e.cat.AlterPolicy(r.OID, st.Subname, func(pol *catalog.Policy) error {
		pol.Name = st.Newname
		return nil
	})
	return "ALTER POLICY", err
}

// alterRowSecurity is ALTER TABLE ... ENABLE/DISABLE/[NO] FORCE ROW LEVEL
// SECURITY; ok is false for other subcommands.
func (s *Session) alterRowSecurity(r *catalog.Relation, c *pg.AlterTableCmd) (*catalog.Relation, bool, error) {
	on, off := true, false
	var enable, force *bool
	switch c.Subtype {
	case pg.AlterTableType_AT_EnableRowSecurity:
		enable = &on
	case pg.AlterTableType_AT_DisableRowSecurity:
		enable = &off
	case pg.AlterTableType_AT_ForceRowSecurity:
		force = &on
	case pg.AlterTableType_AT_NoForceRowSecurity:
		force = &off
	default:
		return nil, false, nil
	}
	nr, err := s.e.cat.SetRowSecurity(r.OID, enable, force)
	return nr, true, err
}
