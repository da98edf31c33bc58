package compat

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/lib/pq"
)

func TestPgxCopyFrom(t *testing.T) {
	s := startServer(t)
	s.exec(t, `CREATE TABLE ticks (id bigint PRIMARY KEY, sym text NOT NULL DEFAULT 'X', px double precision, ok boolean, ts timestamptz, qty integer)`)
	c := s.connect(t)
	ctx := context.Background()
	ts := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	var rows [][]any
	for i := 0; i < 2500; i++ {
		var px any = float64(i) / 4
		if i%10 == 0 {
			px = nil
		}
		rows = append(rows, []any{int64(i), "S" + strings.Repeat("x", i%3), px, i%2 == 0, ts.Add(time.Duration(i) * time.Second), int32(i * 2)})
	}
	n, err := c.CopyFrom(ctx, pgx.Identifier{"ticks"}, []string{"id", "sym", "px", "ok", "ts", "qty"}, pgx.CopyFromRows(rows))
	if err != nil {
		t.Fatal(err)
	}
	if n != 2500 {
		t.Fatalf("CopyFrom copied %d rows, want 2500", n)
	}
	var count, nulls, sumQty int64
	var last time.Time
	if err := c.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE px IS NULL), sum(qty), max(ts) FROM ticks`).Scan(&count, &nulls, &sumQty, &last); err != nil {
		t.Fatal(err)
	}
	if count != 2500 || nulls != 250 || sumQty != 2499*2500 || !last.Equal(ts.Add(2499*time.Second)) {
		t.Errorf("after CopyFrom: count %d, NULL px %d, sum %d, max ts %v", count, nulls, sumQty, last)
	}

	// The default applies to a column the copy leaves out.
	if _, err := c.CopyFrom(ctx, pgx.Identifier{"ticks"}, []string{"id"}, pgx.CopyFromRows([][]any{{int64(9000)}})); err != nil {
		t.Fatal(err)
	}
	var sym string
	if err := c.QueryRow(ctx, `SELECT sym FROM ticks WHERE id = 9000`).Scan(&sym); err != nil || sym != "X" {
		t.Errorf("default after CopyFrom: %q, %v", sym, err)
	}

	// A duplicate key or a NULL into NOT NULL fails the whole copy.
	for _, bad := range []struct {
		rows [][]any
		code string
	}{
		{[][]any{{int64(10001), "A"}, {int64(1), "B"}}, "23505"},
		{[][]any{{int64(10002), "A"}, {int64(10003), nil}}, "23502"},
	} {
		_, err := c.CopyFrom(ctx, pgx.Identifier{"ticks"}, []string{"id", "sym"}, pgx.CopyFromRows(bad.rows))
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != bad.code {
			t.Errorf("bad CopyFrom: %v, want SQLSTATE %s", err, bad.code)
		}
	}
	if err := c.QueryRow(ctx, `SELECT count(*) FROM ticks`).Scan(&count); err != nil || count != 2501 {
		t.Errorf("rows after failed copies: %d, %v", count, err)
	}

	// COPY into a view is refused.
	s.exec(t, `CREATE VIEW tv AS SELECT id FROM ticks`)
	_, err = c.CopyFrom(ctx, pgx.Identifier{"tv"}, []string{"id"}, pgx.CopyFromRows([][]any{{int64(1)}}))
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "42809" {
		t.Errorf("CopyFrom into a view: %v", err)
	}
}

// TestPgxCatalog runs the kind of metadata queries drivers and tools send,
// over the extended protocol with binary results.
func TestPgxCatalog(t *testing.T) {
	s := startServer(t)
	s.exec(t, schema...)
	c := s.connect(t)
	ctx := context.Background()

	r, err := c.Query(ctx, `SELECT c.relname, c.relkind FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 ORDER BY 1`, "public")
	if err != nil {
		t.Fatal(err)
	}
	kinds := collect(t, r, func(scan func(...any)) string {
		var name, kind string
		scan(&name, &kind)
		return name + ":" + kind
	})
	want := []string{"big:v", "per_sym:m", "trades:r", "trades_pkey:i"}
	if !slices.Equal(kinds, want) {
		t.Errorf("pg_class: %v, want %v", kinds, want)
	}

	r, err = c.Query(ctx, `SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull
		FROM pg_catalog.pg_attribute a WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`, relOID(t, c, "limits"))
	if err != nil {
		t.Fatal(err)
	}
	cols := collect(t, r, func(scan func(...any)) string {
		var name, typ string
		var nn bool
		scan(&name, &typ, &nn)
		return name + " " + typ + " " + map[bool]string{true: "not null", false: "null"}[nn]
	})
	if want := []string{"sym text not null", "max_px numeric(12,2) null"}; !slices.Equal(cols, want) {
		t.Errorf("pg_attribute: %v, want %v", cols, want)
	}

	r, err = c.Query(ctx, `SELECT table_schema || '.' || table_name || ':' || table_type FROM information_schema.tables
		WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	tables := collect(t, r, func(scan func(...any)) string {
		var v string
		scan(&v)
		return v
	})
	if want := []string{"public.big:VIEW", "public.trades:BASE TABLE", "risk.limits:BASE TABLE"}; !slices.Equal(tables, want) {
		t.Errorf("information_schema.tables: %v, want %v", tables, want)
	}

	var pk string
	if err := c.QueryRow(ctx, `SELECT kcu.column_name FROM information_schema.table_constraints tc
		JOIN information_schema.key_column_usage kcu ON kcu.constraint_name = tc.constraint_name AND kcu.table_schema = tc.table_schema
		WHERE tc.table_name = 'trades' AND tc.constraint_type = 'PRIMARY KEY'`).Scan(&pk); err != nil || pk != "id" {
		t.Errorf("primary key of trades: %q, %v", pk, err)
	}
	var def string
	if err := c.QueryRow(ctx, `SELECT pg_catalog.pg_get_viewdef(c.oid, true) FROM pg_catalog.pg_class c WHERE c.relname = 'per_sym'`).Scan(&def); err != nil || !strings.Contains(def, "GROUP BY") {
		t.Errorf("pg_get_viewdef: %q, %v", def, err)
	}
	var typarray uint32
	if err := c.QueryRow(ctx, `SELECT typarray FROM pg_catalog.pg_type WHERE typname = 'int8'`).Scan(&typarray); err != nil || typarray != 1016 {
		t.Errorf("pg_type.typarray of int8: %d, %v", typarray, err)
	}
	var db, schemaName, user string
	if err := c.QueryRow(ctx, `SELECT current_database(), current_schema(), pg_catalog.pg_get_userbyid(d.datdba) FROM pg_catalog.pg_database d`).Scan(&db, &schemaName, &user); err != nil || db != "streamsql" || schemaName != "public" || user == "" {
		t.Errorf("database facts: %q %q %q, %v", db, schemaName, user, err)
	}
}

