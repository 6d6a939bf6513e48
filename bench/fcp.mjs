// The first-paint budget alone, with enough loads to decide it: the page without a script and with
// splitbeam's recommended install (the inline tag), in alternating pairs (default 150 rounds;
// `node bench/fcp.mjs 300`; `--mobile` for the mobile profile).
// FCP moves in steps of a few ms here, one step being about 2 % of it, so 30 loads cannot tell
// +2 % from +6 %. Prints the table with the 95 % bootstrap interval and the verdict.
import { startServer } from './lib/server.mjs';
import { launch } from './lib/browser.mjs';
import { flickerBench } from './flicker.mjs';

const loads = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) || process.env.BENCH_FCP_LOADS || 150);
const profile = process.argv.includes('--mobile') ? 'mobile' : 'desktop';
const server = await startServer();
let browser;
try {
  browser = await launch();
  const { markdown } = await flickerBench({
    browser,
    baseUrl: server.url,
    loads,
    profile,
    setups: ['none', 'splitbeam'],
    log: (line) => /0\//.test(line) && console.error(line),
  });
  console.log(markdown);
} finally {
  await browser?.close();
  await server.close();
}
