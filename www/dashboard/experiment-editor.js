// The experiment editor page: `/new-experiment` and `/experiments/<key>/edit`. A form per
// experiment (experiment-form.js), its lifecycle (start, stop, pick a winner, archive), the
// server's validation messages next to the fields they concern, and the history with revert.
//
// Every write is made against the file version this page loaded (its ETag). When the file changed
// meanwhile (by hand, or in another tab) the server refuses with 412 and this page says so rather
// than overwrite; an untouched form follows the file's edits on its own (checked every few seconds).

import { h, experimentHref } from './dom.js';
import { api, SignInNeeded } from './config-api.js';
import { experimentFields, blankExperiment } from './experiment-form.js';
import { renderHistory } from './history-view.js';
import { statusBadge } from './list-view.js';

const WATCH_MS = 3000;
/** The storefront's origin, as last used for "Edit on page" (the shop may be another origin). */
const STOREFRONT_KEY = 'splitbeam_storefront';

/** The page "Edit on page" proposes: the experiment's first page pattern up to any wildcard, on the storefront. */
function storefrontPage(experiment) {
  const pages = [].concat(experiment.pages === undefined ? '/' : experiment.pages);
  const first = pages.find((p) => typeof p === 'string' && !p.startsWith('!')) || '/';
  const path = first.split('*')[0] || '/';
  let origin = location.origin;
  try {
    origin = localStorage.getItem(STOREFRONT_KEY) || origin;
  } catch {
    // storage blocked: this collector's origin (the demo shop is served here)
  }
  try {
    return new URL(path.startsWith('/') ? path : `/${path}`, origin).href;
  } catch {
    return `${location.origin}/`;
  }
}

function editHref(key) {
  return `${experimentHref(key)}/edit`;
}

const clone = (value) => JSON.parse(JSON.stringify(value));

function signIn() {
  location.assign(`/signin?next=${encodeURIComponent(location.pathname)}`);
}

