// The measurement behind the build's explicit compile hint (`//# allFunctionsCalledOnLoad` on the
// first line of splitbeam.js and the whole snippet's glue, scripts/build.sh): the start-up bench's
// first views, paired by round, with and without the hint. Both arms go through the same
// request interception (it serves the same bytes, with the hint's line removed in one arm), so the
// interception costs both alike. `node bench/compile-hint.mjs [rounds] [--mobile]` (needs `npm run build`).
import { launch } from './lib/browser.mjs';
import { startServer } from './lib/server.mjs';
import { startupBench } from './startup.mjs';
import { median, ms, table } from './lib/stats.mjs';

const HINT = '//# allFunctionsCalledOnLoad\n';
const rounds = Number(process.argv.find((a) => /^\d+$/.test(a)) || 10);
const profile = process.argv.includes('--mobile') ? 'mobile' : 'desktop';

const server = await startServer();
const browser = await launch();
try {
  // startupBench opens one context per load, two per round (1 and 50 experiments): the arm alternates by round.
  let contexts = 0;
  const newContext = browser.newContext.bind(browser);
  browser.newContext = async (...args) => {
    const context = await newContext(...args);
    const hinted = Math.floor(contexts++ / 2) % 2 === 1;
    await context.route(/\/splitbeam(_full\.[0-9a-f]{16})?\.js/, async (route) => {
      const response = await route.fetch();
      let body = await response.text();
      if (!body.startsWith(HINT)) throw new Error(`${route.request().url()} does not start with the compile hint: rebuild (npm run build)`);
      if (!hinted) body = body.slice(HINT.length);
      const headers = { ...response.headers(), 'content-length': String(Buffer.byteLength(body)) };
      delete headers['content-encoding'];
      await route.fulfill({ response, body, headers });
    });
    return context;
  };
  const { results } = await startupBench({ browser, baseUrl: server.url, loads: rounds * 2, profile, peer: false, log: (line) => console.error(line) });
  const rows = [];
  for (const config of ['1', '50']) {
    for (const hinted of [false, true]) {
      const runs = results[config].filter((_, i) => i % 2 === (hinted ? 1 : 0)).map((r) => r.first);
      const col = (key) => ms(median(runs.map((r) => r[key])), 1);
      rows.push([`${config} experiment${config === '1' ? '' : 's'}, ${hinted ? 'with' : 'without'} the hint`, String(runs.length), col('loader'), col('decide'), col('beforeReveal'), col('after')]);
    }
  }
  console.log(
    `### Explicit compile hint, a new visitor's first view (${profile}, medians)\n\n` +
      table(['config', 'loads', 'splitbeam.js evaluation', 'decide + apply', 'before the reveal', 'the whole snippet after the reveal'], rows),
  );
} finally {
  await browser.close();
  await server.close();
}
