// One experiment's history of dashboard edits: when, who, what, and what changed (field by field,
// before → after), each with a button that reverts it. Input: GET /api/history?experiment=KEY;
// output: a DOM node (text only, see dom.js). The revert itself is the editor's (it holds the ETag).

import { h } from './dom.js';

const MAX_LINES = 12;
const MAX_VALUE_CHARS = 80;

function parse(text) {
  if (typeof text !== 'string') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function short(value) {
  if (value === undefined) return '(none)';
  const text = JSON.stringify(value);
  return text.length > MAX_VALUE_CHARS ? `${text.slice(0, MAX_VALUE_CHARS - 1)}…` : text;
}

/** Paths whose values differ between `a` and `b`, as `[path, before, after]`. */
export function differences(a, b, path = '', out = []) {
  if (out.length > MAX_LINES) return out;
  const bothObjects = a && b && typeof a === 'object' && typeof b === 'object' && Array.isArray(a) === Array.isArray(b);
  if (!bothObjects) {
    if (JSON.stringify(a) !== JSON.stringify(b)) out.push([path || '(experiment)', a, b]);
    return out;
  }
  const keys = Array.isArray(a)
    ? [...Array(Math.max(a.length, b.length)).keys()]
    : [...new Set([...Object.keys(a), ...Object.keys(b)])];
  for (const key of keys) {
    const next = Array.isArray(a) ? `${path}[${key}]` : path ? `${path}.${key}` : String(key);
    differences(a[key], b[key], next, out);
  }
  return out;
}

function summary(change) {
  const before = parse(change.before);
  const after = parse(change.after);
  if (before === undefined) return [h('li', { text: 'created' })];
  if (after === undefined) return [h('li', { text: 'removed' })];
  const lines = differences(before, after);
  if (lines.length === 0) return [h('li', { class: 'muted', text: 'no difference' })];
  const items = lines.slice(0, MAX_LINES).map(([path, was, now]) => h('li', null,
    h('code', { text: path }), ': ', h('span', { class: 'diff-before', text: short(was) }), ' → ', h('span', { class: 'diff-after', text: short(now) })));
  if (lines.length > MAX_LINES) items.push(h('li', { class: 'muted', text: 'and more' }));
  return items;
}

function when(ms) {
  const date = new Date(Number(ms));
  return Number.isFinite(date.getTime()) ? date.toLocaleString() : '';
}

/** The history table; `onRevert(change)` is called by a change's Revert button. */
export function renderHistory(data, onRevert) {
  const changes = Array.isArray(data && data.changes) ? data.changes : [];
  if (changes.length === 0) {
    return h('section', { class: 'history', attrs: { id: 'history' } },
      h('h2', { text: 'History' }),
      h('p', { class: 'muted', text: 'No changes made in the dashboard yet (edits of the file by hand are not listed).' }));
  }
  const rows = changes.map((change) => {
    const revert = h('button', { attrs: { type: 'button', class: 'link-button', 'data-revert': change.id }, text: 'Revert' });
    revert.addEventListener('click', () => onRevert(change, revert));
    return h('tr', { attrs: { 'data-change': change.id } },
      h('td', { class: 'nowrap', text: when(change.at) }),
      h('td', null, h('strong', { text: change.action }),
        change.reverts ? h('div', { class: 'muted', text: `undid change ${change.reverts}` }) : null),
      h('td', null, h('ul', { class: 'diff' }, summary(change))),
      h('td', null, h('div', { text: change.who }), h('div', { class: 'muted small', text: change.client })),
      h('td', null, revert));
  });
  return h('section', { class: 'history', attrs: { id: 'history' } },
    h('h2', { text: 'History' }),
    h('p', { class: 'muted', text: 'Revert undoes one change: the fields it changed get their earlier values back; later edits of other fields stay. A revert is itself recorded as a change.' }),
    h('div', { class: 'table-scroll' },
      h('table', { class: 'data-table' },
        h('thead', null, h('tr', null,
          h('th', { text: 'When' }), h('th', { text: 'Action' }), h('th', { text: 'What changed' }), h('th', { text: 'Who' }), h('th', { text: '' }))),
        h('tbody', null, rows))));
}
