package engine_test

// Row-level security over the wire: cached plans are never shared by roles
// that different policies bind, policies survive a restart, and psql's \d
// shows them. The policy semantics themselves are in
// testdata/sqllogic/rls.slt, which also runs against PostgreSQL.

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"streamsql/engine"
	"streamsql/internal/testserver"
)

// rlsSetup makes roles rls_red and rls_blue, each bound by a policy of its
// own on desks (no current_user in them: the plans differ by role).
var rlsSetup = []string{
	"CREATE ROLE rls_red LOGIN", "CREATE ROLE rls_blue LOGIN",
	"CREATE TABLE desks (id int PRIMARY KEY, team text)",
	"INSERT INTO desks VALUES (1, 'red'), (2, 'blue'), (3, 'red'), (4, 'green')",
	"GRANT SELECT, UPDATE ON desks TO rls_red, rls_blue",
	"ALTER TABLE desks ENABLE ROW LEVEL SECURITY",
	"CREATE POLICY red ON desks TO rls_red USING (team = 'red')",
	"CREATE POLICY blue ON desks TO rls_blue USING (team = 'blue')",
}

func ids(t *testing.T, conn *pgx.Conn, sql string, args ...any) []int32 {
	t.Helper()
	rows, err := conn.Query(context.Background(), sql, args...)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return out
}

// TestRowSecurityPlanCacheByRole: one prepared statement, run by two
// roles (in one session through SET ROLE, and in two sessions), sees each
// role's rows, never the rows of the role whose plan was cached first.
func TestRowSecurityPlanCacheByRole(t *testing.T) {
	ts := testserver.Start(t, engine.Options{})
	admin := mustConnectAs(t, ts, "streamsql")
	execAll(t, admin, rlsSetup...)
	ctx := context.Background()
	const q = "SELECT id FROM desks WHERE id > $1 ORDER BY id"
	if _, err := admin.Prepare(ctx, "q", q); err != nil {
		t.Fatal(err)
	}
	want := map[string][]int32{"rls_red": {1, 3}, "rls_blue": {2}, "streamsql": {1, 2, 3, 4}}
	for _, role := range []string{"rls_red", "rls_blue", "rls_red", "streamsql", "rls_blue"} {
		execAll(t, admin, "SET ROLE "+role)
		for i := 0; i < 3; i++ {
			if got := ids(t, admin, "q", 0); !slices.Equal(got, want[role]) {
				t.Fatalf("run %d as %s: %v, want %v", i, role, got, want[role])
			}
		}
	}
	execAll(t, admin, "RESET ROLE")
	hits, _ := ts.Engine.PlanCacheStats()
	if hits == 0 {
		t.Errorf("no run used a cached plan")
	}
	// Two sessions, the same statement text through the shared cache.
	red, blue := mustConnectAs(t, ts, "rls_red"), mustConnectAs(t, ts, "rls_blue")
	for i := 0; i < 3; i++ {
		if got := ids(t, red, q, 0); !slices.Equal(got, want["rls_red"]) {
			t.Fatalf("rls_red session: %v", got)
		}
		if got := ids(t, blue, q, 0); !slices.Equal(got, want["rls_blue"]) {
			t.Fatalf("rls_blue session: %v", got)
		}
	}
	// Writes are planned per role too: each role updates only its rows.
	const upd = "UPDATE desks SET team = team WHERE id > $1"
	for _, c := range []struct {
		conn *pgx.Conn
		n    int64
	}{{red, 2}, {blue, 1}, {red, 2}, {blue, 1}} {
		tag, err := c.conn.Exec(ctx, upd, 0)
		if err != nil {
			t.Fatal(err)
		}
		if tag.RowsAffected() != c.n {
			t.Fatalf("%s: %d rows, want %d", upd, tag.RowsAffected(), c.n)
		}
	}
	// A new policy applies to the next run of a cached statement.
	execAll(t, admin, "CREATE POLICY green ON desks TO rls_blue USING (team = 'green')")
	if got := ids(t, blue, q, 0); !slices.Equal(got, []int32{2, 4}) {
		t.Fatalf("after CREATE POLICY: %v, want [2 4]", got)
	}
}

