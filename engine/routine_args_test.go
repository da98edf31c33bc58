package engine_test

import (
	"context"
	"testing"

	"streamsql/engine"
)

// Functions and procedures with parameter defaults and VARIADIC
// parameters survive a restart: the calls that leave parameters out, name
// them or spread a VARIADIC array give the same answers after it, a
// materialized view over such calls goes on following its table, and
// pg_proc shows the same defaults.
func TestRoutineArgsSurviveRestart(t *testing.T) {
	s := openStack(t, engine.Options{})
	s.execAll(t,
		"CREATE FUNCTION fee(amount int, bps int DEFAULT 25) RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT amount * bps / 10000 $$",
		"CREATE FUNCTION counted(VARIADIC xs int[]) RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT array_length(xs, 1) * 100 + xs[1] $$",
		"CREATE FUNCTION js_tag(s text, sep text DEFAULT ':', VARIADIC parts text[] DEFAULT ARRAY['z']) RETURNS text LANGUAGE javascript AS $$ return s + sep + parts.join(sep); $$",
		"CREATE TABLE orders (id int PRIMARY KEY, amount int, lo int, hi int)",
		"CREATE TABLE booked (id int, note text)",
		"CREATE PROCEDURE book(id int, note text DEFAULT 'booked') LANGUAGE sql AS $$ INSERT INTO booked VALUES (id, note) $$",
		"INSERT INTO orders VALUES (1, 100000, 3, 9), (2, 40000, 5, 6)",
		"CREATE MATERIALIZED VIEW fees AS SELECT id, fee(amount) AS f, fee(bps => 10, amount => amount) AS g, counted(lo, hi, 0) AS w FROM orders",
		"FLUSH",
	)
	const (
		calls = "SELECT fee(20000)::text || ',' || fee(20000, 50) || ',' || counted(4, 1, 9) || ',' || counted(VARIADIC ARRAY[2, 3]) || ',' || js_tag('a') || ',' || js_tag('a', '-', 'b', 'c') || ',' || js_tag(sep => '/', s => 'q')"
		view  = "SELECT string_agg(id || '=' || f || '/' || g || '/' || w, ' ' ORDER BY id) FROM fees"
		procs = "SELECT string_agg(pg_get_function_arguments(oid), '; ' ORDER BY proname) FROM pg_proc WHERE proname IN ('fee', 'counted', 'js_tag', 'book')"
	)
	want := map[string]string{
		calls: "50,100,304,202,a:z,a-b-c,q/z",
		procs: "IN id integer, IN note text DEFAULT 'booked'::text; VARIADIC xs integer[]; amount integer, bps integer DEFAULT 25; s text, sep text DEFAULT ':'::text, VARIADIC parts text[] DEFAULT ARRAY['z']",
	}
	check := func(viewWant string) {
		t.Helper()
		conn := s.connect(t)
		for q, w := range map[string]string{calls: want[calls], procs: want[procs], view: viewWant} {
			var got string
			if err := conn.QueryRow(context.Background(), q).Scan(&got); err != nil || got != w {
				t.Fatalf("%s:\n got %q, %v\nwant %q", q, got, err, w)
			}
		}
	}
	check("1=250/100/303 2=100/40/305")
	s.restart(t)
	check("1=250/100/303 2=100/40/305")
	s.execAll(t,
		"INSERT INTO orders VALUES (3, 8000, 1, 2)",
		"UPDATE orders SET amount = 200000 WHERE id = 1",
		"CALL book(7)",
		"CALL book(note => 'late', id => 8)",
		"FLUSH",
	)
	check("1=500/200/303 2=100/40/305 3=20/8/301")
	var got string
	if err := s.connect(t).QueryRow(context.Background(), "SELECT string_agg(id || note, ',' ORDER BY id) FROM booked").Scan(&got); err != nil || got != "7booked,8late" {
		t.Fatalf("CALL after the restart wrote %q, %v", got, err)
	}
}
