// The dashboard's own benchmarks (issue 11, part 5), against the real collector on 127.0.0.1:
// (1) event → dashboard latency: an event POSTed to /collect until the signed-in dashboard shows
//     it, and an event tracked by the snippet in a shop page (`splitbeam.track`) until the same,
//     once with the snippet's own timed batching and once with `splitbeam.flush()` right after;
// (2) the dashboard's transfer size: each file one experiment page loads, gzip and brotli as the
//     collector sends them, with the API answers it reads.
// Times are taken in the pages (Date.now(), the same clock as here): the dashboard records when a
// mutation made the figure appear. Prints Markdown. Bounded: exits after TIME_LIMIT_MS whatever happens.
//
//   cargo build --release -p splitbeam-collector && npm run build && node bench/dashboard.mjs
import os from 'node:os';
import http from 'node:http';
import { median, percentile, table, ms, bytes } from './lib/stats.mjs';
import { startCollector, ADMIN_TOKEN } from '../tests/e2e/lib/dashboard-collector.mjs';
// A shopper's Chromium (navigator.webdriver false): the collector keeps automated browsers out of results.
import { launch, shopperAgent } from '../tests/e2e/lib/snippet-browser.mjs';

const POSTS = Number(process.env.DASHBOARD_POSTS || 15);
const TRACKS = Number(process.env.DASHBOARD_TRACKS || 5);
const TIME_LIMIT_MS = 180_000;
const WAIT_MS = 15_000;
const EXPERIMENT = 'hero-headline';

const guard = setTimeout(() => {
  console.error(`bench/dashboard.mjs: over ${TIME_LIMIT_MS / 1000} s, giving up`);
  process.exit(2);
}, TIME_LIMIT_MS);
guard.unref();

/** In the dashboard page: records (Date.now(), total) each time the total of `column` in the purchase table changes. */
function watchTotals(column) {
  window.__watch?.disconnect();
  const totals = [];
  window.__totals = totals;
  const read = () => [...document.querySelectorAll(`table.results-table[data-goal="purchase"] .${column}`)]
    .reduce((sum, cell) => sum + (Number(cell.textContent.replace(/,/g, '')) || 0), 0);
  let last = read();
  window.__watch = new MutationObserver(() => {
    const now = read();
    if (now !== last) {
      last = now;
      totals.push({ at: Date.now(), total: now });
    }
  });
  window.__watch.observe(document.getElementById('app'), { childList: true, subtree: true, characterData: true });
  return last;
}

/** When the dashboard first showed a total of at least `wanted` (ms since the epoch). */
async function shownAt(dashboard, wanted) {
  const handle = await dashboard.waitForFunction(
    (n) => window.__totals.find((entry) => entry.total >= n)?.at, wanted, { timeout: WAIT_MS, polling: 50 });
  return handle.jsonValue();
}

async function postEvents(origin, agent, events) {
  const response = await fetch(`${origin}/collect`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain', 'user-agent': agent },
    body: JSON.stringify({ v: 1, sent_at: Date.now(), events }),
  });
  if (response.status !== 200) throw new Error(`/collect answered ${response.status}: ${await response.text()}`);
}

