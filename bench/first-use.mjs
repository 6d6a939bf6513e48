// What of a first view's main-thread time before the change is the browser's own first use of
// storage, cookies and fetch(): the calls splitbeam makes before its reveal, and GrowthBook before
// its changed headline, same rounds, fresh context per load. Each call is timed by a wrapper in
// the page (an init script; the scripts themselves are unchanged). In a fresh context the first
// access to a storage area or to cookies waits for the browser process (a synchronous round trip),
// which no script can make cheaper: this is the floor under issue 14's 5 ms desktop budget.
// `node bench/first-use.mjs [loads] [--mobile]`. No assertions.
import { startServer } from './lib/server.mjs';
import { launch, freshLoad, settle, PROFILES } from './lib/browser.mjs';
import { VARIANT } from './lib/configs.mjs';
import { median, ms, table } from './lib/stats.mjs';

/** In the page before any of its scripts: times every storage, cookie and fetch() call, and notes
 * when the headline shows the variant (GrowthBook) and when splitbeam's hiding style goes. */
function timeFirstUses(variant) {
  const calls = (window.__firstUse = { calls: [] });
  const timed = (kind, name, f) =>
    function () {
      const at = performance.now();
      try {
        return f.apply(this, arguments);
      } finally {
        calls.calls.push([kind, name, at, performance.now() - at]);
      }
    };
  for (const area of ['localStorage', 'sessionStorage']) {
    const { get } = Object.getOwnPropertyDescriptor(window, area);
    Object.defineProperty(window, area, { get: timed('storage', area, get), configurable: true });
  }
  for (const name of ['getItem', 'setItem', 'removeItem', 'key', 'clear']) Storage.prototype[name] = timed('storage', name, Storage.prototype[name]);
  const cookie = Object.getOwnPropertyDescriptor(Document.prototype, 'cookie');
  Object.defineProperty(Document.prototype, 'cookie', { get: timed('cookie', 'get', cookie.get), set: timed('cookie', 'set', cookie.set), configurable: true });
  window.fetch = timed('fetch', 'fetch', window.fetch);
  new MutationObserver((records) => {
    const hero = document.querySelector('#hero h1');
    if (calls.changedAt == null && hero && hero.textContent === variant) calls.changedAt = performance.now();
    for (const record of records)
      for (const node of record.removedNodes) if (calls.revealedAt == null && node.nodeName == 'STYLE' && /visibility:hidden/.test(node.textContent)) calls.revealedAt = performance.now();
  }).observe(document, { childList: true, subtree: true, characterData: true });
}

const SETUPS = [
  ['splitbeam', 'splitbeam: inline tag, before the reveal', (r) => r.revealedAt],
  ['gb-inline', 'GrowthBook auto.min.js async, payload inline, before the changed copy', (r) => r.changedAt],
];
const KINDS = ['storage', 'cookie', 'fetch'];

/** One fresh context's first view of `setup`: the time in each kind of call before `until`. */
async function measure(browser, baseUrl, setup, until, profile) {
  return freshLoad(
    browser,
    async (page) => {
      await page.addInitScript(timeFirstUses, VARIANT);
      await page.goto(`${baseUrl}/?setup=${setup}&config=1`, { waitUntil: 'load' });
      await settle(page, true, VARIANT);
      const recorded = await page.evaluate(() => window.__firstUse);
      const end = until(recorded);
      if (end == null) throw new Error(`${setup}: the change was never seen`);
      const before = recorded.calls.filter(([, , at]) => at < end);
      const sums = Object.fromEntries(KINDS.map((kind) => [kind, before.filter((c) => c[0] === kind).reduce((total, c) => total + c[3], 0)]));
      return { ...sums, total: KINDS.reduce((total, kind) => total + sums[kind], 0), count: before.length };
    },
    profile,
  );
}

export async function firstUseBench({ browser, baseUrl, loads, profile = 'desktop', log = () => {} }) {
  const results = Object.fromEntries(SETUPS.map(([setup]) => [setup, []]));
  for (let i = 0; i < loads; i++) {
    const order = i % 2 ? [...SETUPS].reverse() : SETUPS;
    for (const [setup, , until] of order) results[setup].push(await measure(browser, baseUrl, setup, until, profile));
    log(`  first use (${profile}): round ${i + 1}/${loads}`);
  }
  const rows = SETUPS.map(([setup, label]) => {
    const runs = results[setup];
    const col = (key) => ms(median(runs.map((r) => r[key])), 1);
    return [label, String(runs.length), String(median(runs.map((r) => r.count))), col('storage'), col('cookie'), col('fetch'), col('total')];
  });
  const markdown =
    `### The browser's first use of storage, cookies and fetch() before the change (medians, ${PROFILES[profile].label})\n\n` +
    table(['setup', 'loads', 'calls', 'storage', 'cookies', 'fetch()', 'all three'], rows) +
    '\n\nA new visitor\'s first page view in a fresh context; each call timed by a wrapper in the page, summed over the calls that start ' +
    'before the change (splitbeam: its hiding style removed; GrowthBook: the headline holds the variant). The first access to a storage ' +
    'area or to cookies is a synchronous round trip to the browser process. Untraced, so not added to the start-up table\'s figures; ' +
    'the wrappers add a little of their own.';
  return { results, markdown };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const loads = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a))) || 12;
  const profile = process.argv.includes('--mobile') ? 'mobile' : 'desktop';
  const server = await startServer();
  const browser = await launch();
  try {
    console.log((await firstUseBench({ browser, baseUrl: server.url, loads, profile, log: (line) => console.error(line) })).markdown);
  } finally {
    await browser.close();
    await server.close();
  }
}
