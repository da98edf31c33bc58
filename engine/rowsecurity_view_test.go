package engine_test

// Row-level security inside materialized views: a view's job runs as its
// owner, so current_user and session_user there are the owner's name (as
// in PostgreSQL's REFRESH MATERIALIZED VIEW), before and after a restart,
// and policies whose USING expression has a subquery are maintained.

import (
	"slices"
	"testing"

	"streamsql/engine"
	"streamsql/internal/testserver"
)

// mvOwnerSetup: ledger rows belong to roles by name; a policy lets a role
// see its own rows and the rows of the accounts granted to it in grants.
var mvOwnerSetup = []string{
	"CREATE ROLE mv_alice LOGIN",
	"GRANT CREATE ON SCHEMA public TO mv_alice",
	"CREATE TABLE ledger (id int PRIMARY KEY, acct text, owner text)",
	"CREATE TABLE acct_grants (acct text, grantee text, PRIMARY KEY (acct, grantee))",
	"GRANT SELECT ON ledger, acct_grants TO mv_alice",
	"ALTER TABLE ledger ENABLE ROW LEVEL SECURITY",
	"CREATE POLICY own ON ledger USING (owner = current_user)",
	"CREATE POLICY granted ON ledger USING (acct IN (SELECT acct FROM acct_grants WHERE grantee = current_user))",
	"INSERT INTO acct_grants VALUES ('A2', 'mv_alice'), ('A3', 'mv_bob')",
	"INSERT INTO ledger VALUES (1, 'A1', 'mv_alice'), (2, 'A1', 'streamsql'), (3, 'A2', 'streamsql'), (4, 'A3', 'streamsql')",
}

// TestMatViewRunsAsOwner: in alice's materialized view, current_user and
// session_user are alice, and the policies let through her rows (1) and
// those of the account granted to her (3), never the rows of the
// server's user; later inserts and grants, and a restart, keep it so.
func TestMatViewRunsAsOwner(t *testing.T) {
	dir := t.TempDir()
	t.Run("create", func(t *testing.T) {
		ts := testserver.Start(t, engine.Options{DataDir: dir})
		admin := mustConnectAs(t, ts, "streamsql")
		execAll(t, admin, mvOwnerSetup...)
		alice := mustConnectAs(t, ts, "mv_alice")
		execAll(t, alice,
			"CREATE MATERIALIZED VIEW alice_ledger AS SELECT id, current_user AS cu, session_user AS su FROM ledger",
			"FLUSH")
		if got := ids(t, alice, "SELECT id FROM alice_ledger ORDER BY id"); !slices.Equal(got, []int32{1, 3}) {
			t.Fatalf("alice's view: %v, want [1 3]", got)
		}
		if got := queryStrings(t, alice, "SELECT DISTINCT cu || '/' || su FROM alice_ledger"); !slices.Equal(got, []string{"mv_alice/mv_alice"}) {
			t.Fatalf("current_user/session_user in the view: %v", got)
		}
		// New rows and a new grant are maintained with the same rights.
		execAll(t, admin,
			"INSERT INTO ledger VALUES (5, 'A9', 'mv_alice'), (6, 'A9', 'streamsql'), (7, 'A3', 'streamsql')",
			"INSERT INTO acct_grants VALUES ('A3', 'mv_alice')", "FLUSH")
		if got := ids(t, alice, "SELECT id FROM alice_ledger ORDER BY id"); !slices.Equal(got, []int32{1, 3, 4, 5, 7}) {
			t.Fatalf("alice's view after inserts: %v, want [1 3 4 5 7]", got)
		}
		// Revoking the grant takes the account's rows out again.
		execAll(t, admin, "DELETE FROM acct_grants WHERE acct = 'A3' AND grantee = 'mv_alice'", "FLUSH")
		if got := ids(t, alice, "SELECT id FROM alice_ledger ORDER BY id"); !slices.Equal(got, []int32{1, 3, 5}) {
			t.Fatalf("alice's view after the grant is deleted: %v, want [1 3 5]", got)
		}
	})
	// After a restart the job still runs as alice.
	ts := testserver.Start(t, engine.Options{DataDir: dir})
	admin := mustConnectAs(t, ts, "streamsql")
	execAll(t, admin, "INSERT INTO ledger VALUES (8, 'A1', 'mv_alice'), (9, 'A1', 'streamsql'), (10, 'A2', 'streamsql')", "FLUSH")
	alice := mustConnectAs(t, ts, "mv_alice")
	if got := ids(t, alice, "SELECT id FROM alice_ledger ORDER BY id"); !slices.Equal(got, []int32{1, 3, 5, 8, 10}) {
		t.Fatalf("alice's view after a restart: %v, want [1 3 5 8 10]", got)
	}
	if got := queryStrings(t, alice, "SELECT DISTINCT cu || '/' || su FROM alice_ledger"); !slices.Equal(got, []string{"mv_alice/mv_alice"}) {
		t.Fatalf("current_user/session_user in the view after a restart: %v", got)
	}
}
