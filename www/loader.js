// splitbeam's loader (bundled with the wasm-bindgen glue into dist/splitbeam.js, a classic script):
// hides only what running experiments on this URL will change, starts the wasm and the config in
// parallel, reveals when the variant is applied or after the timeout, and never throws into the page.
import init, * as wasm from 'splitbeam-glue';

// `splitbeam snippet` / the collector replace the marker string with the config itself (first visit:
// no round trip). Left as is, the config comes from the inline JSON tag or `data-config`. (Written as
// a property read so the minifier keeps the marker.)
const BAKED = { c: '__SPLITBEAM_CONFIG__' }.c;

const say = (why, err) => console.error('splitbeam: ' + why + (err ? ': ' + ((err && err.message) || err) : ''));

try {
  const script = document.currentScript;
  const attr = (name) => (script && script.getAttribute('data-' + name)) || '';
  const base = (script && script.src) || location.href;
  const consent = attr('consent');
  const timeoutMs = +attr('timeout') || 1000;

  // The command queue: calls made before the wasm is ready wait here, in order.
  const queued = Array.isArray(window.splitbeam) ? window.splitbeam.slice() : [];
  let ready = null;
  const call = (name, args) => {
    if (!ready) {
      const cmd = [name].concat(args);
      // Where and when: a goal held for the next page (below) keeps this page's URL and time.
      cmd.at = [location.pathname + location.search, Date.now()];
      return void queued.push(cmd);
    }
    try {
      return ready[name].apply(null, args);
    } catch (err) {
      say(name + '() failed', err);
    }
  };
  const api = {};
  ['track', 'attributes', 'consent', 'on', 'flush'].forEach((name) => {
    api[name] = (...args) => call(name, args);
  });
  api.variant = (key) => (ready ? call('variant', [key]) : null);
  api.push = (cmd) => (Array.isArray(cmd) && typeof api[cmd[0]] == 'function' ? api[cmd[0]](...cmd.slice(1)) : say('unknown command', cmd && cmd[0]));
  window.splitbeam = api;

  // Goals tracked before the wasm started would die with a tab that closes that early: hold them
  // for the next page of this site (never where consent must come first; not for a page kept in
  // the back/forward cache, which resumes and sends them itself).
  const HELD = 'splitbeam_held';
  // Read only once the wasm has started: touching localStorage here would hold up the first paint
  // (1–6 ms measured on a fresh profile). Until then they stay stored, and a second early close adds to them.
  const readHeld = () => {
    try {
      const held = JSON.parse(localStorage.getItem(HELD) || '[]');
      return Array.isArray(held) ? held.filter((cmd) => Array.isArray(cmd) && cmd[0] == 'track') : [];
    } catch (_) {
      return [];
    }
  };
  const takeHeld = () => {
    const held = readHeld();
    try {
      localStorage.removeItem(HELD);
    } catch (_) {}
    return held;
  };
  addEventListener('pagehide', (event) => {
    try {
      const tracks = (ready || event.persisted || consent == 'required' ? [] : queued)
        .filter((cmd) => Array.isArray(cmd) && cmd[0] == 'track')
        .map((cmd) => ['track', cmd[1], cmd[2]].concat(cmd.at || [location.pathname + location.search, Date.now()]));
      // Read, not taken: if this write fails (quota, an odd prop), the earlier pages' goals stay.
      if (tracks.length) localStorage.setItem(HELD, JSON.stringify(readHeld().concat(tracks).slice(-50)));
    } catch (_) {}
  });

  // The config: baked in, inline JSON tag, or data-config URL (fetched in parallel with the wasm).
  let config = typeof BAKED == 'object' ? BAKED : null;
  const inline = document.getElementById('splitbeam-config');
  if (!config && inline) config = JSON.parse(inline.textContent);
  const hidden = [];
  if (config) hidden.push(...selectorsToHide(config));
  else {
    try {
      hidden.push(...selectorsToHide(JSON.parse(localStorage.getItem('splitbeam_hide'))));
    } catch (_) {}
  }

  // Hide only those elements, and only until their change is applied (or the timeout).
  const style = document.createElement('style');
  style.textContent = hidden.map((s) => s + '{visibility:hidden!important}').join('');
  if (hidden.length) (document.head || document.documentElement).appendChild(style);
  const reveal = () => style.remove();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    reveal();
  }, timeoutMs);

  const configUrl = attr('config');
  const configReady = config
    ? Promise.resolve(config)
    : configUrl
      ? fetch(new URL(configUrl, location.href)).then((r) => {
          if (!r.ok) throw new Error('HTTP ' + r.status + ' for ' + r.url);
          return r.json();
        })
      : Promise.reject(new Error('no config (data-config, #splitbeam-config or a baked-in config)'));
  // The build names the wasm by its content hash (SPLITBEAM_WASM): this loader always fetches its own
  // wasm, which may be cached for good; unbundled, the plain name.
  const wasmFile = typeof SPLITBEAM_WASM == 'string' ? SPLITBEAM_WASM : 'splitbeam_bg.wasm';
  const wasmReady = init({ module_or_path: fetch(new URL(wasmFile, base)) });

  Promise.all([wasmReady, configReady])
    .then(([, cfg]) => {
      if (!config && consent != 'required') {
        try {
          localStorage.setItem('splitbeam_hide', JSON.stringify(hideOnly(cfg)));
        } catch (_) {}
      }
      clearTimeout(timer);
      if (timedOut) say('ready after the ' + timeoutMs + ' ms timeout; this page view shows the original');
      wasm.start(cfg, {
        consent,
        apply: !timedOut,
        collector: attr('collector'),
        respectDnt: !!script && script.hasAttribute('data-respect-dnt') && attr('respect-dnt') != 'false',
      });
      ready = wasm;
      // The page's own commands first: a queued consent(true) must start delivery before held goals go.
      queued.forEach((cmd) => api.push(cmd));
      takeHeld().forEach((cmd) => call('track_held', cmd.slice(1)));
    })
    .catch((err) => say('not started, the page shows the original', err))
    .finally(() => {
      clearTimeout(timer);
      reveal();
    });
} catch (err) {
  say('not started, the page shows the original', err);
}

