// The dashboard's entry point: picks the view from the URL and keeps it live (pushed notices from
// the collector, polling when they cannot be had: live.js). `/` is the experiment list,
// `/experiments/<key>` one experiment with its results over time; both re-render only when the data changes.

import { h } from './dom.js';
import { time } from './format.js';
import { renderList } from './list-view.js';
import { renderExperiment } from './experiment-view.js';
import { follow, POLL_MS } from './live.js';
import { overTimeSection } from './over-time-view.js';

/** The editor's view for a path, or null when the path is another view's. */
export function editorRoute(pathname) {
  if (pathname === '/new-experiment' || pathname === '/new-experiment/') return { isNew: true, key: null };
  const match = /^\/experiments\/([^/]+)\/edit\/?$/.exec(pathname);
  if (!match) return null;
  try {
    return { isNew: false, key: decodeURIComponent(match[1]) };
  } catch {
    return null; // a malformed %-escape is not an experiment
  }
}

/** The view for a path, or null for an unknown one. */
export function routeFor(pathname) {
  if (pathname === '/' || pathname === '/index.html') {
    return { url: '/api/experiments', render: renderList, name: 'list' };
  }
  const match = /^\/experiments\/([^/]+)\/?$/.exec(pathname);
  if (!match) return null;
  let key;
  try {
    key = decodeURIComponent(match[1]);
  } catch (e) {
    return null; // a malformed %-escape is not an experiment
  }
  return { url: `/api/experiments/${encodeURIComponent(key)}/results`, render: renderExperiment, name: 'experiment', key };
}

function setStatus(state, text) {
  const status = document.getElementById('live-status');
  status.className = `live-status live-status--${state}`;
  status.textContent = text;
}

function showMessage(title, detail) {
  document.getElementById('app').replaceChildren(
    h('section', { class: 'empty' }, h('h1', { text: title }), h('p', { text: detail })));
}

/** The dashboard needs an admin session: without one (or once it expired), sign in and come back here. */
function signIn() {
  location.assign(`/signin?next=${encodeURIComponent(location.pathname)}`);
}

/** Writes carry the session's CSRF token; the server hands it to this origin's script only. */
async function csrfToken() {
  const response = await fetch('/api/session', { cache: 'no-store', headers: { accept: 'application/json' } });
  if (response.status === 401) return null;
  if (!response.ok) throw new Error(`/api/session answered ${response.status}`);
  return (await response.json()).csrf;
}

async function signOut() {
  try {
    const csrf = await csrfToken();
    if (csrf) {
      const response = await fetch('/signout', { method: 'POST', headers: { 'X-CSRF-Token': csrf } });
      if (!response.ok && response.status !== 401) throw new Error(`/signout answered ${response.status}`);
    }
    location.assign('/signin');
  } catch (error) {
    setStatus('error', `could not sign out (${error.message})`);
  }
}

function start() {
  document.getElementById('sign-out')?.addEventListener('click', signOut);
  const editor = editorRoute(location.pathname);
  // The editor's modules (12 KB gzip) load only on its own pages, not with every results page.
  if (editor) {
    import('./experiment-editor.js')
      .then(({ startEditor }) => startEditor(editor))
      .catch((error) => showMessage('The editor could not be loaded', String(error.message)));
    return;
  }
  const route = routeFor(location.pathname);
  if (!route) {
    showMessage('Page not found', 'This dashboard has the experiment list at / and one page per experiment.');
    return;
  }
  let lastBody = null;
  let lastData = null;
  let mode = 'connecting';
  // One experiment's charts over time: a node of its own, kept across re-renders of the results.
  const overTime = route.name === 'experiment' ? overTimeSection(route.key) : null;
  // At most one fetch at a time; notices arriving meanwhile ask for one more after it.
  let running = null;
  let again = false;

  function statusText() {
    const when = time((lastData && lastData.updated_at) ?? Date.now());
    return mode === 'polling' ? `updated ${when} · polling every ${POLL_MS / 1000} s` : `live · updated ${when}`;
  }

  async function load() {
    try {
      const response = await fetch(route.url, { cache: 'no-store', headers: { accept: 'application/json' } });
      if (response.status === 401) {
        signIn();
        return;
      }
      if (response.status === 404 && route.name === 'experiment') {
        showMessage('Experiment not found', `No experiment with key "${route.key}" in the collector's configuration.`);
        setStatus('ok', 'live');
        lastBody = null;
        lastData = null;
        return;
      }
      if (!response.ok) throw new Error(`${route.url} answered ${response.status}`);
      const body = await response.text();
      // Re-rendering only on change keeps scroll position and text selection stable between updates.
      if (body !== lastBody) {
        const data = JSON.parse(body);
        document.getElementById('app').replaceChildren(route.render(data), ...(overTime ? [overTime.node] : []));
        lastBody = body;
        lastData = data;
      }
      overTime?.refresh();
      setStatus('ok', statusText());
    } catch (error) {
      // Keep showing the last good data; say that it is stale.
      setStatus('error', `cannot reach the collector, retrying (${error.message})`);
      if (lastBody === null) showMessage('Waiting for the collector…', String(error.message));
    }
  }

  function refresh() {
    if (running) {
      again = true;
      return;
    }
    running = load().finally(() => {
      running = null;
      if (again) {
        again = false;
        refresh();
      }
    });
  }

  follow({
    refresh,
    // The list shows every experiment; one experiment's page only its own.
    wants: (notice) => route.name === 'list' || notice.any === true
      || (Array.isArray(notice.experiments) && notice.experiments.includes(route.key)),
    onMode: (next) => {
      mode = next;
      if (lastData) setStatus('ok', statusText());
    },
  });
  refresh();
}

start();