// TestRowSecurityRestart: policies, row security and BYPASSRLS survive a
// restart.
func TestRowSecurityRestart(t *testing.T) {
	dir := t.TempDir()
	t.Run("create", func(t *testing.T) {
		ts := testserver.Start(t, engine.Options{DataDir: dir})
		admin := mustConnectAs(t, ts, "streamsql")
		execAll(t, admin, rlsSetup...)
		execAll(t, admin, "ALTER TABLE desks FORCE ROW LEVEL SECURITY", "CREATE ROLE rls_audit LOGIN BYPASSRLS", "GRANT SELECT ON desks TO rls_audit")
	})
	ts := testserver.Start(t, engine.Options{DataDir: dir})
	admin := mustConnectAs(t, ts, "streamsql")
	if n := queryInt(t, admin, "SELECT count(*) FROM pg_policy WHERE polrelid = 'desks'::regclass"); n != 2 {
		t.Fatalf("pg_policy after restart: %d policies, want 2", n)
	}
	var on, force bool
	if err := admin.QueryRow(context.Background(), "SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = 'desks'").Scan(&on, &force); err != nil || !on || !force {
		t.Fatalf("pg_class after restart: %v %v %v", on, force, err)
	}
	if got := ids(t, mustConnectAs(t, ts, "rls_red"), "SELECT id FROM desks ORDER BY id"); !slices.Equal(got, []int32{1, 3}) {
		t.Fatalf("rls_red after restart: %v", got)
	}
	if got := ids(t, mustConnectAs(t, ts, "rls_audit"), "SELECT id FROM desks ORDER BY id"); len(got) != 4 {
		t.Fatalf("BYPASSRLS role after restart: %v", got)
	}
}

// TestRowSecurityPsqlDescribe: psql's \d lists a table's policies as it
// does for PostgreSQL.
func TestRowSecurityPsqlDescribe(t *testing.T) {
	psql, err := exec.LookPath("psql")
	if err != nil {
		t.Skip("psql is not installed")
	}
	ts := testserver.Start(t, engine.Options{})
	admin := mustConnectAs(t, ts, "streamsql")
	execAll(t, admin, "CREATE ROLE rls_a",
		"CREATE TABLE acct (id int PRIMARY KEY, owner text, level int)",
		"ALTER TABLE acct ENABLE ROW LEVEL SECURITY",
		"CREATE POLICY own ON acct USING (owner = current_user)",
		"CREATE POLICY lvl ON acct AS RESTRICTIVE FOR UPDATE TO rls_a USING (level < 5) WITH CHECK (level < 3)")
	run := func(cmd string) string {
		t.Helper()
		out, err := exec.Command(psql, "-X", "-h", ts.Host, "-p", fmt.Sprint(ts.Port), "-U", "streamsql", "-d", "streamsql", "-c", cmd).CombinedOutput()
		if err != nil {
			t.Fatalf("psql %s: %v\n%s", cmd, err, out)
		}
		return string(out)
	}
	// PostgreSQL 15's output for the same table (its deparser prints
	// CURRENT_USER in capitals).
	want := `Policies:
    POLICY "lvl" AS RESTRICTIVE FOR UPDATE
      TO rls_a
      USING ((level < 5))
      WITH CHECK ((level < 3))
    POLICY "own"
      USING ((owner = CURRENT_USER))
`
	if got := run(`\d acct`); !strings.Contains(got, want) {
		t.Errorf("\\d acct:\n%s\nwant it to contain:\n%s", got, want)
	}
	// \dp: the ACL, column privileges and policies, in psql's layout.
	execAll(t, admin, "GRANT SELECT ON acct TO rls_a", "GRANT UPDATE (level) ON acct TO rls_a")
	dp := run(`\dp acct`)
	for _, want := range []string{
		"| acct | table | streamsql=arwdDxt/streamsql+| level:             +| own:                         +",
		"|      |       | rls_a=r/streamsql           |   rls_a=w/streamsql |   (u): (owner = CURRENT_USER)+",
		"|      |       |                             |                     | lvl (RESTRICTIVE) (w):       +",
		"|      |       |                             |                     |   (u): (level < 5)           +",
		"|      |       |                             |                     |   (c): (level < 3)           +",
		"|      |       |                             |                     |   to: rls_a",
	} {
		if !strings.Contains(dp, want) {
			t.Errorf("\\dp acct lacks %q", want)
		}
	}
	execAll(t, admin, "ALTER TABLE acct FORCE ROW LEVEL SECURITY")
	if got := run(`\d acct`); !strings.Contains(got, "Policies (forced row security enabled):\n") {
		t.Errorf("\\d acct after FORCE:\n%s", got)
	}
	execAll(t, admin, "ALTER TABLE acct NO FORCE ROW LEVEL SECURITY", "ALTER TABLE acct DISABLE ROW LEVEL SECURITY")
	if got := run(`\d acct`); !strings.Contains(got, "Policies (row security disabled):\n") {
		t.Errorf("\\d acct after DISABLE:\n%s", got)
	}
}

