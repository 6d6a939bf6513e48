// Lighthouse 12.2.3, performance category, on the pages of bench/paint.mjs (same setups, same gzip
// server, no flicker probe): default mobile settings (simulated throttling) and the desktop preset,
// LH_RUNS runs each (default 5), interleaved per run. Medians of FCP, LCP and TBT, and whether a
// splitbeam file is listed under "Eliminate render-blocking resources".
// `node bench/lighthouse.mjs` (LH_RUNS=1 for a quick look; BENCH_SETUPS narrows the setups; LH_NO_HOOK=1
// leaves the trace-engine hook out, to see the audits it rescues error).
import { register } from 'node:module';
import { pathToFileURL } from 'node:url';
import { context, startPaintServer } from './lib/paint-server.mjs';
import { chooseSetups } from './lib/paint-setups.mjs';
import { median, ms, table } from './lib/stats.mjs';

// Before Lighthouse is imported: make the trace engine's one read of a field Chromium 156 dropped optional.
if (process.env.LH_NO_HOOK !== '1') register('./lib/lighthouse-hook.mjs', import.meta.url);

const CHROME_FLAGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const IS_SPLITBEAM = /\/splitbeam[^/]*\.(js|wasm)(\?|$)/;

async function lighthouseModules() {
  const { default: lighthouse } = await import('lighthouse');
  const { default: desktopConfig } = await import('lighthouse/core/config/desktop-config.js');
  const chromeLauncher = await import('chrome-launcher');
  return { lighthouse, desktopConfig, chromeLauncher };
}

/** One Lighthouse run: the figures, the render-blocking verdict and any audit error. */
async function runOnce(lighthouse, port, url, config) {
  const result = await lighthouse(url, { port, output: 'json', logLevel: 'error', onlyCategories: ['performance'] }, config);
  const lhr = result?.lhr;
  if (!lhr) return { error: 'no result' };
  // LH_DUMP=<dir>: keep every report, to see what Lantern's estimate was built from.
  if (process.env.LH_DUMP) {
    const { mkdirSync, writeFileSync } = await import('node:fs');
    mkdirSync(process.env.LH_DUMP, { recursive: true });
    const name = `${new URL(url).searchParams.get('setup')}-${lhr.configSettings.formFactor}-${Date.now()}.json`;
    writeFileSync(`${process.env.LH_DUMP}/${name}`, JSON.stringify(lhr));
    const events = result.artifacts?.Trace?.traceEvents;
    if (events) writeFileSync(`${process.env.LH_DUMP}/${name.replace('.json', '.trace.json')}`, JSON.stringify(events));
  }
  const audit = (id) => lhr.audits[id] || {};
  const value = (id) => (typeof audit(id).numericValue === 'number' ? audit(id).numericValue : null);
  const blocking = audit('render-blocking-resources');
  const blockingError = blocking.scoreDisplayMode === 'error' ? blocking.errorMessage || 'error' : null;
  const items = blocking.details?.items || [];
  const splitbeam = items.filter((item) => IS_SPLITBEAM.test(item.url || ''));
  const lcpElement = audit('largest-contentful-paint-element');
  return {
    fcp: value('first-contentful-paint'),
    lcp: value('largest-contentful-paint'),
    tbt: value('total-blocking-time'),
    blockingError,
    splitbeamBlocking: blockingError ? null : splitbeam.map((item) => ({ path: new URL(item.url).pathname, wastedMs: item.wastedMs })),
    otherErrors: ['largest-contentful-paint-element', 'layout-shifts']
      .filter((id) => audit(id).scoreDisplayMode === 'error')
      .map((id) => `${id}: ${audit(id).errorMessage}`),
    lcpElementError: lcpElement.scoreDisplayMode === 'error',
    runtimeError: lhr.runtimeError?.message || null,
  };
}

const PRESETS = [
  { id: 'mobile', label: 'Lighthouse default mobile (simulated: 150 ms RTT, 1.6 Mbit/s, 4x CPU)', config: () => undefined },
  { id: 'desktop', label: 'Lighthouse desktop preset (simulated: 40 ms RTT, 10 Mbit/s, no CPU slowdown)', config: (m) => m.desktopConfig },
];

