// (d) `cargo bench -p splitbeam-core --bench assign`, summarized: criterion prints one block per
// benchmark ("time: [lo mid hi]" and "thrpt: [lo mid hi]"), elements = experiments evaluated.
import fs from 'node:fs';
import { table } from './lib/stats.mjs';

const UNITS = { elem: 1, Kelem: 1e3, Melem: 1e6, Gelem: 1e9 };
const TIME = { ps: 1e-6, ns: 1e-3, 'µs': 1, us: 1, ms: 1e3, s: 1e6 };

/** Parses criterion's text output: [{ name, timeUs, evalsPerSec }] with the middle (estimate) values. */
export function parseCriterion(text) {
  const results = [];
  let current = null;
  for (const line of text.split('\n')) {
    const name = line.match(/^(assign\/[^\s].*?)(?:\s{2,}time:.*)?$/);
    if (name && !line.startsWith(' ')) current = { name: name[1].trim() };
    const time = line.match(/time:\s+\[\S+ \S+ (\S+) (\S+) \S+ \S+\]/);
    if (time && current) current.timeUs = parseFloat(time[1]) * (TIME[time[2]] ?? NaN);
    const thrpt = line.match(/thrpt:\s+\[\S+ \S+ (\S+) (\S+)\/s \S+ \S+\]/);
    if (thrpt && current) {
      current.evalsPerSec = parseFloat(thrpt[1]) * (UNITS[thrpt[2]] ?? NaN);
      results.push(current);
      current = null;
    }
  }
  return results;
}

/** The experiment count in a benchmark's name ("50 experiments with conditions" → 50). */
const experimentsIn = (name) => +(name.match(/(\d+) experiment/)?.[1] || 1);

const fmtTime = (us) => (us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : us >= 1 ? `${us.toFixed(2)} µs` : `${(us * 1000).toFixed(0)} ns`);
const fmtRate = (n) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} M/s` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} K/s` : `${n.toFixed(0)}/s`);

export function criterionSummary(file) {
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    return { markdown: `### Assignment (native, criterion)\n\nNo cargo bench output to read at ${file}: ${err.message}`, results: [] };
  }
  const results = parseCriterion(text);
  if (!results.length) return { markdown: `### Assignment (native, criterion)\n\nNo criterion result found in ${file}.`, results };
  const rows = results.map((r) => [r.name.replace(/^assign\//, ''), fmtTime(r.timeUs), fmtRate(r.evalsPerSec), fmtRate(r.evalsPerSec / experimentsIn(r.name))]);
  const markdown =
    '### Assignment, native (`cargo bench -p splitbeam-core --bench assign`)\n\n' +
    table(['config', 'time per assign() call', 'experiment evaluations/s', 'page views decided/s'], rows) +
    '\n\nCriterion\'s middle estimates; "experiment evaluations/s" is its thrpt in elem/s (one element = one experiment).';
  return { markdown, results };
}
