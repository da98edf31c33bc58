package engine_test

import (
	"testing"

	"streamsql/engine"
)

// JavaScript functions over bytea (Uint8Array), time and interval
// (PostgreSQL's text), ad hoc and in a materialized view that follows
// updates and deletes.
func TestUDFJavaScriptByteaIntervalTime(t *testing.T) {
	s := openStack(t, engine.Options{})
	s.execAll(t,
		`CREATE FUNCTION xor_key(b bytea, k int) RETURNS bytea LANGUAGE javascript AS $$
		   if (b === null) return null;
		   const out = new Uint8Array(b.length);
		   for (let i = 0; i < b.length; i++) out[i] = b[i] ^ k;
		   return out;
		 $$`,
		`CREATE FUNCTION byte_sum(b bytea) RETURNS int LANGUAGE javascript AS $$
		   let n = 0; for (const x of b) n += x; return n;
		 $$`,
		`CREATE FUNCTION session_of(t time) RETURNS text LANGUAGE javascript AS $$
		   const h = Number(t.slice(0, 2));
		   return h < 12 ? 'morning ' + t : 'afternoon ' + t;
		 $$`,
		`CREATE FUNCTION later(t time, minutes int) RETURNS time LANGUAGE javascript AS $$
		   const [h, m, s] = t.split(':').map(Number);
		   const total = (h * 60 + m + minutes) % 1440;
		   return String(Math.floor(total / 60)).padStart(2, '0') + ':' + String(total % 60).padStart(2, '0') + ':' + String(s).padStart(2, '0');
		 $$`,
		`CREATE FUNCTION minutes_iv(m int) RETURNS interval LANGUAGE javascript AS $$ return m + ' minutes'; $$`,
		`CREATE FUNCTION iv_text(i interval) RETURNS text LANGUAGE javascript AS $$ return i; $$`,
	)
	checkRows(t, s, `SELECT xor_key('\x0102ff'::bytea, 255)::text, byte_sum('\x0102ff'::bytea), xor_key(NULL, 1) IS NULL`,
		`\xfefd00 258 true`)
	checkRows(t, s, "SELECT session_of(time '09:30:00'), later(time '23:50:10', 20)::text, minutes_iv(1500)::text, iv_text(interval '1 day 90 minutes')",
		"morning 09:30:00 00:10:10 25:00:00 1 day 01:30:00")
	s.execAll(t,
		"CREATE TABLE fills (id int PRIMARY KEY, payload bytea, at time, hold interval)",
		`INSERT INTO fills VALUES (1, '\x00ff', '08:00:00', '1 hour'), (2, '\x10', '13:15:00', '2 days'), (3, NULL, '12:00:00', '-5 minutes')`,
		`CREATE MATERIALIZED VIEW fills_js AS SELECT id, xor_key(payload, 15) AS x, session_of(at) AS s, later(at, 90) AS l, iv_text(hold) AS h FROM fills`,
		`UPDATE fills SET payload = '\xf0f0', hold = '3 months' WHERE id = 2`,
		"DELETE FROM fills WHERE id = 3",
		"FLUSH")
	checkRows(t, s, "SELECT id, x::text, s, l::text, h FROM fills_js ORDER BY id",
		`1 \x0ff0 morning 08:00:00 09:30:00 01:00:00|2 \xffff afternoon 13:15:00 14:45:00 3 mons`)
}
