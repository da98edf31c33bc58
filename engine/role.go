package engine

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	pg "github.com/pganalyze/pg_query_go/v6"

	"streamsql/auth"
	"streamsql/catalog"
	"streamsql/pgwire"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// Roles: who a session is and what role statements do.
//
// A session has a session user (the startup packet's user, authenticated
// by the protocol layer) and a current role (the session user, or the role
// chosen by SET ROLE among those the session user is a member of). Role
// attributes (SUPERUSER, CREATEROLE, ...) are read from the catalog at each
// check, so ALTER ROLE takes effect for open sessions at once.
//
// A user name that is not a declared role can connect only when the engine
// was opened without RequireRoles (the in-process test servers and the
// loopback-trust default of earlier versions): it then acts as a superuser,
// which is what every connection was before roles existed.

// admit checks, at connection start, that info.User may log in: the role
// exists (with RequireRoles), has LOGIN, and is under its CONNECTION LIMIT.
// e.mu is held by the caller.
func (e *Engine) admit(info pgwire.StartupInfo) error {
	r, ok := e.cat.Role(info.User)
	if !ok {
		if e.requireRoles {
			return sqlerr.New(sqlerr.InvalidAuthorizationSpec, "role %q does not exist", info.User)
		}
		return nil
	}
	if !r.CanLogin {
		return sqlerr.New(sqlerr.InvalidAuthorizationSpec, "role %q is not permitted to log in", info.User)
	}
	if r.ConnLimit >= 0 && !r.Superuser {
		n := 0
		for s := range e.sessions {
			if s.sessionUser == info.User {
				n++
			}
		}
		if n >= r.ConnLimit {
			return sqlerr.New(sqlerr.TooManyConnections, "too many connections for role %q", info.User)
		}
	}
	return nil
}

// RoleSecret returns the stored password secret of user for the protocol
// layer's password exchange: false when the role does not exist, has no
// password, or its VALID UNTIL has passed (PostgreSQL then fails the
// password check the same way, without saying why to the client).
func (e *Engine) RoleSecret(user string) (string, bool) {
	r, ok := e.cat.Role(user)
	if !ok || r.Password == "" {
		return "", false
	}
	if r.ValidUntil != nil && time.Now().After(*r.ValidUntil) {
		e.log.Info("password expired", "user", user, "valid_until", r.ValidUntil.Format(time.RFC3339))
		return "", false
	}
	return r.Password, true
}

// IsMemberOf reports whether user is a member of role, directly or not
// (for hba's +group).
func (e *Engine) IsMemberOf(user, role string) bool {
	return e.cat.IsMemberOf(user, role, false)
}

// bootstrapSuperuser creates the superuser streamsql at first start, with
// the password opts.SuperuserPassword (stored as a SCRAM verifier).
func (e *Engine) bootstrapSuperuser(password string) error {
	secret := ""
	if password != "" {
		var err error
		if secret, err = auth.EncryptPassword(password, auth.DefaultIterations); err != nil {
			return err
		}
	}
	made, err := e.cat.BootstrapSuperuser(catalog.DefaultOwner, secret)
	if made {
		e.log.Info("created superuser", "role", catalog.DefaultOwner, "password_set", secret != "")
	}
	return err
}

// currentUser is the current role's name (current_user).
func (s *Session) currentUser() string {
	if s.role != "" {
		return s.role
	}
	return s.sessionUser
}

// isSuperuser reports whether the current role is a superuser. A name
// without a role acts as one (see the comment at the top).
func (s *Session) isSuperuser() bool {
	return s.roleIsSuperuser(s.currentUser())
}

func (s *Session) roleIsSuperuser(name string) bool {
	r, ok := s.e.cat.Role(name)
	return !ok || r.Superuser
}

// reportSuperuser refreshes the is_superuser parameter after the current
// role changed.
func (s *Session) reportSuperuser() {
	v := "off"
	if s.isSuperuser() {
		v = "on"
	}
	if s.vars["is_superuser"] != v {
		s.vars["is_superuser"] = v
		s.changed["is_superuser"] = v
	}
}

