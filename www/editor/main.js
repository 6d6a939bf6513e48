// splitbeam's in-page visual editor (dist/splitbeam-editor.js). The loader fetches it only on a
// page opened from the dashboard's "Edit on page" (`?splitbeam-editor=<one-time code>`) or in
// the tab that opened one (sessionStorage); no other visitor ever loads a byte of it.
//
// It trades the code for an editor token, loads the experiment, and lets the copywriter pick
// elements, type new copy in place and change attributes, classes, style, visibility and place,
// per variant, switching between before and after. Saving writes the variant's changes through
// the collector's write API (If-Match on the file's version, validation messages shown) and
// offers a QA preview link; then the experiment can be started from here.

import { proposeSelector, checkSelector } from './selector.js';
import { show, remember } from './page-changes.js';
import { startPicker } from './picker.js';
import { renderPanel, PANEL_CSS } from './panel.js';
import { exchangeCode, experimentApi, storedCredential, storeCredential, forgetCredential } from './editor-api.js';

const PARAM = 'splitbeam-editor';

(() => {
  if (window.splitbeamEditor) return; // loaded twice (the loader on an SPA route change)
  window.splitbeamEditor = true;
  const script = document.currentScript;
  const collector = new URL('./', (script && script.src) || location.href).href;

  // The editor's UI, isolated from the shop's CSS (and the shop from its own) in a shadow root.
  const host = document.createElement('splitbeam-editor');
  const shadow = host.attachShadow({ mode: 'open' });
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(PANEL_CSS); // adopted, not a <style>: a shop's CSP may forbid inline styles
  shadow.adoptedStyleSheets = [sheet];
  const layer = shadow.appendChild(document.createElement('div'));
  const panelSlot = shadow.appendChild(document.createElement('div'));

  const view = {
    experiment: null, etag: null, variantIndex: 0, changes: [], mode: 'after', picking: true,
    selection: null, problems: [], message: '', messageKind: 'ok', previewUrl: null, busy: false,
    stale: false, advancedOpen: false, dirty: false,
  };
  let api = null;
  let picker = null;
  let editing = null; // the element typed into

  const render = () => panelSlot.replaceChildren(renderPanel(view, actions));
  const say = (message, kind = 'ok') => {
    view.message = message;
    view.messageKind = kind;
    render();
  };

  const variant = () => (view.experiment && Array.isArray(view.experiment.variants) ? view.experiment.variants[view.variantIndex] : null);

  /** The variant's change for `selector` (one per selector), created when `create`. */
  function changeFor(selector, create) {
    let change = view.changes.find((c) => c && c.selector === selector && c.css === undefined && c.redirect === undefined);
    if (!change && create) {
      change = { selector };
      view.changes.push(change);
    }
    return change || null;
  }

  /** Drops changes that only name a selector (an emptied field), and writes the list into the variant. */
  function commitChanges(edited = true) {
    if (edited) view.dirty = true;
    view.changes = view.changes.filter((c) => c && Object.keys(c).some((k) => k !== 'selector'));
    const v = variant();
    if (!v) return;
    if (view.changes.length) v.changes = view.changes;
    else delete v.changes;
  }

  function stopEditing() {
    if (!editing) return;
    editing.removeAttribute('contenteditable');
    editing.removeEventListener('input', typed);
    editing = null;
  }

  /** Typing in place: the element's text becomes the change's text. */
  function typed() {
    if (!view.selection || !editing) return;
    const change = changeFor(view.selection.selector, true);
    change.text = editing.textContent;
    view.selection.change = change;
    commitChanges();
    render();
  }

  function startEditing(el) {
    stopEditing();
    // Only an element of text alone is typed into: replacing the text of one with children would drop them.
    if (view.mode !== 'after' || el.children.length) return;
    remember(el);
    editing = el;
    el.setAttribute('contenteditable', 'plaintext-only');
    el.addEventListener('input', typed);
    el.focus();
  }

  /** The variant's change whose selector already names `el`, if any. */
  function changeOf(el) {
    return view.changes.find((c) => {
      try {
        return c && typeof c.selector === 'string' && el.matches(c.selector);
      } catch {
        return false; // an invalid selector names nothing
      }
    }) || null;
  }

  function select(el) {
    // An element this variant already changes keeps that change's selector: a fresh proposal
    // would be made from the changed page (and could name an attribute the variant itself adds).
    const existing = changeOf(el);
    const proposal = existing ? checkSelector(existing.selector, document) : proposeSelector(el);
    view.selection = { ...proposal, el, editable: !el.children.length, change: existing || changeFor(proposal.selector, false) };
    startEditing(el);
    picker.redraw(el);
    render();
  }

  /** Shows the variant's changes (after) or the page as it is (before), keeping the selection. */
  function repaint() {
    stopEditing();
    show(view.mode === 'after' ? view.changes : []);
    if (view.selection && view.selection.el.isConnected) {
      startEditing(view.selection.el);
      picker.redraw(view.selection.el);
    }
    render();
  }

  const actions = {
    close() {
      removeEventListener('beforeunload', leaving);
      stopEditing();
      show([]);
      if (picker) picker.stop();
      forgetCredential();
      host.remove();
      window.splitbeamEditor = false;
    },
    togglePick() {
      view.picking = !view.picking;
      picker.enabled(view.picking);
      render();
    },
    variant(index) {
      view.variantIndex = index;
      const v = variant();
      view.changes = v && Array.isArray(v.changes) ? v.changes : [];
      if (view.selection) view.selection.change = changeFor(view.selection.selector, false);
      repaint();
    },
    mode(mode) {
      view.mode = mode;
      repaint();
    },
    advanced(open) {
      view.advancedOpen = open;
    },
    selector(selector) {
      if (!view.selection || !selector) return;
      const before = view.selection.change;
      Object.assign(view.selection, checkSelector(selector, document));
      if (before) before.selector = selector;
      view.selection.change = before || changeFor(selector, false);
      commitChanges();
      render();
    },
    set(kind, value) {
      if (!view.selection) return;
      const change = changeFor(view.selection.selector, true);
      if (value === undefined) delete change[kind];
      else change[kind] = value;
      view.selection.change = change;
      commitChanges();
      repaint();
    },
    attr(name, value) {
      if (!view.selection || !name) return;
      const change = changeFor(view.selection.selector, true);
      change.attr = { ...(change.attr || {}), [name]: value };
      view.selection.change = change;
      commitChanges();
      repaint();
    },
    drop(index) {
      view.changes.splice(index, 1);
      commitChanges();
      if (view.selection) view.selection.change = changeFor(view.selection.selector, false);
      repaint();
    },
    async save() {
      commitChanges(false);
      await write('Saved', () => api.save(view.etag, view.experiment));
      if (view.messageKind === 'ok') await previewLink();
    },
    async start() {
      await write('Started: visitors now get the variants', () => api.start(view.etag));
    },
    async reload() {
      await load();
    },
  };

  /** One write and what its answer means for the person: saved, invalid, stale or refused. */
  async function write(what, run) {
    view.busy = true;
    view.problems = [];
    render();
    const answer = await run();
    view.busy = false;
    if (answer.status === 200 || answer.status === 201) {
      view.etag = answer.body.etag;
      view.stale = false;
      view.dirty = false;
      adopt(answer.body.experiment);
      say(`${what}. ${view.experiment.status === 'running' ? 'Live for the next page view.' : 'Still a draft: nobody sees it until it is started.'}`);
    } else if (answer.status === 422) {
      view.problems = Array.isArray(answer.body.problems) ? answer.body.problems : [];
      say('Not saved: the experiment does not validate (see above).', 'alarm');
    } else if (answer.status === 412 || answer.status === 428) {
      view.stale = true;
      say('experiments.json changed meanwhile (by hand, in the dashboard or another tab). Nothing was saved over it.', 'alarm');
    } else if (answer.status === 401) {
      say('This editor link has expired: open "Edit on page" in the dashboard again.', 'alarm');
    } else {
      say(`Not saved: ${answer.body && answer.body.error ? answer.body.error : `the collector answered ${answer.status}`}`, 'alarm');
    }
  }

  /** The QA link: this page, as a visitor with the preview token, forced into the variant shown. */
  async function previewLink() {
    const answer = await api.previewLink();
    const v = variant();
    if (answer.status !== 200 || !v) return;
    const url = new URL(location.pathname, location.href);
    url.searchParams.set('splitbeam-preview', answer.body.token);
    url.searchParams.set('splitbeam', `${view.experiment.key}:${v.key}`);
    view.previewUrl = url.href;
    render();
  }

  function adopt(experiment) {
    view.experiment = experiment;
    const variants = Array.isArray(experiment.variants) ? experiment.variants : [];
    if (view.variantIndex >= variants.length || view.variantIndex === 0) view.variantIndex = variants.length > 1 ? 1 : 0;
    const v = variant();
    view.changes = v && Array.isArray(v.changes) ? v.changes : [];
    if (view.selection) view.selection.change = changeFor(view.selection.selector, false);
    repaint();
  }

  async function load() {
    const answer = await api.definition();
    if (answer.status !== 200) {
      say(answer.status === 401 ? 'This editor link has expired: open "Edit on page" in the dashboard again.' : `Cannot load the experiment: ${answer.body.error || answer.status}`, 'alarm');
      return;
    }
    view.etag = answer.body.etag;
    view.stale = false;
    view.dirty = false;
    view.message = '';
    adopt(answer.body.experiment);
  }

  // Unsaved edits live in this page only: leaving it asks first.
  const leaving = (event) => {
    if (!view.dirty) return;
    event.preventDefault();
    event.returnValue = '';
  };

  async function boot() {
    addEventListener('beforeunload', leaving);
    (document.body || document.documentElement).after(host);
    picker = startPicker(document, host, layer, (el) => view.mode === 'after' && select(el));
    render();
    let credential = null;
    const code = new URLSearchParams(location.search).get(PARAM);
    if (code) {
      // Out of the address bar (and later Referers) before anything else.
      const clean = new URL(location.href);
      clean.searchParams.delete(PARAM);
      history.replaceState(history.state, '', clean.href);
      const answer = await exchangeCode(collector, code);
      if (answer.status !== 200) return say(answer.body.error || `The editor link was refused (${answer.status}).`, 'alarm');
      credential = { ...answer.body, collector };
      storeCredential(credential);
    } else {
      credential = storedCredential();
      if (!credential) return actions.close();
    }
    api = experimentApi(credential);
    await load();
  }

  boot().catch((error) => say(`The editor failed: ${error.message}`, 'alarm'));
})();
