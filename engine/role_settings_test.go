package engine_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"streamsql/engine"
	"streamsql/internal/testserver"
)

// TestAlterRoleSet: ALTER ROLE r SET applies to r's sessions from their
// start, the client's startup parameters win over it, and RESET takes it
// away for the next session.
func TestAlterRoleSet(t *testing.T) {
	ts := testserver.Start(t, engine.Options{})
	admin := mustConnectAs(t, ts, "streamsql")
	execAll(t, admin, "CREATE ROLE rs_user LOGIN", "CREATE SCHEMA rs_app",
		"ALTER ROLE rs_user SET search_path = rs_app, public",
		"ALTER ROLE rs_user SET statement_timeout = '5s'",
		"ALTER ROLE rs_user SET application_name = 'from_role'")
	show := func(c *pgx.Conn, name string) string {
		t.Helper()
		var v string
		if err := c.QueryRow(context.Background(), "SHOW "+name).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	// The session that ran ALTER ROLE is not changed.
	if got := show(admin, "statement_timeout"); got != "0" {
		t.Errorf("admin statement_timeout = %q", got)
	}
	u := mustConnectAs(t, ts, "rs_user")
	if got := show(u, "search_path"); got != "rs_app, public" {
		t.Errorf("search_path = %q, want rs_app, public", got)
	}
	if got := show(u, "statement_timeout"); got != "5s" {
		t.Errorf("statement_timeout = %q, want 5s", got)
	}
	// pgx sends application_name only when given; the client's wins.
	cfg, err := pgx.ParseConfig(ts.URL("rs_user", "streamsql"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.RuntimeParams["statement_timeout"] = "7s"
	c2, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close(context.Background())
	if got := show(c2, "statement_timeout"); got != "7s" {
		t.Errorf("with the client's own statement_timeout: %q, want 7s", got)
	}
	// A bad value is refused as SET refuses it; an unknown name too.
	if _, err := admin.Exec(context.Background(), "ALTER ROLE rs_user SET statement_timeout = 'soon'"); err == nil {
		t.Error("ALTER ROLE SET statement_timeout = 'soon' succeeded")
	}
	if _, err := admin.Exec(context.Background(), "ALTER ROLE rs_user SET no_such_setting = 1"); err == nil {
		t.Error("ALTER ROLE SET of an unknown setting succeeded")
	}
	execAll(t, admin, "ALTER ROLE rs_user RESET statement_timeout")
	u3 := mustConnectAs(t, ts, "rs_user")
	if got := show(u3, "statement_timeout"); got != "0" {
		t.Errorf("after RESET: statement_timeout = %q, want 0", got)
	}
	if got := show(u3, "search_path"); got != "rs_app, public" {
		t.Errorf("after RESET of another setting: search_path = %q", got)
	}
	// A role may change its own settings, not another's.
	execAll(t, u3, "ALTER ROLE rs_user SET search_path = public")
	if _, err := u3.Exec(context.Background(), "ALTER ROLE streamsql SET search_path = public"); err == nil {
		t.Error("a role changed a superuser's settings")
	}
	execAll(t, admin, "ALTER ROLE rs_user RESET ALL")
	if got := show(mustConnectAs(t, ts, "rs_user"), "search_path"); got != `"$user", public` {
		t.Errorf("after RESET ALL: search_path = %q", got)
	}
}
