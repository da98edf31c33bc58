// The SQL editor: run one statement and page through its rows, or see
// its error with the position marked; EXPLAIN shows the plan as a tree.
import { api, el } from './api.js';

const PAGE = 100;
const KEY = 'streamsql.editor';

export function editorPage(main) {
  const text = el('textarea', { id: 'sql', spellcheck: 'false', rows: 8, 'aria-label': 'SQL statement' });
  text.value = localStorage.getItem(KEY) || 'SHOW JOBS';
  const runBtn = el('button', { id: 'run', onclick: () => run(0) }, 'Run');
  const explainBtn = el('button', { id: 'explain', onclick: explain }, 'Explain');
  const out = el('div', { id: 'result' });
  main.append(el('div', { class: 'editor' }, text, el('div', { class: 'toolbar' }, runBtn, explainBtn, el('span', { class: 'muted' }, 'Ctrl+Enter runs'))), out);
  text.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); run(0); }
  });
  let ran = '';

  async function run(offset) {
    const sql = offset ? ran : text.value;
    localStorage.setItem(KEY, text.value);
    ran = sql;
    out.replaceChildren(el('p', { class: 'muted' }, 'running…'));
    try {
      const r = await api('/v1/statement', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ sql, offset, limit: PAGE }) });
      showRows(r);
    } catch (e) {
      showError(sql, e);
    }
  }

  function showRows(r) {
    const parts = [];
    const first = r.offset + 1;
    const last = r.offset + r.rows.length;
    const status = [r.tag || (r.rows.length ? `rows ${first}–${last}` : ''), r.ms.toFixed(1) + ' ms'].filter(Boolean).join(' · ');
    const nav = el('div', { class: 'pager' });
    if (r.columns?.length) {
      if (r.offset > 0) nav.append(el('button', { id: 'prev', onclick: () => run(Math.max(0, r.offset - PAGE)) }, '‹ previous'));
      nav.append(el('span', { id: 'page-info' }, r.rows.length ? `rows ${first}–${last}${r.more ? ' of more' : ''}` : 'no rows'));
      if (r.more && r.pageable) nav.append(el('button', { id: 'next', onclick: () => run(r.offset + PAGE) }, 'next ›'));
      if (r.more && !r.pageable) nav.append(el('span', { class: 'muted' }, ' (the rest not shown: the statement changes data, so it is not run again)'));
      parts.push(el('table', { class: 'grid rows', id: 'rows' },
        el('thead', {}, el('tr', {}, r.columns.map((c) => el('th', { title: c.type }, c.name)))),
        el('tbody', {}, r.rows.map((row) => el('tr', {}, row.map((v) => el('td', { class: v === null ? 'null' : typeof v === 'number' ? 'num' : '' }, v === null ? 'NULL' : String(v))))))));
      parts.push(nav);
    }
    parts.unshift(el('p', { class: 'status', id: 'status' }, status));
    out.replaceChildren(...parts);
  }

  function showError(sql, e) {
    const parts = [el('p', { class: 'error', id: 'error' }, 'ERROR: ', e.message, e.sqlstate ? el('span', { class: 'sqlstate', id: 'sqlstate' }, ' SQLSTATE ' + e.sqlstate) : '')];
    if (e.position > 0) {
      // Position is 1-based, in characters.
      const chars = Array.from(sql);
      const at = Math.min(e.position - 1, chars.length);
      const lineStart = chars.lastIndexOf('\n', at - 1) + 1;
      const lineNo = chars.slice(0, at).filter((c) => c === '\n').length + 1;
      const before = chars.slice(0, at).join('');
      const mark = chars[at] === undefined || chars[at] === '\n' ? ' ' : chars[at];
      const after = chars.slice(at + 1).join('');
      parts.push(el('pre', { class: 'sql error-at', id: 'error-position', 'data-position': e.position },
        before, el('mark', { class: 'error-mark' }, mark), after));
      parts.push(el('p', { class: 'muted' }, `at line ${lineNo}, character ${at - lineStart + 1}`));
      // Put the cursor where the error is.
      if (sql === text.value) {
        const idx = before.length;
        text.focus();
        text.setSelectionRange(idx, idx + mark.length);
      }
    }
    if (e.detail) parts.push(el('p', {}, 'DETAIL: ' + e.detail));
    if (e.hint) parts.push(el('p', {}, 'HINT: ' + e.hint));
    out.replaceChildren(...parts);
  }

  async function explain() {
    const sql = text.value;
    localStorage.setItem(KEY, sql);
    out.replaceChildren(el('p', { class: 'muted' }, 'planning…'));
    try {
      const r = await api('/v1/explain?sql=' + encodeURIComponent(sql));
      out.replaceChildren(el('div', { class: 'plan', id: 'plan' }, el('ul', { class: 'tree' }, planItem(r.plan))),
        el('details', {}, el('summary', {}, 'as text'), el('pre', {}, r.text.join('\n'))));
    } catch (e) {
      showError(sql, e);
    }
  }

  return () => {};
}

function planItem(n) {
  const [name, ...rest] = (n.operator || 'plan').split(' ');
  const li = el('li', { class: 'plan-node' }, el('span', { class: 'op' }, name), ' ', el('span', { class: 'args' }, rest.join(' ')));
  if (n.details?.length) li.append(el('ul', { class: 'details' }, n.details.map((d) => el('li', {}, d))));
  if (n.children?.length) {
    const ul = el('ul', {}, n.children.map(planItem));
    li.prepend(el('button', { class: 'toggle', onclick: () => { ul.hidden = !ul.hidden; } }, '▾'));
    li.append(ul);
  }
  return li;
}