// TestRowSecurityLookupJoin: a lookup join (FOR SYSTEM_TIME AS OF
// PROCTIME()) on a table whose policies bind the role finds only the rows
// the role may see: in a materialized view (the stream operator, with its
// owner's policies) an INNER join drops the other rows and a LEFT join pads
// them with NULLs, as the query run once does.
func TestRowSecurityLookupJoin(t *testing.T) {
	ts := testserver.Start(t, engine.Options{})
	admin := mustConnectAs(t, ts, "streamsql")
	execAll(t, admin, rlsSetup...)
	execAll(t, admin,
		"CREATE TABLE orders (id int PRIMARY KEY, desk int)",
		"GRANT SELECT ON orders TO rls_red",
		"GRANT CREATE ON SCHEMA public TO rls_red")
	red := mustConnectAs(t, ts, "rls_red")
	execAll(t, red,
		"CREATE MATERIALIZED VIEW red_inner AS SELECT o.id, d.team FROM orders o JOIN desks FOR SYSTEM_TIME AS OF PROCTIME() AS d ON d.id = o.desk",
		"CREATE MATERIALIZED VIEW red_left AS SELECT o.id, coalesce(d.team, '-') AS team FROM orders o LEFT JOIN desks FOR SYSTEM_TIME AS OF PROCTIME() AS d ON d.id = o.desk")
	execAll(t, admin, "INSERT INTO orders VALUES (10, 1), (20, 2), (30, 3), (40, 4)", "FLUSH")
	rowsOf := func(sql string) string {
		t.Helper()
		rows, err := red.Query(context.Background(), sql)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		var out []string
		for rows.Next() {
			var id int32
			var team string
			if err := rows.Scan(&id, &team); err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprintf("%d:%s", id, team))
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		return strings.Join(out, " ")
	}
	if got := rowsOf("SELECT id, team FROM red_inner ORDER BY id"); got != "10:red 30:red" {
		t.Errorf("inner lookup join view: %s", got)
	}
	if got := rowsOf("SELECT id, team FROM red_left ORDER BY id"); got != "10:red 20:- 30:red 40:-" {
		t.Errorf("left lookup join view: %s", got)
	}
	if got := rowsOf("SELECT o.id, d.team FROM orders o JOIN desks FOR SYSTEM_TIME AS OF PROCTIME() AS d ON d.id = o.desk ORDER BY o.id"); got != "10:red 30:red" {
		t.Errorf("lookup join run once: %s", got)
	}
}
