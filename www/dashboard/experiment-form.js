// The experiment form: one experiment's JSON as fields a copywriter fills in (no JSON typed by
// hand), written back into that same object so that everything the form does not show (seed,
// namespace, dates, unknown keys) and the key order stay as they were. Every field carries the
// path it edits inside the experiment (`data-field="variants[1].weight"`), where the server's
// validation messages are shown. Labels and values are set as text and properties only (dom.js).

import { h } from './dom.js';

/** Change kinds the form edits: one operation on one selector. Others are kept as they are. */
const CHANGE_KINDS = [
  ['text', 'Replace text'],
  ['html', 'Replace HTML'],
  ['style', 'Inline style'],
  ['addClass', 'Add class'],
  ['removeClass', 'Remove class'],
  ['remove', 'Hide (remove)'],
];
const GOAL_TRIGGERS = [['click', 'Click on'], ['pageview', 'Page view of'], ['event', 'Tracked event']];
const AUDIENCE_OPS = [['is', 'is'], ['not', 'is not'], ['in', 'is one of (comma-separated)']];
const AUDIENCE_ATTRIBUTES = ['device', 'browser', 'language', 'new_visitor', 'utm_source', 'utm_medium', 'utm_campaign', 'host', 'path'];

const isPlain = (v) => v === null || ['string', 'number', 'boolean'].includes(typeof v);
const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A number when the text is one; else the text itself, so validation names the problem. */
function numberOrText(text) {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  const n = Number(trimmed);
  return Number.isFinite(n) ? n : trimmed;
}

/** Sets `key` on `object`, or removes it for undefined (an emptied optional field). */
function assign(object, key, value) {
  if (value === undefined) delete object[key];
  else object[key] = value;
}

function field(label, path, input, hint) {
  return h('div', { class: 'field', attrs: { 'data-field': path } },
    h('label', { class: 'field__label' }, h('span', { text: label }), input),
    hint ? h('p', { class: 'field__hint muted', text: hint }) : null);
}

function input(value, onInput, attrs = {}) {
  const node = h('input', { attrs: { type: 'text', ...attrs } });
  node.value = value === undefined || value === null ? '' : String(value);
  node.addEventListener('input', () => onInput(node.value));
  return node;
}

function select(options, value, onChange, attrs = {}) {
  const node = h('select', { attrs }, options.map(([v, label]) => h('option', { attrs: { value: v }, text: label })));
  node.value = value;
  node.addEventListener('change', () => onChange(node.value));
  return node;
}

function button(text, onClick, attrs = {}) {
  const node = h('button', { attrs: { type: 'button', ...attrs }, text });
  node.addEventListener('click', onClick);
  return node;
}

/** Shown for a value the form cannot edit field by field: kept as is, shown as text. */
function advanced(value, what) {
  return h('p', { class: 'advanced muted' },
    `${what} uses rules this form does not edit; they are kept as they are: `,
    h('code', { text: JSON.stringify(value) }));
}

/** A change the form edits: `{selector, <one kind>}`. */
function simpleChange(change) {
  if (!isObject(change) || typeof change.selector !== 'string') return null;
  const others = Object.keys(change).filter((k) => k !== 'selector');
  if (others.length !== 1) return null;
  const kind = others[0];
  if (!CHANGE_KINDS.some(([k]) => k === kind)) return null;
  if (kind === 'remove' ? change.remove !== true : typeof change[kind] !== 'string') return null;
  return kind;
}

/** Audience as rows `{attribute, op, value}` when it is that simple, else null. */
function audienceRows(audience) {
  if (audience === undefined) return [];
  if (!isObject(audience)) return null;
  const rows = [];
  for (const [attribute, condition] of Object.entries(audience)) {
    if (attribute.startsWith('$')) return null;
    if (isPlain(condition)) rows.push({ attribute, op: 'is', value: String(condition) });
    else if (isObject(condition) && Object.keys(condition).length === 1 && isPlain(condition.$ne)) {
      rows.push({ attribute, op: 'not', value: String(condition.$ne) });
    } else if (isObject(condition) && Object.keys(condition).length === 1 && Array.isArray(condition.$in) && condition.$in.every(isPlain)) {
      rows.push({ attribute, op: 'in', value: condition.$in.join(', ') });
    } else return null;
  }
  return rows;
}

/** `"true"`/`"false"` are booleans for `new_visitor`; other values stay text. */
function conditionValue(attribute, text) {
  const t = text.trim();
  if (attribute === 'new_visitor' && (t === 'true' || t === 'false')) return t === 'true';
  return t;
}

function audienceFrom(rows) {
  const audience = {};
  for (const row of rows) {
    const attribute = row.attribute.trim();
    if (!attribute) continue;
    if (row.op === 'is') audience[attribute] = conditionValue(attribute, row.value);
    else if (row.op === 'not') audience[attribute] = { $ne: conditionValue(attribute, row.value) };
    else audience[attribute] = { $in: row.value.split(',').map((v) => v.trim()).filter(Boolean) };
  }
  return Object.keys(audience).length ? audience : undefined;
}

