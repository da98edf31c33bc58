// The catalog page: every schema's objects, searchable by name; the
// chosen object's columns, definition, options and dependents. It
// refreshes every few seconds, so objects created elsewhere appear.
import { api, el, link } from './api.js';

const KINDS = { table: 'tables', source: 'sources', view: 'views', 'materialized view': 'materialized views', sink: 'sinks', subscription: 'subscriptions', function: 'functions', aggregate: 'aggregates' };

export function catalogPage(main, selected) {
  let q = new URLSearchParams(location.search).get('q') || '';
  let current = selected;
  const search = el('input', { type: 'search', placeholder: 'search by name', value: q, id: 'catalog-search', 'aria-label': 'search the catalog' });
  const list = el('div', { class: 'catalog-list', id: 'catalog-list' });
  const detail = el('div', { class: 'catalog-detail', id: 'catalog-detail' });
  main.append(el('div', { class: 'split' }, el('aside', {}, search, list), detail));
  let data = null;
  let timer = null;

  async function load() {
    try {
      data = await api('/v1/catalog?q=' + encodeURIComponent(q));
      renderList();
      renderDetail();
    } catch (e) {
      list.replaceChildren(el('p', { class: 'error' }, e.message));
    }
  }

  function renderList() {
    const out = [];
    for (const sc of data.schemas) {
      const groups = {};
      for (const o of sc.objects) (groups[o.kind] ||= []).push(o);
      const sec = el('section', {}, el('h3', {}, sc.name));
      for (const [kind, objs] of Object.entries(groups)) {
        sec.append(el('h4', {}, KINDS[kind] || kind), el('ul', {}, objs.map((o) => {
          const id = o.schema + '.' + (o.signature || o.name);
          const a = el('a', { href: '#', class: id === current ? 'selected' : '', 'data-object': o.name, onclick: (ev) => { ev.preventDefault(); current = id; history.replaceState({}, '', '/console/catalog/' + encodeURIComponent(id) + (q ? '?q=' + encodeURIComponent(q) : '')); renderList(); renderDetail(); } }, o.signature || o.name);
          return el('li', {}, a);
        })));
      }
      if (sc.objects.length || !q) out.push(sec);
    }
    if (!out.length) out.push(el('p', { class: 'muted' }, 'Nothing matches ', el('code', {}, q), '.'));
    list.replaceChildren(...out);
  }

  function find() {
    for (const sc of data.schemas) for (const o of sc.objects) if (o.schema + '.' + (o.signature || o.name) === current) return o;
    return null;
  }

  function renderDetail() {
    const o = current && find();
    if (!o) { detail.replaceChildren(el('p', { class: 'muted' }, 'Choose an object.')); return; }
    const parts = [el('h2', {}, o.schema + '.' + (o.signature || o.name), ' ', el('span', { class: 'kind' }, o.kind))];
    if (o.kind === 'materialized view' || o.kind === 'table') parts.push(el('p', {}, link('/console/views/' + encodeURIComponent(o.schema + '.' + o.name), 'Open the live view ›')));
    if (o.kind === 'materialized view' || o.kind === 'sink') parts.push(el('p', {}, link('/console/jobs/' + o.oid, 'Its job ›')));
    if (o.comment) parts.push(el('p', {}, o.comment));
    if (o.columns?.length) {
      parts.push(el('h3', {}, 'Columns'), el('table', { class: 'grid' }, el('tr', {}, el('th', {}, 'name'), el('th', {}, 'type'), el('th', {}, '')),
        o.columns.map((c) => el('tr', {}, el('td', {}, c.name), el('td', {}, c.type), el('td', {}, [c.key ? 'key' : '', c.not_null ? 'not null' : ''].filter(Boolean).join(', '))))));
    }
    if (o.returns) parts.push(el('p', {}, 'returns ', el('code', {}, o.returns), o.language ? ' · language ' + o.language : ''));
    if (o.definition) parts.push(el('h3', {}, 'Definition'), el('pre', { class: 'sql', id: 'definition' }, o.definition));
    if (o.options && Object.keys(o.options).length) {
      parts.push(el('h3', {}, 'Options'), el('table', { class: 'grid', id: 'options' }, Object.keys(o.options).sort().map((k) => el('tr', {}, el('td', {}, k), el('td', {}, o.options[k])))));
    }
    if (o.depends_on?.length) parts.push(el('h3', {}, 'Reads'), refList(o.depends_on));
    parts.push(el('h3', {}, 'Dependents'), o.dependents.length ? refList(o.dependents) : el('p', { class: 'muted' }, 'none'));
    detail.replaceChildren(...parts);
  }

  function refList(refs) {
    return el('ul', { class: 'refs' }, refs.map((r) => el('li', {}, link('/console/catalog/' + encodeURIComponent(r.schema + '.' + r.name), r.schema + '.' + r.name), ' ', el('span', { class: 'kind' }, r.kind))));
  }

  let debounce = null;
  search.addEventListener('input', () => {
    clearTimeout(debounce);
    debounce = setTimeout(() => { q = search.value.trim(); load(); }, 150);
  });
  load();
  timer = setInterval(load, 5000);
  return () => { clearInterval(timer); clearTimeout(debounce); };
}