// audit logs a security-relevant event when the audit log is on.
func (s *Session) audit(event string, attrs ...any) {
	if !s.e.auditLog {
		return
	}
	s.e.log.Info("audit: "+event, append([]any{slog.String("session_user", s.sessionUser), slog.String("current_user", s.currentUser())}, attrs...)...)
}

// planRoleStmt handles CREATE/ALTER/DROP ROLE, GRANT/REVOKE role and
// ALTER ROLE ... RENAME; ok is false for other statements.
func (s *Session) planRoleStmt(n *pg.Node) (*prepared, bool) {
	f, kind, target := s.roleStmt(n)
	if f == nil {
		return nil, false
	}
	// The audit log names the statement's kind and target, never its
	// text: that may hold a password.
	return simple(func(ctx context.Context, x *execution) (pgwire.Result, error) {
		tag, err := f()
		if err != nil {
			s.audit("role statement failed", "statement", kind, "target", target, "err", err.Error())
			return nil, err
		}
		s.audit("role statement", "statement", kind, "target", target)
		return tagResult(tag), nil
	}), true
}

// roleOptions are the options of CREATE/ALTER ROLE as given.
type roleOptions struct {
	set              map[string]bool
	flags            map[string]bool // the boolean attributes, by option name
	connLimit        int
	password         *string // nil: PASSWORD NULL
	validUntil       *time.Time
	inRoles, members []string
	admins           []string
}

func (s *Session) parseRoleOptions(opts []*pg.Node) (*roleOptions, error) {
	o := &roleOptions{set: map[string]bool{}, flags: map[string]bool{}}
	for _, n := range opts {
		d := n.GetDefElem()
		if d == nil {
			continue
		}
		if o.set[d.Defname] {
			return nil, sqlerr.New(sqlerr.SyntaxError, "conflicting or redundant options")
		}
		o.set[d.Defname] = true
		b := d.Arg.GetBoolean().GetBoolval()
		switch d.Defname {
		case "superuser", "inherit", "createrole", "createdb", "canlogin", "bypassrls":
			o.flags[d.Defname] = b
		case "isreplication":
			if b {
				return nil, sqlerr.New(sqlerr.FeatureNotSupported, "REPLICATION is not supported")
			}
		case "connectionlimit":
			o.connLimit = int(d.Arg.GetInteger().GetIval())
			if o.connLimit < -1 {
				return nil, sqlerr.New(sqlerr.InvalidParameterValue, "invalid connection limit: %d", o.connLimit)
			}
		case "password":
			if d.Arg != nil {
				p := d.Arg.GetString_().GetSval()
				o.password = &p
			}
		case "validUntil":
			v, err := types.ParseText(d.Arg.GetString_().GetSval(), types.TTimestampTZ, s.location())
			if err != nil {
				return nil, err
			}
			t := types.TimestampToTime(v.(types.Timestamp))
			o.validUntil = &t
		case "addroleto", "rolemembers", "adminmembers":
			var names []string
			for _, it := range d.Arg.GetList().GetItems() {
				name, err := s.roleSpecName(it.GetRoleSpec())
				if err != nil {
					return nil, err
				}
				names = append(names, name)
			}
			switch d.Defname {
			case "addroleto":
				o.inRoles = names
			case "rolemembers":
				o.members = names
			default:
				o.admins = names
			}
		case "sysid":
			// Ignored, as PostgreSQL does.
		default:
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "role option %q is not supported", d.Defname)
		}
	}
	return o, nil
}

// roleSpecName resolves CURRENT_USER, SESSION_USER and names.
func (s *Session) roleSpecName(rs *pg.RoleSpec) (string, error) {
	if rs == nil {
		return "", sqlerr.New(sqlerr.SyntaxError, "role name expected")
	}
	switch rs.Roletype {
	case pg.RoleSpecType_ROLESPEC_CURRENT_USER, pg.RoleSpecType_ROLESPEC_CURRENT_ROLE:
		return s.currentUser(), nil
	case pg.RoleSpecType_ROLESPEC_SESSION_USER:
		return s.sessionUser, nil
	case pg.RoleSpecType_ROLESPEC_PUBLIC:
		return "", sqlerr.New(sqlerr.InvalidRoleSpecification, "role name \"public\" is reserved")
	}
	return rs.Rolename, nil
}

