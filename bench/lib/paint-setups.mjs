// The install setups that bench/paint.mjs and bench/lighthouse.mjs compare, as one table: add a row
// to compare one more. Each row:
//   id         short name, used in the page URL (`/?setup=<id>`)
//   label      the table's first column
//   changes    true when the setup changes the headline (false only for the page without a script)
//   available  (ctx) => true, or a sentence saying why the setup is skipped in this run (printed)
//   head       (ctx) => the HTML that starts <head> (right after the flicker probe, when there is one)
//   files      optional (ctx) => { '/path': [content-type, Buffer | string] } served by the bench server
// `ctx` (bench/lib/paint-server.mjs `context()`): { root, dist, configFile, loader, splitbeamBin,
// growthbookPayload, run(args) } — run(args) runs the collector binary and returns its stdout or null.

/** GrowthBook's auto.min.js reads its payload from `window.growthbook_config` (the fair peer of a baked config). */
const growthbookInline = (ctx) =>
  `<script>window.growthbook_config = { payload: ${JSON.stringify(ctx.growthbookPayload).replace(/</g, '\\u003c')} };</script>`;

/** `splitbeam tag --help` succeeds only on a binary that has the subcommand. */
function hasTag(ctx) {
  if (!ctx.splitbeamBin) return 'no collector binary (cargo build --release -p splitbeam-collector); skipped';
  if (ctx.run(['tag', '--help']) == null) return `${ctx.splitbeamBin} has no \`tag\` subcommand yet; skipped`;
  return true;
}

export const PAINT_SETUPS = [
  { id: 'none', label: 'no script', changes: false, available: () => true, head: () => '' },
  {
    id: 'gb-async',
    label: 'GrowthBook auto.min.js async, payload inline',
    changes: true,
    available: () => true,
    head: (ctx) => growthbookInline(ctx) + '<script async src="/growthbook/auto.min.js"></script>',
  },
  {
    id: 'gb-sync',
    label: 'GrowthBook auto.min.js sync (its anti-flicker way), payload inline',
    changes: true,
    available: () => true,
    head: (ctx) => growthbookInline(ctx) + '<script src="/growthbook/auto.min.js"></script>',
  },
  {
    id: 'splitbeam',
    label: 'splitbeam: blocking script tag (standalone)',
    changes: true,
    available: () => true,
    head: () => '<script src="/splitbeam.js"></script>',
  },
  {
    // The new install: `splitbeam tag` prints an inline script that hides the elements under test
    // and injects /splitbeam.js async. /splitbeam.js stays what `splitbeam snippet` prints.
    id: 'splitbeam-tag',
    label: 'splitbeam: inline tag (recommended install)',
    changes: true,
    available: hasTag,
    head: (ctx) => {
      const html = ctx.run(['tag', ctx.configFile, '--src', '/splitbeam.js']);
      if (html == null) throw new Error('`splitbeam tag` failed');
      return html.trim();
    },
  },
];

/** The rows to run, and a note per skipped row. `only` (comma-separated ids, env BENCH_SETUPS) narrows the list. */
export function chooseSetups(ctx, only = process.env.BENCH_SETUPS) {
  const wanted = only ? new Set(only.split(',').map((s) => s.trim())) : null;
  const setups = [];
  const notes = [];
  for (const setup of PAINT_SETUPS) {
    if (wanted && !wanted.has(setup.id)) continue;
    let ok;
    try {
      ok = setup.available(ctx);
    } catch (err) {
      ok = `not available: ${err.message}`;
    }
    if (ok === true) setups.push(setup);
    else notes.push(`${setup.label}: ${ok}`);
  }
  return { setups, notes };
}

