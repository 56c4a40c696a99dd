// The Loopai dashboard: a single page with hash routes (#/, #/new and #/apps/{id}) over the HTTP API.
import { getKey, setKey } from './api.js';
import { renderAppPage } from './app-page.js';
import { releaseDetachedCharts } from './charts.js';
import { h, fill } from './dom.js';
import { toast } from './ui.js';
import { renderNewApp } from './new-app.js';
import { renderOverview } from './overview.js';

const main = document.getElementById('main');

function route() {
  const hash = location.hash.replace(/^#/, '') || '/';
  const appMatch = /^\/apps\/([^/]+)\/?$/.exec(hash);
  if (appMatch) return { name: 'app', id: decodeURIComponent(appMatch[1]) };
  if (hash === '/') return { name: 'overview' };
  if (hash === '/new' || hash === '/new/') return { name: 'new' };
  return { name: 'unknown', hash };
}

async function render() {
  const r = route();
  // each view renders into its own element, so a slow answer for a page left behind lands nowhere visible
  const view = h('div', { class: 'view' });
  fill(main, view);
  releaseDetachedCharts();
  document
    .getElementById('nav-overview')
    .setAttribute('aria-current', r.name === 'overview' ? 'page' : 'false');
  if (r.name === 'app') {
    document.title = `${r.id} · Loopai`;
    await renderAppPage(view, r.id);
  } else if (r.name === 'new') {
    document.title = 'New Loop App · Loopai';
    await renderNewApp(view);
  } else if (r.name === 'overview') {
    document.title = 'Loop Apps · Loopai';
    await renderOverview(view);
  } else {
    document.title = 'Not found · Loopai';
    fill(
      view,
      h('h1', {}, 'No such page'),
      h(
        'p',
        {},
        'There is no dashboard page at ',
        h('code', {}, r.hash),
        '. ',
        h('a', { href: '#/' }, 'All Loop Apps'),
      ),
    );
  }
}

function setUpKeyForm() {
  const form = document.getElementById('key-form');
  const input = document.getElementById('api-key');
  input.value = getKey();
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    setKey(input.value.trim());
    toast(input.value.trim() ? 'Admin key saved in this browser' : 'Admin key cleared');
    render();
  });
  document.getElementById('key-clear').addEventListener('click', () => {
    input.value = '';
    setKey('');
    toast('Admin key cleared');
    render();
  });
}

setUpKeyForm();
window.addEventListener('hashchange', () => {
  render();
  main.focus({ preventScroll: true });
  window.scrollTo(0, 0);
});
render();
