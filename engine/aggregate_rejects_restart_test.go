package engine_test

import (
	"testing"

	"streamsql/engine"
)

// A row a user aggregate fails on is rejected once, also across a
// restart: the view that folds its groups again (an aggregate without
// retract) keeps the count of rejected copies with the group's inputs
// in its state, so folding the group after the restart leaves the row
// out without rejecting it a second time.
func TestUserAggregateRejectsOnceAcrossRestart(t *testing.T) {
	s := openStack(t, engine.Options{})
	s.execAll(t,
		`CREATE AGGREGATE fussy_list(q int) RETURNS text LANGUAGE javascript AS $$
		   export function create_state() { return []; }
		   export function accumulate(st, q) { if (q === 13) throw new Error('unlucky ' + q); st.push(q); return st; }
		   export function finish(st) { return st.sort((a, b) => a - b).join(','); }
		 $$`,
		"CREATE TABLE t (id int PRIMARY KEY, k int, q int)",
		"CREATE MATERIALIZED VIEW by_k AS SELECT k, fussy_list(q) AS l FROM t GROUP BY k",
		"INSERT INTO t VALUES (1, 1, 1), (2, 1, 13), (3, 1, 2), (4, 2, 13), (5, 2, 13)",
		"FLUSH",
		// The group folds again: the rejects stay at three.
		"INSERT INTO t VALUES (6, 1, 3)",
		"FLUSH",
	)
	const rejects = "SELECT count(*) FROM rejects WHERE job = 'by_k' AND error LIKE '%unlucky 13%'"
	checkRows(t, s, rejects, "3")
	s.restart(t)
	s.execAll(t,
		"UPDATE t SET q = 4 WHERE id = 6",
		"INSERT INTO t VALUES (7, 2, 5)",
		"FLUSH",
	)
	checkRows(t, s, "SELECT k, l FROM by_k ORDER BY k", "1 1,2,4|2 5")
	checkRows(t, s, rejects, "3")
	// A new failing copy of the same value is a new reject, once.
	s.execAll(t, "INSERT INTO t VALUES (8, 1, 13)", "FLUSH", "INSERT INTO t VALUES (9, 1, 9)", "FLUSH")
	checkRows(t, s, "SELECT k, l FROM by_k ORDER BY k", "1 1,2,4,9|2 5")
	checkRows(t, s, rejects, "4")
}

// The same for a user aggregate called with ORDER BY, whose view keeps
// the group's rows in the call's order and folds them again on every
// change: two failing rows with the same argument and different ordering
// keys are two rejects, each once, before and after a restart.
func TestUserAggregateOrderByRejectsOnceAcrossRestart(t *testing.T) {
	s := openStack(t, engine.Options{})
	s.execAll(t,
		`CREATE AGGREGATE fussy_seq(q int) RETURNS text LANGUAGE javascript AS $$
		   export function create_state() { return []; }
		   export function accumulate(st, q) { if (q === 13) throw new Error('unlucky ' + q); st.push(q); return st; }
		   export function finish(st) { return st.join(','); }
		 $$`,
		"CREATE TABLE t (id int PRIMARY KEY, k int, q int)",
		"CREATE MATERIALIZED VIEW by_k AS SELECT k, fussy_seq(q ORDER BY id DESC) AS l FROM t GROUP BY k",
		"INSERT INTO t VALUES (1, 1, 1), (2, 1, 13), (3, 1, 2), (4, 2, 13), (5, 2, 13)",
		"FLUSH",
		"INSERT INTO t VALUES (6, 1, 3), (7, 2, 7)",
		"FLUSH",
	)
	const rejects = "SELECT count(*) FROM rejects WHERE job = 'by_k' AND error LIKE '%unlucky 13%'"
	checkRows(t, s, "SELECT k, l FROM by_k ORDER BY k", "1 3,2,1|2 7")
	checkRows(t, s, rejects, "3")
	s.restart(t)
	s.execAll(t, "UPDATE t SET q = 4 WHERE id = 6", "INSERT INTO t VALUES (8, 2, 5)", "FLUSH")
	checkRows(t, s, "SELECT k, l FROM by_k ORDER BY k", "1 4,2,1|2 5,7")
	checkRows(t, s, rejects, "3")
	s.execAll(t, "INSERT INTO t VALUES (9, 1, 13)", "FLUSH", "INSERT INTO t VALUES (10, 1, 9)", "FLUSH")
	checkRows(t, s, "SELECT k, l FROM by_k ORDER BY k", "1 9,4,2,1|2 5,7")
	checkRows(t, s, rejects, "4")
}