// existingRole is the role rs names, which must exist.
func (s *Session) existingRole(rs *pg.RoleSpec) (*catalog.Role, error) {
	name, err := s.roleSpecName(rs)
	if err != nil {
		return nil, err
	}
	r, ok := s.e.cat.Role(name)
	if !ok {
		return nil, sqlerr.New(sqlerr.UndefinedObject, "role %q does not exist", name)
	}
	return r, nil
}

// reservedRoleName refuses the names PostgreSQL reserves.
func reservedRoleName(name string) error {
	switch {
	case name == "public" || name == "none":
		return sqlerr.New(sqlerr.ReservedName, "role name %q is reserved", name)
	case strings.HasPrefix(name, "pg_"):
		return sqlerr.New(sqlerr.ReservedName, "role name %q is reserved", name).WithDetail("Role names starting with \"pg_\" are reserved.")
	}
	return nil
}

// canCreateRole: a superuser, or a role with CREATEROLE.
func (s *Session) canCreateRole() bool {
	if s.isSuperuser() {
		return true
	}
	r, ok := s.e.cat.Role(s.currentUser())
	return ok && r.CreateRole
}

func (s *Session) createRole(st *pg.CreateRoleStmt) (string, error) {
	tag := "CREATE ROLE"
	if err := reservedRoleName(st.Role); err != nil {
		return "", err
	}
	o, err := s.parseRoleOptions(st.Options)
	if err != nil {
		return "", err
	}
	if !s.canCreateRole() {
		return "", sqlerr.New(sqlerr.InsufficientPrivilege, "permission denied to create role")
	}
	if o.flags["superuser"] && !s.isSuperuser() {
		return "", sqlerr.New(sqlerr.InsufficientPrivilege, "must be superuser to create superusers")
	}
	if o.flags["bypassrls"] && !s.isSuperuser() {
		return "", sqlerr.New(sqlerr.InsufficientPrivilege, "must be superuser to create bypassrls users")
	}
	r := &catalog.Role{Name: st.Role, Inherit: true, ConnLimit: -1, CanLogin: st.StmtType == pg.RoleStmtType_ROLESTMT_USER}
	if st.StmtType == pg.RoleStmtType_ROLESTMT_USER {
		tag = "CREATE ROLE" // PostgreSQL tags CREATE USER as CREATE ROLE too
	}
	if err := s.applyRoleOptions(r, o); err != nil {
		return "", err
	}
	for _, g := range o.inRoles {
		if _, ok := s.e.cat.Role(g); !ok {
			return "", sqlerr.New(sqlerr.UndefinedObject, "role %q does not exist", g)
		}
		r.MemberOf = append(r.MemberOf, catalog.Membership{Role: g, Grantor: s.currentUser()})
	}
	var members []catalog.Membership
	for _, m := range o.members {
		members = append(members, catalog.Membership{Role: m})
	}
	for _, m := range o.admins {
		members = append(members, catalog.Membership{Role: m, Admin: true})
	}
	if _, err := s.e.cat.CreateRoleWithMembers(r, members, s.currentUser()); err != nil {
		return "", err
	}
	return tag, nil
}

// applyRoleOptions sets r's attributes from o (only those o names).
func (s *Session) applyRoleOptions(r *catalog.Role, o *roleOptions) error {
	attrs := map[string]*bool{"superuser": &r.Superuser, "inherit": &r.Inherit, "createrole": &r.CreateRole,
		"createdb": &r.CreateDB, "canlogin": &r.CanLogin, "bypassrls": &r.BypassRLS}
	for name, v := range o.flags {
		*attrs[name] = v
	}
	if o.set["connectionlimit"] {
		r.ConnLimit = o.connLimit
	}
	if o.set["validUntil"] {
		r.ValidUntil = o.validUntil
	}
	if o.set["password"] {
		if o.password == nil || *o.password == "" {
			r.Password = "" // PostgreSQL treats an empty password as NULL
		} else {
			secret, err := auth.EncryptPassword(*o.password, auth.DefaultIterations)
			if err != nil {
				return sqlerr.Wrap(err, sqlerr.InternalError)
			}
			r.Password = secret
		}
	}
	return nil
}