/** POST → visible: one new exposed visitor per round. */
async function postLatency(origin, dashboard, agent) {
  let total = await dashboard.evaluate(watchTotals, 'visitors');
  const latencies = [];
  for (let i = 0; i < POSTS; i++) {
    const visitor = `bench-post-${i}-${Date.now()}`;
    const sent = Date.now();
    await postEvents(origin, agent, [{
      id: `x-${visitor}-0123456789`, type: 'exposure', ts: sent, visitor, session: `s-${visitor}`,
      experiment: EXPERIMENT, variant: i % 2 ? 'control' : 'free-shipping', url: '/shop/',
    }]);
    total += 1;
    latencies.push((await shownAt(dashboard, total)) - sent);
    // Apart from each other by more than the stream's coalescing interval: each round is measured alone.
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  return latencies;
}

/** Tracked in the shop → visible: a purchase per fresh shopper, sent by the snippet. */
async function trackLatency(browser, origin, dashboard, flush) {
  let total = await dashboard.evaluate(watchTotals, 'conversions');
  const latencies = [];
  for (let i = 0; i < TRACKS; i++) {
    const context = await browser.newContext({ userAgent: shopperAgent(browser) });
    try {
      const shop = await context.newPage();
      await shop.goto(`${origin}/shop/`);
      await shop.waitForFunction(() => typeof window.splitbeam?.track === 'function' && window.splitbeam.variant('hero-headline'),
        null, { timeout: WAIT_MS });
      // Let the exposure's batch go out first, so the purchase is measured alone.
      await shop.evaluate(() => window.splitbeam.flush());
      await new Promise((resolve) => setTimeout(resolve, 500));
      const tracked = await shop.evaluate((flushNow) => {
        const at = Date.now();
        window.splitbeam.track('purchase', { value: 10 });
        if (flushNow) window.splitbeam.flush();
        return at;
      }, flush);
      total += 1;
      latencies.push((await shownAt(dashboard, total)) - tracked);
    } finally {
      await context.close();
    }
  }
  return latencies;
}

/** The bytes of `path` as the collector sends it with `Accept-Encoding: encoding`. */
function transferred(origin, path, encoding) {
  return new Promise((resolve, reject) => {
    const request = http.get(`${origin}${path}`, {
      headers: { 'accept-encoding': encoding, authorization: `Bearer ${ADMIN_TOKEN}` },
    }, (response) => {
      let size = 0;
      response.on('data', (chunk) => { size += chunk.length; });
      response.on('end', () => resolve({ status: response.statusCode, size, encoding: response.headers['content-encoding'] || 'identity' }));
    });
    request.on('error', reject);
    request.setTimeout(10_000, () => request.destroy(new Error(`${path}: no answer in 10 s`)));
  });
}

async function transferSizes(origin, dashboard) {
  // Every file the experiment page loaded (the browser's list, so a new module is counted too).
  const loaded = await dashboard.evaluate(() => performance.getEntriesByType('resource')
    .map((entry) => new URL(entry.name).pathname).filter((path) => path.startsWith('/dashboard/')));
  const files = [`/experiments/${EXPERIMENT}`, ...[...new Set(loaded)].sort()];
  const api = [`/api/experiments/${EXPERIMENT}/results`, `/api/experiments/${EXPERIMENT}/results/over-time?granularity=daily`,
    `/api/experiments/${EXPERIMENT}/results/over-time?granularity=hourly`];
  const rows = [];
  const totals = { raw: 0, gzip: 0, br: 0 };
  for (const path of [...files, ...api]) {
    const [raw, gzip, br] = await Promise.all(['identity', 'gzip', 'br'].map((e) => transferred(origin, path, e)));
    if (raw.status !== 200) throw new Error(`${path} answered ${raw.status}`);
    rows.push([`\`${path}\``, bytes(raw.size), `${bytes(gzip.size)}${gzip.encoding === 'gzip' ? '' : ' (not compressed)'}`, bytes(br.size)]);
    if (files.includes(path)) {
      totals.raw += raw.size;
      totals.gzip += gzip.size;
      totals.br += br.size;
    }
  }
  rows.push(['**the page\'s files together**', bytes(totals.raw), bytes(totals.gzip), bytes(totals.br)]);
  return rows;
}

const summary = (name, values) => [name, String(values.length), ms(median(values)), ms(percentile(values, 90)), ms(Math.max(...values))];

async function main() {
  const started = new Date();
  const load = os.loadavg().map((l) => l.toFixed(2)).join(', ');
  const collector = await startCollector();
  const browser = await launch();
  try {
    const agent = shopperAgent(browser);
    const dashboard = await browser.newPage();
    await collector.signIn(dashboard, `/experiments/${EXPERIMENT}`);
    // A first visitor, so the results table is there to watch.
    await postEvents(collector.origin, agent, [{
      id: 'x-bench-first-0123456789', type: 'exposure', ts: Date.now(), visitor: 'bench-first', session: 's-bench-first',
      experiment: EXPERIMENT, variant: 'control', url: '/shop/',
    }]);
    await dashboard.locator('table.results-table[data-goal="purchase"]').waitFor({ timeout: WAIT_MS });
    await dashboard.waitForFunction(() => document.getElementById('live-status')?.textContent.startsWith('live'), null, { timeout: WAIT_MS });

    const posted = await postLatency(collector.origin, dashboard, agent);
    const timed = await trackLatency(browser, collector.origin, dashboard, false);
    const flushed = await trackLatency(browser, collector.origin, dashboard, true);
    const sizes = await transferSizes(collector.origin, dashboard);
    const loadAfter = os.loadavg().map((l) => l.toFixed(2)).join(', ');

    console.log(`### Dashboard: event → dashboard latency and transfer size (\`node bench/dashboard.mjs\`)\n`);
    console.log(`Run ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC on ${os.cpus().length} cores, ` +
      `load average ${load} at the start, ${loadAfter} at the end; collector, Chromium and this script on one machine (127.0.0.1).\n`);
    console.log(table(['From → visible in the signed-in dashboard', 'events', 'median', 'p90', 'max'], [
      summary('`POST /collect` sent → figure on the page', posted),
      summary('`splitbeam.track()` in a shop page, the snippet\'s timed batch (≤ 2 s) → figure on the page', timed),
      summary('`splitbeam.track()` + `splitbeam.flush()` in a shop page → figure on the page', flushed),
    ]));
    console.log('\nTransfer size of one experiment page (the collector compresses; browsers get brotli, gzip shown as asked):\n');
    console.log(table(['Path', 'raw', 'gzip', 'brotli'], sizes));
  } finally {
    await browser.close();
    await collector.close();
  }
}

main().then(() => process.exit(0), (error) => {
  console.error(error);
  process.exit(1);
});
