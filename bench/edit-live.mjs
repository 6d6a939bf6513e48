// Edit → live: how long after a copy change a shop's next page view can get it from `splitbeam serve`.
// Two ways to edit: the dashboard's write API (`PUT /api/experiments/{key}/definition`, what the
// editor and the in-page editor send), and a hand edit of experiments.json (an editor's save: a new
// file renamed over the old one). Each round changes hero-headline's copy, then polls the public
// config route every 2 ms until it carries the new copy, and `/splitbeam.js` until its ETag changes.
// The real collector on 127.0.0.1 (the release build), bounded: ROUNDS rounds, 5 s per wait.
// `node bench/edit-live.mjs [rounds]`; prints a Markdown table. No assertions.
import { copyFile, readFile, rename, writeFile } from 'node:fs/promises';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startCollector, ADMIN_TOKEN, ROOT } from '../tests/e2e/lib/dashboard-collector.mjs';
import { median, percentile, ms, table } from './lib/stats.mjs';

const ROUNDS = Number(process.argv[2] || 10);
const KEY = 'hero-headline';
const WAIT_MS = 5000;
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

/** Polls `probe()` every 2 ms until it is true; the ms it took from `since`, or null after WAIT_MS. */
async function until(probe, since) {
  while (performance.now() - since < WAIT_MS) {
    if (await probe()) return performance.now() - since;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return null;
}

const withCopy = (experiment, copy) => {
  const changed = structuredClone(experiment);
  changed.variants[1].changes[0].text = copy;
  return changed;
};

const dir = mkdtempSync(path.join(tmpdir(), 'splitbeam-edit-live-'));
const config = path.join(dir, 'experiments.json');
await copyFile(path.join(ROOT, 'www/experiments.json'), config);
const collector = await startCollector({ config, site: null });
const { origin } = collector;
const loaderEtag = async () => (await fetch(`${origin}/splitbeam.js`)).headers.get('etag');
const configHas = async (copy) => (await (await fetch(`${origin}/experiments.json`)).text()).includes(copy);

const timings = { api: { answer: [], config: [], loader: [] }, hand: { config: [], loader: [] } };
try {
  for (let round = 0; round < ROUNDS; round++) {
    // Through the write API.
    const current = await (await fetch(`${origin}/api/experiments/${KEY}/definition`, { headers: admin })).json();
    const etagBefore = await loaderEtag();
    const copy = `Edited through the API, round ${round} ${Math.random().toString(36).slice(2)}`;
    const started = performance.now();
    const saved = await fetch(`${origin}/api/experiments/${KEY}/definition`, {
      method: 'PUT',
      headers: { ...admin, 'content-type': 'application/json', 'if-match': current.etag },
      body: JSON.stringify(withCopy(current.experiment, copy)),
    });
    if (!saved.ok) throw new Error(`the save was refused: ${saved.status} ${await saved.text()}`);
    timings.api.answer.push(performance.now() - started);
    timings.api.config.push(await until(() => configHas(copy), started));
    timings.api.loader.push(await until(async () => (await loaderEtag()) !== etagBefore, started));

    // By hand: a new file renamed over the old one, as editors save.
    const text = JSON.parse(await readFile(config, 'utf8'));
    const handCopy = `Edited by hand, round ${round} ${Math.random().toString(36).slice(2)}`;
    text.experiments = text.experiments.map((e) => (e.key === KEY ? withCopy(e, handCopy) : e));
    const handEtag = await loaderEtag();
    const next = `${config}.next`;
    await writeFile(next, JSON.stringify(text, null, 2));
    const renamed = performance.now();
    await rename(next, config);
    timings.hand.config.push(await until(() => configHas(handCopy), renamed));
    timings.hand.loader.push(await until(async () => (await loaderEtag()) !== handEtag, renamed));
  }
} finally {
  await collector.close();
}

const cell = (xs) => {
  const seen = xs.filter((x) => x != null);
  const missed = xs.length - seen.length;
  return `${ms(median(seen), 1)} / ${ms(percentile(seen, 90), 1)} / ${ms(Math.max(...seen), 1)}${missed ? ` (${missed} not within ${WAIT_MS} ms)` : ''}`;
};
console.log(
  `### Edit → live (\`node bench/edit-live.mjs ${ROUNDS}\`, ${ROUNDS} rounds, median / p90 / max)\n\n` +
    table(
      ['edit', 'answered', '`/experiments.json` has the new copy', '`/splitbeam.js` changed (its ETag)'],
      [
        ['dashboard or in-page editor (`PUT …/definition`)', cell(timings.api.answer), cell(timings.api.config), cell(timings.api.loader)],
        ['hand edit of experiments.json (rename)', '—', cell(timings.hand.config), cell(timings.hand.loader)],
      ],
    ) +
    '\n\nFrom the moment the save is sent (or the file renamed) to the first poll that sees the change; polls every 2 ms.',
);