// The selectors running experiments may change on this URL. Conservative: a rule the tiny glob check
// cannot read counts as a match (hiding too much only delays; hiding too little would flicker).
function selectorsToHide(config) {
  const forced = /[?&]splitbeam=/.test(location.search);
  const selectors = [];
  for (const exp of (config && config.experiments) || []) {
    if (!exp || !(forced || exp.status == 'running' || (exp.status == 'stopped' && exp.winner))) continue;
    if (!pageMayMatch(exp.pages)) continue;
    for (const variant of exp.variants || [])
      for (const change of (variant && variant.changes) || [])
        if (change && typeof change.selector == 'string' && selectors.indexOf(change.selector) < 0) selectors.push(change.selector);
  }
  return selectors;
}

// Only what selectorsToHide reads, for the repeat-visit cache of a data-config setup.
function hideOnly(config) {
  return {
    experiments: ((config && config.experiments) || []).map((e) => ({
      status: e.status,
      winner: e.winner,
      pages: e.pages,
      variants: (e.variants || []).map((v) => ({ changes: (v.changes || []).filter((c) => c.selector).map((c) => ({ selector: c.selector })) })),
    })),
  };
}

// Mirrors core/src/pages.rs loosely, erring towards "matches": only `/path` globs are checked (case
// and trailing slash ignored, query requirements ignored); excludes, hosts and regexes count as matches.
function pageMayMatch(pages) {
  if (pages && !Array.isArray(pages) && typeof pages == 'object') pages = 'include' in pages ? pages.include : [pages];
  if (pages == null) return true;
  const includes = [].concat(pages).filter((p) => !(typeof p == 'string' && p[0] == '!'));
  if (!includes.length) return true;
  let path = location.pathname;
  try {
    path = decodeURIComponent(path);
  } catch (_) {}
  path = path.replace(/\/+$/, '') || '/';
  return includes.some((p) => {
    if (typeof p != 'string' || p[0] != '/') return true;
    const glob = p.split('?')[0].replace(/\/+$/, '') || '/';
    return new RegExp('^' + glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*') + '$', 'i').test(path);
  });
}
