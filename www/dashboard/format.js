// How numbers read on the dashboard: rates and lifts as percentages, p-values, counts, intervals.
// Every function accepts null/undefined/NaN (the API sends null for control and thin data) and returns "—".

const DASH = '—';

function finite(x) {
  return typeof x === 'number' && Number.isFinite(x);
}

export function count(n) {
  return finite(n) ? Math.round(n).toLocaleString('en-US') : DASH;
}

export function percent(x, digits = 2) {
  return finite(x) ? (x * 100).toFixed(digits) + ' %' : DASH;
}

/** A relative change: +12.3 % / −4.0 %, with a real minus sign. */
export function signedPercent(x, digits = 1) {
  if (!finite(x)) return DASH;
  const text = (Math.abs(x) * 100).toFixed(digits);
  if (Number(text) === 0) return '0.' + '0'.repeat(digits) + ' %';
  return (x > 0 ? '+' : '−') + text + ' %';
}

/** An absolute difference of rates, in percentage points: +8.0 pp. */
export function points(x, digits = 1) {
  return finite(x) ? signedPercent(x, digits).replace(' %', ' pp') : DASH;
}

export function interval(ci, digits = 1) {
  if (!Array.isArray(ci) || ci.length !== 2 || !finite(ci[0]) || !finite(ci[1])) return DASH;
  return signedPercent(ci[0], digits) + ' to ' + signedPercent(ci[1], digits);
}

export function pValue(p) {
  if (!finite(p)) return DASH;
  return p < 0.001 ? '< 0.001' : p.toFixed(3);
}

/** "p = 0.040" or "p < 0.001", for sentences. */
export function pEquals(p) {
  if (!finite(p)) return 'p unknown';
  return p < 0.001 ? 'p < 0.001' : 'p = ' + p.toFixed(3);
}

export function amount(x) {
  return finite(x) ? x.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 }) : DASH;
}

/** Whether an interval excludes zero, and on which side: 'up', 'down' or null. */
export function direction(ci) {
  if (!Array.isArray(ci) || !finite(ci[0]) || !finite(ci[1])) return null;
  if (ci[0] > 0) return 'up';
  if (ci[1] < 0) return 'down';
  return null;
}

/**
 * The 95 % Wilson score interval of a conversion rate. The API gives intervals on the lift only;
 * the rate chart needs one per variant, and Wilson's stays inside [0, 1] even for rates near 0.
 */
export function wilson(conversions, visitors) {
  if (!finite(conversions) || !finite(visitors) || visitors <= 0) return null;
  const z = 1.959963984540054;
  const p = Math.min(Math.max(conversions / visitors, 0), 1);
  const denominator = 1 + (z * z) / visitors;
  const centre = (p + (z * z) / (2 * visitors)) / denominator;
  const half = (z * Math.sqrt((p * (1 - p)) / visitors + (z * z) / (4 * visitors * visitors))) / denominator;
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

/** `updated_at` may be epoch milliseconds, epoch seconds or an ISO string. */
export function time(value) {
  if (value === null || value === undefined) return DASH;
  let date;
  if (finite(value)) date = new Date(value < 1e12 ? value * 1000 : value);
  else date = new Date(String(value));
  return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleTimeString('en-GB');
}