function pagesSection(model, onChange) {
  const pages = model.pages;
  const simple = pages === undefined || typeof pages === 'string' || (Array.isArray(pages) && pages.every((p) => typeof p === 'string'));
  if (!simple) return h('div', { class: 'field', attrs: { 'data-field': 'pages' } }, h('span', { class: 'field__label', text: 'Pages' }), advanced(pages, 'Pages'));
  const lines = pages === undefined ? [] : [].concat(pages);
  const area = h('textarea', { attrs: { rows: 3, name: 'pages', placeholder: '/\n/collections/*' } });
  area.value = lines.join('\n');
  area.addEventListener('input', () => {
    const list = area.value.split('\n').map((l) => l.trim()).filter(Boolean);
    assign(model, 'pages', list.length ? list : undefined);
    onChange();
  });
  return field('Pages (one pattern per line; empty: every page; !pattern excludes)', 'pages', area);
}

function audienceSection(model, onChange, rerender) {
  const rows = audienceRows(model.audience);
  if (rows === null) {
    return h('div', { class: 'field', attrs: { 'data-field': 'audience' } }, h('span', { class: 'field__label', text: 'Audience' }), advanced(model.audience, 'The audience'));
  }
  const write = () => { assign(model, 'audience', audienceFrom(rows)); onChange(); };
  const list = h('datalist', { attrs: { id: 'audience-attributes' } }, AUDIENCE_ATTRIBUTES.map((a) => h('option', { attrs: { value: a } })));
  return h('fieldset', { class: 'field audience', attrs: { 'data-field': 'audience' } },
    h('legend', { text: 'Audience (empty: every visitor)' }),
    list,
    rows.map((row, i) => h('div', { class: 'row audience-row' },
      input(row.attribute, (v) => { row.attribute = v; write(); }, { list: 'audience-attributes', 'aria-label': 'Attribute', name: `audience-${i}-attribute` }),
      select(AUDIENCE_OPS, row.op, (v) => { row.op = v; write(); }, { 'aria-label': 'Comparison' }),
      input(row.value, (v) => { row.value = v; write(); }, { 'aria-label': 'Value', name: `audience-${i}-value` }),
      button('Remove', () => { rows.splice(i, 1); write(); rerender(); }, { class: 'link-button' }))),
    button('Add a condition', () => { rows.push({ attribute: 'device', op: 'is', value: 'mobile' }); write(); rerender(); }, { class: 'link-button' }));
}

function changeRow(variant, vi, change, ci, onChange, rerender) {
  const path = `variants[${vi}].changes[${ci}]`;
  const remove = button('Remove', () => { variant.changes.splice(ci, 1); if (!variant.changes.length) delete variant.changes; onChange(); rerender(); }, { class: 'link-button' });
  const kind = simpleChange(change);
  if (!kind) return h('div', { class: 'row change', attrs: { 'data-field': path } }, advanced(change, 'This change'), remove);
  const value = kind === 'remove'
    ? h('span', { class: 'muted', text: 'the element is removed' })
    : input(change[kind], (v) => { change[kind] = v; onChange(); }, { 'aria-label': 'New value', name: `${path}.value`, 'data-field': `${path}.${kind}` });
  return h('div', { class: 'row change', attrs: { 'data-field': path } },
    input(change.selector, (v) => { change.selector = v; onChange(); }, { 'aria-label': 'CSS selector', placeholder: '#hero h1', name: `${path}.selector`, 'data-field': `${path}.selector` }),
    select(CHANGE_KINDS, kind, (next) => {
      const old = kind === 'remove' ? '' : change[kind];
      delete change[kind];
      change[next] = next === 'remove' ? true : old;
      onChange();
      rerender();
    }, { 'aria-label': 'Change' }),
    value,
    remove);
}

function variantCard(model, variant, vi, onChange, rerender) {
  const path = `variants[${vi}]`;
  const changes = Array.isArray(variant.changes) ? variant.changes : [];
  return h('fieldset', { class: 'variant', attrs: { 'data-field': path, 'data-variant-index': vi } },
    h('legend', { text: vi === 0 ? `Variant ${vi + 1} (control)` : `Variant ${vi + 1}` }),
    h('div', { class: 'row' },
      field('Key', `${path}.key`, input(variant.key, (v) => { assign(variant, 'key', v.trim() || undefined); onChange(); }, { name: `${path}.key` })),
      field('Weight', `${path}.weight`, input(variant.weight, (v) => { assign(variant, 'weight', numberOrText(v)); onChange(); }, { name: `${path}.weight`, inputmode: 'decimal' }))),
    h('div', { class: 'changes', attrs: { 'data-field': `${path}.changes` } },
      h('p', { class: 'field__label', text: changes.length ? 'Changes on the page' : 'No changes: shows the page as it is' }),
      changes.map((change, ci) => changeRow(variant, vi, change, ci, onChange, rerender)),
      button('Add a change', () => {
        if (!Array.isArray(variant.changes)) variant.changes = [];
        variant.changes.push({ selector: '', text: '' });
        onChange();
        rerender();
      }, { class: 'link-button' })),
    model.variants.length > 2
      ? button('Remove this variant', () => { model.variants.splice(vi, 1); onChange(); rerender(); }, { class: 'link-button danger' })
      : null);
}

