// (c) The snippet's main-thread time before the reveal (loader evaluation, the first-paint module's
// compile and its `decide` call), then the whole snippet's after it, and what 50 running experiments
// with conditions cost next to 1: evaluation and compile from a Chromium trace, wasm calls timed in the page.
// The peer in the same rounds: GrowthBook's auto.min.js (async, payload inline) on the 1-experiment
// page, its main-thread time before the changed headline is in the page, from the same kind of trace.
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

/** The page's own navigation (the trace also holds one of an empty document): the last one of the
 * script's renderer to an http URL before the script ran. Maps performance.now() onto trace time. */
function pageNavigation(events, evaluate) {
  const navigation = events
    .filter((e) => e.name === 'navigationStart' && e.pid === evaluate.pid && e.ts < evaluate.ts && /^https?:/.test(e.args?.data?.documentLoaderURL || ''))
    .sort((x, y) => y.ts - x.ts)[0];
  if (!navigation) throw new Error('the trace has no navigationStart of the page (category blink.user_timing)');
  return navigation;
}

/** The figures of one traced load, in ms: before the reveal, and the whole snippet after it. The
 * inline tag runs first, on its own; the three parts after it can nest: when the first-paint module
 * is ready by the time splitbeam.js runs, `decide` and the reveal happen in the microtask checkpoint
 * at the end of the script's evaluation, inside its `EvaluateScript`. So the total is the union of
 * the four, and the evaluation column is what of it is neither module compile nor decide + apply. */
function fromTrace(events, timing) {
  const evaluate = events.find((e) => e.name === 'EvaluateScript' && /\/splitbeam\.js\b/.test(e.args?.data?.url || ''));
  if (!evaluate) throw new Error('the trace has no EvaluateScript event for splitbeam.js (did the tag load?)');
  const navigation = pageNavigation(events, evaluate);
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
  // The inline tag's own run, in the page's parser before anything else of splitbeam's: from the end
  // of wasm-timing.js (the script right before it) to the server's one-line script right after it.
  if (timing?.tagStart == null || timing?.tagEnd == null) throw new Error('the page has no marks around the inline tag (bench/lib/server.mjs, fixtures/wasm-timing.js)');
  const tagSpan = [[navigation.ts + timing.tagStart * 1000, navigation.ts + timing.tagEnd * 1000]];
  const withoutTag = unionLength([...evaluation, ...compileSpans, ...decideSpan]) / 1000;
  const beforeReveal = unionLength([...tagSpan, ...evaluation, ...compileSpans, ...decideSpan]) / 1000;
  const compile = unionLength(compileSpans) / 1000;
  // After the reveal: the whole snippet's module compile and its glue's evaluation (www/full.js).
  const glue = events.filter((e) => onMain(e) && e.name === 'EvaluateScript' && /\/splitbeam_full\.[0-9a-f]+\.js\b/.test(e.args?.data?.url || ''));
  const later = unionLength([...compiles.filter((e) => e.ts >= revealTs), ...glue].map((e) => [e.ts, e.ts + e.dur])) / 1000;
  // Every call but `decide`: the whole snippet's start and what the page calls in it after.
  const wholeCalls = calls.filter((c) => c.name !== 'decide').reduce((total, c) => total + c.ms, 0);
  return {
    tag: timing.tagEnd - timing.tagStart,
    loader: withoutTag - unionLength([...compileSpans, ...decideSpan]) / 1000,
    compile,
    decide: decideMs,
    beforeReveal,
    after: later + wholeCalls,
    started: !!decide,
    // By its export's original name (bench/lib/server.mjs hands the page the names).
    wholeStarted: calls.some((c) => c.name === 'start_snippet'),
  };
}

// The peer: GrowthBook's recommended async install with the payload inline (setup `gb-inline` in
// lib/server.mjs, which serves the script at this path), on the 1-experiment page.
const GB_SETUP = 'gb-inline';
const GB_LABEL = 'GrowthBook auto.min.js async, payload inline';
const GB_SCRIPT = /\/growthbook\/auto\.min\.js$/;
// Main-thread trace events that carry the script's URL: its evaluation (compile and the microtask
// checkpoint at its end included), compile and code-cache work, and calls into its functions from
// the browser (mutation observers, event listeners, timers).
const GB_EVENTS = new Set(['EvaluateScript', 'v8.compile', 'v8.produceCache', 'FunctionCall']);