func relOID(t *testing.T, c *pgx.Conn, name string) uint32 {
	t.Helper()
	var oid uint32
	if err := c.QueryRow(context.Background(), `SELECT oid FROM pg_catalog.pg_class WHERE relname = $1`, name).Scan(&oid); err != nil {
		t.Fatalf("oid of %s: %v", name, err)
	}
	return oid
}

func TestLibPQ(t *testing.T) {
	s := startServer(t)
	s.exec(t, schema...)
	db, err := sql.Open("postgres", s.url())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	rows, err := db.Query(`SELECT column_name, data_type, is_nullable FROM information_schema.columns
		WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`, "public", "trades")
	if err != nil {
		t.Fatal(err)
	}
	got := collect(t, rows, func(scan func(...any)) string {
		var n, dt, null string
		scan(&n, &dt, &null)
		return n + " " + dt + " " + null
	})
	want := []string{"id bigint NO", "sym text NO", "px double precision YES", "ts timestamp with time zone YES"}
	if !slices.Equal(got, want) {
		t.Errorf("information_schema.columns: %v, want %v", got, want)
	}

	// lib/pq's CopyIn: COPY FROM STDIN (text) inside a transaction.
	txn, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	//lint:ignore SA1019 lib/pq users still call CopyIn; its COPY path is what is tested
	st, err := txn.Prepare(pq.CopyIn("trades", "id", "sym", "px"))
	if err != nil {
		t.Fatal(err)
	}
	for i, sym := range []string{"tab\there", `back\slash`, "new\nline"} {
		if _, err := st.Exec(int64(i+1), sym, float64(i)+0.5); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.Exec(); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if err := txn.Commit(); err != nil {
		t.Fatal(err)
	}
	var syms []string
	rows, err = db.Query(`SELECT sym FROM trades ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		syms = append(syms, v)
	}
	if want := []string{"tab\there", `back\slash`, "new\nline"}; !slices.Equal(syms, want) {
		t.Errorf("after CopyIn: %q, want %q", syms, want)
	}
}
