// Two builds of the snippet side by side: the start-up bench's first views (bench/startup.mjs),
// paired by round, the arms alternating, each build served by its own storefront server (same
// page, same gzip). Machine load shifts both arms alike, so the paired difference says what a
// change did where absolute figures cannot. The other build: a worktree of the commit before, built.
//   git worktree add /tmp/before <commit> && (cd /tmp/before && ln -s "$PWD/node_modules" . && bash scripts/build.sh)
//   node bench/ab-builds.mjs /tmp/before [rounds] [--mobile]
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch } from './lib/browser.mjs';
import { startupBench } from './startup.mjs';
import { median, ms, table } from './lib/stats.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const other = process.argv[2];
if (!other) throw new Error('usage: node bench/ab-builds.mjs <the other build\'s checkout> [rounds] [--mobile]');
const rounds = Number(process.argv.slice(3).find((a) => /^\d+$/.test(a)) || 10);
const profile = process.argv.includes('--mobile') ? 'mobile' : 'desktop';

/** A storefront server over `checkout`'s build in a child process (the server reads its files at import). */
function serve(checkout) {
  const env = { ...process.env, SPLITBEAM_DIST: path.join(checkout, 'dist'), SPLITBEAM_GLUE: path.join(checkout, 'target/splitbeam-glue') };
  const script = `import { startServer } from ${JSON.stringify(path.join(here, 'lib/server.mjs'))}; const s = await startServer(); console.log(s.url);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout.once('data', (data) => resolve({ url: String(data).trim(), stop: () => child.kill() }));
    child.once('exit', (code) => reject(new Error(`the server for ${checkout} exited (${code})`)));
  });
}

const arms = [
  { label: `other build (${path.basename(other)})`, server: await serve(other), runs: { 1: [], 50: [] } },
  { label: 'this build', server: await serve(root), runs: { 1: [], 50: [] } },
];
const browser = await launch();
try {
  for (let i = 0; i < rounds; i++) {
    for (const arm of i % 2 ? [...arms].reverse() : arms) {
      const { results } = await startupBench({ browser, baseUrl: arm.server.url, loads: 1, profile, peer: false });
      for (const config of ['1', '50']) arm.runs[config].push(results[config][0].first);
    }
    console.error(`  ab-builds (${profile}): round ${i + 1}/${rounds}`);
  }
} finally {
  await browser.close();
  arms.forEach((arm) => arm.server.stop());
}

const keys = [['tag', 'inline tag'], ['loader', 'splitbeam.js evaluation'], ['compile', 'module compile'], ['decide', 'decide + apply'], ['beforeReveal', 'before the reveal'], ['after', 'the whole snippet after the reveal']];
const rows = [];
for (const config of ['1', '50']) {
  for (const arm of arms) rows.push([`${config} experiment${config === '1' ? '' : 's'}, ${arm.label}`, ...keys.map(([key]) => ms(median(arm.runs[config].map((r) => r[key])), 1))]);
  // Paired by round: this build minus the other, the median of the differences.
  const diffs = (key) => arms[1].runs[config].map((r, i) => r[key] - arms[0].runs[config][i][key]);
  rows.push([`${config}: this − other, median of paired rounds`, ...keys.map(([key]) => ms(median(diffs(key)), 1))]);
}
console.log(`### Start-up, two builds paired (${profile}, ${rounds} first views each)\n`);
console.log(table(['', ...keys.map(([, label]) => label)], rows));
