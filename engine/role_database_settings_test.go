package engine_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"streamsql/engine"
	"streamsql/internal/testserver"
)

// TestAlterRoleInDatabaseSet: ALTER ROLE r IN DATABASE d SET applies to
// r's connections to database d only, over r's own settings; RESET in
// the database leaves the role's; the settings survive a restart.
// ALTER ROLE ALL SET is refused with 0A000.
func TestAlterRoleInDatabaseSet(t *testing.T) {
	dir := t.TempDir()
	show := func(c *pgx.Conn) string {
		t.Helper()
		var v string
		if err := c.QueryRow(context.Background(), "SHOW statement_timeout").Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	connect := func(ts *testserver.Server, db string) *pgx.Conn {
		t.Helper()
		c, err := pgx.Connect(context.Background(), ts.URL("rd_user", db))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close(context.Background()) })
		return c
	}
	t.Run("set", func(t *testing.T) {
		ts := testserver.Start(t, engine.Options{DataDir: dir})
		admin := mustConnectAs(t, ts, "streamsql")
		execAll(t, admin, "CREATE ROLE rd_user LOGIN",
			"ALTER ROLE rd_user SET statement_timeout = '5s'",
			"ALTER ROLE rd_user IN DATABASE reports SET statement_timeout = '9s'",
			"ALTER ROLE rd_user IN DATABASE scratch SET statement_timeout = '1s'",
			"ALTER ROLE rd_user IN DATABASE scratch RESET statement_timeout")
		if got := show(connect(ts, "reports")); got != "9s" {
			t.Errorf("in database reports: %q, want 9s", got)
		}
		if got := show(connect(ts, "streamsql")); got != "5s" {
			t.Errorf("in database streamsql: %q, want the role's 5s", got)
		}
		if got := show(connect(ts, "scratch")); got != "5s" {
			t.Errorf("in database scratch after RESET: %q, want the role's 5s", got)
		}
		_, err := admin.Exec(context.Background(), "ALTER ROLE ALL SET statement_timeout = '3s'")
		wantCode(t, err, "0A000")
	})
	ts := testserver.Start(t, engine.Options{DataDir: dir})
	if got := show(connect(ts, "reports")); got != "9s" {
		t.Errorf("in database reports after a restart: %q, want 9s", got)
	}
}
