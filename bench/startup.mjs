// (c) The snippet's main-thread time before the reveal (loader evaluation, the first-paint module's
// compile and its `decide` call), then the whole snippet's after it, and what 50 running experiments
// with conditions cost next to 1: evaluation and compile from a Chromium trace, wasm calls timed in the page.
import { freshLoad, settle, PROFILES } from './lib/browser.mjs';
import { VARIANT } from './lib/configs.mjs';
import { median, percentile, ms, table } from './lib/stats.mjs';

// `blink.user_timing` carries `navigationStart`, which maps the page's performance.now() onto the
// trace's clock (without it the reveal could not be placed in the trace).
const CATEGORIES = ['devtools.timeline', 'v8.wasm', 'blink.user_timing'];
// Per-function lazy compilation runs inside the wasm calls, which the page already times.
const LAZY = new Set(['wasm.CompileLazy', 'wasm.CompileBaseline', 'wasm.AddCompiledCode', 'wasm.PublishCode']);

/** Total length of the union of [start, end) intervals (nested or overlapping ones count once). */
function unionLength(intervals) {
  let total = 0;
  let end = -Infinity;
  for (const [a, b] of [...intervals].sort((x, y) => x[0] - y[0])) {
    if (b <= end) continue;
    total += b - Math.max(a, end);
    end = b;
  }
  return total;
}

/** The figures of one traced load, in ms: before the reveal, and the whole snippet after it. The
 * three parts before the reveal can nest: when the first-paint module is ready by the time
 * splitbeam.js runs, `decide` and the reveal happen in the microtask checkpoint at the end of the
 * script's evaluation, inside its `EvaluateScript`. So the total is the union of the three, and
 * the evaluation column is what of it is neither module compile nor decide + apply. */
