// (b) Flicker and paint, side by side: the same storefront and headline experiment, loaded fresh
// N times per setup under a profile (desktop, mobile); the setups take turns so that drift hits each
// of them alike. Each load is a first visit; the same visitor then views the page again (the repeat
// view: the HTTP cache warm, splitbeam's modules from it).
import { SETUPS } from './lib/server.mjs';
import { freshLoad, settle, PROFILES } from './lib/browser.mjs';
import { ORIGINAL, VARIANT } from './lib/configs.mjs';
import { bootstrapInterval, median, percentile, ms, table } from './lib/stats.mjs';

const pct = (x) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)} %`;

/** One view of `setup` in `page`: what the probe saw, reduced to this view's figures. */
async function measureView(page, baseUrl, setup) {
  const changes = setup !== 'none';
  // A load that does not finish (an overloaded machine) counts as what the probe saw by then.
  await page.goto(`${baseUrl}/?setup=${setup}`, { waitUntil: 'load', timeout: 60000 }).catch(() => {});
  await settle(page, changes, VARIANT);
  const { frames, fcp } = (await page.evaluate(() => window.__probe).catch(() => null)) || { frames: [], fcp: null };
  const first = (pred) => frames.find(pred)?.t ?? null;
  // Visible for good: the frame after the last one in which anything was hidden (GrowthBook's
  // anti-flicker can hide the page after it was first shown).
  const lastHidden = frames.findLastIndex((f) => !f.pageShown);
  return {
    frames: frames.length,
    flickered: changes && frames.some((f) => f.text === ORIGINAL && f.heroShown),
    fcp,
    changedVisible: changes ? first((f) => f.text === VARIANT && f.heroShown) : null,
    // The first frame showing the headline at all: without a script, the floor for any setup's changed copy.
    heroVisible: first((f) => f.heroShown),
    pageVisible: frames[lastHidden + 1]?.t ?? null,
    variantSeen: frames.some((f) => f.text === VARIANT && f.heroShown),
  };
}

/** A first visit, then (with `repeat`) the same visitor's next view of the page. */
async function measureLoad(browser, baseUrl, setup, profile, repeat) {
  return freshLoad(
    browser,
    async (page) => {
      const first = await measureView(page, baseUrl, setup);
      if (repeat) first.repeat = await measureView(page, baseUrl, setup);
      return first;
    },
    profile,
  );
}

export async function flickerBench({ browser, baseUrl, loads, profile = 'desktop', repeat = true, setups = Object.keys(SETUPS), log = () => {} }) {
  const results = Object.fromEntries(setups.map((s) => [s, []]));
  for (let i = 0; i < loads; i++) {
    // Rotate the order each round: no setup always runs first after a context switch.
    for (let k = 0; k < setups.length; k++) {
      const setup = setups[(i + k) % setups.length];
      results[setup].push(await measureLoad(browser, baseUrl, setup, profile, repeat));
    }
    log(`  flicker (${profile}): round ${i + 1}/${loads}`);
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
  const peer = results['gb-inline'] ? median(results['gb-inline'].map((r) => r.changedVisible)) : null;
  const peerRepeat = results['gb-inline'] && repeat ? median(results['gb-inline'].map((r) => r.repeat.changedVisible)) : null;
  const ratio = (v, of) => (v == null || !of ? '—' : `${(v / of).toFixed(2)}x`);
  const rows = setups.map((setup) => {
    const runs = results[setup];
    const changes = setup !== 'none';
    const flickering = runs.filter((r) => r.flickered).length;
    const missed = runs.filter((r) => changes && !r.variantSeen).length;
    const shown = median(runs.map((r) => r.changedVisible));
    const shownRepeat = repeat && changes ? median(runs.map((r) => r.repeat.changedVisible)) : null;
    return [
      SETUPS[setup].label,
      String(runs.length),
      changes ? `${flickering}` : '—',
      changes ? `${missed}` : '—',
      ms(median(runs.map((r) => r.fcp))),
      showVsNone(fcpVsNone(setup)),
      changes ? ms(shown) : '—',
      changes ? ratio(shown, peer) : '—',
      ms(median(runs.map((r) => r.pageVisible))),
      repeat ? repeatCell(runs, changes, shownRepeat, peerRepeat, ratio) : '—',
    ];
  });
  const header = ['setup', 'loads', 'loads with a flicker frame', 'loads that ended on the original (timeout)', 'median FCP', 'FCP vs no script: median of paired rounds (95 % bootstrap interval)', 'median changed copy visible', 'vs GrowthBook async', 'median page fully visible', 'repeat view: changed copy visible (vs GrowthBook); without a script, the headline first visible (vs GrowthBook)'];
  const markdown =
    `### Flicker and paint, ${PROFILES[profile].label} (headless Chromium, fresh context per load, files gzip -9)\n\n` +
    table(header, rows) +
    '\n\nTimes are from navigation start. A flicker frame is a requestAnimationFrame callback in which `#hero h1` shows ' +
    'the original copy and is visible (not `visibility:hidden`, no ancestor `display:none` or `opacity:0`). ' +
    '"Page fully visible": the first frame from which on the footer (the last element) and the headline are both visible in ' +
    'every frame. FCP comes from the Paint Timing API (presentation time); the other times are taken in the ' +
    'requestAnimationFrame callback of the frame, which runs before that frame is presented, so they can be earlier than FCP. ' +
    '"vs GrowthBook async" divides by the median of GrowthBook async with its payload inline. The repeat view loads the page ' +
    'again in the same context (HTTP cache warm; splitbeam.js is sent `max-age=0, stale-while-revalidate`, its modules immutable). ' +
    'For the page without a script the repeat column gives the first frame showing the headline at all: no script can show ' +
    'changed copy earlier, so its ratio to GrowthBook is the floor of every setup\'s repeat-view ratio.' +
    budgetLine(fcpVsNone('splitbeam'));
  return { markdown, results };
}

/** The repeat view's cell: changed copy visible, or for the page without a script the headline's first visible frame. */
function repeatCell(runs, changes, shownRepeat, peerRepeat, ratio) {
  if (!changes) {
    const hero = median(runs.map((r) => r.repeat.heroVisible));
    return `headline visible ${ms(hero)} (${ratio(hero, peerRepeat)})`;
  }
  return `${ms(shownRepeat)} (${ratio(shownRepeat, peerRepeat)}); ${runs.filter((r) => r.repeat.flickered).length} flickered`;
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
