package engine_test

import (
	"context"
	"testing"

	"streamsql/engine"
)

// SUBSCRIBE reads what a SELECT of the same thing reads, and needs the
// same privileges: SELECT on the materialized view, or on the tables (or
// their columns) the query reads; 42501 otherwise, as PostgreSQL words it.
func TestSubscribePrivileges(t *testing.T) {
	ts, su := startAs(t, engine.Options{RequireRoles: true}, "streamsql", "CREATE ROLE watcher LOGIN",
		"CREATE TABLE trades (id int PRIMARY KEY, sym text, secret int)",
		"INSERT INTO trades VALUES (1, 'A', 7)",
		"CREATE MATERIALIZED VIEW by_sym AS SELECT sym, count(*) AS n FROM trades GROUP BY sym")
	w := mustConnectAs(t, ts, "watcher")
	ctx := context.Background()
	// subscribe opens a cursor over SUBSCRIBE and fetches its snapshot.
	subscribe := func(what string) error {
		n, err := fetchCursor(t, w, "SUBSCRIBE "+what, "WITH (timeout = '2s')")
		if err != nil {
			return err
		}
		if n != 1 {
			t.Errorf("SUBSCRIBE %s: %d snapshot rows, want 1", what, n)
		}
		return nil
	}
	for _, what := range []string{"by_sym", "trades", "(SELECT id, sym FROM trades)"} {
		err := subscribe(what)
		wantCode(t, err, "42501")
	}
	// COPY (SUBSCRIBE ...) TO STDOUT is checked the same way.
	_, err := w.Exec(ctx, "COPY (SUBSCRIBE by_sym) TO STDOUT")
	wantCode(t, err, "42501")

	execAll(t, su, "GRANT SELECT ON by_sym TO watcher", "GRANT SELECT (id, sym) ON trades TO watcher")
	for _, what := range []string{"by_sym", "(SELECT id, sym FROM trades)"} {
		if err := subscribe(what); err != nil {
			t.Errorf("SUBSCRIBE %s after GRANT: %v", what, err)
		}
	}
	// The whole table includes a column the role may not read.
	wantCode(t, subscribe("trades"), "42501")
	wantCode(t, subscribe("(SELECT id, secret FROM trades)"), "42501")
}
