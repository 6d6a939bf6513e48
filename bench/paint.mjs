// First visit and repeat view on two network/CPU profiles, side by side with GrowthBook, every file
// served gzip-compressed with real cache headers (bench/lib/paint-server.mjs). Per round, every
// profile and every setup (bench/lib/paint-setups.mjs) load once, in a rotating order: a fresh
// context loads the page (first visit), then the same tab loads it again (repeat view, HTTP cache warm).
// `node bench/paint.mjs` (BENCH_LOADS rounds, default 20; BENCH_SETUPS=none,splitbeam to narrow;
// BENCH_PROFILES=mobile to run one profile). Prints Markdown tables.
import { pathToFileURL } from 'node:url';
import { launch } from './lib/browser.mjs';
import { ORIGINAL, VARIANT } from './lib/configs.mjs';
import { context, startPaintServer } from './lib/paint-server.mjs';
import { chooseSetups } from './lib/paint-setups.mjs';
import { bootstrapInterval, median, ms, table } from './lib/stats.mjs';

/** Desktop as in the earlier bench; mobile as Lighthouse's default mobile throttling (slow 4G, 4x CPU). */
export const PROFILES = [
  {
    id: 'desktop',
    label: 'desktop: 40 ms latency, 1.5 MB/s down and up, no CPU slowdown',
    network: { offline: false, latency: 40, downloadThroughput: 1.5e6, uploadThroughput: 1.5e6 },
    cpu: 1,
  },
  {
    id: 'mobile',
    label: "mobile (Lighthouse's): 150 ms latency, 1.6 Mbit/s down, 750 kbit/s up, 4x CPU slowdown",
    // Lighthouse's constants: throughputKbps 1.6 * 1024, uploadThroughputKbps 750 (kbit = 1024 bit).
    network: { offline: false, latency: 150, downloadThroughput: (1.6 * 1024 * 1024) / 8, uploadThroughput: (750 * 1024) / 8 },
    cpu: 4,
  },
];

const TIMEOUT_LINE = /splitbeam: ready after the .* timeout/;
const SETTLE_MS = 8000;

/** Waits until the view settled: the page shown and the variant shown (or the timeout line logged), then two frames. */
async function settle(page, changes, timedOut) {
  const start = Date.now();
  while (Date.now() - start < SETTLE_MS) {
    const state = await page.evaluate(
      (variant) => {
        const frames = window.__probe?.frames || [];
        return { shown: frames.some((f) => f.pageShown), variant: frames.some((f) => f.text === variant && f.heroShown) };
      },
      VARIANT,
    );
    if (state.shown && (!changes || state.variant || timedOut())) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
}

/** One view of the page in `page`: navigates, settles, returns this view's figures. */
async function view(page, url, setup, console_) {
  console_.timedOut = false;
  await page.goto(url, { waitUntil: 'load', timeout: 60000 });
  await settle(page, setup.changes, () => console_.timedOut);
  const { frames, fcp, resources } = await page.evaluate(() => ({
    ...window.__probe,
    resources: performance.getEntriesByType('resource').map((e) => ({ name: e.name, transferSize: e.transferSize, decoded: e.decodedBodySize })),
  }));
  const variantSeen = frames.some((f) => f.text === VARIANT && f.heroShown);
  const wasm = resources.filter((r) => /\/splitbeam_bg\.[^/]*\.wasm/.test(r.name));
  return {
    fcp,
    flickered: setup.changes && frames.some((f) => f.text === ORIGINAL && f.heroShown),
    // The loader says so when its timeout struck; a load where the variant never showed ended on the original too.
    endedOriginal: setup.changes && (console_.timedOut || !variantSeen),
    timeoutLogged: console_.timedOut,
    changedVisible: setup.changes ? (frames.find((f) => f.text === VARIANT && f.heroShown)?.t ?? null) : null,
    wasmFromCache: wasm.length ? wasm.every((r) => r.transferSize === 0 && r.decoded > 0) : null,
  };
}

/** A fresh context (empty cache and storage) under `profile`: first visit, then a repeat view in the same tab. */
async function visit(browser, baseUrl, profile, setup) {
  const browserContext = await browser.newContext();
  try {
    const page = await browserContext.newPage();
    const cdp = await browserContext.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', profile.network);
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: profile.cpu });
    const console_ = { timedOut: false };
    page.on('console', (msg) => {
      if (TIMEOUT_LINE.test(msg.text())) console_.timedOut = true;
    });
    const url = `${baseUrl}/?setup=${setup.id}`;
    const first = await view(page, url, setup, console_);
    const repeat = await view(page, url, setup, console_);
    return { first, repeat };
  } finally {
    await browserContext.close();
  }
}

