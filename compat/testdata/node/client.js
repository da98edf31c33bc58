// node-postgres (npm pg) against StreamSQL: a parameterized query, a named
// prepared statement and the SQLSTATE of a refused statement. Run by
// compat/clients_test.go with COMPAT_URL naming a server with compat's schema.
'use strict';
const assert = require('assert');
const { Client } = require('pg');

async function main() {
  const c = new Client({ connectionString: process.env.COMPAT_URL });
  await c.connect();
  try {
    await c.query("INSERT INTO trades (id, sym, px, ts) VALUES ($1, $2, $3, $4), ($5, $6, $7, $8)",
      [1, 'AAA', 101.5, new Date('2024-01-02T03:04:05Z'), 2, 'BBB', null, null]);
    let r = await c.query('SELECT id, sym, px, ts FROM trades WHERE id >= $1 AND sym <> $2 ORDER BY id', [1, 'nope']);
    assert.strictEqual(r.rows.length, 2);
    assert.strictEqual(r.rows[0].id, '1'); // int8 arrives as a string
    assert.strictEqual(r.rows[0].sym, 'AAA');
    assert.strictEqual(r.rows[0].px, 101.5);
    assert.strictEqual(r.rows[0].ts.toISOString(), '2024-01-02T03:04:05.000Z');
    assert.strictEqual(r.rows[1].px, null);
    assert.deepStrictEqual(r.fields.map((f) => f.name), ['id', 'sym', 'px', 'ts']);
    console.log('parameterized ok');

    for (let i = 0; i < 3; i++) {
      r = await c.query({ name: 'by-sym', text: 'SELECT count(*)::int AS n FROM trades WHERE sym = $1', values: ['AAA'] });
      assert.strictEqual(r.rows[0].n, 1);
    }
    console.log('prepared ok');

    await assert.rejects(c.query('SELECT * FROM nosuch'), (e) => e.code === '42P01');
    await assert.rejects(c.query('INSERT INTO trades (id) VALUES ($1)', [1]), (e) => e.code === '23505');
    console.log('error ok');
  } finally {
    await c.end();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