function goalRow(model, goal, gi, onChange, rerender) {
  const path = `goals[${gi}]`;
  const remove = button('Remove', () => { model.goals.splice(gi, 1); if (!model.goals.length) delete model.goals; onChange(); rerender(); }, { class: 'link-button' });
  const trigger = GOAL_TRIGGERS.map(([t]) => t).find((t) => goal[t] !== undefined) || 'click';
  if (!isObject(goal) || (goal[trigger] !== undefined && typeof goal[trigger] !== 'string')) {
    return h('div', { class: 'row goal-row', attrs: { 'data-field': path } }, advanced(goal, 'This goal'), remove);
  }
  return h('div', { class: 'row goal-row', attrs: { 'data-field': path } },
    field('Goal key', `${path}.key`, input(goal.key, (v) => { assign(goal, 'key', v.trim() || undefined); onChange(); }, { name: `${path}.key` })),
    field('Trigger', `${path}.${trigger}`, h('span', { class: 'row' },
      select(GOAL_TRIGGERS, trigger, (next) => {
        const old = goal[trigger];
        delete goal[trigger];
        goal[next] = old ?? '';
        onChange();
        rerender();
      }, { 'aria-label': 'Trigger' }),
      input(goal[trigger], (v) => { goal[trigger] = v; onChange(); }, { name: `${path}.target`, 'aria-label': 'Selector, page or event name' }))),
    field('Value property (optional)', `${path}.value`, input(goal.value, (v) => { assign(goal, 'value', v.trim() || undefined); onChange(); }, { name: `${path}.value`, placeholder: 'value' })),
    remove);
}

/**
 * The form's fields for `model` (an experiment object, edited in place). `onChange()` is called on
 * every edit; `isNew` lets the key be typed. Structural edits (add/remove) re-render the fields.
 */
export function experimentFields(model, { isNew, onChange }) {
  const container = h('div', { class: 'experiment-fields' });
  const rerender = () => container.replaceChildren(...build());
  function build() {
    const variants = Array.isArray(model.variants) ? model.variants : null;
    const goals = Array.isArray(model.goals) ? model.goals : [];
    const traffic = typeof model.traffic === 'number' ? Math.round(model.traffic * 10000) / 100 : model.traffic;
    return [
      h('div', { class: 'row' },
        field('Key (in URLs and events; cannot change later)', 'key',
          input(model.key, (v) => { assign(model, 'key', v.trim() || undefined); onChange(); }, { name: 'key', ...(isNew ? {} : { readonly: '' }) })),
        field('Name', 'name', input(model.name, (v) => { assign(model, 'name', v.trim() ? v : undefined); onChange(); }, { name: 'name' }))),
      pagesSection(model, onChange),
      audienceSection(model, onChange, rerender),
      field('Traffic (% of visitors in the test)', 'traffic',
        input(traffic, (v) => { const n = numberOrText(v); assign(model, 'traffic', typeof n === 'number' ? n / 100 : n); onChange(); }, { name: 'traffic', inputmode: 'decimal', placeholder: '100' })),
      h('section', { class: 'variants', attrs: { 'data-field': 'variants' } },
        h('h2', { text: 'Variants' }),
        variants ? variants.map((v, i) => (isObject(v) ? variantCard(model, v, i, onChange, rerender) : advanced(v, 'This variant'))) : null,
        variants ? button('Add a variant', () => {
          variants.push({ key: `variant-${variants.length + 1}`, weight: 1 });
          onChange();
          rerender();
        }, { class: 'link-button' }) : advanced(model.variants, 'Variants')),
      h('section', { class: 'goals', attrs: { 'data-field': 'goals' } },
        h('h2', { text: 'Goals' }),
        goals.map((g, i) => goalRow(model, g, i, onChange, rerender)),
        button('Add a goal', () => {
          if (!Array.isArray(model.goals)) model.goals = [];
          model.goals.push({ key: '', click: '' });
          onChange();
          rerender();
        }, { class: 'link-button' })),
    ];
  }
  rerender();
  return container;
}

/** A new experiment's starting point: a draft with control and one variant, 50/50. */
export function blankExperiment() {
  return {
    key: '',
    name: '',
    status: 'draft',
    pages: ['/'],
    variants: [{ key: 'control', weight: 50 }, { key: 'variant', weight: 50, changes: [{ selector: '', text: '' }] }],
    goals: [{ key: 'purchase', event: 'purchase', value: 'value' }],
  };
}
