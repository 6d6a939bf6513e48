// The loader with a fixture's config compiled in, as `splitbeam snippet` prints it (the browser
// never reads experiments.json itself), and the inline tag as `splitbeam tag` prints it. Needs
// the release build of the CLI (npm test builds it before the end-to-end tests).
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const cli = path.join(root, 'target/release/splitbeam');
// SPLITBEAM_DIST: another build's dist/ (the benchmarks compare builds with it).
const dist = process.env.SPLITBEAM_DIST || path.join(root, 'dist');
const cache = new Map();

const run = (args) => execFileSync(cli, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** `splitbeam snippet <configPath>`: splitbeam.js with the compiled config. */
export function bakedLoader(configPath) {
  if (!cache.has(configPath)) cache.set(configPath, run(['snippet', configPath, '--dist', dist]));
  return cache.get(configPath);
}

/** `splitbeam tag <configPath> --src <src> [--collector URL] [--consent required] [--timeout ms]`. */
export function inlineTag(configPath, src, { collector, consent, timeout } = {}) {
  const args = ['tag', configPath, '--src', src, '--dist', dist];
  if (collector) args.push('--collector', collector);
  if (consent) args.push('--consent', consent);
  if (timeout) args.push('--timeout', String(timeout));
  return run(args).trim();
}