/** In the page before any of its scripts: when `#hero h1` first reads `variant` (GrowthBook applies
 * the change in a task of its own or in its mutation observer; this observer's callback runs in the
 * same microtask checkpoint). GrowthBook's setup has no anti-flicker, so that is when the changed
 * copy can be painted. */
function watchHeadline(variant) {
  new MutationObserver((_, observer) => {
    const hero = document.querySelector('#hero h1');
    if (hero && hero.textContent === variant) {
      window.__gbChangedAt = performance.now();
      observer.disconnect();
    }
  }).observe(document, { childList: true, subtree: true, characterData: true });
}

/** GrowthBook's figures of one traced load, in ms: the union of its main-thread events (GB_EVENTS
 * with its URL) that start before the changed headline is in the page, each counted whole (the
 * copy is not painted before the task that changed it ends; splitbeam's evaluation counts whole
 * too). `changedAt` is performance.now() from watchHeadline, undefined if the copy never changed. */
function fromGrowthBookTrace(events, changedAt) {
  const evaluate = events.find((e) => e.name === 'EvaluateScript' && GB_SCRIPT.test(e.args?.data?.url || ''));
  if (!evaluate) throw new Error('the trace has no EvaluateScript event for GrowthBook\'s auto.min.js (did the script load? is the setup still served at /growthbook/auto.min.js?)');
  const navigation = pageNavigation(events, evaluate);
  if (changedAt == null) return { evaluation: null, calls: null, beforeChange: null, changed: false };
  const changeTs = navigation.ts + changedAt * 1000;
  // The change is GrowthBook's own work: it cannot come before its script started.
  if (changeTs < evaluate.ts) throw new Error(`the headline changed ${((evaluate.ts - changeTs) / 1000).toFixed(1)} ms before auto.min.js was evaluated (page time not mapped onto the trace?)`);
  // From its evaluation on: on the next view, the previous page's GrowthBook can still run in the
  // trace before it is unloaded (its 500 ms URL-polling interval).
  const spans = events
    .filter((e) => e.pid === evaluate.pid && e.tid === evaluate.tid && e.ph === 'X' && GB_EVENTS.has(e.name))
    .filter((e) => GB_SCRIPT.test(e.args?.data?.url || '') && e.ts >= evaluate.ts && e.ts < changeTs)
    .map((e) => [e.ts, e.ts + e.dur]);
  const beforeChange = unionLength(spans) / 1000;
  const evaluation = evaluate.dur / 1000;
  return { evaluation, calls: Math.max(0, beforeChange - evaluation), beforeChange, changed: true };
}

/** One traced view of GrowthBook's page in `page` (its init script watches the headline). */
async function measureGrowthBookView(browser, page, baseUrl) {
  await browser.startTracing(page, { categories: CATEGORIES });
  let trace;
  try {
    await page.goto(`${baseUrl}/?setup=${GB_SETUP}&config=1`, { waitUntil: 'load' });
    await settle(page, true, VARIANT);
  } finally {
    trace = JSON.parse((await browser.stopTracing()).toString('utf8'));
  }
  const changedAt = await page.evaluate(() => window.__gbChangedAt);
  return fromGrowthBookTrace(trace.traceEvents || trace, changedAt);
}

/** GrowthBook's first-time visitor: the first page view, then the next one in the same tab. */
async function measureGrowthBookLoad(browser, baseUrl, profile) {
  return freshLoad(
    browser,
    async (page) => {
      await page.addInitScript(watchHeadline, VARIANT);
      const first = await measureGrowthBookView(browser, page, baseUrl);
      const next = await measureGrowthBookView(browser, page, baseUrl);
      return { first, next };
    },
    profile,
  );
}

