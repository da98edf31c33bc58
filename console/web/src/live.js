// The live view page: a view's rows as a table that changes in place as
// its changefeed (GET /v1/subscribe/{view}) delivers committed epochs,
// with inserted, updated and deleted rows marked for a moment; a chart of
// chosen measures over a time column (line, bar, or OHLC candles when
// the view has open/high/low/close columns); changes per second and the
// view's freshness.
//
// Changes are applied one epoch at a time, when the epoch's progress
// event says it is complete: a row deleted and inserted again with the
// same key in one epoch is an update. The key is the view's key (its
// GROUP BY columns, a table's primary key); without one, a row is its
// own key and an update shows as a deletion and an insertion.
import uPlot from 'uplot';
import { createChart, CandlestickSeries } from 'lightweight-charts';
import { api, changefeed, el, link, fmtNumber } from './api.js';

const MARK_MS = 1500;
const MAX_ROWS = 1000;
const MAX_POINTS = 600;

const isNumeric = (t) => /^(smallint|integer|bigint|real|double precision|numeric)/.test(t);
const isTime = (t) => /^(timestamp|date)/.test(t);
const isText = (t) => /^(text|character|varchar|name)/.test(t);

// timeOf reads a timestamp as PostgreSQL prints it into milliseconds
// (a timestamp without time zone is taken as UTC).
export function timeOf(v) {
  if (v === null || v === undefined) return NaN;
  let s = String(v).replace(' ', 'T');
  if (/[+-]\d\d$/.test(s)) s += ':00';
  else if (!/(Z|[+-]\d\d:\d\d)$/.test(s) && s.includes('T')) s += 'Z';
  return Date.parse(s);
}