function presetTable(preset, setups, results) {
  const runsOf = (id) => results[preset.id][id];
  const gb = setups.find((s) => s.id === 'gb-async');
  const none = setups.find((s) => s.id === 'none');
  const med = (id, key) => median(runsOf(id).map((r) => r[key]));
  const rel = (a, b) => (a == null || b == null || !b ? '—' : `${a >= b ? '+' : ''}${((a / b - 1) * 100).toFixed(1)} %`);
  const rows = setups.map((setup) => {
    const runs = runsOf(setup.id);
    const ok = runs.filter((r) => r.fcp != null);
    const errored = runs.filter((r) => r.blockingError);
    const listed = runs.filter((r) => r.splitbeamBlocking?.length);
    let blockingCell;
    if (!setup.id.startsWith('splitbeam')) blockingCell = '—';
    else if (errored.length === runs.length) blockingCell = `audit errored in every run (${errored[0].blockingError})`;
    else {
      const files = [...new Set(listed.flatMap((r) => r.splitbeamBlocking.map((b) => b.path)))];
      const wasted = median(listed.map((r) => r.splitbeamBlocking.reduce((s, b) => s + (b.wastedMs || 0), 0)));
      blockingCell =
        (listed.length ? `yes, ${listed.length}/${runs.length - errored.length} runs: ${files.join(', ')} (median ${ms(wasted)} est. savings)` : `no (0/${runs.length - errored.length} runs)`) +
        (errored.length ? `; audit errored in ${errored.length} runs` : '');
    }
    return [
      setup.label,
      `${ok.length}/${runs.length}`,
      ms(med(setup.id, 'fcp')),
      none && setup !== none ? rel(med(setup.id, 'fcp'), med(none.id, 'fcp')) : '—',
      ms(med(setup.id, 'lcp')),
      gb && setup.changes && setup !== gb ? `${(med(setup.id, 'lcp') / med(gb.id, 'lcp')).toFixed(2)}x` : '—',
      ms(med(setup.id, 'tbt')),
      blockingCell,
    ];
  });
  const header = ['setup', 'runs with figures', 'median FCP', 'FCP vs no script (medians)', 'median LCP', 'LCP vs GrowthBook async', 'median TBT', 'splitbeam file under "render-blocking resources"'];
  return `#### ${preset.label}\n\n${table(header, rows)}`;
}

/** Runs Lighthouse `runs` times per preset and setup against `baseUrl`; returns { markdown, results }. */
export async function lighthouseBench({ baseUrl, setups, runs, notes = [], log = () => {} }) {
  const modules = await lighthouseModules();
  const chrome = await modules.chromeLauncher.launch({ chromePath: '/usr/bin/chromium', chromeFlags: CHROME_FLAGS });
  const results = Object.fromEntries(PRESETS.map((p) => [p.id, Object.fromEntries(setups.map((s) => [s.id, []]))]));
  try {
    for (let i = 0; i < runs; i++) {
      for (let q = 0; q < PRESETS.length; q++) {
        const preset = PRESETS[(i + q) % PRESETS.length];
        for (let k = 0; k < setups.length; k++) {
          const setup = setups[(i + k) % setups.length];
          let r;
          try {
            r = await runOnce(modules.lighthouse, chrome.port, `${baseUrl}/?setup=${setup.id}&probe=0`, preset.config(modules));
          } catch (err) {
            r = { error: err.message };
          }
          if (r.error || r.runtimeError) log(`  lighthouse ${preset.id} ${setup.id}: ${r.error || r.runtimeError}`);
          results[preset.id][setup.id].push(r);
        }
      }
      log(`  lighthouse: run ${i + 1}/${runs}`);
    }
  } finally {
    await chrome.kill();
  }
  const all = Object.values(results).flatMap((bySetup) => Object.values(bySetup).flat());
  const blockingErrors = [...new Set(all.map((r) => r.blockingError).filter(Boolean))];
  const otherErrors = [...new Set(all.flatMap((r) => r.otherErrors || []))];
  const traceNote = blockingErrors.length
    ? `The render-blocking-resources audit errored in ${all.filter((r) => r.blockingError).length} of ${all.length} runs ${process.env.LH_NO_HOOK === '1' ? 'with the trace-engine hook left out (LH_NO_HOOK=1)' : 'even with the trace-engine hook (bench/lib/lighthouse-hook.mjs)'}: ${blockingErrors.join('; ')}.`
    : `The render-blocking-resources audit ran in all ${all.length} runs (with bench/lib/lighthouse-hook.mjs making the trace engine's read of \`chrome_frame_reporter.frame_sequence\` optional).`;
  const markdown =
    `### Lighthouse 12.2.3, performance category (${runs} runs per setup and preset, medians)\n\n` +
    PRESETS.map((p) => presetTable(p, setups, results)).join('\n\n') +
    '\n\nThe same pages as the paint tables (same gzip server and cache headers, without the flicker probe), run through ' +
    "Lighthouse's Node API on one headless Chromium (`chrome-launcher`, `--headless=new`); Lighthouse clears the origin's " +
    'cache and storage before each run (first visit). Throttling is simulated (Lantern), so FCP and LCP are estimates from ' +
    'the observed load; TBT varies with the machine\'s load. Lighthouse lists a render-blocking resource only when its ' +
    'estimated savings reach 50 ms (MINIMUM_WASTED_MS in its audit), so "no" means under that threshold, not zero. ' +
    traceNote +
    (otherErrors.length ? ` Other trace-based audits that errored: ${otherErrors.join('; ')}.` : '') +
    (notes.length ? '\n\n' + notes.map((n) => `Note: ${n}.`).join('\n') : '');
  return { markdown, results };
}

/** The server and setups for a standalone run (also used by bench/run.mjs). */
export async function runLighthouse({ runs = +(process.env.LH_RUNS || 5), log = (l) => console.error(l) } = {}) {
  const ctx = context();
  const { setups, notes } = chooseSetups(ctx);
  for (const n of notes) log(`lighthouse: ${n}`);
  const server = await startPaintServer(ctx, setups);
  try {
    log(`== lighthouse: ${runs} runs per setup and preset, ${setups.length} setups`);
    const started = Date.now();
    const out = await lighthouseBench({ baseUrl: server.url, setups, runs, notes: [...notes, ...server.notes], log });
    log(`  lighthouse: done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    return out;
  } finally {
    await server.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { markdown } = await runLighthouse();
  console.log(markdown);
}
