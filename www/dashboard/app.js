// The dashboard's entry point: picks the view from the URL and keeps it live by polling the API.
// `/` is the experiment list, `/experiments/<key>` one experiment; both re-render only when the data changes.

import { h } from './dom.js';
import { time } from './format.js';
import { renderList } from './list-view.js';
import { renderExperiment } from './experiment-view.js';
import { editorRoute, startEditor } from './experiment-editor.js';

const POLL_MS = 2000;

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
  if (editor) return startEditor(editor);
  const route = routeFor(location.pathname);
  if (!route) {
    showMessage('Page not found', 'This dashboard has the experiment list at / and one page per experiment.');
    return;
  }
  let lastBody = null;
  let lastData = null;

  async function poll() {
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
      // Re-rendering only on change keeps scroll position and text selection stable between polls.
      if (body !== lastBody) {
        const data = JSON.parse(body);
        document.getElementById('app').replaceChildren(route.render(data));
        lastBody = body;
        lastData = data;
      }
      setStatus('ok', `live · updated ${time((lastData && lastData.updated_at) ?? Date.now())}`);
    } catch (error) {
      // Keep showing the last good data; say that it is stale.
      setStatus('error', `cannot reach the collector, retrying (${error.message})`);
      if (lastBody === null) showMessage('Waiting for the collector…', String(error.message));
    } finally {
      setTimeout(poll, POLL_MS);
    }
  }
  poll();
}

start();
