// The console's end-to-end test in headless Chromium (Debian's chromium
// driven by playwright-core), run by console/browser_test.go, which
// starts the server and does what needs the wire protocol: when this
// script prints "@@step NAME" it runs that step (inserts over pgx) and
// answers "ok NAME" on stdin.
//
// Environment: CONSOLE_URL (the HTTP listener), CONSOLE_USER and
// CONSOLE_PASSWORD (a role to sign in as), SHOTS (where screenshots go).
import { chromium } from 'playwright-core';
import { createInterface } from 'node:readline';
import { join } from 'node:path';

const url = process.env.CONSOLE_URL;
const shots = process.env.SHOTS;
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const started = Date.now();

function log(...a) { console.log(`[${((Date.now() - started) / 1000).toFixed(1)}s]`, ...a); }

async function step(name) {
  console.log('@@step ' + name);
  const { value, done } = await lines.next();
  if (done || value.trim() !== 'ok ' + name) throw new Error(`step ${name}: the test answered ${done ? 'nothing' : value}`);
}

function check(cond, msg) { if (!cond) throw new Error(msg); }

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  timeout: 30000,
});
let page;
try {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  page = await ctx.newPage();
  page.setDefaultTimeout(15000);
  page.on('pageerror', (e) => log('page error:', e.message));
  page.on('console', (m) => { if (m.type() === 'error') log('console error:', m.text()); });
  log('browser up');

  // Sign-in: the server wants a role; a wrong password is refused.
  await page.goto(url + '/console/sql');
  await page.locator('#signin[open]').waitFor();
  await page.fill('#signin input[name=user]', process.env.CONSOLE_USER);
  await page.fill('#signin input[name=password]', 'wrong');
  await page.click('#signin button[type=submit]');
  await page.locator('#signin-error', { hasText: 'password authentication failed' }).waitFor();
  await page.screenshot({ path: join(shots, 'signin.png') });
  await page.fill('#signin input[name=password]', process.env.CONSOLE_PASSWORD);
  await page.click('#signin button[type=submit]');
  await page.locator('#whoami', { hasText: process.env.CONSOLE_USER }).waitFor();
  log('signed in');

  // The SQL editor: DDL, then an error with its position marked, then
  // EXPLAIN as a tree.
  async function run(sql, expectStatus) {
    await page.fill('#sql', sql);
    await page.click('#run');
    if (expectStatus) await page.locator('#status', { hasText: expectStatus }).waitFor();
  }
  await run(`CREATE TABLE trades (id bigint PRIMARY KEY, sym text NOT NULL, px float8, qty int, ts timestamptz,
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) APPEND ONLY`, 'CREATE TABLE');
  await run(`CREATE MATERIALIZED VIEW bars AS
SELECT sym, window_start,
       first_value(px ORDER BY ts) AS open, max(px) AS high, min(px) AS low, last_value(px ORDER BY ts) AS close,
       sum(qty) AS volume
FROM TUMBLE(trades, ts, INTERVAL '1' MINUTE)
GROUP BY sym, window_start`, 'CREATE MATERIALIZED VIEW');
  await run(`SELECT sym, count(*)\nFROM trades\nGROUP BY sym ORDER BY nope`);
  const mark = page.locator('#error-position mark.error-mark');
  await mark.waitFor();
  check((await page.locator('#sqlstate').innerText()).includes('42703'), 'SQLSTATE 42703 shown');
  const pos = Number(await page.locator('#error-position').getAttribute('data-position'));
  const marked = await mark.innerText();
  check(pos === 56 && marked === 'n', `error marked at ${pos} (${JSON.stringify(marked)}), want 56 ("n" of nope)`);
  await page.screenshot({ path: join(shots, 'sql-error.png') });
  await page.fill('#sql', 'SELECT sym, sum(qty) FROM trades WHERE px > 1 GROUP BY sym ORDER BY 2 DESC');
  await page.click('#explain');
  await page.locator('#plan .plan-node .op', { hasText: 'HashAgg' }).waitFor();
  await page.screenshot({ path: join(shots, 'sql-explain.png') });
  log('editor done');

  // The live view: rows arrive over the changefeed, inserted rows and
  // updated rows are marked, the candles and the line chart draw them.
  await page.goto(url + '/console/views/public.bars');
  await page.locator('#feed-status', { hasText: 'live' }).waitFor();
  await page.locator('#chart[data-mode=candles]').waitFor();
  await step('first-trades');
  await page.locator('#live-table tbody tr[data-key]').first().waitFor();
  await page.locator('#live-table tbody tr.row-inserted').first().waitFor({ state: 'attached' });
  await page.waitForFunction(() => Number(document.querySelector('#chart').dataset.points) >= 1);
  await step('more-trades');
  await page.locator('#live-table tbody tr.row-updated').first().waitFor({ state: 'attached' });
  await page.waitForFunction(() => document.querySelectorAll('#live-table tbody tr[data-key]').length === 3);
  await page.waitForFunction(() => Number(document.querySelector('#chart').dataset.points) >= 2);
  const acme = await page.locator('#live-table tbody tr[data-key]', { hasText: 'ACME' }).allInnerTexts();
  check(acme.some((t) => t.includes('10:00:00') && t.includes('400')), 'ACME 10:00 bar has volume 400: ' + JSON.stringify(acme));
  check((await page.locator('#epoch').innerText()) !== '–', 'an epoch is shown');
  check(/s$/.test(await page.locator('#freshness').innerText()), 'freshness is shown');
  check(await page.locator('#chart canvas').count() > 0, 'the candle chart has a canvas');
  await page.screenshot({ path: join(shots, 'live-candles.png') });
  await page.selectOption('#chart-mode', 'line');
  await page.locator('#chart[data-mode=line] .uplot canvas').waitFor();
  await page.waitForFunction(() => Number(document.querySelector('#chart').dataset.points) >= 2);
  await page.screenshot({ path: join(shots, 'live-line.png') });
  await page.selectOption('#chart-mode', 'bar');
  await page.locator('#chart[data-mode=bar] .uplot canvas').waitFor();
  log('live view done');

  // A table's live page: updated, deleted and inserted rows marked.
  await step('orders');
  await page.goto(url + '/console/views/public.orders');
  await page.locator('#feed-status', { hasText: 'live' }).waitFor();
  await page.waitForFunction(() => document.querySelectorAll('#live-table tbody tr[data-key]').length === 3);
  check(await page.locator('#chart').isHidden(), 'no chart without a time column');
  await step('orders-change');
  await page.locator('#live-table tbody tr.row-updated', { hasText: '777' }).waitFor({ state: 'attached' });
  await page.locator('#live-table tbody tr.row-deleted', { hasText: 'INIT' }).waitFor({ state: 'attached' });
  await page.locator('#live-table tbody tr.row-inserted', { hasText: 'NEWCO' }).waitFor({ state: 'attached' });
  await page.screenshot({ path: join(shots, 'live-table.png') });
  await page.waitForFunction(() => document.querySelectorAll('#live-table tbody tr').length === 3);
  log('table changes done');

  // The jobs: the graph of bars' job, its counters and sparklines; a
  // failed job's error.
  await page.goto(url + '/console/jobs');
  await page.locator('#jobs tr[data-job=bars] a').click();
  for (const op of ['StreamMaterialize', 'StreamHashAgg', 'StreamTableScan', 'StreamWatermarkFilter']) {
    await page.locator(`#graph g.node[data-name=${op}]`).waitFor();
  }
  // Every operator's own rows/s, from its counters between two polls.
  for (const op of ['StreamTableScan', 'StreamWatermarkFilter', 'StreamHashAgg', 'StreamMaterialize']) {
    await page.locator(`#graph g.node[data-name=${op}] .counters`, { hasText: /[\d.]+\S* rows\/s in/ }).first().waitFor();
  }
  await page.locator('#graph g.node[data-name=StreamHashAgg] .counters', { hasText: /rows\/s in · [\d.]+\S* out/ }).first().waitFor();
  await page.locator('#graph g.node[data-name=StreamHashAgg] .counters', { hasText: /kept \d+ entries/ }).first().waitFor();
  await page.locator('#graph g.node[data-name=StreamWatermarkFilter] .counters', { hasText: /watermark lag [\d.]+ (s|min|h|d)/ }).waitFor();
  await page.locator('#graph g.fragment').first().waitFor();
  await page.waitForFunction(() => Number(document.querySelector('#spark-barrier')?.dataset.points) >= 2);
  await page.waitForFunction(() => Number(document.querySelector('#spark-commit-time')?.dataset.points) >= 2);
  await page.screenshot({ path: join(shots, 'job.png'), fullPage: true });
  await step('failing-job');
  await page.goto(url + '/console/jobs/public.ratio');
  await page.locator('#job-error', { hasText: 'division by zero' }).waitFor();
  await page.locator('#job-status', { hasText: 'failed' }).waitFor();
  await page.screenshot({ path: join(shots, 'job-failed.png') });
  log('jobs done');

  // The catalog: search, then an object's columns, definition and
  // dependents.
  await page.goto(url + '/console/catalog');
  await page.fill('#catalog-search', 'trade');
  await page.locator('#catalog-list a[data-object=trades]').waitFor();
  await page.waitForFunction(() => !document.querySelector('#catalog-list a[data-object=bars]'));
  await page.click('#catalog-list a[data-object=trades]');
  await page.locator('#catalog-detail .refs', { hasText: 'bars' }).waitFor();
  await page.locator('#definition', { hasText: 'CREATE TABLE' }).waitFor();
  await page.screenshot({ path: join(shots, 'catalog.png') });
  log('catalog done');
  console.log('@@done');
} catch (e) {
  if (page) await page.screenshot({ path: join(shots, 'failure.png') }).catch(() => {});
  console.log('@@fail ' + (e.stack || e.message || e).toString().replace(/\n/g, '\n  '));
  process.exitCode = 1;
} finally {
  await browser.close();
  // stdin stays open (the steps' answers): end here.
  process.exit();
}
