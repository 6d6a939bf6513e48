// (b) Flicker and paint, side by side: the same storefront and headline experiment, loaded fresh
// N times per setup at 40 ms latency; the setups take turns so that drift hits each of them alike.
import { SETUPS } from './lib/server.mjs';
import { freshLoad, settle, LATENCY_MS } from './lib/browser.mjs';
import { ORIGINAL, VARIANT } from './lib/configs.mjs';
import { bootstrapInterval, median, percentile, ms, table } from './lib/stats.mjs';

const pct = (x) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)} %`;

/** One load of `setup`: what the probe saw, reduced to this load's figures. */
async function measureLoad(browser, baseUrl, setup) {
  return freshLoad(browser, async (page) => {
    const changes = setup !== 'none';
    await page.goto(`${baseUrl}/?setup=${setup}`, { waitUntil: 'load' });
    await settle(page, changes, VARIANT);
    const { frames, fcp } = await page.evaluate(() => window.__probe);
    const first = (pred) => frames.find(pred)?.t ?? null;
    // Visible for good: the frame after the last one in which anything was hidden (GrowthBook's
    // anti-flicker can hide the page after it was first shown).
    const lastHidden = frames.findLastIndex((f) => !f.pageShown);
    return {
      frames: frames.length,
      flickered: changes && frames.some((f) => f.text === ORIGINAL && f.heroShown),
      fcp,
      changedVisible: changes ? first((f) => f.text === VARIANT && f.heroShown) : null,
      pageVisible: frames[lastHidden + 1]?.t ?? null,
      variantSeen: frames.some((f) => f.text === VARIANT && f.heroShown),
    };
  });
}

export async function flickerBench({ browser, baseUrl, loads, setups = Object.keys(SETUPS), log = () => {} }) {
  const results = Object.fromEntries(setups.map((s) => [s, []]));
  for (let i = 0; i < loads; i++) {
    // Rotate the order each round: no setup always runs first after a context switch.
    for (let k = 0; k < setups.length; k++) {
      const setup = setups[(i + k) % setups.length];
      results[setup].push(await measureLoad(browser, baseUrl, setup));
    }
    log(`  flicker: round ${i + 1}/${loads}`);
  }
  // Paired by round (the setups of one round load back to back): robust to the machine's drift.
  const pairedRatios = (setup) =>
    results[setup].map((r, i) => (r.fcp && results.none[i]?.fcp ? r.fcp / results.none[i].fcp - 1 : null));
  const fcpVsNone = (setup) => {
    if (!results.none || setup === 'none') return null;
    const ratios = pairedRatios(setup);
    const interval = bootstrapInterval(ratios);
    return { median: median(ratios), interval };
  };
  const showVsNone = (v) => (v == null ? '—' : pct(v.median) + (v.interval ? ` (${pct(v.interval[0])} to ${pct(v.interval[1])})` : ''));
  const rows = setups.map((setup) => {
    const runs = results[setup];
    const changes = setup !== 'none';
    const flickering = runs.filter((r) => r.flickered).length;
    const missed = runs.filter((r) => changes && !r.variantSeen).length;
    return [
      SETUPS[setup].label,
      String(runs.length),
      changes ? `${flickering}` : '—',
      changes ? `${missed}` : '—',
      ms(median(runs.map((r) => r.fcp))),
      `${ms(percentile(runs.map((r) => r.fcp), 25))}–${ms(percentile(runs.map((r) => r.fcp), 75))}`,
      showVsNone(fcpVsNone(setup)),
      changes ? ms(median(runs.map((r) => r.changedVisible))) : '—',
      ms(median(runs.map((r) => r.pageVisible))),
    ];
  });
  const header = ['setup', 'loads', 'loads with a flicker frame', 'loads never showing the variant', 'median FCP', 'FCP p25–p75', 'FCP vs no script: median of paired rounds (95 % bootstrap interval)', 'median changed copy visible', 'median page fully visible'];
  const markdown =
    `### Flicker and paint (headless Chromium, ${LATENCY_MS} ms latency, fresh context per load)\n\n` +
    table(header, rows) +
    '\n\nTimes are from navigation start. A flicker frame is a requestAnimationFrame callback in which `#hero h1` shows ' +
    'the original copy and is visible (not `visibility:hidden`, no ancestor `display:none` or `opacity:0`). ' +
    '"Page fully visible": the first frame from which on the footer (the last element) and the headline are both visible in ' +
    'every frame. FCP comes from the Paint Timing API (presentation time); the other times are taken in the ' +
    'requestAnimationFrame callback of the frame, which runs before that frame is presented, so they can be earlier than FCP.' +
    budgetLine(fcpVsNone('splitbeam'));
  return { markdown, results };
}

/** The first-paint budget (within 5 % of the page without the snippet), judged on the interval, not the median alone. */
function budgetLine(v) {
  if (!v || !v.interval) return '';
  const [low, high] = v.interval;
  const verdict =
    high <= 0.05
      ? 'met: the whole interval is within +5 %'
      : low > 0.05
        ? 'missed: the whole interval is above +5 %'
        : 'not shown either way: the interval straddles +5 % (more loads would narrow it)';
  return `\n\nBudget "first contentful paint within 5 % of the page without splitbeam": ${verdict}.`;
}
