package engine_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"streamsql/engine"
	"streamsql/internal/testserver"
)

// TestAlterRoleInDatabaseSet: ALTER ROLE r IN DATABASE d SET applies to
// r's connections to database d only, over r's own settings; RESET in
// the database leaves the role's. ALTER ROLE ALL [IN DATABASE d] SET
// applies to every role, under the role's own settings, in PostgreSQL's
// order (all < all in the database < the role < the role in the
// database < the client's startup parameters), for superusers only.
// pg_db_role_setting shows them all; they survive a restart.
func TestAlterRoleInDatabaseSet(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	show := func(c *pgx.Conn, name string) string {
		t.Helper()
		var v string
		if err := c.QueryRow(ctx, "SHOW "+name).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	connect := func(ts *testserver.Server, user, db string) *pgx.Conn {
		t.Helper()
		c, err := pgx.Connect(ctx, ts.URL(user, db))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close(ctx) })
		return c
	}
	check := func(ts *testserver.Server) {
		t.Helper()
		for _, c := range []struct{ user, db, setting, want string }{
			{"rd_user", "reports", "statement_timeout", "9s"},   // the role in the database
			{"rd_user", "streamsql", "statement_timeout", "5s"}, // the role
			{"rd_user", "scratch", "statement_timeout", "5s"},   // RESET in the database: the role's
			{"other", "streamsql", "statement_timeout", "3s"},   // all roles
			{"other", "reports", "statement_timeout", "4s"},     // all roles in the database
			{"rd_user", "reports", "lock_timeout", "7s"},        // all roles, set for nobody else
			{"other", "reports", "lock_timeout", "7s"},
		} {
			if got := show(connect(ts, c.user, c.db), c.setting); got != c.want {
				t.Errorf("%s of %s in database %s: %q, want %q", c.setting, c.user, c.db, got, c.want)
			}
		}
	}
	t.Run("set", func(t *testing.T) {
		ts := testserver.Start(t, engine.Options{DataDir: dir})
		admin := mustConnectAs(t, ts, "streamsql")
		execAll(t, admin, "CREATE ROLE rd_user LOGIN", "CREATE ROLE other LOGIN",
			"ALTER ROLE rd_user SET statement_timeout = '5s'",
			"ALTER ROLE rd_user IN DATABASE reports SET statement_timeout = '9s'",
			"ALTER ROLE rd_user IN DATABASE scratch SET statement_timeout = '1s'",
			"ALTER ROLE rd_user IN DATABASE scratch RESET statement_timeout",
			"ALTER ROLE ALL SET statement_timeout = '3s'",
			"ALTER ROLE ALL SET lock_timeout = '7s'",
			"ALTER ROLE ALL IN DATABASE reports SET statement_timeout = '4s'",
			"ALTER ROLE ALL IN DATABASE scratch SET lock_timeout = '1s'",
			"ALTER ROLE ALL IN DATABASE scratch RESET ALL")
		check(ts)
		// A client's startup parameter wins over every ALTER ROLE.
		cfg, err := pgx.ParseConfig(ts.URL("other", "reports"))
		if err != nil {
			t.Fatal(err)
		}
		cfg.RuntimeParams["statement_timeout"] = "2s"
		c, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		if got := show(c, "statement_timeout"); got != "2s" {
			t.Errorf("with a startup parameter: %q, want 2s", got)
		}

		// Only superusers alter the settings of all roles; values are
		// checked as SET checks them.
		_, err = connect(ts, "other", "streamsql").Exec(ctx, "ALTER ROLE ALL SET statement_timeout = '1s'")
		wantCode(t, err, "42501")
		_, err = admin.Exec(ctx, "ALTER ROLE ALL SET statement_timeout = 'soon'")
		wantCode(t, err, "22023")
		_, err = admin.Exec(ctx, "ALTER ROLE ALL SET no_such_setting = 1")
		wantCode(t, err, "42704")
	})
	ts := testserver.Start(t, engine.Options{DataDir: dir})
	check(ts)
	// pg_db_role_setting as psql's \drds reads it, in database reports.
	rows, err := connect(ts, "streamsql", "reports").Query(ctx, `SELECT coalesce(r.rolname, ''), coalesce(d.datname, ''),
		pg_catalog.array_to_string(s.setconfig, E'\n')
		FROM pg_catalog.pg_db_role_setting s
		LEFT JOIN pg_catalog.pg_database d ON d.oid = s.setdatabase
		LEFT JOIN pg_catalog.pg_roles r ON r.oid = s.setrole
		ORDER BY 1, 2`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var role, db, config string
		if err := rows.Scan(&role, &db, &config); err != nil {
			t.Fatal(err)
		}
		got = append(got, role+"|"+db+"|"+strings.ReplaceAll(config, "\n", ","))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := "||lock_timeout=7s,statement_timeout=3s\n|reports|statement_timeout=4s\nrd_user||statement_timeout=5s\nrd_user|reports|statement_timeout=9s"
	if g := strings.Join(got, "\n"); g != want {
		t.Errorf("pg_db_role_setting:\n%s\nwant\n%s", g, want)
	}
	var rolconfig string
	if err := connect(ts, "streamsql", "reports").QueryRow(ctx, "SELECT rolconfig::text FROM pg_roles WHERE rolname = 'rd_user'").Scan(&rolconfig); err != nil {
		t.Fatal(err)
	}
	if rolconfig != "{statement_timeout=5s}" {
		t.Errorf("pg_roles.rolconfig: %s", rolconfig)
	}
}