// Loads that ended on the original count as never (Infinity) in the median of "changed copy visible".
const changedTimes = (runs) => runs.map((r) => (r.endedOriginal ? Infinity : r.changedVisible));
function medianWithInfinity(values) {
  const xs = values.filter((v) => typeof v === 'number' && !Number.isNaN(v)).sort((a, b) => a - b);
  if (!xs.length) return null;
  const mid = xs.length >> 1;
  return xs.length % 2 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2;
}
const msOrNever = (v) => (v == null ? '—' : v === Infinity ? 'never (timeouts)' : ms(v));
const signed = (v, unit, digits = 0) => `${v >= 0 ? '+' : ''}${v.toFixed(digits)}${unit}`;
const ratio = (a, b) => (a == null || b == null || !Number.isFinite(a) || !Number.isFinite(b) || b === 0 ? '—' : `${(a / b).toFixed(2)}x`);

/** Paired by round: this setup's FCP minus the page without a script's, in the same round and profile. */
function pairedFcp(runs, baseline) {
  const diffs = runs.map((r, i) => (r.fcp != null && baseline[i]?.fcp != null ? r.fcp - baseline[i].fcp : null));
  const ratios = runs.map((r, i) => (r.fcp != null && baseline[i]?.fcp ? r.fcp / baseline[i].fcp - 1 : null));
  const d = median(diffs);
  if (d == null) return '—';
  const di = bootstrapInterval(diffs);
  const ri = bootstrapInterval(ratios);
  const pct = (x) => signed(x * 100, ' %', 1);
  return (
    `${signed(d, ' ms')}${di ? ` (${signed(di[0], '')} to ${signed(di[1], ' ms')})` : ''}; ` +
    `${pct(median(ratios))}${ri ? ` (${pct(ri[0])} to ${pct(ri[1])})` : ''}`
  );
}

function profileTables(profile, setups, results, loads) {
  const byId = (id) => results[profile.id][id];
  const gb = setups.find((s) => s.id === 'gb-async');
  const none = setups.find((s) => s.id === 'none');
  const rowsFor = (kind) =>
    setups.map((setup) => {
      const runs = byId(setup.id).map((r) => r[kind]);
      const changed = medianWithInfinity(changedTimes(runs));
      const gbChanged = gb ? medianWithInfinity(changedTimes(byId(gb.id).map((r) => r[kind]))) : null;
      const cells = [
        setup.label,
        String(runs.length),
        setup.changes ? String(runs.filter((r) => r.flickered).length) : '—',
        setup.changes ? `${runs.filter((r) => r.endedOriginal).length} (${runs.filter((r) => r.timeoutLogged).length} logged)` : '—',
        ms(median(runs.map((r) => r.fcp))),
        none && setup !== none ? pairedFcp(runs, byId(none.id).map((r) => r[kind])) : '—',
        setup.changes ? msOrNever(changed) : '—',
        setup.changes && gb ? ratio(changed, gbChanged) : '—',
      ];
      if (kind === 'repeat') {
        const wasm = runs.filter((r) => r.wasmFromCache != null);
        cells.push(wasm.length ? `${wasm.filter((r) => r.wasmFromCache).length}/${wasm.length}` : '—');
      }
      return cells;
    });
  const header = [
    'setup',
    'loads',
    'loads with a flicker frame',
    'loads ending on the original (of which the timeout line logged)',
    'median FCP',
    'FCP vs no script, paired by round: median Δ (95 % bootstrap interval); same as %',
    'median changed copy visible',
    'vs GrowthBook async',
  ];
  return (
    `#### ${profile.label}: first visit (fresh context, ${loads} loads per setup)\n\n` +
    table(header, rowsFor('first')) +
    `\n\n#### ${profile.label}: repeat view (same tab, HTTP cache warm)\n\n` +
    table([...header, 'splitbeam wasm from the HTTP cache'], rowsFor('repeat'))
  );
}

