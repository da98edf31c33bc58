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
	s = s.restart(t)
	defer s.close()
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
	s = s.restart(t)
	defer s.close()
	s.execAll(t, "UPDATE t SET q = 4 WHERE id = 6", "INSERT INTO t VALUES (8, 2, 5)", "FLUSH")
	checkRows(t, s, "SELECT k, l FROM by_k ORDER BY k", "1 4,2,1|2 5,7")
	checkRows(t, s, rejects, "3")
	s.execAll(t, "INSERT INTO t VALUES (9, 1, 13)", "FLUSH", "INSERT INTO t VALUES (10, 1, 9)", "FLUSH")
	checkRows(t, s, "SELECT k, l FROM by_k ORDER BY k", "1 9,4,2,1|2 5,7")
	checkRows(t, s, rejects, "4")
}