function fromTrace(events, timing) {
  const evaluate = events.find((e) => e.name === 'EvaluateScript' && /\/splitbeam\.js\b/.test(e.args?.data?.url || ''));
  if (!evaluate) throw new Error('the trace has no EvaluateScript event for splitbeam.js (did the tag load?)');
  // The page's own navigation (the trace also holds one of an empty document): the last one of its
  // renderer to an http URL before the script ran.
  const navigation = events
    .filter((e) => e.name === 'navigationStart' && e.pid === evaluate.pid && e.ts < evaluate.ts && /^https?:/.test(e.args?.data?.documentLoaderURL || ''))
    .sort((x, y) => y.ts - x.ts)[0];
  if (!navigation) throw new Error('the trace has no navigationStart of the page (category blink.user_timing)');
  const onMain = (e) => e.pid === evaluate.pid && e.tid === evaluate.tid && e.ph === 'X';
  const calls = timing?.calls || [];
  const decide = calls.find((c) => c.name === 'decide');
  // `decide + apply`: from the moment the first-paint module is ready (its instantiation resolved;
  // the loader's callback runs next and reads storage and builds the module's input in JavaScript,
  // www/first.js) to the reveal, which follows the loader's JavaScript apply in the same task (timed
  // by the mutation observer of wasm-timing.js), in trace time (µs; performance.now() is ms since
  // navigation start).
  const ready = timing?.instantiated?.[0];
  const from = decide ? Math.min(decide.at, ready ? ready.at + ready.ms : decide.at) : 0;
  const decideMs = decide ? Math.max(decide.at + decide.ms - from, (timing?.revealedAt ?? 0) - from) : 0;
  const decideSpan = decide ? [[navigation.ts + from * 1000, navigation.ts + (from + decideMs) * 1000]] : [];
  const revealTs = decide ? decideSpan[0][1] : Infinity;
  const compiles = events.filter((e) => onMain(e) && e.cat.includes('v8.wasm') && !LAZY.has(e.name));
  const compileSpans = compiles.filter((e) => e.ts < revealTs).map((e) => [e.ts, Math.min(e.ts + e.dur, revealTs)]);
  const evaluation = [[evaluate.ts, evaluate.ts + evaluate.dur]];
  const beforeReveal = unionLength([...evaluation, ...compileSpans, ...decideSpan]) / 1000;
  const compile = unionLength(compileSpans) / 1000;
  const later = unionLength(compiles.filter((e) => e.ts >= revealTs).map((e) => [e.ts, e.ts + e.dur])) / 1000;
  const sum = (pred) => calls.filter(pred).reduce((total, c) => total + c.ms, 0);
  const start = sum((c) => c.name === 'start');
  const other = sum((c) => c.name !== 'start' && c.name !== 'decide');
  return {
    loader: beforeReveal - unionLength([...compileSpans, ...decideSpan]) / 1000,
    compile,
    decide: decideMs,
    beforeReveal,
    after: later + start + other,
    start,
    started: !!decide,
  };
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
async function measureLoad(browser, baseUrl, config, profile) {
  return freshLoad(
    browser,
    async (page) => {
      const first = await measureView(browser, page, baseUrl, config);
      const next = await measureView(browser, page, baseUrl, config);
      return { first, next };
    },
    profile,
  );
}

export async function startupBench({ browser, baseUrl, loads, profile = 'desktop', log = () => {} }) {
  const results = { 1: [], 50: [] };
  for (let i = 0; i < loads; i++) {
    for (const config of i % 2 ? ['50', '1'] : ['1', '50']) results[config].push(await measureLoad(browser, baseUrl, config, profile));
    log(`  start-up (${profile}): round ${i + 1}/${loads}`);
  }
  const row = (config, view) => {
    const runs = results[config].map((r) => r[view]);
    const col = (key) => ms(median(runs.map((r) => r[key])), 1);
    return [
      `${config} experiment${config === '1' ? '' : 's'}, ${view === 'first' ? "a new visitor's first page view" : 'their next page view (same tab)'}`,
      String(runs.length),
      col('loader'),
      col('compile'),
      col('decide'),
      col('beforeReveal'),
      ms(percentile(runs.map((r) => r.beforeReveal), 90), 1),
      col('after'),
      String(runs.filter((r) => !r.started).length),
    ];
  };
  const header = ['config', 'loads', 'splitbeam.js evaluation', 'first-paint module compile (main thread)', 'decide + apply', 'before the reveal (median)', 'before the reveal p90', 'the whole snippet after the reveal (compile + start + calls)', 'loads where decide never ran'];
  const delta = median(results[50].map((r) => r.first.decide)) - median(results[1].map((r) => r.first.decide));
  const markdown =
    `### Snippet main-thread time (medians, fresh context per load, ${PROFILES[profile].label})\n\n` +
    table(header, [row('1', 'first'), row('1', 'next'), row('50', 'first'), row('50', 'next')]) +
    `\n\n50 experiments with conditions vs 1: decide + apply takes ${ms(delta, 1)} more (median vs median). ` +
    'The recommended install (the inline tag). splitbeam.js evaluation is the trace\'s `EvaluateScript` of it (compile ' +
    'included; the inline tag\'s own few lines are not counted) except what of it is module compile or decide + apply: when the ' +
    'module is ready before the script runs, `decide` and the reveal run in the microtask checkpoint at the end of its evaluation, ' +
    'inside that trace event, and "before the reveal" is the union of the three, each counted once; module compile is the union of the main-thread `v8.wasm` ' +
    'trace events before the reveal except per-function lazy compiles, which happen inside the calls; the wasm calls are ' +
    'the outermost calls from the page into the modules, timed by a wrapper around `WebAssembly.instantiateStreaming` in the ' +
    'page (the snippet is unchanged); decide + apply runs from the moment the first-paint module is ready (its ' +
    'instantiation resolved) to the reveal: the loader\'s storage reads and the module\'s input built in JavaScript, the ' +
    '`decide` call, and the loader\'s JavaScript applying the changes (a mutation observer in the page sees the hiding style go). Tracing adds some overhead of its own. The next page view loads the same page again ' +
    'in the same tab, with the HTTP cache warm.';
  return { markdown, results };
}
