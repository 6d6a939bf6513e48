// Small helpers for the benchmark's figures and its Markdown tables.

export function median(values) {
  const sorted = values.filter((v) => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b);
  if (!sorted.length) return null;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** A percentile by nearest rank (p in 0..100). */
export function percentile(values, p) {
  const sorted = values.filter((v) => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b);
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export const ms = (v, digits = 0) => (v == null ? '—' : `${v.toFixed(digits)} ms`);
export const bytes = (n) => `${n.toLocaleString('en-US')} B`;
export const kb = (n) => `${(n / 1024).toFixed(1)} KB`;

/** A Markdown table from a header row and rows of cells. */
export function table(header, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** A seeded PRNG (mulberry32): the bootstrap gives the same interval for the same loads. */
function random(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A percentile bootstrap interval for `statistic` (default the median) over `values`: resample with
 * replacement `rounds` times, take the (1−level)/2 and (1+level)/2 quantiles. Null with < 5 values.
 */
export function bootstrapInterval(values, { statistic = median, level = 0.95, rounds = 2000, seed = 1 } = {}) {
  const xs = values.filter((v) => typeof v === 'number' && Number.isFinite(v));
  if (xs.length < 5) return null;
  const next = random(seed);
  const stats = [];
  for (let r = 0; r < rounds; r++) stats.push(statistic(xs.map(() => xs[Math.floor(next() * xs.length)])));
  stats.sort((a, b) => a - b);
  const at = (q) => stats[Math.min(rounds - 1, Math.max(0, Math.floor(q * rounds)))];
  return [at((1 - level) / 2), at((1 + level) / 2)];
}