/** One traced page view of the storefront in `page` (a fresh context's first view, or a later one). */
async function measureView(browser, page, baseUrl, config) {
  await browser.startTracing(page, { categories: CATEGORIES });
  let trace;
  try {
    await page.goto(`${baseUrl}/?setup=splitbeam&config=${config}&wasm-timing`, { waitUntil: 'load' });
    await settle(page, true, VARIANT);
    // The whole snippet loads after the reveal and the page's `load` (up to 1 s later): the trace
    // runs until it has started, or the after-the-reveal column would miss it (counted if not).
    await page.waitForFunction(() => window.__wasmTiming.calls.some((c) => c.name === 'start_snippet'), null, { timeout: 10000 }).catch(() => {});
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

/** `peer: false` leaves GrowthBook out (one fresh context fewer per round: bench/compile-hint.mjs
 * assigns its arms by counting contexts, two per round). */
export async function startupBench({ browser, baseUrl, loads, profile = 'desktop', log = () => {}, peer = true }) {
  const results = { 1: [], 50: [], growthbook: [] };
  for (let i = 0; i < loads; i++) {
    // GrowthBook in the same rounds, first or last by turns, so that drift in the machine's load
    // reaches it as it reaches splitbeam.
    const order = i % 2 ? ['50', '1'] : ['1', '50'];
    if (peer) i % 2 ? order.unshift('growthbook') : order.push('growthbook');
    for (const config of order) {
      results[config].push(config === 'growthbook' ? await measureGrowthBookLoad(browser, baseUrl, profile) : await measureLoad(browser, baseUrl, config, profile));
    }
    log(`  start-up (${profile}): round ${i + 1}/${loads}`);
  }
  const row = (config, view) => {
    const runs = results[config].map((r) => r[view]);
    const col = (key) => ms(median(runs.map((r) => r[key])), 1);
    return [
      `${config} experiment${config === '1' ? '' : 's'}, ${view === 'first' ? "a new visitor's first page view" : 'their next page view (same tab)'}`,
      String(runs.length),
      col('tag'),
      col('loader'),
      col('compile'),
      col('decide'),
      col('beforeReveal'),
      ms(percentile(runs.map((r) => r.beforeReveal), 90), 1),
      ms(median(runs.filter((r) => r.wholeStarted).map((r) => r.after)), 1),
      String(runs.filter((r) => !r.started).length),
      String(runs.filter((r) => !r.wholeStarted).length),
    ];
  };
  const header = ['config', 'loads', 'inline tag', 'splitbeam.js evaluation', 'first-paint module compile (main thread)', 'decide + apply', 'before the reveal (median)', 'before the reveal p90', 'the whole snippet after the reveal (glue evaluation + compile + start + calls)', 'loads where decide never ran', 'loads where the whole snippet had not started within 10 s'];
  const delta = median(results[50].map((r) => r.first.decide)) - median(results[1].map((r) => r.first.decide));
  const markdown =
    `### Snippet main-thread time (medians, fresh context per load, ${PROFILES[profile].label})\n\n` +
    table(header, [row('1', 'first'), row('1', 'next'), row('50', 'first'), row('50', 'next')]) +
    `\n\n50 experiments with conditions vs 1: decide + apply takes ${ms(delta, 1)} more (median vs median). ` +
    'The recommended install (the inline tag). The inline tag is its own run in the page\'s parser (hiding, the first storage ' +
    'access, fetching the module and adding splitbeam.js), timed in the page between the script before it and one after it. ' +
    'splitbeam.js evaluation is the trace\'s `EvaluateScript` of it (compile ' +
    'included) except what of it is module compile or decide + apply: when the ' +
    'module is ready before the script runs, `decide` and the reveal run in the microtask checkpoint at the end of its evaluation, ' +
    'inside that trace event, and "before the reveal" is the union of the four, each counted once; module compile is the union of the main-thread `v8.wasm` ' +
    'trace events before the reveal except per-function lazy compiles, which happen inside the calls; the wasm calls are ' +
    'the outermost calls from the page into the modules, timed by a wrapper around `WebAssembly.instantiateStreaming` in the ' +
    'page (the snippet is unchanged); decide + apply runs from the moment the first-paint module is ready (its ' +
    'instantiation resolved) to the reveal: the loader\'s storage reads and the module\'s input built in JavaScript, the ' +
    '`decide` call, and the loader\'s JavaScript applying the changes (a mutation observer in the page sees the hiding style go). ' +
    'The whole snippet, which loads after the reveal and the page\'s `load`: each trace runs until its `start_snippet` call (10 s at most), and the ' +
    'after-the-reveal column is the median over the loads in which it started. Tracing adds some overhead of its own. The next page view loads the same page again ' +
    'in the same tab, with the HTTP cache warm.' +
    (peer ? '\n\n' + growthbookMarkdown(results, profile) : '');
  return { markdown, results };
}

/** The peer's table: GrowthBook on the 1-experiment page, loads interleaved with splitbeam's. */
function growthbookMarkdown(results, profile) {
  const row = (view) => {
    const runs = results.growthbook.map((r) => r[view]);
    const col = (key) => ms(median(runs.map((r) => r[key])), 1);
    return [
      `${GB_LABEL}, 1 experiment, ${view === 'first' ? "a new visitor's first page view" : 'their next page view (same tab)'}`,
      String(runs.length),
      col('evaluation'),
      col('calls'),
      col('beforeChange'),
      ms(percentile(runs.map((r) => r.beforeChange), 90), 1),
      '–',
      String(runs.filter((r) => !r.changed).length),
    ];
  };
  const header = ['setup', 'loads', 'auto.min.js evaluation', 'its other main-thread work outside the evaluation', 'before the changed copy (median)', 'before the changed copy p90', 'after the changed copy', 'loads where the copy never changed'];
  const ratio = (view) => {
    const gb = median(results.growthbook.map((r) => r[view].beforeChange));
    const sb = median(results[1].map((r) => r[view].beforeReveal));
    return `${view === 'first' ? 'first page view' : 'next page view'} ${ms(sb, 1)} against ${ms(gb, 1)}${gb && sb != null ? ` (${(sb / gb).toFixed(2)}x GrowthBook's)` : ''}`;
  };
  return (
    `### GrowthBook's main-thread time before its changed copy (medians, same rounds, ${PROFILES[profile].label})\n\n` +
    table(header, [row('first'), row('next')]) +
    `\n\nsplitbeam before the reveal against GrowthBook before the changed copy, 1 experiment (median vs median): ${ratio('first')}; ${ratio('next')}. ` +
    'GrowthBook\'s recommended async install with its payload inline (the same headline experiment as a visual-editor change), one fresh ' +
    'context per load in the same rounds as splitbeam\'s, first or last by turns, traced the same way. "Before the changed copy" is the union ' +
    'of the main-thread trace events that carry auto.min.js\'s URL (`EvaluateScript`, with the compile and the microtask checkpoint at its end inside it; ' +
    '`v8.compile`, `v8.produceCache`; `FunctionCall`: its mutation observers, event listeners and timers) that start before `#hero h1` first reads the ' +
    'variant, each counted whole, since the copy cannot be painted before the task that changed it ends (splitbeam\'s evaluation also counts whole). ' +
    'The moment is taken by a mutation observer added before any page script (`page.addInitScript`) and placed in the trace through the page\'s `navigationStart`; ' +
    'with no anti-flicker set, the changed text is what the visitor sees in the next frame, as splitbeam\'s reveal is. "Its other main-thread work" is ' +
    'what of that lies outside `EvaluateScript`. One difference in splitbeam\'s disfavour: its decide + apply is the wall time between two ' +
    'moments in the page, so other main-thread work in between counts there, where GrowthBook\'s figure holds only events of its own script. Not counted, for either: parsing and compiling on a background thread (GrowthBook\'s script is streamed), and ' +
    'the style and layout work that follows the change; on the next view, the previous page\'s GrowthBook timers that fire before it is unloaded. ' +
    'There is no module compile or `decide` to split out of GrowthBook\'s time: its evaluation runs the payload\'s experiment and applies the change, ' +
    'or, when the headline is not parsed yet, its mutation observer applies it as the parser inserts it. "After the changed copy" is –: splitbeam\'s column is the whole snippet\'s wasm compile and calls, ' +
    'which GrowthBook has no counterpart of (its work after the change is the observers it keeps running for the rest of the page\'s life).'
  );
}
