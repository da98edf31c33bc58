// The jobs pages. The list shows every job with its rates; a job's page
// draws its operator graph (fragments boxed, exchanges between them,
// instances per fragment) with each operator's own counters (rows/s in
// and out, state, evictions, late rows, rejects, watermark lag) and what
// its state tables hold (committed, counted in storage), sparklines of
// the barrier latency, of the epoch commit time and of the pending
// epoch's wait, and the error of a job that failed. Both poll once a
// second; rates and sparklines come from the differences between polls.
import { api, el, link, fmtNumber, fmtBytes } from './api.js';

const POLL_MS = 1000;
const SPARK_POINTS = 60;
const SVG = 'http://www.w3.org/2000/svg';

function svg(tag, attrs = {}, ...children) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) e.setAttribute(k, v);
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

// rates keeps the previous poll's counters of each job.
function rateKeeper() {
  const prev = new Map();
  return (job, time) => {
    const p = prev.get(job.id);
    prev.set(job.id, { ...job, time });
    if (!p || time <= p.time) return { rows_in: 0, rows_out: 0, late_rows: 0, rejects: 0, state_evicted: 0 };
    const s = (time - p.time) / 1000;
    const r = (k) => Math.max(0, (job[k] - p[k]) / s);
    return { rows_in: r('rows_in'), rows_out: r('rows_out'), late_rows: r('late_rows'), rejects: r('rejects'), state_evicted: r('state_evicted') };
  };
}

export function jobsPage(main) {
  const rate = rateKeeper();
  const box = el('div', { id: 'jobs' });
  main.append(el('h2', {}, 'Jobs'), box);
  async function poll() {
    try {
      const r = await api('/v1/jobs');
      const t = r.coordinator.time;
      box.replaceChildren(el('table', { class: 'grid' },
        el('tr', {}, ['id', 'name', 'kind', 'status', 'rows in/s', 'rows out/s', 'state', 'late rows', 'rejects', 'epoch'].map((h) => el('th', {}, h))),
        r.jobs.map((j) => {
          const rt = rate(j, t);
          return el('tr', { class: j.status === 'failed' ? 'failed' : '', 'data-job': j.name },
            el('td', {}, j.id), el('td', {}, link('/console/jobs/' + j.id, j.name)), el('td', {}, j.kind || ''),
            el('td', { title: j.error || '' }, j.status), el('td', { class: 'num' }, fmtNumber(rt.rows_in)), el('td', { class: 'num' }, fmtNumber(rt.rows_out)),
            el('td', { class: 'num' }, fmtBytes(j.state_bytes)), el('td', { class: 'num' }, fmtNumber(j.late_rows)), el('td', { class: 'num' }, fmtNumber(j.rejects)),
            el('td', { class: 'num' }, j.committed_epoch));
        })));
      if (!r.jobs.length) box.append(el('p', { class: 'muted' }, 'No jobs: create a materialized view or a sink.'));
    } catch (e) {
      box.replaceChildren(el('p', { class: 'error' }, e.message));
    }
  }
  poll();
  const timer = setInterval(poll, POLL_MS);
  return () => clearInterval(timer);
}