export function livePage(main, view) {
  const ctrl = new AbortController();
  const head = el('div', { class: 'live-head' });
  const stats = el('div', { class: 'stats' });
  const chartBox = el('div', { class: 'chart-box' });
  const tableBox = el('div', { class: 'table-box' });
  main.append(head, stats, chartBox, tableBox);

  const rows = new Map(); // key -> {row, tr}
  let columns = [];
  let keyCols = [];
  let pending = [];
  let initial = true;
  let epoch = null;
  let lastProgress = 0;
  let changesThisSecond = 0;
  let rate = 0;
  let status = 'connecting';
  const timers = [];

  const statEls = {
    rate: el('b', { id: 'rate' }, '0'),
    fresh: el('b', { id: 'freshness' }, '–'),
    epoch: el('b', { id: 'epoch' }, '–'),
    count: el('b', { id: 'row-count' }, '0'),
    status: el('span', { id: 'feed-status', class: 'muted' }, status),
  };
  stats.append(el('span', {}, statEls.rate, ' changes/s'), el('span', {}, 'freshness ', statEls.fresh),
    el('span', {}, 'epoch ', statEls.epoch), el('span', {}, statEls.count, ' rows'), statEls.status);

  const table = el('table', { class: 'grid rows live', id: 'live-table' });
  const thead = el('thead');
  const tbody = el('tbody');
  table.append(thead, tbody);
  tableBox.append(table);

  const chart = makeChart(chartBox, () => rows);

  function keyOf(row) {
    const cols = keyCols.length ? keyCols : columns.map((c) => c.name);
    return JSON.stringify(cols.map((c) => row[c]));
  }

  function cell(v) {
    return v === null || v === undefined ? 'NULL' : String(v);
  }

  function renderRow(tr, row) {
    tr.replaceChildren(...columns.map((c) => el('td', { class: row[c.name] === null ? 'null' : isNumeric(c.type) ? 'num' : '' }, cell(row[c.name]))));
  }

  function mark(tr, cls) {
    tr.classList.remove('row-inserted', 'row-updated', 'row-deleted');
    void tr.offsetWidth;
    tr.classList.add(cls);
    const t = setTimeout(() => tr.classList.remove(cls), MARK_MS);
    timers.push(t);
  }

  function applyEpoch(changes) {
    if (!changes.length) { initial = false; return; }
    const touched = new Map(); // key -> {before, after}
    for (const c of changes) {
      const k = keyOf(c.row);
      if (!touched.has(k)) touched.set(k, { before: rows.get(k)?.row ?? null, after: rows.get(k)?.row ?? null });
      const t = touched.get(k);
      if (c.op === 'insert') t.after = c.row;
      else if (t.after && JSON.stringify(t.after) === JSON.stringify(c.row)) t.after = null;
      else if (keyCols.length) t.after = null;
    }
    for (const [k, t] of touched) {
      const ent = rows.get(k);
      if (t.after && !t.before) {
        const tr = el('tr', { 'data-key': k });
        renderRow(tr, t.after);
        rows.set(k, { row: t.after, tr });
        if (!initial) mark(tr, 'row-inserted');
      } else if (t.after && t.before) {
        if (JSON.stringify(t.after) === JSON.stringify(t.before)) continue;
        ent.row = t.after;
        renderRow(ent.tr, t.after);
        if (!initial) mark(ent.tr, 'row-updated');
      } else if (!t.after && t.before) {
        rows.delete(k);
        const tr = ent.tr;
        if (initial) { tr.remove(); continue; }
        tr.classList.add('row-deleted');
        tr.removeAttribute('data-key');
        timers.push(setTimeout(() => tr.remove(), MARK_MS));
      }
    }
    placeRows();
    statEls.count.textContent = String(rows.size);
    chart.changed();
    initial = false;
  }

  // placeRows orders the table: newest time first when the view has a
  // time column, then by key.
  function placeRows() {
    const tcol = columns.find((c) => c.name === 'window_start') || columns.find((c) => isTime(c.type));
    const list = [...rows.entries()];
    list.sort((a, b) => {
      if (tcol) {
        const d = timeOf(b[1].row[tcol.name]) - timeOf(a[1].row[tcol.name]);
        if (d) return d;
      }
      return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
    });
    let prev = null;
    for (const [i, [, ent]] of list.entries()) {
      if (i >= MAX_ROWS) { ent.tr.remove(); continue; }
      const want = prev ? prev.nextSibling : tbody.firstChild;
      if (want !== ent.tr) tbody.insertBefore(ent.tr, want);
      prev = ent.tr;
    }
  }

  function onEvent(type, data) {
    if (type === 'open') { status = 'live'; }
    else if (type === 'reset') {
      for (const { tr } of rows.values()) tr.remove();
      rows.clear();
      pending = [];
      initial = true;
    } else if (type === 'change') {
      pending.push(data);
      changesThisSecond++;
    } else if (type === 'progress') {
      epoch = data.epoch;
      lastProgress = Date.now();
      const batch = pending;
      pending = [];
      applyEpoch(batch);
      statEls.epoch.textContent = String(epoch);
      status = 'live';
    } else if (type === 'error') {
      status = 'error: ' + (data.error || '') + (data.sqlstate ? ' (SQLSTATE ' + data.sqlstate + ')' : '');
    }
    statEls.status.textContent = status;
  }

  async function start() {
    let obj = null;
    try {
      const [schema, name] = view.includes('.') ? view.split('.', 2) : ['', view];
      const cat = await api('/v1/catalog?q=' + encodeURIComponent(name));
      for (const sc of cat.schemas) for (const o of sc.objects) {
        if (o.name === name && (!schema || o.schema === schema) && o.columns && !obj) obj = o;
      }
    } catch (e) {
      head.append(el('p', { class: 'error' }, e.message));
      return;
    }
    if (!obj) {
      head.append(el('p', { class: 'error', id: 'live-error' }, `relation "${view}" does not exist`));
      return;
    }
    columns = obj.columns;
    keyCols = columns.filter((c) => c.key).map((c) => c.name);
    head.append(el('h2', {}, obj.schema + '.' + obj.name, ' ', el('span', { class: 'kind' }, obj.kind)),
      el('p', {}, link('/console/catalog/' + encodeURIComponent(obj.schema + '.' + obj.name), 'definition'), obj.kind !== 'table' ? ' · ' : '', obj.kind !== 'table' ? link('/console/jobs/' + obj.oid, 'job') : ''));
    thead.append(el('tr', {}, columns.map((c) => el('th', { title: c.type + (c.key ? ' (key)' : '') }, c.name))));
    chart.setColumns(columns);
    changefeed('/v1/subscribe/' + encodeURIComponent(obj.schema + '.' + obj.name), onEvent, ctrl.signal);
  }

  const tick = setInterval(() => {
    rate = changesThisSecond;
    changesThisSecond = 0;
    statEls.rate.textContent = fmtNumber(rate);
  }, 1000);
  const freshTick = setInterval(() => {
    statEls.fresh.textContent = lastProgress ? ((Date.now() - lastProgress) / 1000).toFixed(1) + ' s' : '–';
  }, 200);
  start();
  return () => {
    ctrl.abort();
    clearInterval(tick);
    clearInterval(freshTick);
    timers.forEach(clearTimeout);
    chart.destroy();
  };
}

