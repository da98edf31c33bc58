// The console's single page: a router over /console/... paths. Each page
// module renders into <main> and returns a function that stops its
// timers and changefeeds when the page is left.
import { api, el, signedInAs, signOut, navigate } from './api.js';
import { catalogPage } from './catalog.js';
import { editorPage } from './editor.js';
import { livePage } from './live.js';
import { jobsPage, jobPage } from './jobs.js';

let stop = null;

function route() {
  if (stop) { stop(); stop = null; }
  const main = document.getElementById('main');
  main.replaceChildren();
  const p = decodeURIComponent(location.pathname.replace(/^\/console\/?/, ''));
  const parts = p.split('/').filter(Boolean);
  let page = parts[0] || 'catalog';
  for (const a of document.querySelectorAll('[data-nav]')) a.classList.toggle('active', a.dataset.nav === page || (page === 'views' && a.dataset.nav === 'catalog'));
  if (page === 'catalog') stop = catalogPage(main, parts[1] || '');
  else if (page === 'sql') stop = editorPage(main);
  else if (page === 'views' && parts[1]) stop = livePage(main, parts[1]);
  else if (page === 'jobs' && parts[1]) stop = jobPage(main, parts[1]);
  else if (page === 'jobs') stop = jobsPage(main);
  else { main.append(el('p', {}, 'No such page.')); }
}

async function showUser() {
  const who = document.getElementById('who');
  try {
    const w = await api('/v1/console/whoami');
    who.replaceChildren('signed in as ', el('b', { id: 'whoami' }, w.user));
    if (signedInAs()) who.append(' ', el('button', { class: 'link', onclick: signOut }, 'sign out'));
  } catch (e) {
    who.textContent = e.message;
  }
}

for (const a of document.querySelectorAll('[data-nav]')) {
  a.addEventListener('click', (ev) => { ev.preventDefault(); navigate(a.getAttribute('href')); });
}
window.addEventListener('popstate', route);
window.addEventListener('navigate', route);
window.addEventListener('signedin', showUser);
route();
showUser();