export function jobPage(main, id) {
  const rate = rateKeeper();
  const head = el('div', { class: 'job-head' });
  const errorBox = el('div', { id: 'job-error' });
  const sparks = el('div', { class: 'sparks' });
  const graphBox = el('div', { class: 'graph-box', id: 'graph' });
  const totals = el('div', { class: 'stats', id: 'job-totals' });
  main.append(head, errorBox, totals, sparks, graphBox);
  const barrier = sparkline('barrier latency', 'ms', 'spark-barrier');
  const commitTime = sparkline('epoch commit time', 'ms', 'spark-commit-time');
  const commit = sparkline('pending epoch wait', 'ms', 'spark-commit');
  const commits = sparkline('epochs committed', '/s', 'spark-epochs');
  sparks.append(barrier.node, commitTime.node, commit.node, commits.node);
  const nodeRate = nodeRateKeeper();
  let prevCoord = null;
  let graph = null;
  let labels = new Map();

  async function poll() {
    let r;
    try {
      r = await api('/v1/jobs/' + encodeURIComponent(id) + '?state=true');
    } catch (e) {
      errorBox.replaceChildren(el('p', { class: 'error' }, e.message, e.sqlstate ? ' (SQLSTATE ' + e.sqlstate + ')' : ''));
      return;
    }
    const j = r.job;
    head.replaceChildren(el('h2', {}, j.name, ' ', el('span', { class: 'kind' }, j.kind || 'job'), ' ', el('span', { class: 'status ' + j.status, id: 'job-status' }, j.status)),
      j.kind === 'materialized view' ? el('p', {}, link('/console/views/' + encodeURIComponent((j.schema || 'public') + '.' + j.name), 'live view ›')) : '');
    errorBox.replaceChildren(...(j.error ? [el('pre', { class: 'error job-error' }, j.error)] : []));
    const c = r.coordinator;
    if (prevCoord && c.time > prevCoord.time) {
      const dn = c.barrier_latency_count - prevCoord.barrier_latency_count;
      const ds = c.barrier_latency_sum_seconds - prevCoord.barrier_latency_sum_seconds;
      barrier.push(dn > 0 ? (ds / dn) * 1000 : null);
      const cn = c.commit_time_count - prevCoord.commit_time_count;
      const cs = c.commit_time_sum_seconds - prevCoord.commit_time_sum_seconds;
      commitTime.push(cn > 0 ? (cs / cn) * 1000 : null);
      commits.push((c.epochs - prevCoord.epochs) / ((c.time - prevCoord.time) / 1000));
    }
    commit.push(c.pending_seconds * 1000);
    prevCoord = c;
    const rt = rate(j, c.time);
    totals.replaceChildren(
      stat('rows in', fmtNumber(rt.rows_in) + '/s'), stat('rows out', fmtNumber(rt.rows_out) + '/s'),
      stat('state', fmtBytes(j.state_bytes)), stat('evicted', fmtNumber(j.state_evicted)),
      stat('late rows', fmtNumber(j.late_rows)), stat('rejects', fmtNumber(j.rejects)),
      stat('source lag', fmtNumber(j.source_lag)), stat('epoch', j.committed_epoch));
    if (r.graph && !graph) {
      graph = r.graph;
      labels = drawGraph(graphBox, graph);
    } else if (r.graph_error && !graph) {
      graphBox.replaceChildren(el('p', { class: 'error' }, 'The graph cannot be drawn: ' + r.graph_error.error));
    }
    if (graph) {
      for (const n of graph.nodes) {
        const gn = r.graph?.nodes[n.id];
        const kept = gn?.kept;
        const lines = gn?.stats ? statsText(gn, nodeRate(n.id, gn.stats, c.time)) : [];
        // The live watermark the operator sent; else the one a watermark
        // filter stored with the last committed epoch.
        if (gn?.stats?.watermark_lag_ms !== undefined) lines.push('watermark lag ' + fmtDuration(gn.stats.watermark_lag_ms));
        else if (gn?.watermark_lag_ms !== undefined) lines.push('watermark lag ' + fmtDuration(gn.watermark_lag_ms));
        else if (gn?.watermark) lines.push('watermark ' + gn.watermark);
        if (kept) lines.push(`kept ${kept.complete ? '' : '≥ '}${fmtNumber(kept.entries)} entries · ${fmtBytes(kept.bytes)}`);
        const t = labels.get(n.id);
        if (t) {
          t.replaceChildren(...lines.map((s, i) => svg('tspan', { x: t.getAttribute('x'), dy: i ? '1.2em' : '0' }, s)));
        }
      }
    }
  }

  poll();
  const timer = setInterval(poll, POLL_MS);
  return () => clearInterval(timer);
}

function fmtDuration(ms) {
  const s = ms / 1000;
  if (s < 60) return s.toFixed(1) + ' s';
  if (s < 3600) return (s / 60).toFixed(1) + ' min';
  if (s < 86400) return (s / 3600).toFixed(1) + ' h';
  return (s / 86400).toFixed(1) + ' d';
}

function stat(label, value) {
  return el('span', {}, label + ' ', el('b', {}, value));
}

// nodeRateKeeper keeps the previous poll's counters of each operator and
// turns them into rows/s.
function nodeRateKeeper() {
  const prev = new Map();
  return (id, s, time) => {
    const p = prev.get(id);
    prev.set(id, { ...s, time });
    if (!p || time <= p.time) return { rows_in: 0, rows_out: 0 };
    const secs = (time - p.time) / 1000;
    return { rows_in: Math.max(0, (s.rows_in - p.rows_in) / secs), rows_out: Math.max(0, (s.rows_out - p.rows_out) / secs) };
  };
}

// statsText is an operator's counters as lines: rows/s in and out (a
// source: out only), state and evictions where it keeps state, late rows
// and rejects where there are any.
function statsText(n, rt) {
  const s = n.stats;
  const lines = [n.source ? fmtNumber(rt.rows_out) + ' rows/s in' : fmtNumber(rt.rows_in) + ' rows/s in · ' + fmtNumber(rt.rows_out) + ' out'];
  if (n.state?.length && !n.source) lines.push('state ' + fmtBytes(s.state_bytes) + (s.state_evicted ? ' · ' + fmtNumber(s.state_evicted) + ' evicted' : ''));
  const bad = [];
  if (s.late_rows) bad.push(fmtNumber(s.late_rows) + ' late');
  if (s.rejects) bad.push(fmtNumber(s.rejects) + ' rejects');
  if (bad.length) lines.push(bad.join(' · '));
  return lines;
}

