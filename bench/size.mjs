// (a) Transfer size: bytes raw, gzip -9 and brotli -q 11 of what a visitor downloads for splitbeam
// (loader + glue in splitbeam.js, and the wasm) next to GrowthBook's script-tag bundle.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { benchDir } from './lib/configs.mjs';
import { bytes, kb, table } from './lib/stats.mjs';

const root = path.resolve(benchDir, '..');
export const BUDGET_GZIP = 14 * 1024;

/** Compressed size by the real CLI tools (stdin to stdout, so no file name lands in the gzip header). */
function compressedSize(tool, args, body) {
  const out = spawnSync(tool, args, { input: body, maxBuffer: 64 * 1024 * 1024 });
  if (out.error) throw new Error(`cannot run ${tool}: ${out.error.message}`);
  if (out.status !== 0) throw new Error(`${tool} ${args.join(' ')} failed: ${out.stderr}`);
  return out.stdout.length;
}

export function measure(file) {
  const body = fs.readFileSync(path.join(root, file));
  return { file, raw: body.length, gzip: compressedSize('gzip', ['-9', '-c'], body), brotli: compressedSize('brotli', ['-q', '11', '-c'], body) };
}

/** The wasm the built loader fetches (named by its content hash, scripts/build.sh). */
export function builtWasm() {
  const loader = fs.readFileSync(path.join(root, 'dist/splitbeam.js'), 'utf8');
  const name = (loader.match(/splitbeam_bg\.[0-9a-f]{8,}\.wasm/) || [])[0];
  if (!name) throw new Error('dist/splitbeam.js names no splitbeam_bg.<hash>.wasm: run `npm run build`');
  return `dist/${name}`;
}

export function sizeBench() {
  const splitbeam = ['dist/splitbeam.js', builtWasm()].map(measure);
  const growthbook = measure('node_modules/@growthbook/growthbook/dist/bundles/auto.min.js');
  const total = splitbeam.reduce((sum, f) => ({ raw: sum.raw + f.raw, gzip: sum.gzip + f.gzip, brotli: sum.brotli + f.brotli }), { raw: 0, gzip: 0, brotli: 0 });
  const row = (label, f) => [label, bytes(f.raw), `${bytes(f.gzip)} (${kb(f.gzip)})`, `${bytes(f.brotli)} (${kb(f.brotli)})`];
  const rows = [
    ...splitbeam.map((f) => row(`splitbeam: \`${f.file}\``, f)),
    row('**splitbeam total**', total).map((c, i) => (i ? `**${c}**` : c)),
    row('GrowthBook `auto.min.js` (1.8.0)', growthbook),
  ];
  const verdict = total.gzip <= BUDGET_GZIP ? 'within' : 'over';
  const markdown =
    '### Transfer size\n\n' +
    table(['file', 'raw', 'gzip -9', 'brotli -q 11'], rows) +
    `\n\nBudget: splitbeam total ≤ ${bytes(BUDGET_GZIP)} (14 KB) gzip -9: ${verdict} by ${bytes(Math.abs(BUDGET_GZIP - total.gzip))}. ` +
    'splitbeam.js is measured as built (config marker, no baked config; a baked config adds its own JSON).';
  return { markdown, splitbeam, total, growthbook };
}