func (s *Session) alterRole(st *pg.AlterRoleStmt) (string, error) {
	old, err := s.existingRole(st.Role)
	if err != nil {
		return "", err
	}
	name := old.Name
	o, err := s.parseRoleOptions(st.Options)
	if err != nil {
		return "", err
	}
	if st.Action != 1 || len(o.members) > 0 || o.set["rolemembers"] {
		// ALTER GROUP g ADD/DROP USER u arrives as Action +1/-1 with
		// rolemembers.
		if o.set["rolemembers"] && len(o.set) == 1 {
			return s.alterGroup(name, o.members, st.Action > 0)
		}
	}
	switch {
	case s.isSuperuser():
	case old.Superuser || o.set["superuser"]:
		return "", sqlerr.New(sqlerr.InsufficientPrivilege, "must be superuser to alter superuser roles or change superuser attribute")
	case o.set["bypassrls"]:
		return "", sqlerr.New(sqlerr.InsufficientPrivilege, "must be superuser to change bypassrls attribute")
	case s.canCreateRole():
	case name == s.currentUser() && onlyOptions(o, "password"):
		// Everyone may change their own password.
	default:
		return "", sqlerr.New(sqlerr.InsufficientPrivilege, "permission denied")
	}
	r := old.Clone()
	if err := s.applyRoleOptions(r, o); err != nil {
		return "", err
	}
	if err := s.e.cat.UpdateRole(r); err != nil {
		return "", err
	}
	if name == s.currentUser() {
		s.reportSuperuser()
	}
	return "ALTER ROLE", nil
}

