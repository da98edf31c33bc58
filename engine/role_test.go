package engine_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"streamsql/engine"
	"streamsql/internal/testserver"
)

func connectAs(t *testing.T, ts *testserver.Server, user string) (*pgx.Conn, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, ts.URL(user, "streamsql"))
	if err == nil {
		t.Cleanup(func() { c.Close(context.Background()) })
	}
	return c, err
}

func mustConnectAs(t *testing.T, ts *testserver.Server, user string) *pgx.Conn {
	t.Helper()
	c, err := connectAs(t, ts, user)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func queryString(t *testing.T, c *pgx.Conn, q string) string {
	t.Helper()
	var s string
	if err := c.QueryRow(context.Background(), q).Scan(&s); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return s
}

func TestRoleStatements(t *testing.T) {
	dir := t.TempDir()
	t.Run("statements", func(t *testing.T) { roleStatements(t, dir) })

	// Roles survive a restart (the subtest's server stopped at its end).
	ts := testserver.Start(t, engine.Options{DataDir: dir, RequireRoles: true})
	su := mustConnectAs(t, ts, "streamsql")
	if n := queryString(t, su, "SELECT string_agg(rolname, ',' ORDER BY rolname) FROM pg_roles"); n != "alice,analysts,bob,carol,old,pam,streamsql" {
		t.Errorf("roles after restart: %s", n)
	}
	if n := queryString(t, su, "SELECT string_agg(m.rolname || '<' || g.rolname, ',') FROM pg_auth_members a JOIN pg_roles m ON m.oid = a.member JOIN pg_roles g ON g.oid = a.roleid"); n != "carol<analysts" {
		t.Errorf("memberships after restart: %s", n)
	}
	execAll(t, su, "DROP ROLE carol, old")
}

func roleStatements(t *testing.T, dir string) {
	ctx := context.Background()
	ts, su := startAs(t, engine.Options{DataDir: dir, RequireRoles: true}, "streamsql",
		"CREATE ROLE analysts",
		"CREATE USER alice PASSWORD 'wonder' CONNECTION LIMIT 2 IN ROLE analysts",
		"CREATE ROLE bob LOGIN CREATEROLE",
		"CREATE ROLE pam LOGIN PASSWORD 'SCRAM-SHA-256$4096:6ailY/wiJ8Q5RT7P+Cq/5Q==$ekrW77u/RUEc5v+0Ximfa4OctHuxa2KP63PKqWkOMUQ=:gdTx1+hmRC9PpcXaatO4itGzJgNCkd0bVSr38ornVho='",
		"CREATE ROLE old LOGIN VALID UNTIL '2001-01-01 00:00:00+00'",
	)
	_, err := su.Exec(ctx, "CREATE ROLE alice")
	wantPgErr(t, err, "42710", `role "alice" already exists`)
	_, err = su.Exec(ctx, "DROP ROLE nobody")
	wantPgErr(t, err, "42704", `role "nobody" does not exist`)
	execAll(t, su, "DROP ROLE IF EXISTS nobody")
	_, err = su.Exec(ctx, "CREATE ROLE pg_mine")
	wantPgErr(t, err, "42939", `role name "pg_mine" is reserved`)

	// Passwords are stored as SCRAM verifiers only; a given verifier is kept.
	var secret string
	if err := su.QueryRow(ctx, "SELECT rolpassword FROM pg_authid WHERE rolname = 'alice'").Scan(&secret); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, "SCRAM-SHA-256$4096:") || strings.Contains(secret, "wonder") {
		t.Fatalf("stored secret %q", secret)
	}
	if got := queryString(t, su, "SELECT rolpassword FROM pg_authid WHERE rolname = 'pam'"); !strings.HasPrefix(got, "SCRAM-SHA-256$4096:6ailY") {
		t.Errorf("given verifier stored as %q", got)
	}
	if got := queryString(t, su, "SELECT rolpassword FROM pg_roles WHERE rolname = 'alice'"); got != "********" {
		t.Errorf("pg_roles shows %q", got)
	}

	// pg_roles, pg_user, pg_auth_members.
	rows, err := su.Query(ctx, `SELECT r.rolname, r.rolsuper, r.rolcanlogin, r.rolcreaterole, r.rolconnlimit,
		array_to_string(ARRAY(SELECT b.rolname FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles b ON (m.roleid = b.oid) WHERE m.member = r.oid), '+') AS memberof
		FROM pg_catalog.pg_roles r WHERE r.rolname !~ '^pg_' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var name string
		var super, login, createRole bool
		var limit int32
		var memberOf string
		if err := rows.Scan(&name, &super, &login, &createRole, &limit, &memberOf); err != nil {
			t.Fatal(err)
		}
		got = append(got, strings.Join([]string{name, b(super), b(login), b(createRole), itoa(limit), memberOf}, " "))
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	want := "alice f t f 2 analysts|analysts f f f -1 |bob f t t -1 |old f t f -1 |pam f t f -1 |streamsql t t t -1 "
	if strings.Join(got, "|") != want {
		t.Errorf("pg_roles:\n got %s\nwant %s", strings.Join(got, "|"), want)
	}
	if n := queryString(t, su, "SELECT string_agg(usename, ',' ORDER BY usename) FROM pg_user"); n != "alice,bob,old,pam,streamsql" {
		t.Errorf("pg_user: %s", n)
	}

	// Logging in: NOLOGIN, unknown roles and the connection limit.
	_, err = connectAs(t, ts, "analysts")
	wantPgErr(t, err, "28000", `role "analysts" is not permitted to log in`)
	_, err = connectAs(t, ts, "mallory")
	wantPgErr(t, err, "28000", `role "mallory" does not exist`)
	a1 := mustConnectAs(t, ts, "alice")
	mustConnectAs(t, ts, "alice")
	_, err = connectAs(t, ts, "alice")
	wantPgErr(t, err, "53300", `too many connections for role "alice"`)

	// A plain user may not create or alter roles, nor read pg_authid; it
	// may change its own password.
	_, err = a1.Exec(ctx, "CREATE ROLE x")
	wantPgErr(t, err, "42501", "permission denied to create role")
	_, err = a1.Exec(ctx, "ALTER ROLE bob NOLOGIN")
	wantPgErr(t, err, "42501", "permission denied")
	_, err = a1.Exec(ctx, "SELECT rolpassword FROM pg_authid")
	wantPgErr(t, err, "42501", "permission denied for table pg_authid")
	execAll(t, a1, "ALTER ROLE alice PASSWORD 'new one'")
	if got := queryString(t, su, "SELECT rolpassword FROM pg_authid WHERE rolname = 'alice'"); got == secret {
		t.Error("ALTER ROLE PASSWORD kept the old secret")
	}
	if s := queryString(t, a1, "SHOW is_superuser"); s != "off" {
		t.Errorf("is_superuser of alice: %s", s)
	}

	// CREATEROLE may create roles but not superusers.
	bob := mustConnectAs(t, ts, "bob")
	execAll(t, bob, "CREATE ROLE carol LOGIN", "GRANT analysts TO carol")
	_, err = bob.Exec(ctx, "CREATE ROLE boss SUPERUSER")
	wantPgErr(t, err, "42501", "must be superuser to create superusers")
	_, err = bob.Exec(ctx, "ALTER ROLE streamsql NOSUPERUSER")
	wantPgErr(t, err, "42501", "must be superuser to alter superuser roles or change superuser attribute")

	// SET ROLE among one's memberships; current_user and session_user.
	if u := queryString(t, a1, "SELECT current_user || ' ' || session_user"); u != "alice alice" {
		t.Errorf("before SET ROLE: %s", u)
	}
	execAll(t, a1, "SET ROLE analysts")
	if u := queryString(t, a1, "SELECT current_user || ' ' || session_user"); u != "analysts alice" {
		t.Errorf("after SET ROLE: %s", u)
	}
	execAll(t, a1, "RESET ROLE")
	if u := queryString(t, a1, "SELECT current_user"); u != "alice" {
		t.Errorf("after RESET ROLE: %s", u)
	}
	_, err = a1.Exec(ctx, "SET ROLE bob")
	wantPgErr(t, err, "42501", `permission denied to set role "bob"`)

	// GRANT cycles, REVOKE, DROP with owned objects.
	_, err = su.Exec(ctx, "GRANT alice TO analysts")
	wantPgErr(t, err, "0LP01", `role "alice" is a member of role "analysts"`)
	execAll(t, su, "REVOKE analysts FROM alice")
	_, err = a1.Exec(ctx, "SET ROLE analysts")
	wantPgErr(t, err, "42501", `permission denied to set role "analysts"`)
	_, err = su.Exec(ctx, "DROP ROLE streamsql")
	wantPgErr(t, err, "55006", "current user cannot be dropped")

}

func b(v bool) string {
	if v {
		return "t"
	}
	return "f"
}

func itoa(n int32) string {
	return strings.TrimSpace(strings.Replace(time.Duration(n).String(), "ns", "", 1))
}

// TestGrantRelacl: GRANT and REVOKE show in pg_class.relacl (and
// column grants in pg_attribute.attacl) as PostgreSQL's aclitem text,
// NULL while the default holds.
func TestGrantRelacl(t *testing.T) {
	_, su := startAs(t, engine.Options{RequireRoles: true}, "streamsql", "CREATE ROLE reader", "CREATE TABLE g (id int PRIMARY KEY)")
	var acl *string
	if err := su.QueryRow(context.Background(), "SELECT relacl::text FROM pg_class WHERE relname = 'g'").Scan(&acl); err != nil || acl != nil {
		t.Fatalf("default relacl: %v %v", acl, err)
	}
	execAll(t, su, "GRANT SELECT, UPDATE ON g TO reader", "GRANT SELECT ON g TO PUBLIC", "REVOKE UPDATE ON g FROM reader")
	if got := queryString(t, su, "SELECT relacl::text FROM pg_class WHERE relname = 'g'"); got != "{streamsql=arwdDxt/streamsql,reader=r/streamsql,=r/streamsql}" {
		t.Errorf("relacl %s", got)
	}
	_, err := su.Exec(context.Background(), "GRANT SELECT ON g TO nobody")
	wantPgErr(t, err, "42704", `role "nobody" does not exist`)
	execAll(t, su, "GRANT SELECT (id), UPDATE (id) ON g TO reader")
	if got := queryString(t, su, "SELECT attacl::text FROM pg_attribute WHERE attrelid = 'g'::regclass AND attname = 'id'"); got != "{reader=rw/streamsql}" {
		t.Errorf("attacl %s", got)
	}
	_, err = su.Exec(context.Background(), "GRANT TRUNCATE (id) ON g TO reader")
	wantPgErr(t, err, "0LP01", "invalid privilege type TRUNCATE for column")
}

// TestAuditLog: with AuditLog, connections, role statements (without
// their text) and DDL are logged as structured lines.
func TestAuditLog(t *testing.T) {
	var buf syncBuffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	ts, _ := startAs(t, engine.Options{RequireRoles: true, AuditLog: true, Logger: log}, "streamsql", "CREATE USER auditee PASSWORD 'do-not-log-me'", "CREATE TABLE audited (id int PRIMARY KEY)", "GRANT SELECT ON audited TO auditee")
	if _, err := connectAs(t, ts, "ghost"); err == nil {
		t.Fatal("ghost connected")
	}
	out := buf.String()
	for _, want := range []string{
		`msg="audit: connection authorized" session_user=streamsql`,
		`msg="audit: role statement" session_user=streamsql current_user=streamsql statement="CREATE ROLE" target=auditee`,
		`msg="audit: ddl" session_user=streamsql current_user=streamsql tag="CREATE TABLE"`,
		`msg="audit: role statement" session_user=streamsql current_user=streamsql statement=GRANT target="audited to auditee"`,
		`msg="audit: connection refused" session_user=ghost current_user=ghost err="role \"ghost\" does not exist"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s\n%s", want, out)
		}
	}
	if strings.Contains(out, "do-not-log-me") {
		t.Error("the audit log shows a password")
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestSavepointRollbackUndoesSetRole: ROLLBACK TO SAVEPOINT undoes SET
// ROLE and SET SESSION AUTHORIZATION done after the savepoint, and keeps
// those done before it, as PostgreSQL does.
func TestSavepointRollbackUndoesSetRole(t *testing.T) {
	_, su := startAs(t, engine.Options{DataDir: t.TempDir(), RequireRoles: true}, "streamsql", "CREATE ROLE ana", "CREATE ROLE ben",
		"BEGIN", "SET ROLE ana", "SAVEPOINT a", "SET ROLE ben")
	if u := queryString(t, su, "SELECT current_user"); u != "ben" {
		t.Fatalf("after SET ROLE ben: %s", u)
	}
	execAll(t, su, "ROLLBACK TO SAVEPOINT a")
	if u := queryString(t, su, "SELECT current_user"); u != "ana" {
		t.Errorf("after ROLLBACK TO SAVEPOINT a: current_user %s, want ana", u)
	}
	execAll(t, su, "SAVEPOINT b", "SET SESSION AUTHORIZATION ben", "ROLLBACK TO b")
	if u := queryString(t, su, "SELECT session_user || '/' || current_user"); u != "streamsql/ana" {
		t.Errorf("after ROLLBACK TO b: %s, want streamsql/ana", u)
	}
	// SET LOCAL ROLE undone by the savepoint no longer ends with the block.
	execAll(t, su, "SAVEPOINT c", "SET LOCAL ROLE ben", "ROLLBACK TO c", "COMMIT")
	if u := queryString(t, su, "SELECT current_user"); u != "ana" {
		t.Errorf("after COMMIT: current_user %s, want ana", u)
	}
}
