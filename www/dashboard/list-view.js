// The experiment list: what is running, how many visitors each has seen, who leads, and SRM alarms.
// Input: the JSON of GET /api/experiments; output: a DOM node (text only, see dom.js).

import { h, experimentHref } from './dom.js';
import { count } from './format.js';

export function statusBadge(status) {
  const known = ['running', 'draft', 'stopped'].includes(status) ? status : 'unknown';
  return h('span', { class: `badge badge--${known}`, text: status || 'unknown' });
}

function split(variants) {
  if (!Array.isArray(variants) || variants.length === 0) return '—';
  return h('ul', { class: 'split' }, variants.map((v) =>
    h('li', null, h('span', { class: 'split__key', text: v.key }), ' ', h('span', { class: 'num', text: count(v.visitors) })),
  ));
}

/** Archived experiments are listed only at `/?archived`; a link says how many are put away. */
function archivedToggle(count, showing) {
  if (count === 0) return null;
  return h('p', { class: 'muted' }, showing
    ? h('a', { href: '/', text: 'Hide archived experiments' })
    : h('a', { href: '/?archived', attrs: { id: 'show-archived' }, text: `Show ${count} archived` }));
}

export function renderList(data) {
  const all = Array.isArray(data && data.experiments) ? data.experiments : [];
  const showArchived = new URLSearchParams(location.search).has('archived');
  const experiments = showArchived ? all : all.filter((e) => e.archived !== true);
  const toggle = archivedToggle(all.filter((e) => e.archived === true).length, showArchived);
  if (experiments.length === 0) {
    return h('section', { class: 'empty' },
      h('h1', { text: 'No experiments yet' }),
      h('p', { text: 'Create one with "New experiment" above, or add it to experiments.json; it appears here as soon as the collector loads it.' }),
      toggle);
  }
  const rows = experiments.map((e) => h('tr', { attrs: { 'data-experiment': e.key } },
    h('td', null,
      h('a', { class: 'experiment-name', href: experimentHref(e.key), text: e.name || e.key }),
      h('div', { class: 'experiment-key', text: e.key })),
    h('td', null, statusBadge(e.status), e.archived === true ? h('span', { class: 'badge badge--draft', text: 'archived' }) : null),
    h('td', { class: 'num visitors', text: count(e.visitors) }),
    h('td', null, split(e.variants)),
    h('td', { class: 'leading' }, e.leading === null || e.leading === undefined
      ? h('span', { class: 'muted', text: 'no clear leader' })
      : h('strong', { text: e.leading })),
    h('td', null, e.srm_alarm
      ? h('span', { class: 'badge badge--alarm', text: 'SRM alarm', title: 'The visitor split differs from the configured weights' })
      : h('span', { class: 'badge badge--ok', text: 'split ok' })),
  ));
  return h('section', null,
    h('h1', { text: 'Experiments' }),
    h('table', { class: 'data-table experiment-list' },
      h('thead', null, h('tr', null,
        h('th', { text: 'Experiment' }), h('th', { text: 'Status' }), h('th', { class: 'num', text: 'Visitors' }),
        h('th', { text: 'Visitors per variant' }), h('th', { text: 'Leading' }), h('th', { text: 'Sample ratio' }))),
      h('tbody', null, rows)),
    toggle);
}
