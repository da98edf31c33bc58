// Requests to the server's JSON APIs and changefeeds, signed in with a
// database role when the server asks for one (HTTP basic auth). The
// credentials live in sessionStorage: they end with the tab.

const KEY = 'streamsql.auth';
let waiting = null;

function authHeader() {
  const a = sessionStorage.getItem(KEY);
  return a ? { Authorization: 'Basic ' + a } : {};
}

export function signedInAs() {
  const a = sessionStorage.getItem(KEY);
  if (!a) return '';
  const s = new TextDecoder().decode(Uint8Array.from(atob(a), (c) => c.charCodeAt(0)));
  return s.slice(0, s.indexOf(':'));
}

export function signOut() {
  sessionStorage.removeItem(KEY);
  location.reload();
}

// signIn shows the sign-in form and resolves once a role signed in.
function signIn(message) {
  if (waiting) return waiting;
  const dlg = document.getElementById('signin');
  const form = document.getElementById('signin-form');
  const err = document.getElementById('signin-error');
  err.textContent = message || '';
  waiting = new Promise((resolve) => {
    form.onsubmit = async (ev) => {
      ev.preventDefault();
      const fd = new FormData(form);
      const bytes = new TextEncoder().encode(fd.get('user') + ':' + fd.get('password'));
      const token = btoa(String.fromCharCode(...bytes));
      const r = await fetch('/v1/console/whoami', {
        headers: { Authorization: 'Basic ' + token, 'X-Requested-With': 'streamsql-console' },
      });
      if (r.status === 401) {
        const body = await r.json().catch(() => ({}));
        err.textContent = body.error || 'sign-in failed';
        return;
      }
      sessionStorage.setItem(KEY, token);
      dlg.close();
      waiting = null;
      window.dispatchEvent(new Event('signedin'));
      resolve();
    };
  });
  if (!dlg.open) dlg.showModal();
  return waiting;
}

// request fetches path, signing in first when the server answers 401.
export async function request(path, opts = {}) {
  for (;;) {
    const r = await fetch(path, {
      ...opts,
      headers: { ...(opts.headers || {}), ...authHeader(), 'X-Requested-With': 'streamsql-console' },
    });
    if (r.status !== 401) return r;
    const hadAuth = !!sessionStorage.getItem(KEY);
    const body = await r.clone().json().catch(() => ({}));
    sessionStorage.removeItem(KEY);
    await signIn(hadAuth ? body.error || 'The role or password was not accepted.' : body.hint || '');
  }
}

// api fetches path and answers its JSON; an error answer (with its
// SQLSTATE) is thrown as an ApiError.
export async function api(path, opts) {
  const r = await request(path, opts);
  const body = await r.json();
  if (!r.ok) throw new ApiError(body, r.status);
  return body;
}

export class ApiError extends Error {
  constructor(body, status) {
    super(body.error || 'HTTP ' + status);
    this.sqlstate = body.sqlstate;
    this.position = body.position || 0;
    this.hint = body.hint;
    this.detail = body.detail;
    this.status = status;
  }
}

// changefeed reads the Server-Sent Events of path (EventSource cannot
// send the sign-in header, so the stream is read with fetch) and calls
// onEvent(type, data) for each, until signal aborts. It reconnects after
// a broken connection with the last event id, as EventSource would.
export async function changefeed(path, onEvent, signal) {
  let lastId = '';
  while (!signal.aborted) {
    try {
      const headers = { Accept: 'text/event-stream' };
      if (lastId) headers['Last-Event-ID'] = lastId;
      const r = await request(path, { headers, signal });
      if (!r.ok) {
        const body = await r.json().catch(() => ({ error: 'HTTP ' + r.status }));
        if (r.status === 410) lastId = '';
        onEvent('error', body);
        if (r.status === 400 || r.status === 404) return;
        await sleep(1000, signal);
        continue;
      }
      onEvent('open', {});
      const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          let type = 'message';
          let data = '';
          for (const line of block.split('\n')) {
            if (line.startsWith('event:')) type = line.slice(6).trim();
            else if (line.startsWith('data:')) data += line.slice(5).trim();
            else if (line.startsWith('id:')) lastId = line.slice(3).trim();
          }
          if (data) onEvent(type, JSON.parse(data));
        }
      }
    } catch (e) {
      if (signal.aborted) return;
      onEvent('error', { error: String(e.message || e) });
    }
    await sleep(1000, signal);
  }
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
  });
}

// el makes an element: el('td', {class: 'x'}, 'text', child...).
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'class') e.className = v;
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

export function fmtNumber(n) {
  if (n === null || n === undefined || Number.isNaN(n)) return '–';
  if (Math.abs(n) >= 1e9) return (n / 1e9).toFixed(1) + 'G';
  if (Math.abs(n) >= 1e6) return (n / 1e6).toFixed(1) + 'M';
  if (Math.abs(n) >= 1e4) return (n / 1e3).toFixed(1) + 'k';
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

export function fmtBytes(n) {
  if (!n) return '0 B';
  const u = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : n) + ' ' + u[i];
}

export function navigate(path) {
  history.pushState({}, '', path);
  window.dispatchEvent(new Event('navigate'));
}

export function link(path, ...children) {
  return el('a', { href: path, onclick: (ev) => { if (ev.button === 0 && !ev.metaKey && !ev.ctrlKey) { ev.preventDefault(); navigate(path); } } }, ...children);
}
