package compat

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestCatalogQuerySQL checks, over pgx, the SQL that psql's and the
// drivers' catalog queries rely on: ARRAY(subquery), op ANY/ALL over an
// array value, subscripts (1-based arrays, 0-based catalog vectors),
// array concatenation and the reg* casts. Expected values are
// PostgreSQL 15's.
func TestCatalogQuerySQL(t *testing.T) {
	s := startServer(t)
	s.exec(t, schema...)
	c := s.connect(t)
	ctx := context.Background()
	cases := []struct{ sql, want string }{
		{`SELECT (1 = ANY('{1,NULL}'::int[]))::text`, "true"},
		{`SELECT coalesce((2 = ANY('{1,NULL}'::int[]))::text, 'null')`, "null"},
		{`SELECT (2 = ALL('{}'::int[]))::text`, "true"},
		{`SELECT (2 > ALL('{1,0}'::int[]))::text`, "true"},
		{`SELECT ('x' = ANY('{x,y}'))::text`, "true"},
		{`SELECT ('{a,b,c}'::text[])[2]`, "b"},
		{`SELECT coalesce(('{a}'::text[])[5], 'null')`, "null"},
		{`SELECT array(SELECT x FROM unnest('{3,1,2}'::int[]) x ORDER BY x)::text`, "{1,2,3}"},
		{`SELECT ('{a}'::text[] || array(SELECT 'toast.' || 'x'))::text`, "{a,toast.x}"},
		{`SELECT array(SELECT relname FROM pg_class WHERE relnamespace = 'risk'::regnamespace ORDER BY 1)::text`, "{limits,limits_pkey}"},
		{`SELECT 2200::regnamespace::text`, "public"},
		// Catalog vectors count from 0; the key column of trades_pkey is 1.
		{`SELECT i.indkey[0]::text FROM pg_index i WHERE i.indrelid = 'trades'::regclass`, "1"},
		{`SELECT a.attname FROM pg_attribute a, pg_index i WHERE i.indrelid = 'trades'::regclass AND a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)`, "id"},
		// A correlated array subquery over a function of the outer row.
		{`SELECT string_agg(array_to_string(array(SELECT 'k.' || x FROM unnest(c.reloptions) x), ','), ';') FROM pg_class c WHERE c.relname = 'trades'`, ""},
		{`SELECT 'trades'::regclass::text`, "trades"},
		{`SELECT 'risk.limits'::regclass::text`, "risk.limits"},
		{`SELECT 'pg_catalog.pg_class'::regclass::oid::text`, "1259"},
		{`SELECT c.relname::text FROM pg_class c WHERE c.oid = 'public.per_sym'::regclass`, "per_sym"},
		{`SELECT 'int4'::regtype::text`, "integer"},
		{`SELECT 'upper'::regproc::text`, "upper"},
		{`SELECT coalesce(to_regclass('nosuch')::text, 'null')`, "null"},
	}
	for _, tc := range cases {
		var got string
		err := c.QueryRow(ctx, tc.sql).Scan(&got)
		if err != nil {
			t.Errorf("%s: %v", tc.sql, err)
			continue
		}
		if tc.want != "" && got != tc.want {
			t.Errorf("%s = %q, want %q", tc.sql, got, tc.want)
		}
	}

	for _, bad := range []struct{ sql, code string }{
		{`SELECT 'nosuch'::regclass`, "42P01"},
		{`SELECT 1 = ANY(2)`, "42809"},
		{`SELECT (1)[1]`, "42804"},
	} {
		_, err := c.Exec(ctx, bad.sql)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != bad.code {
			t.Errorf("%s: %v, want SQLSTATE %s", bad.sql, err, bad.code)
		}
	}
}
