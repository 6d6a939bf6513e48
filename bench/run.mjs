// `npm run bench` (via scripts/bench.sh): size, flicker and paint on the desktop and mobile profiles
// with a repeat view, start-up time, the browser's first use of storage and fetch() (bench/first-use.mjs), Lighthouse (bench/lighthouse.mjs) and the native assignment
// figures as Markdown tables, printed and written to bench/results.md. No assertions.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { benchDir } from './lib/configs.mjs';
import { startServer } from './lib/server.mjs';
import { launch } from './lib/browser.mjs';
import { sizeBench } from './size.mjs';
import { flickerBench } from './flicker.mjs';
import { startupBench } from './startup.mjs';
import { firstUseBench } from './first-use.mjs';
import { criterionSummary } from './criterion.mjs';
import { runLighthouse } from './lighthouse.mjs';

const { values: options } = parseArgs({
  options: {
    loads: { type: 'string', default: process.env.BENCH_LOADS || '20' },
    'startup-loads': { type: 'string', default: process.env.BENCH_STARTUP_LOADS || '20' },
    'first-use-loads': { type: 'string', default: process.env.BENCH_FIRST_USE_LOADS || '12' },
    // Lighthouse runs per setup and preset: bench/lighthouse.mjs. 0 skips.
    'lh-runs': { type: 'string', default: process.env.LH_RUNS || '5' },
    criterion: { type: 'string' },
    out: { type: 'string', default: path.join(benchDir, 'results.md') },
  },
});
const log = (line) => console.error(line);

function chromiumVersion() {
  try {
    return execFileSync('/usr/bin/chromium', ['--version'], { encoding: 'utf8' }).trim();
  } catch (_) {
    return 'chromium (version unknown)';
  }
}

const sections = [];
log('== (a) size');
sections.push(sizeBench().markdown);

const server = await startServer();
let browser;
try {
  browser = await launch();
  for (const profile of ['desktop', 'mobile']) {
    log(`== (b) flicker and paint, ${profile}: ${options.loads} loads per setup`);
    sections.push((await flickerBench({ browser, baseUrl: server.url, loads: +options.loads, profile, log })).markdown);
  }
  for (const profile of ['desktop', 'mobile']) {
    log(`== (c) start-up, ${profile}: ${options['startup-loads']} loads per config`);
    sections.push((await startupBench({ browser, baseUrl: server.url, loads: +options['startup-loads'], profile, log })).markdown);
    log(`== (c) the browser's first use of storage, cookies and fetch(), ${profile}: ${options['first-use-loads']} loads per setup`);
    sections.push((await firstUseBench({ browser, baseUrl: server.url, loads: +options['first-use-loads'], profile, log })).markdown);
  }
} finally {
  await browser?.close();
  await server.close();
}

if (+options['lh-runs'] > 0) {
  log(`== (e) Lighthouse: ${options['lh-runs']} runs per setup and preset`);
  sections.push((await runLighthouse({ runs: +options['lh-runs'], log })).markdown);
}

if (options.criterion) sections.push(criterionSummary(options.criterion).markdown);

const machine = `${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} at the end, ${chromiumVersion()}, node ${process.version}`;
const markdown = `## Benchmarks\n\nMeasured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${machine}. Produced by \`npm run bench\`.\n\n${sections.join('\n\n')}\n`;
fs.writeFileSync(options.out, markdown);
console.log(markdown);
log(`written to ${path.relative(process.cwd(), options.out)}`);
