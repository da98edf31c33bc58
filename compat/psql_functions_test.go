package compat

import (
	"strings"
	"testing"
)

// psql's \df lists user functions with their arguments and result, \df+
// with language and volatility, and \sf prints a definition that creates
// the function again.
func TestPsqlUserFunctions(t *testing.T) {
	s := startServer(t)
	s.exec(t,
		`CREATE FUNCTION count_char(s varchar, c varchar) RETURNS integer LANGUAGE sql IMMUTABLE
		 AS $$ SELECT length(s) - length(replace(s, c, '')) $$`,
		`CREATE FUNCTION add1(int) RETURNS int LANGUAGE sql STRICT RETURN $1 + 1`,
		`CREATE SCHEMA risk`,
		`CREATE FUNCTION risk.hidden(x int) RETURNS int LANGUAGE sql RETURN x`)

	out := describe(t, s, `\df`)
	contains(t, out, "List of functions", "count_char", "s character varying, c character varying", "add1", "integer", "func")
	if strings.Contains(out, "hidden") || strings.Contains(out, "lower") {
		t.Errorf(`\df lists functions off the search path or built-ins:`+"\n%s", out)
	}
	contains(t, describe(t, s, `\df risk.*`), "risk", "hidden", "x integer")
	contains(t, describe(t, s, `\df+ count_char`), "count_char", "sql", "immutable", "invoker")
	s.exec(t, `CREATE FUNCTION owner_add(x int) RETURNS int LANGUAGE sql SECURITY DEFINER RETURN x + 1`)
	contains(t, describe(t, s, `\df+ owner_add`), "owner_add", "definer")
	contains(t, describe(t, s, `\sf owner_add`), "SECURITY DEFINER")

	out = describe(t, s, `\sf count_char`)
	contains(t, out, "CREATE OR REPLACE FUNCTION public.count_char(s character varying, c character varying)",
		"RETURNS integer", "LANGUAGE sql", "IMMUTABLE", "AS $function$ SELECT length(s) - length(replace(s, c, '')) $function$")
	// The printed definition creates the function again.
	s.exec(t, "DROP FUNCTION count_char", strings.TrimSpace(out))
	contains(t, describe(t, s, `\df count_char`), "count_char")
}
