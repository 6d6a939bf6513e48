// (c) The snippet's main-thread time at start, and what 50 running experiments cost next to 1:
// the loader's evaluation and the wasm compile from a Chromium trace, the wasm calls timed in the page.
import { freshLoad, settle } from './lib/browser.mjs';
import { VARIANT } from './lib/configs.mjs';
import { median, percentile, ms, table } from './lib/stats.mjs';

const CATEGORIES = ['devtools.timeline', 'v8.wasm'];
// Per-function lazy compilation runs inside the wasm calls, which the page already times.
const LAZY = new Set(['wasm.CompileLazy', 'wasm.CompileBaseline', 'wasm.AddCompiledCode', 'wasm.PublishCode']);

/** Total length of the union of [start, end) intervals (nested trace events count once). */
function unionLength(intervals) {
  let total = 0;
  let end = -Infinity;
  for (const [a, b] of intervals.sort((x, y) => x[0] - y[0])) {
    if (b <= end) continue;
    total += b - Math.max(a, end);
    end = b;
  }
  return total;
}

/** The figures of one traced load, in ms. */
function fromTrace(events, timing) {
  const evaluate = events.find((e) => e.name === 'EvaluateScript' && /\/splitbeam\.js\b/.test(e.args?.data?.url || ''));
  if (!evaluate) throw new Error('the trace has no EvaluateScript event for splitbeam.js (did the tag load?)');
  const onMain = (e) => e.pid === evaluate.pid && e.tid === evaluate.tid && e.ph === 'X';
  const wasmCompile = events.filter((e) => onMain(e) && e.cat.includes('v8.wasm') && !LAZY.has(e.name)).map((e) => [e.ts, e.ts + e.dur]);
  const calls = timing?.calls || [];
  const start = calls.filter((c) => c.name === 'start').reduce((sum, c) => sum + c.ms, 0);
  const other = calls.filter((c) => c.name !== 'start').reduce((sum, c) => sum + c.ms, 0);
  const loader = evaluate.dur / 1000;
  const compile = unionLength(wasmCompile) / 1000;
  return { loader, compile, start, other, total: loader + compile + start + other, started: calls.some((c) => c.name === 'start') };
}

/** One traced page view of the storefront in `page` (a fresh context's first view, or a later one). */
async function measureView(browser, page, baseUrl, config) {
  await browser.startTracing(page, { categories: CATEGORIES });
  let trace;
  try {
    await page.goto(`${baseUrl}/?setup=splitbeam&config=${config}&wasm-timing`, { waitUntil: 'load' });
    await settle(page, true, VARIANT);
  } finally {
    trace = JSON.parse((await browser.stopTracing()).toString('utf8'));
  }
  const timing = await page.evaluate(() => window.__wasmTiming);
  return fromTrace(trace.traceEvents || trace, timing);
}

/** A first-time visitor's first page view, then their next page view in the same tab. */
async function measureLoad(browser, baseUrl, config) {
  return freshLoad(browser, async (page) => {
    const first = await measureView(browser, page, baseUrl, config);
    const next = await measureView(browser, page, baseUrl, config);
    return { first, next };
  });
}

export async function startupBench({ browser, baseUrl, loads, log = () => {} }) {
  const results = { 1: [], 50: [] };
  for (let i = 0; i < loads; i++) {
    for (const config of i % 2 ? ['50', '1'] : ['1', '50']) results[config].push(await measureLoad(browser, baseUrl, config));
    log(`  start-up: round ${i + 1}/${loads}`);
  }
  const row = (config, view) => {
    const runs = results[config].map((r) => r[view]);
    const col = (key) => ms(median(runs.map((r) => r[key])), 1);
    return [
      `${config} experiment${config === '1' ? '' : 's'}, ${view === 'first' ? "a new visitor's first page view" : 'their next page view (same tab)'}`,
      String(runs.length),
      col('loader'),
      col('compile'),
      col('start'),
      col('other'),
      col('total'),
      ms(percentile(runs.map((r) => r.total), 90), 1),
      String(runs.filter((r) => !r.started).length),
    ];
  };
  const header = ['config', 'loads', 'loader script evaluation', 'wasm compile + instantiate (main thread)', 'wasm start() (evaluate + apply)', 'other wasm calls until settled', 'total (median)', 'total p90', 'loads where start() never ran'];
  const startDelta = median(results[50].map((r) => r.first.start)) - median(results[1].map((r) => r.first.start));
  const markdown =
    '### Snippet main-thread time at start (medians, fresh context per load, 40 ms latency)\n\n' +
    table(header, [row('1', 'first'), row('1', 'next'), row('50', 'first'), row('50', 'next')]) +
    `\n\n50 experiments with conditions vs 1: wasm start() takes ${ms(startDelta, 1)} more (median vs median). ` +
    'Loader evaluation is the trace\'s `EvaluateScript` of splitbeam.js (compile included); wasm compile is the union of the ' +
    'main-thread `v8.wasm` trace events except per-function lazy compiles, which happen inside the calls; the wasm calls are ' +
    'the outermost calls from the page into the module, timed by a wrapper around `WebAssembly.instantiateStreaming` in the ' +
    'page (the snippet is unchanged). Tracing adds some overhead of its own. The next page view loads the same page again in ' +
    'the same tab (the bench server sends `no-store`, so nothing comes from the HTTP cache). V8 compiles each wasm function on ' +
    "its first call; in a CPU profile of first views, Chromium's `--no-wasm-lazy-compilation` roughly halved `start()`. The " +
    'much cheaper next view is consistent with the tab reusing the code compiled for the first.';
  return { markdown, results };
}