export function startEditor(route) {
  const app = document.getElementById('app');
  // `writes` counts writes begun: a watch answer read before a write finished is older than it.
  const state = { etag: null, experiment: null, model: null, dirty: false, staleShown: false, writes: 0, busy: false };
  const banner = h('div', { attrs: { id: 'editor-banner', role: 'status', 'aria-live': 'polite' } });
  const general = h('div', { attrs: { id: 'problems' } });
  const historyBox = h('div', { attrs: { id: 'history-box' } });

  function setLive(text, ok = true) {
    const status = document.getElementById('live-status');
    if (!status) return;
    status.className = `live-status live-status--${ok ? 'ok' : 'error'}`;
    status.textContent = text;
  }

  function say(kind, text, ...extra) {
    banner.replaceChildren(h('div', { class: `banner banner--${kind}` }, h('span', { text }), ...extra));
  }

  function failed(error) {
    if (error instanceof SignInNeeded) signIn();
    else say('alarm', `Could not reach the collector: ${error.message}`);
  }

  function clearProblems() {
    general.replaceChildren();
    for (const node of app.querySelectorAll('.field-problem')) node.remove();
    for (const node of app.querySelectorAll('.field--invalid')) node.classList.remove('field--invalid');
  }

  /** Each message next to the field it concerns (or its nearest shown parent); the rest on top. */
  function showProblems(problems) {
    clearProblems();
    const unplaced = [];
    for (const problem of Array.isArray(problems) ? problems : []) {
      let target = null;
      let path = typeof problem.field === 'string' ? problem.field : null;
      while (path && !target) {
        target = app.querySelector(`[data-field="${CSS.escape(path)}"]`);
        const cut = Math.max(path.lastIndexOf('.'), path.lastIndexOf('['));
        path = cut > 0 ? path.slice(0, cut) : '';
      }
      if (!target) {
        unplaced.push(problem);
        continue;
      }
      const note = h('p', { class: 'field-problem', attrs: { role: 'alert', 'data-problem-for': problem.field }, text: problem.message });
      target.classList.add('field--invalid');
      if (['INPUT', 'SELECT', 'TEXTAREA'].includes(target.tagName)) target.after(note);
      else target.appendChild(note);
    }
    if (unplaced.length) {
      general.replaceChildren(h('div', { class: 'banner banner--alarm', attrs: { role: 'alert' } },
        h('strong', { text: 'Not saved: ' }),
        h('ul', null, unplaced.map((p) => h('li', null, p.path ? h('code', { text: p.path }) : null, p.path ? ': ' : '', p.message)))));
    }
  }

  /** What a write answered: new version, refused version, problems, or an error. */
  async function handle(answer, what) {
    if (answer.status === 200 || answer.status === 201) {
      state.etag = answer.body.etag;
      state.staleShown = false;
      if (route.isNew || answer.body.experiment === null) {
        location.assign(answer.body.experiment ? editHref(answer.body.experiment.key) : '/');
        return;
      }
      adopt(answer.body.experiment);
      say('ok', `${what}: saved, live for the next page view.`);
      await loadHistory();
    } else if (answer.status === 412 || answer.status === 428) {
      if (route.isNew) {
        // A new experiment does not depend on the others: take the new version, let them save again.
        state.etag = answer.body.etag;
        say('alarm', 'experiments.json changed meanwhile (by hand or in another tab); nothing was saved. Save again to add this experiment to the current version.');
        return;
      }
      showStale();
    } else if (answer.status === 422) {
      showProblems(answer.body.problems);
      say('alarm', `${what}: not saved, the experiment does not validate.`);
    } else {
      say('alarm', `${what}: ${answer.body && answer.body.error ? answer.body.error : `the collector answered ${answer.status}`}`);
    }
  }

  function showStale() {
    state.staleShown = true;
    const reload = h('button', { attrs: { type: 'button', id: 'load-current' }, text: 'Load the current version (drops your unsaved edits)' });
    reload.addEventListener('click', () => load());
    say('alarm', 'experiments.json changed since this page loaded it (edited by hand or in another tab). Nothing was saved, and nothing will be over it. ', reload);
  }

  async function act(what, run) {
    const buttons = [...app.querySelectorAll('button')];
    for (const b of buttons) b.disabled = true;
    state.writes += 1;
    state.busy = true;
    try {
      await handle(await run(), what);
    } catch (error) {
      failed(error);
    } finally {
      state.busy = false;
      for (const b of buttons) if (b.isConnected) b.disabled = false;
    }
  }

  function lifecycle(experiment) {
    const key = experiment.key;
    const status = experiment.status;
    const variants = Array.isArray(experiment.variants) ? experiment.variants.filter((v) => v && typeof v.key === 'string') : [];
    const buttons = [];
    const add = (id, text, what, run) => {
      const b = h('button', { attrs: { type: 'button', id }, text });
      b.addEventListener('click', () => act(what, run));
      buttons.push(b);
    };
    if (status !== 'running') add('start', status === 'stopped' ? 'Restart' : 'Start', 'Start', () => api.start(state.etag, key));
    if (status === 'running') add('stop', 'Stop (everyone gets control)', 'Stop', () => api.stop(state.etag, key));
    const pick = h('select', { attrs: { id: 'winner-variant', 'aria-label': 'Winning variant' } },
      variants.map((v) => h('option', { attrs: { value: v.key }, text: v.key })));
    if (typeof experiment.winner === 'string') pick.value = experiment.winner;
    const pickButton = h('button', { attrs: { type: 'button', id: 'pick-winner' }, text: 'Pick winner (stops the test; everyone gets it)' });
    pickButton.addEventListener('click', () => act('Pick winner', () => api.winner(state.etag, key, pick.value)));
    if (status !== 'running' && experiment.archived !== true) add('archive', 'Archive', 'Archive', () => api.archive(state.etag, key));
    return h('section', { class: 'lifecycle', attrs: { 'data-field': 'status' } },
      editOnPage(experiment),
      h('p', { class: 'meta' }, statusBadge(status),
        experiment.archived === true ? h('span', { class: 'badge badge--draft', text: 'archived' }) : null,
        typeof experiment.winner === 'string' ? h('span', { class: 'muted', text: ` winner: ${experiment.winner}` }) : null),
      h('div', { class: 'row' }, buttons, h('span', { class: 'winner', attrs: { 'data-field': 'winner' } }, pick, pickButton)),
      h('div', { attrs: { 'data-field': 'archived' } }));
  }

  /** "Edit on page": a one-time editor link for the storefront page, opened in a new tab. */
  function editOnPage(experiment) {
    const page = h('input', { attrs: { type: 'url', id: 'edit-page-url', 'aria-label': 'Storefront page to edit', spellcheck: 'false' } });
    page.value = storefrontPage(experiment);
    const open = h('button', { attrs: { type: 'button', id: 'edit-on-page' }, text: 'Edit on page' });
    open.addEventListener('click', async () => {
      open.disabled = true;
      try {
        const answer = await api.editorLink(experiment.key, page.value.trim());
        if (answer.status !== 200) {
          say('alarm', `Edit on page: ${answer.body && answer.body.error ? answer.body.error : `the collector answered ${answer.status}`}`);
          return;
        }
        try {
          localStorage.setItem(STOREFRONT_KEY, new URL(page.value.trim()).origin);
        } catch {
          // not remembered: the field starts from this collector's origin next time
        }
        const tab = window.open(answer.body.url, '_blank');
        if (!tab) {
          const link = h('a', { attrs: { href: answer.body.url, target: '_blank', rel: 'noopener', id: 'editor-link' }, text: 'open the page with the editor' });
          say('ok', 'The browser blocked the new tab: ', link);
        } else say('ok', 'The page opened in a new tab with the editor (the link works once, for 5 minutes).');
      } catch (error) {
        failed(error);
      } finally {
        open.disabled = false;
      }
    });
    return h('div', { class: 'row edit-on-page' },
      h('label', { class: 'field__label' }, h('span', { text: 'Storefront page ' }), page), open);
  }

  function render() {
    const experiment = state.experiment;
    const title = route.isNew ? 'New experiment' : (experiment.name || experiment.key);
    document.title = `${title} · splitbeam`;
    const form = h('form', { class: 'experiment-form', attrs: { novalidate: '' } },
      experimentFields(state.model, { isNew: route.isNew, onChange: () => { state.dirty = true; } }),
      h('div', { class: 'row form-actions' },
        h('button', { attrs: { type: 'submit', id: 'save' }, text: route.isNew ? 'Create draft' : 'Save changes' })));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const model = clone(state.model);
      if (route.isNew) act('Create', () => api.create(state.etag, model));
      else act('Save', () => api.save(state.etag, route.key, model));
    });
    app.replaceChildren(h('article', { class: 'editor' },
      h('p', { class: 'breadcrumb' }, h('a', { href: '/', text: '← All experiments' }),
        route.isNew ? null : h('span', null, ' · ', h('a', { href: experimentHref(route.key), text: 'Results' }))),
      h('h1', { text: title }),
      route.isNew ? h('p', { class: 'muted', text: 'A new experiment starts as a draft: nobody sees it until you start it (a draft can be previewed with a preview link).' }) : lifecycle(experiment),
      banner,
      general,
      form,
      route.isNew ? null : historyBox));
  }

  function adopt(experiment) {
    state.experiment = experiment;
    state.model = clone(experiment);
    state.dirty = false;
    clearProblems();
    render();
  }

  async function loadHistory() {
    if (route.isNew) return;
    const answer = await api.history(route.key);
    if (answer.status !== 200) return;
    historyBox.replaceChildren(renderHistory(answer.body, (change) => {
      act(`Revert of change ${change.id}`, () => api.revert(state.etag, change.id));
    }));
  }

  async function load() {
    try {
      if (route.isNew) {
        const answer = await api.definitions();
        if (answer.status !== 200) throw new Error(answer.body.error || `answered ${answer.status}`);
        state.etag = answer.body.etag;
        if (!state.model) adopt(blankExperiment());
        setLive('live');
        return;
      }
      const answer = await api.definition(route.key);
      if (answer.status === 404) {
        app.replaceChildren(h('section', { class: 'empty' }, h('h1', { text: 'Experiment not found' }),
          h('p', { text: `No experiment with key "${route.key}" in experiments.json.` })));
        return;
      }
      if (answer.status !== 200) throw new Error(answer.body.error || `answered ${answer.status}`);
      state.etag = answer.body.etag;
      state.staleShown = false;
      adopt(answer.body.experiment);
      banner.replaceChildren();
      if (answer.body.problems.length) {
        showProblems(answer.body.problems);
        say('alarm', 'experiments.json has problems in this experiment (shown at the fields); this version does not go live until they are fixed.');
      }
      await loadHistory();
      setLive('live');
    } catch (error) {
      failed(error);
    }
  }

  /** Follows edits of the file made elsewhere: an untouched form takes them, an edited one is warned. */
  async function watch() {
    try {
      const writes = state.writes;
      const answer = route.isNew ? await api.definitions() : await api.definition(route.key);
      const current = !state.busy && writes === state.writes;
      if (current && answer.status === 200 && answer.body.etag !== state.etag) {
        if (route.isNew) state.etag = answer.body.etag;
        else if (!state.dirty && !state.staleShown) {
          state.etag = answer.body.etag;
          adopt(answer.body.experiment);
          say('ok', 'Updated: experiments.json was changed outside this page.');
          await loadHistory();
        } else if (!state.staleShown) showStale();
      }
      setLive('live');
    } catch (error) {
      if (error instanceof SignInNeeded) return signIn();
      setLive(`cannot reach the collector, retrying (${error.message})`, false);
    }
    setTimeout(watch, WATCH_MS);
  }

  load().then(() => setTimeout(watch, WATCH_MS));
}
