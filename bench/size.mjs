// (a) Transfer size, gzip -9 (and brotli -q 11), of what a visitor's browser gets from splitbeam,
// sorted by when it is needed: inline in every page, the critical path (before the first hidden
// element is revealed), everything; for the headline experiment and for 50 experiments with
// conditions; next to GrowthBook's script and its inline payload.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { benchDir, fixtures, fiftyConfig, growthbookPayload } from './lib/configs.mjs';
import { bytes, kb, table } from './lib/stats.mjs';
import { bakedLoader, inlineTag } from '../tests/e2e/lib/compile.mjs';

const root = path.resolve(benchDir, '..');
export const BUDGETS = { inline: 3 * 1024, critical: 20 * 1024, criticalWithConditions: 30 * 1024, everything: 60 * 1024 };

/** Compressed size by the real CLI tools (stdin to stdout, so no file name lands in the gzip header). */
function compressedSize(tool, args, body) {
  const out = spawnSync(tool, args, { input: body, maxBuffer: 64 * 1024 * 1024 });
  if (out.error) throw new Error(`cannot run ${tool}: ${out.error.message}`);
  if (out.status !== 0) throw new Error(`${tool} ${args.join(' ')} failed: ${out.stderr}`);
  return out.stdout.length;
}

const measureBody = (body) => ({ raw: body.length, gzip: compressedSize('gzip', ['-9', '-c'], body), brotli: compressedSize('brotli', ['-q', '11', '-c'], body) });
export const measure = (file) => ({ file, ...measureBody(fs.readFileSync(path.join(root, file))) });
const add = (parts) => parts.reduce((sum, p) => ({ raw: sum.raw + p.raw, gzip: sum.gzip + p.gzip, brotli: sum.brotli + p.brotli }), { raw: 0, gzip: 0, brotli: 0 });

/** The dist/ file a built loader names with `prefix` (`splitbeam_first.`, `splitbeam_full.`, …). */
function named(loader, pattern) {
  const name = (loader.match(pattern) || [])[0];
  if (!name) throw new Error(`the built loader names no ${pattern}: run \`npm run build\``);
  return `dist/${name}`;
}

export function sizeBench() {
  const fifty = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'splitbeam-size-')), 'fifty.json');
  fs.writeFileSync(fifty, JSON.stringify(fiftyConfig()));
  const setups = {};
  for (const [label, file] of [['headline experiment', path.join(fixtures, 'experiments.json')], ['50 experiments with conditions', fifty]]) {
    const loader = bakedLoader(file);
    const tag = measureBody(Buffer.from(inlineTag(file, 'https://collect.example.com/splitbeam.js')));
    const js = measureBody(Buffer.from(loader));
    const first = measure(named(loader, /splitbeam_first(_audience)?\.[0-9a-f]{16}\.wasm/));
    const fullJs = measure(named(loader, /splitbeam_full\.[0-9a-f]{16}\.js/));
    const fullWasm = measure(named(loader, /splitbeam_bg\.[0-9a-f]{16}\.wasm/));
    setups[label] = { tag, js, first, fullJs, fullWasm, critical: add([tag, js, first]), everything: add([tag, js, first, fullJs, fullWasm]) };
  }
  const growthbook = measure('node_modules/@growthbook/growthbook/dist/bundles/auto.min.js');
  const payload = measureBody(Buffer.from(`<script>window.growthbook_config = { payload: ${JSON.stringify(growthbookPayload())} };</script>`));
  const cell = (f) => `${bytes(f.gzip)} (${kb(f.gzip)})`;
  const rows = [];
  for (const [label, s] of Object.entries(setups)) {
    rows.push([`${label}: inline tag (in every page)`, bytes(s.tag.raw), cell(s.tag), bytes(s.tag.brotli)]);
    rows.push([`${label}: \`splitbeam.js\` (loader, the first-paint module's boundary, compiled config)`, bytes(s.js.raw), cell(s.js), bytes(s.js.brotli)]);
    rows.push([`${label}: first-paint module (\`${path.basename(s.first.file).replace(/\.[0-9a-f]{16}/, '.<hash>')}\`)`, bytes(s.first.raw), cell(s.first), bytes(s.first.brotli)]);
    rows.push([`**${label}: critical path**`, bytes(s.critical.raw), `**${cell(s.critical)}**`, bytes(s.critical.brotli)]);
    rows.push([`${label}: the whole snippet, after the reveal (glue + module)`, bytes(s.fullJs.raw + s.fullWasm.raw), cell(add([s.fullJs, s.fullWasm])), bytes(s.fullJs.brotli + s.fullWasm.brotli)]);
    rows.push([`**${label}: everything**`, bytes(s.everything.raw), `**${cell(s.everything)}**`, bytes(s.everything.brotli)]);
  }
  rows.push(['GrowthBook `auto.min.js` (1.8.0)', bytes(growthbook.raw), cell(growthbook), bytes(growthbook.brotli)]);
  rows.push(['GrowthBook inline payload (headline experiment)', bytes(payload.raw), cell(payload), bytes(payload.brotli)]);
  const headline = setups['headline experiment'];
  const fiftySet = setups['50 experiments with conditions'];
  const verdict = (value, budget) => `${bytes(value)} of ${bytes(budget)}: ${value <= budget ? 'met' : `missed by ${bytes(value - budget)}`}`;
  const markdown =
    '### Transfer size\n\n' +
    table(['what', 'raw', 'gzip -9', 'brotli -q 11'], rows) +
    '\n\nBudgets (gzip -9): inline and render-blocking ≤ 3 KB: ' + verdict(headline.tag.gzip, BUDGETS.inline) +
    ' (nothing render-blocking: the tag adds splitbeam.js async); critical path without audience conditions ≤ 20 KB: ' + verdict(headline.critical.gzip, BUDGETS.critical) +
    '; with the condition language (50 experiments) ≤ 30 KB: ' + verdict(fiftySet.critical.gzip, BUDGETS.criticalWithConditions) +
    '; everything ≤ 60 KB: ' + verdict(headline.everything.gzip, BUDGETS.everything) + '.';
  return { markdown, setups, growthbook };
}