// makeChart draws the rows over a time column: the controls choose the
// time column, the measures, a group to show (or all, summed) and the
// kind of chart.
function makeChart(box, getRows) {
  let columns = [];
  let cfg = null;
  let plot = null;
  let candles = null;
  let scheduled = false;
  let lastDraw = 0;
  const controls = el('div', { class: 'chart-controls' });
  const area = el('div', { id: 'chart', class: 'chart', 'data-points': '0' });
  box.append(controls, area);

  function setColumns(cols) {
    columns = cols;
    const times = cols.filter((c) => isTime(c.type));
    if (!times.length) { box.hidden = true; return; }
    const names = cols.map((c) => c.name.toLowerCase());
    const ohlc = ['open', 'high', 'low', 'close'].every((n) => names.includes(n));
    const measures = cols.filter((c) => isNumeric(c.type));
    const groups = cols.filter((c) => isText(c.type));
    cfg = {
      time: (times.find((c) => c.name === 'window_start') || times[0]).name,
      mode: ohlc ? 'candles' : 'line',
      measures: new Set(measures.filter((c) => !['open', 'high', 'low', 'close'].includes(c.name.toLowerCase()) || !ohlc).slice(0, 3).map((c) => c.name)),
      group: groups[0]?.name || '',
      groupValue: '',
      ohlc,
    };
    if (!cfg.measures.size && measures.length) cfg.measures.add(measures[0].name);
    const timeSel = el('select', { id: 'chart-time', onchange: () => { cfg.time = timeSel.value; rebuild(); } }, times.map((c) => el('option', { value: c.name, selected: c.name === cfg.time }, c.name)));
    const modeSel = el('select', { id: 'chart-mode', onchange: () => { cfg.mode = modeSel.value; rebuild(); } },
      ['line', 'bar', ...(ohlc ? ['candles'] : [])].map((m) => el('option', { value: m, selected: m === cfg.mode }, m)));
    const measureBoxes = measures.map((c) => el('label', {}, el('input', { type: 'checkbox', value: c.name, checked: cfg.measures.has(c.name), onchange: (ev) => { ev.target.checked ? cfg.measures.add(c.name) : cfg.measures.delete(c.name); rebuild(); } }), c.name));
    const groupSel = el('select', { id: 'chart-group', onchange: () => { cfg.groupValue = groupSel.value; rebuild(); } });
    controls.replaceChildren(el('label', {}, 'over ', timeSel), el('label', {}, 'as ', modeSel), el('span', { class: 'measures' }, measureBoxes),
      groups.length ? el('label', {}, cfg.group + ' ', groupSel) : '');
    controls.groupSel = groupSel;
    rebuild();
  }

  function refreshGroups() {
    const sel = controls.groupSel;
    if (!sel || !cfg.group) return;
    const values = [...new Set([...getRows().values()].map((e) => e.row[cfg.group]).filter((v) => v !== null))].sort();
    if (cfg.mode === 'candles' && !cfg.groupValue && values.length) cfg.groupValue = String(values[0]);
    const want = (cfg.mode === 'candles' ? [] : ['']).concat(values.map(String));
    const have = [...sel.options].map((o) => o.value);
    if (want.join('\u0000') !== have.join('\u0000')) {
      sel.replaceChildren(...want.map((v) => el('option', { value: v, selected: v === cfg.groupValue }, v === '' ? 'all (summed)' : v)));
    }
  }

  // series returns the chart's data: times (seconds) ascending and, per
  // measure, the value at each time (summed over the rows of that time).
  function series() {
    const byTime = new Map();
    for (const { row } of getRows().values()) {
      if (cfg.group && cfg.groupValue !== '' && String(row[cfg.group]) !== cfg.groupValue) continue;
      const t = timeOf(row[cfg.time]);
      if (Number.isNaN(t)) continue;
      let acc = byTime.get(t);
      if (!acc) { acc = {}; byTime.set(t, acc); }
      for (const c of columns) {
        if (!isNumeric(c.type) || row[c.name] === null) continue;
        const v = Number(row[c.name]);
        if (cfg.mode === 'candles') acc[c.name.toLowerCase()] = v;
        else acc[c.name] = (acc[c.name] || 0) + v;
      }
    }
    const times = [...byTime.keys()].sort((a, b) => a - b).slice(-MAX_POINTS);
    return { times, byTime };
  }

  function rebuild() {
    if (plot) { plot.destroy(); plot = null; }
    if (candles) { candles.chart.remove(); candles = null; }
    area.replaceChildren();
    area.dataset.mode = cfg.mode;
    draw();
  }

  function draw() {
    if (!cfg) return;
    lastDraw = Date.now();
    refreshGroups();
    const { times, byTime } = series();
    area.dataset.points = String(times.length);
    const width = Math.max(300, area.clientWidth || box.clientWidth || 800);
    if (cfg.mode === 'candles') {
      if (!candles) {
        const chart = createChart(area, { width, height: 280, timeScale: { timeVisible: true, secondsVisible: true }, layout: { attributionLogo: false } });
        candles = { chart, series: chart.addSeries(CandlestickSeries) };
      }
      candles.series.setData(times.map((t) => ({ time: t / 1000, ...pick(byTime.get(t), ['open', 'high', 'low', 'close']) })).filter((p) => p.open !== undefined && p.close !== undefined));
      return;
    }
    const ms = [...cfg.measures];
    const data = [times.map((t) => t / 1000), ...ms.map((m) => times.map((t) => byTime.get(t)[m] ?? null))];
    if (!plot) {
      const palette = ['#2563eb', '#db2777', '#059669', '#d97706', '#7c3aed', '#0891b2'];
      plot = new uPlot({
        width, height: 280,
        scales: { x: { time: true } },
        series: [{}, ...ms.map((m, i) => ({
          label: m, stroke: palette[i % palette.length], width: 2,
          fill: cfg.mode === 'bar' ? palette[i % palette.length] + '99' : undefined,
          paths: cfg.mode === 'bar' ? uPlot.paths.bars({ size: [0.6, 64] }) : undefined,
          points: { show: cfg.mode !== 'bar' },
        }))],
      }, data, area);
    } else {
      plot.setData(data);
    }
  }

  function changed() {
    if (!cfg || scheduled) return;
    scheduled = true;
    setTimeout(() => { scheduled = false; draw(); }, Math.max(0, 250 - (Date.now() - lastDraw)));
  }

  return {
    setColumns,
    changed,
    destroy() { if (plot) plot.destroy(); if (candles) candles.chart.remove(); },
  };
}

function pick(o, names) {
  const out = {};
  for (const n of names) if (o[n] !== undefined) out[n] = o[n];
  return out;
}
