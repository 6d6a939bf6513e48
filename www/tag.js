// The inline tag (dist/tag.js; `splitbeam tag` and the collector's /tag fill in the marker): pasted
// at the top of <head>. Before first paint it hides only the elements that experiments on this page
// may change, starts the command queue and adds splitbeam.js async. Nothing in it waits on the
// collector: whatever the collector does, the hidden elements show again after the timeout.
import { hide, hideFor } from './hide.js';

(() => {
  try {
    // {h: hide rules, s: splitbeam.js URL, w: the first-paint module's file (next to it), t: timeout
    // ms, a: attributes for the script element}
    const tag = { c: '__SPLITBEAM_TAG__' }.c;
    window.splitbeam = window.splitbeam || [];
    const state = (window.splitbeamTag = { done: false, style: hide(hideFor(tag.h)), timeout: tag.t });
    // One console line when splitbeam.js fails or has not run by the timeout (the loader, once it
    // runs, says its own).
    const say = (why) => {
      if (!state.said) console.error('splitbeam: ' + tag.s + ' ' + why + '; the page shows the original');
      state.said = true;
    };
    state.timer = setTimeout(() => {
      state.done = true;
      if (state.style) state.style.remove();
      if (state.newer) state.newer.remove();
      if (!state.loaded) say('did not arrive within ' + tag.t + ' ms');
    }, tag.t);
    // The first-paint module, fetched now rather than once splitbeam.js has run: one round trip
    // fewer before the reveal, and at high priority (it is most of the bytes before the reveal; a
    // high-priority *script* would count against first paint in Lighthouse's simulation). Before
    // the sessionStorage read below: a fresh tab's first storage access can take milliseconds.
    // A failed fetch is the loader's to report.
    const response = fetch(new URL(tag.w, new URL(tag.s, document.baseURI)), { priority: 'high' });
    response.catch(() => {});
    state.first = { name: tag.w, response };
    // A signed preview link (`splitbeam preview-link`: ?splitbeam-preview=TOKEN) asks the collector
    // for a loader that also holds that draft; kept for the tab's session, as QA links are.
    let preview = /[?&]splitbeam-preview=([^&#]+)/.exec(location.search);
    preview = preview && preview[1];
    try {
      // Not stored where consent comes first (the link then works on its own page only).
      if (preview) tag.a['data-consent'] == 'required' || sessionStorage.setItem('splitbeam_preview', preview);
      else preview = sessionStorage.getItem('splitbeam_preview');
    } catch (_) {}
    const script = document.createElement('script');
    script.async = true;
    script.src = preview ? tag.s + (tag.s.indexOf('?') < 0 ? '?' : '&') + 'preview=' + preview : tag.s;
    script.onerror = () => say('did not load');
    for (const name in tag.a) script.setAttribute(name, tag.a[name]);
    (document.head || document.documentElement).appendChild(script);
  } catch (err) {
    console.error('splitbeam: the inline tag failed: ' + ((err && err.message) || err));
  }
})();