func onlyOptions(o *roleOptions, names ...string) bool {
	for k := range o.set {
		if !contains(names, k) {
			return false
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// alterGroup is ALTER GROUP g ADD USER u / DROP USER u.
func (s *Session) alterGroup(group string, users []string, add bool) (string, error) {
	for _, u := range users {
		if err := s.checkGrantRole(group); err != nil {
			return "", err
		}
		if add {
			if err := s.e.cat.GrantRole(group, u, false, s.currentUser()); err != nil {
				return "", err
			}
		} else if _, err := s.e.cat.RevokeRole(group, u, false); err != nil {
			return "", err
		}
	}
	return "ALTER ROLE", nil
}

func (s *Session) renameRole(st *pg.RenameStmt) (string, error) {
	old, ok := s.e.cat.Role(st.Subname)
	if !ok {
		return "", sqlerr.New(sqlerr.UndefinedObject, "role %q does not exist", st.Subname)
	}
	if st.Subname == s.sessionUser {
		return "", sqlerr.New(sqlerr.FeatureNotSupported, "session user cannot be renamed")
	}
	if st.Subname == s.currentUser() {
		return "", sqlerr.New(sqlerr.FeatureNotSupported, "current user cannot be renamed")
	}
	if err := reservedRoleName(st.Newname); err != nil {
		return "", err
	}
	switch {
	case s.isSuperuser():
	case old.Superuser:
		return "", sqlerr.New(sqlerr.InsufficientPrivilege, "must be superuser to rename superusers")
	case !s.canCreateRole():
		return "", sqlerr.New(sqlerr.InsufficientPrivilege, "permission denied to rename role")
	}
	r := old.Clone()
	r.Name = st.Newname
	// The secret of an md5 password is salted with the user name: it no
	// longer matches, and PostgreSQL clears it (SCRAM verifiers are not).
	if auth.Kind(r.Password) == auth.MD5Secret {
		r.Password = ""
	}
	if err := s.e.cat.UpdateRole(r); err != nil {
		return "", err
	}
	return "ALTER ROLE", nil
}

func (s *Session) dropRoles(st *pg.DropRoleStmt) (string, error) {
	if !s.canCreateRole() {
		return "", sqlerr.New(sqlerr.InsufficientPrivilege, "permission denied to drop role")
	}
	for _, n := range st.Roles {
		name, err := s.roleSpecName(n.GetRoleSpec())
		if err != nil {
			return "", err
		}
		r, ok := s.e.cat.Role(name)
		if !ok {
			if st.MissingOk {
				s.skipping("00000", "role %q does not exist", name)
				continue
			}
			return "", sqlerr.New(sqlerr.UndefinedObject, "role %q does not exist", name)
		}
		switch {
		case name == s.currentUser():
			return "", sqlerr.New(sqlerr.ObjectInUse, "current user cannot be dropped")
		case name == s.sessionUser:
			return "", sqlerr.New(sqlerr.ObjectInUse, "session user cannot be dropped")
		case r.OID == catalog.OIDBootstrapSuperuser:
			return "", sqlerr.New(sqlerr.ObjectInUse, "cannot drop role %s because it is required by the database system", name)
		case r.Superuser && !s.isSuperuser():
			return "", sqlerr.New(sqlerr.InsufficientPrivilege, "must be superuser to drop superusers")
		}
		if err := s.e.cat.DropRole(name); err != nil {
			return "", err
		}
	}
	return "DROP ROLE", nil
}

// checkGrantRole: granting or revoking membership in role needs a
// superuser (for a superuser role), CREATEROLE, or ADMIN OPTION on it.
func (s *Session) checkGrantRole(role string) error {
	r, ok := s.e.cat.Role(role)
	if !ok {
		return sqlerr.New(sqlerr.UndefinedObject, "role %q does not exist", role)
	}
	if s.isSuperuser() {
		return nil
	}
	if r.Superuser {
		return sqlerr.New(sqlerr.InsufficientPrivilege, "must be superuser to alter superusers")
	}
	if s.canCreateRole() || s.hasAdminOption(s.currentUser(), role) {
		return nil
	}
	return sqlerr.New(sqlerr.InsufficientPrivilege, "must have admin option on role %q", role)
}

func (s *Session) hasAdminOption(member, role string) bool {
	r, ok := s.e.cat.Role(member)
	if !ok {
		return false
	}
	for _, m := range r.MemberOf {
		if m.Role == role && m.Admin {
			return true
		}
	}
	return false
}

func (s *Session) grantRole(st *pg.GrantRoleStmt) (string, error) {
	admin, adminOnly := false, false
	for _, o := range st.Opt {
		d := o.GetDefElem()
		if d == nil {
			continue
		}
		switch d.Defname {
		case "admin":
			v := d.Arg == nil || d.Arg.GetBoolean().GetBoolval()
			if st.IsGrant {
				admin = v
			} else {
				// REVOKE ADMIN OPTION FOR arrives as admin = false.
				adminOnly = true
			}
		default:
			return "", sqlerr.New(sqlerr.FeatureNotSupported, "GRANT ... WITH %s is not supported", strings.ToUpper(d.Defname))
		}
	}
	for _, g := range st.GrantedRoles {
		role := g.GetAccessPriv().GetPrivName()
		if err := s.checkGrantRole(role); err != nil {
			return "", err
		}
		for _, m := range st.GranteeRoles {
			member, err := s.roleSpecName(m.GetRoleSpec())
			if err != nil {
				return "", err
			}
			if st.IsGrant {
				if err := s.e.cat.GrantRole(role, member, admin, s.currentUser()); err != nil {
					return "", err
				}
				continue
			}
			if _, err := s.e.cat.RevokeRole(role, member, adminOnly); err != nil {
				return "", err
			}
		}
	}
	if st.IsGrant {
		return "GRANT ROLE", nil
	}
	return "REVOKE ROLE", nil
}

// setRole is SET ROLE name / SET ROLE NONE / RESET ROLE.
func (s *Session) setRole(v *pg.VariableSetStmt) (pgwire.Result, error) {
	target := ""
	if v.Kind == pg.VariableSetKind_VAR_SET_VALUE && len(v.Args) == 1 {
		target = v.Args[0].GetAConst().GetSval().GetSval()
		if target == "" {
			return nil, sqlerr.New(sqlerr.InvalidParameterValue, "invalid value for parameter \"role\"")
		}
	} else if v.Kind != pg.VariableSetKind_VAR_RESET && v.Kind != pg.VariableSetKind_VAR_SET_DEFAULT {
		return nil, sqlerr.New(sqlerr.SyntaxError, "SET ROLE takes one role name")
	}
	if strings.EqualFold(target, "none") {
		target = ""
	}
	if target != "" {
		if _, ok := s.e.cat.Role(target); !ok {
			return nil, sqlerr.New(sqlerr.UndefinedObject, "role %q does not exist", target)
		}
		if !s.roleIsSuperuser(s.sessionUser) && !s.e.cat.IsMemberOf(s.sessionUser, target, false) {
			return nil, sqlerr.New(sqlerr.InsufficientPrivilege, "permission denied to set role %q", target)
		}
	}
	if target == s.sessionUser {
		target = ""
	}
	if v.IsLocal {
		if s.txn == nil {
			return tagResult("SET"), nil // PostgreSQL warns: no effect outside a block
		}
		s.txnAuth.local = true
	}
	s.role = target
	s.reportSuperuser()
	s.audit("set role", "role", s.currentUser())
	return tagResult("SET"), nil
}

// actAs makes the session act as role (a SECURITY DEFINER routine's
// owner) until the returned function restores the role it had.
func (s *Session) actAs(role string) func() {
	saved := s.role
	s.role = role
	return func() { s.role = saved }
}

// routineOwner is the role that owns f.
func routineOwner(f *catalog.Function) string {
	if f.Owner == "" {
		return catalog.DefaultOwner
	}
	return f.Owner
}

// authState is who a session acts as (its session user and role), saved
// when a transaction block begins: as in PostgreSQL, SET ROLE and SET
// SESSION AUTHORIZATION are undone when the block rolls back, and SET
// LOCAL ROLE when it ends.
type authState struct {
	sessionUser, role string
	// saved is set while a block is open; local once SET LOCAL ROLE ran
	// in it.
	saved, local bool
}

// endTxnAuth restores the saved session user and role at the end of a
// transaction block: always when it rolled back, after a commit only if
// SET LOCAL ROLE ran in it.
func (s *Session) endTxnAuth(committed bool) {
	a := s.txnAuth
	s.txnAuth = authState{}
	if !a.saved || committed && !a.local {
		return
	}
	s.restoreAuth(authState{sessionUser: a.sessionUser, role: a.role})
}

// currentAuth is who the session acts as now, with the block's SET LOCAL
// mark, for a savepoint to restore.
func (s *Session) currentAuth() authState {
	return authState{sessionUser: s.sessionUser, role: s.role, local: s.txnAuth.local}
}

// restoreAuth makes the session act as a again (ROLLBACK TO SAVEPOINT).
func (s *Session) restoreAuth(a authState) {
	s.txnAuth.local = a.local
	if s.sessionUser != a.sessionUser {
		s.sessionUser = a.sessionUser
		s.vars["session_authorization"] = a.sessionUser
		s.changed["session_authorization"] = a.sessionUser
	}
	s.role = a.role
	s.reportSuperuser()
}

// setSessionAuthorization is SET SESSION AUTHORIZATION name | DEFAULT
// and RESET SESSION AUTHORIZATION: a superuser (as authenticated) may
// act as another role as if it had logged in as it.
func (s *Session) setSessionAuthorization(v *pg.VariableSetStmt) (pgwire.Result, error) {
	target := s.authUser
	if v.Kind == pg.VariableSetKind_VAR_SET_VALUE && len(v.Args) == 1 {
		target = v.Args[0].GetAConst().GetSval().GetSval()
	} else if v.Kind != pg.VariableSetKind_VAR_RESET && v.Kind != pg.VariableSetKind_VAR_SET_DEFAULT {
		return nil, sqlerr.New(sqlerr.SyntaxError, "SET SESSION AUTHORIZATION takes one role name")
	}
	if target != s.authUser {
		if _, ok := s.e.cat.Role(target); !ok {
			return nil, sqlerr.New(sqlerr.UndefinedObject, "role %q does not exist", target)
		}
		if !s.roleIsSuperuser(s.authUser) {
			return nil, sqlerr.New(sqlerr.InsufficientPrivilege, "permission denied to set session authorization")
		}
	}
	if v.IsLocal {
		if s.txn == nil {
			return tagResult("SET"), nil
		}
		s.txnAuth.local = true
	}
	s.sessionUser, s.role = target, ""
	s.vars["session_authorization"] = target
	s.changed["session_authorization"] = target
	s.reportSuperuser()
	s.audit("set session authorization", "role", target)
	return tagResult("SET"), nil
}

// roleStmt is what runs a role statement (nil for any other statement)
// with the statement's kind and the roles or objects it names, for the
// audit log.
func (s *Session) roleStmt(n *pg.Node) (run func() (string, error), kind, target string) {
	specs := func(ns []*pg.Node) string {
		var out []string
		for _, x := range ns {
			if rs := x.GetRoleSpec(); rs != nil {
				out = append(out, rs.Rolename)
			} else if ap := x.GetAccessPriv(); ap != nil {
				out = append(out, ap.PrivName)
			}
		}
		return strings.Join(out, ",")
	}
	switch st := n.Node.(type) {
	case *pg.Node_CreateRoleStmt:
		c := st.CreateRoleStmt
		return func() (string, error) { return s.createRole(c) }, "CREATE ROLE", c.Role
	case *pg.Node_AlterRoleStmt:
		a := st.AlterRoleStmt
		return func() (string, error) { return s.alterRole(a) }, "ALTER ROLE", a.GetRole().GetRolename()
	case *pg.Node_DropRoleStmt:
		d := st.DropRoleStmt
		return func() (string, error) { return s.dropRoles(d) }, "DROP ROLE", specs(d.Roles)
	case *pg.Node_GrantRoleStmt:
		g := st.GrantRoleStmt
		kind = "REVOKE ROLE"
		if g.IsGrant {
			kind = "GRANT ROLE"
		}
		return func() (string, error) { return s.grantRole(g) }, kind, fmt.Sprintf("%s to %s", specs(g.GrantedRoles), specs(g.GranteeRoles))
	case *pg.Node_RenameStmt:
		r := st.RenameStmt
		if r.RenameType != pg.ObjectType_OBJECT_ROLE {
			return nil, "", ""
		}
		return func() (string, error) { return s.renameRole(r) }, "ALTER ROLE RENAME", r.Subname + " to " + r.Newname
	case *pg.Node_GrantStmt:
		g := st.GrantStmt
		kind = "REVOKE"
		if g.IsGrant {
			kind = "GRANT"
		}
		var objs []string
		for _, o := range g.Objects {
			if rv := o.GetRangeVar(); rv != nil {
				objs = append(objs, rv.Relname)
			}
		}
		return func() (string, error) { return s.grantPrivileges(g) }, kind, fmt.Sprintf("%s to %s", strings.Join(objs, ","), specs(g.Grantees))
	case *pg.Node_AlterDefaultPrivilegesStmt:
		return func() (string, error) { return s.alterDefaultPrivileges(st.AlterDefaultPrivilegesStmt) }, "ROLE", ""
	case *pg.Node_AlterRoleSetStmt:
		return func() (string, error) { return s.alterRoleSet(st.AlterRoleSetStmt) }, "ROLE", ""
	}
	return nil, "", ""
}

// auditDDL wraps a utility statement so that the audit log records it:
// its command tag and outcome, never its text (connector options and
// passwords may be in it).
func (s *Session) auditDDL(pr *prepared, err error) (*prepared, error) {
	if err != nil || pr == nil || pr.run == nil || !s.e.auditLog {
		return pr, err
	}
	run := pr.run
	out := *pr
	out.run = func(ctx context.Context, x *execution) (pgwire.Result, error) {
		res, err := run(ctx, x)
		if err != nil {
			x.s.audit("ddl failed", "err", err.Error())
			return res, err
		}
		if res != nil && res.Columns() == nil {
			x.s.audit("ddl", "tag", res.Tag())
		}
		return res, err
	}
	return &out, nil
}

// CanLogin reports whether user may log in: a role with LOGIN, or any name
// on an engine that admits undeclared users.
func (e *Engine) CanLogin(user string) bool {
	r, ok := e.cat.Role(user)
	if !ok {
		return !e.requireRoles
	}
	return r.CanLogin
}

// alterRoleSet is ALTER ROLE r SET name = value | SET name TO DEFAULT |
// RESET name | RESET ALL: settings applied to the role's sessions when
// they start, before the client's own startup parameters (which win), as
// in PostgreSQL. With IN DATABASE d they apply to the role's connections
// to database d only (the database name a client connects with), over
// the role's other settings. A role may change its own; CREATEROLE roles
// those of non-superusers; superusers any. ALTER ROLE ALL [IN DATABASE
// d] SET sets them for every role (catalog/role_settings.go), for
// superusers only.
func (s *Session) alterRoleSet(st *pg.AlterRoleSetStmt) (string, error) {
	if st.Role == nil {
		if !s.isSuperuser() {
			return "", sqlerr.New(sqlerr.InsufficientPrivilege, "must be superuser to alter settings globally")
		}
		set, err := s.changedSettings(s.e.cat.AllRoleSettings(st.Database), st.Setstmt)
		if err != nil {
			return "", err
		}
		return "ALTER ROLE", s.e.cat.SetAllRoleSettings(st.Database, set)
	}
	old, err := s.existingRole(st.Role)
	if err != nil {
		return "", err
	}
	name := old.Name
	switch {
	case s.isSuperuser():
	case old.Superuser:
		return "", sqlerr.New(sqlerr.InsufficientPrivilege, "permission denied to alter role").
			WithDetail("Only roles with the SUPERUSER attribute may alter roles with the SUPERUSER attribute.")
	case s.canCreateRole() || name == s.currentUser():
	default:
		return "", sqlerr.New(sqlerr.InsufficientPrivilege, "permission denied to alter role")
	}
	r := old.Clone()
	set := r.Settings
	if st.Database != "" {
		set = r.DatabaseSettings[st.Database]
	}
	if set, err = s.changedSettings(set, st.Setstmt); err != nil {
		return "", err
	}
	if st.Database == "" {
		r.Settings = set
	} else {
		if r.DatabaseSettings == nil {
			r.DatabaseSettings = map[string]map[string]string{}
		}
		r.DatabaseSettings[st.Database] = set
		if set == nil {
			delete(r.DatabaseSettings, st.Database)
		}
		if len(r.DatabaseSettings) == 0 {
			r.DatabaseSettings = nil
		}
	}
	return "ALTER ROLE", s.e.cat.UpdateRole(r)
}

// changedSettings returns set (which it may change) after the SET or
// RESET of ALTER ROLE, nil when it holds none; a value is checked as SET
// checks it.
func (s *Session) changedSettings(set map[string]string, v *pg.VariableSetStmt) (map[string]string, error) {
	param := settingAlias(strings.ToLower(v.Name))
	switch v.Kind {
	case pg.VariableSetKind_VAR_RESET_ALL:
		set = nil
	case pg.VariableSetKind_VAR_RESET, pg.VariableSetKind_VAR_SET_DEFAULT:
		delete(set, param)
	case pg.VariableSetKind_VAR_SET_VALUE:
		if _, known := settings[param]; !known && !strings.Contains(param, ".") {
			return nil, sqlerr.New(sqlerr.UndefinedObject, "unrecognized configuration parameter %q", param)
		}
		value, err := roleSettingValue(v)
		if err != nil {
			return nil, err
		}
		// Checked as SET checks it, on a session of its own.
		probe := &Session{e: s.e, vars: map[string]string{}, changed: map[string]string{}}
		if param != "role" && param != "barrier_interval" && param != "barrier_write_delay" {
			if err := probe.set(param, value); err != nil {
				return nil, err
			}
		}
		if set == nil {
			set = map[string]string{}
		}
		set[param] = value
	default:
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "ALTER ROLE ... SET of this form is not supported")
	}
	if len(set) == 0 {
		set = nil
	}
	return set, nil
}

// roleSettingValue is the value text of SET name = value.
func roleSettingValue(v *pg.VariableSetStmt) (string, error) {
	parts, err := setValues(v, v.Name)
	return strings.Join(parts, ", "), err
}

// applyRoleSettings applies the ALTER ROLE ... SET settings of the
// session's user, at login.
func (s *Session) applyRoleSettings() error {
	r, ok := s.e.cat.Role(s.sessionUser)
	if !ok {
		// A name without a role (no roles are required): only the
		// settings of all roles.
		r = &catalog.Role{}
	}
	// PostgreSQL's order, each overriding those before: every role's,
	// every role's in the database connected to, the role's, the role's
	// in the database.
	db := s.info.Database
	for _, set := range []map[string]string{s.e.cat.AllRoleSettings(""), s.e.cat.AllRoleSettings(db), r.Settings, r.DatabaseSettings[db]} {
		for name, value := range set {
			if name == "role" {
				continue
			}
			if err := s.set(name, value); err != nil {
				return err
			}
		}
	}
	return nil
}