// drawGraph lays the operators out top to bottom, sources first: a
// node's row is its distance from the farthest source, its column the
// mean of its inputs' columns. Each fragment gets a box with its instance
// count. It returns the text element of each node's counters.
function drawGraph(box, g) {
  const W = 240, H = 112, GX = 40, GY = 46;
  const byId = new Map(g.nodes.map((n) => [n.id, n]));
  const depth = new Map();
  const height = (id) => {
    if (depth.has(id)) return depth.get(id);
    const n = byId.get(id);
    const d = n.inputs.length ? 1 + Math.max(...n.inputs.map(height)) : 0;
    depth.set(id, d);
    return d;
  };
  g.nodes.forEach((n) => height(n.id));
  const col = new Map();
  let nextCol = 0;
  const place = (id) => {
    if (col.has(id)) return col.get(id);
    const n = byId.get(id);
    const c = n.inputs.length ? n.inputs.map(place).reduce((a, b) => a + b, 0) / n.inputs.length : nextCol++;
    col.set(id, c);
    return c;
  };
  place(0);
  const pos = new Map(g.nodes.map((n) => [n.id, { x: 20 + col.get(n.id) * (W + GX), y: 36 + depth.get(n.id) * (H + GY) }]));
  const maxX = Math.max(...[...pos.values()].map((p) => p.x)) + W + 20;
  const maxY = Math.max(...[...pos.values()].map((p) => p.y)) + H + 20;
  const root = svg('svg', { width: maxX, height: maxY, viewBox: `0 0 ${maxX} ${maxY}`, class: 'graph' });
  const defs = svg('defs', {}, svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' }, svg('path', { d: 'M 0 0 L 10 5 L 0 10 z', fill: '#64748b' })));
  root.append(defs);
  for (const f of g.fragments) {
    const ps = f.nodes.map((id) => pos.get(id));
    if (!ps.length) continue;
    const x0 = Math.min(...ps.map((p) => p.x)) - 10, y0 = Math.min(...ps.map((p) => p.y)) - 26;
    const x1 = Math.max(...ps.map((p) => p.x)) + W + 10, y1 = Math.max(...ps.map((p) => p.y)) + H + 10;
    root.append(svg('g', { class: 'fragment', 'data-fragment': f.id },
      svg('rect', { x: x0, y: y0, width: x1 - x0, height: y1 - y0, rx: 8 }),
      svg('text', { x: x0 + 8, y: y0 + 16, class: 'fragment-label' }, `fragment ${f.id} · ${f.instances} instance${f.instances === 1 ? '' : 's'}`)));
  }
  for (const n of g.nodes) {
    const p = pos.get(n.id);
    for (const i of n.inputs) {
      const q = pos.get(i);
      const x1 = q.x + W / 2, y1 = q.y + H, x2 = p.x + W / 2, y2 = p.y;
      const my = (y1 + y2) / 2;
      root.append(svg('path', { d: `M ${x1} ${y1} C ${x1} ${my}, ${x2} ${my}, ${x2} ${y2}`, class: 'edge', 'marker-end': 'url(#arrow)' }));
    }
  }
  const labels = new Map();
  for (const n of g.nodes) {
    const p = pos.get(n.id);
    const args = n.operator.slice(n.name.length).trim();
    const title = svg('title', {}, n.operator + (n.state?.length ? '\nstate: ' + n.state.join('\nstate: ') : '') + '\ncolumns: ' + n.columns.join(', '));
    const counters = svg('text', { x: p.x + 10, y: p.y + 46, class: 'counters' });
    labels.set(n.id, counters);
    root.append(svg('g', { class: 'node' + (n.exchange ? ' exchange' : '') + (n.source ? ' source' : '') + (n.state?.length ? ' stateful' : ''), 'data-name': n.name, 'data-id': n.id },
      title,
      svg('rect', { x: p.x, y: p.y, width: W, height: H, rx: n.exchange ? 30 : 6 }),
      svg('text', { x: p.x + 10, y: p.y + 18, class: 'op-name' }, n.name + (n.instances > 1 && !n.exchange ? ` ×${n.instances}` : '')),
      svg('text', { x: p.x + 10, y: p.y + 32, class: 'op-args' }, args.length > 30 ? args.slice(0, 29) + '…' : args),
      counters));
  }
  box.replaceChildren(root);
  return labels;
}

// sparkline is a small line of the last SPARK_POINTS values.
function sparkline(label, unit, id) {
  const w = 220, h = 40;
  const values = [];
  const path = svg('path', { class: 'spark-line' });
  const value = el('b', {}, '–');
  const node = el('div', { class: 'spark', id }, el('div', {}, label + ' ', value, ' ' + unit), svg('svg', { width: w, height: h, viewBox: `0 0 ${w} ${h}` }, path));
  return {
    node,
    push(v) {
      values.push(v);
      if (values.length > SPARK_POINTS) values.shift();
      const vs = values.filter((x) => x !== null);
      node.dataset.points = String(vs.length);
      if (v !== null) value.textContent = v >= 100 ? v.toFixed(0) : v.toFixed(1);
      const max = Math.max(1e-9, ...vs);
      let d = '';
      values.forEach((x, i) => {
        if (x === null) return;
        const px = (i / (SPARK_POINTS - 1)) * w, py = h - 2 - (x / max) * (h - 4);
        d += (d ? ' L ' : 'M ') + px.toFixed(1) + ' ' + py.toFixed(1);
      });
      path.setAttribute('d', d);
    },
  };
}