// In a SESSION window the rows a user aggregate fails on are rejected
// once: a session folded again (a bridge of two sessions, a split by a
// delete) and the sessions rebuilt from their rows after a restart leave
// them out without rejecting them again.
func TestUserAggregateSessionRejectsOnceAcrossRestart(t *testing.T) {
	s := openStack(t, engine.Options{})
	s.execAll(t,
		`CREATE AGGREGATE fussy_sum(q int) RETURNS bigint LANGUAGE javascript AS $$
		   export function create_state() { return 0; }
		   export function accumulate(st, q) { if (q === 13) throw new Error('unlucky ' + q); return st + q; }
		 $$`,
		"CREATE TABLE t (id int PRIMARY KEY, k int, q int, ts timestamp)",
		`CREATE MATERIALIZED VIEW sess AS SELECT k, window_start, fussy_sum(q) AS s
		 FROM session(t, ts, interval '10 second') GROUP BY k, window_start, window_end`,
		// Two sessions of k = 1, each with a failing row.
		"INSERT INTO t VALUES (1, 1, 1, '2026-01-01 00:00:00'), (2, 1, 13, '2026-01-01 00:00:05'), (3, 1, 2, '2026-01-01 00:00:30'), (4, 1, 13, '2026-01-01 00:00:35')",
		"FLUSH",
	)
	const rejects = "SELECT count(*) FROM rejects WHERE job = 'sess' AND error LIKE '%unlucky 13%'"
	checkRows(t, s, "SELECT k, s FROM sess ORDER BY window_start", "1 1|1 2")
	checkRows(t, s, rejects, "2")
	// Rows at 00:00:12, 00:00:20 and 00:00:26 bridge them: one session,
	// folded again.
	s.execAll(t, "INSERT INTO t VALUES (5, 1, 4, '2026-01-01 00:00:12'), (6, 1, 8, '2026-01-01 00:00:20'), (10, 1, 0, '2026-01-01 00:00:26')", "FLUSH")
	checkRows(t, s, "SELECT k, s FROM sess ORDER BY window_start", "1 15")
	checkRows(t, s, rejects, "2")
	s.restart(t)
	// After the restart: a delete splits the session again, and a new
	// failing row is a new reject, once.
	s.execAll(t, "DELETE FROM t WHERE id IN (5, 6, 10)", "FLUSH")
	checkRows(t, s, "SELECT k, s FROM sess ORDER BY window_start", "1 1|1 2")
	checkRows(t, s, rejects, "2")
	s.execAll(t, "INSERT INTO t VALUES (7, 1, 13, '2026-01-01 00:00:08')", "FLUSH",
		"INSERT INTO t VALUES (8, 1, 5, '2026-01-01 00:00:15'), (9, 1, 6, '2026-01-01 00:00:22')", "FLUSH")
	checkRows(t, s, "SELECT k, s FROM sess ORDER BY window_start", "1 14")
	checkRows(t, s, rejects, "3")
	// And once more after a second restart and a change to the session.
	s.restart(t)
	s.execAll(t, "INSERT INTO t VALUES (11, 1, 1, '2026-01-01 00:00:40')", "FLUSH")
	checkRows(t, s, "SELECT k, s FROM sess ORDER BY window_start", "1 15")
	checkRows(t, s, rejects, "3")
}