/** Runs `loads` rounds; returns { markdown, results }. */
export async function paintBench({ browser, baseUrl, setups, loads, profiles = PROFILES, notes = [], log = () => {} }) {
  const results = Object.fromEntries(profiles.map((p) => [p.id, Object.fromEntries(setups.map((s) => [s.id, []]))]));
  for (let i = 0; i < loads; i++) {
    for (let q = 0; q < profiles.length; q++) {
      const profile = profiles[(i + q) % profiles.length];
      // Rotate the order each round: no setup always runs first after a context switch.
      for (let k = 0; k < setups.length; k++) {
        const setup = setups[(i + k) % setups.length];
        results[profile.id][setup.id].push(await visit(browser, baseUrl, profile, setup));
      }
    }
    log(`  paint: round ${i + 1}/${loads}`);
  }
  const markdown =
    `### Flicker and paint on two profiles (headless Chromium, files gzip-compressed, ${loads} rounds)\n\n` +
    profiles.map((p) => profileTables(p, setups, results, loads)).join('\n\n') +
    '\n\nEach round loads every setup on every profile once, in a rotating order; the FCP difference pairs a setup\'s load with ' +
    "the page without a script's load of the same round and profile. Network: CDP `Network.emulateNetworkConditions`; CPU: " +
    '`Emulation.setCPUThrottlingRate`. Every file is served gzip -9 (`Content-Encoding: gzip`); `splitbeam_bg.<hash>*.wasm` ' +
    '`Cache-Control: public, max-age=31536000, immutable`, everything else (the page, splitbeam.js, auto.min.js, the CSS) ' +
    '`no-cache` with an ETag answered by 304. Flicker frame, FCP and times: as in the 40 ms table above (probe at the top of ' +
    '`<head>`, times from navigation start). A load "ends on the original" when the loader logged `splitbeam: ready after the ' +
    '… timeout` or the variant never showed within 8 s; such loads count as never in the median of "changed copy visible", and (showing the original by design) also as ' +
    'loads with a flicker frame, the probe\'s definition being any frame that shows the original copy visible. ' +
    '"vs GrowthBook async": this setup\'s median changed copy visible over GrowthBook async\'s, same profile and view.' +
    (notes.length ? '\n\n' + notes.map((n) => `Note: ${n}.`).join('\n') : '');
  return { markdown, results };
}

/** The server, the setups and the browser for a standalone run (also used by bench/run.mjs). */
export async function runPaint({ loads = +(process.env.BENCH_LOADS || 20), log = (l) => console.error(l) } = {}) {
  const ctx = context();
  const { setups, notes } = chooseSetups(ctx);
  for (const n of notes) log(`paint: ${n}`);
  const wanted = process.env.BENCH_PROFILES ? new Set(process.env.BENCH_PROFILES.split(',')) : null;
  const profiles = PROFILES.filter((p) => !wanted || wanted.has(p.id));
  const server = await startPaintServer(ctx, setups);
  let browser;
  try {
    browser = await launch();
    const started = Date.now();
    log(`== paint: ${loads} rounds, ${setups.length} setups, profiles ${profiles.map((p) => p.id).join(', ')}`);
    const out = await paintBench({ browser, baseUrl: server.url, setups, loads, profiles, notes: [...notes, ...server.notes], log });
    log(`  paint: done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    const s = server.stats;
    out.markdown += `\n\nServer: ${s.requests} requests, ${s.notModified} answered 304 (revalidations on repeat views).`;
    return out;
  } finally {
    await browser?.close();
    await server.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { markdown } = await runPaint();
  console.log(markdown);
}
