// The editor's panel, drawn inside its shadow root: the experiment and variant, before/after,
// the selected element's proposed selector with its warnings, the change controls (text is typed
// in the page itself), the variant's list of changes, the server's validation messages, and
// save / preview / start. Everything is set as text (dom.js), never parsed as HTML.

import { h } from '../dashboard/dom.js';

const field = (label, control) => h('label', { class: 'field' }, h('span', { text: label }), control);

function input(id, value, placeholder) {
  const node = h('input', { attrs: { id, type: 'text', placeholder, spellcheck: 'false' } });
  node.value = value || '';
  return node;
}

function button(id, text, onClick, attrs = {}) {
  const node = h('button', { attrs: { id, type: 'button', ...attrs }, text });
  node.addEventListener('click', onClick);
  return node;
}

/** A short description of one change, for the list. */
export function describe(change) {
  const parts = [];
  if (typeof change.text === 'string') parts.push(`text “${change.text}”`);
  if (typeof change.html === 'string') parts.push('HTML');
  if (change.attr && typeof change.attr === 'object') parts.push(...Object.entries(change.attr).map(([k, v]) => `${k}="${v}"`));
  if (change.addClass) parts.push(`+class ${change.addClass}`);
  if (change.removeClass) parts.push(`−class ${change.removeClass}`);
  if (change.style) parts.push(`style ${change.style}`);
  if (change.remove === true) parts.push('hidden');
  if (change.move && typeof change.move === 'object') parts.push(...Object.entries(change.move).map(([k, v]) => `moved ${k} ${v}`));
  if (change.css) parts.push('page CSS');
  if (change.redirect) parts.push(`redirect to ${change.redirect}`);
  return parts.join(', ') || 'no change yet';
}

function selectionSection(view, on) {
  const sel = view.selection;
  if (!sel) return h('p', { class: 'hint', attrs: { id: 'sb-hint' }, text: view.mode === 'after' ? 'Click an element on the page to change it.' : 'Before: the page as visitors in control see it. Switch to After to edit.' });
  const selector = input('sb-selector', sel.selector, 'CSS selector');
  selector.addEventListener('change', () => on.selector(selector.value.trim()));
  const change = sel.change || {};
  const hide = h('input', { attrs: { id: 'sb-hide', type: 'checkbox' } });
  hide.checked = change.remove === true;
  hide.addEventListener('change', () => on.set('remove', hide.checked ? true : undefined));
  const attrName = input('sb-attr-name', '', 'attribute, e.g. href');
  const attrValue = input('sb-attr-value', '', 'value');
  const addClass = input('sb-add-class', change.addClass, 'class to add');
  const removeClass = input('sb-remove-class', change.removeClass, 'class to remove');
  const style = input('sb-style', change.style, 'e.g. color: #c00; font-weight: 700');
  const moveWhere = h('select', { attrs: { id: 'sb-move-where', 'aria-label': 'Move where' } },
    ['before', 'after', 'into'].map((w) => h('option', { attrs: { value: w }, text: w })));
  const moveTo = input('sb-move-to', '', 'selector of the target');
  const [currentWhere, currentTarget] = change.move && typeof change.move === 'object' ? Object.entries(change.move)[0] || [] : [];
  if (currentWhere) {
    moveWhere.value = currentWhere;
    moveTo.value = String(currentTarget);
  }
  const advanced = h('details', { class: 'advanced', attrs: view.advancedOpen ? { open: '' } : {} },
    h('summary', { text: 'Attribute, class, style, hide, move' }),
    h('label', { class: 'check' }, hide, h('span', { text: 'Hide this element' })),
    h('div', { class: 'row' }, attrName, attrValue, button('sb-attr-set', 'Set', () => on.attr(attrName.value.trim(), attrValue.value))),
    h('div', { class: 'row' }, addClass, button('sb-add-class-set', 'Set', () => on.set('addClass', addClass.value.trim() || undefined))),
    h('div', { class: 'row' }, removeClass, button('sb-remove-class-set', 'Set', () => on.set('removeClass', removeClass.value.trim() || undefined))),
    h('div', { class: 'row' }, style, button('sb-style-set', 'Set', () => on.set('style', style.value.trim() || undefined))),
    h('div', { class: 'row' }, moveWhere, moveTo, button('sb-move-set', 'Move', () => on.set('move', moveTo.value.trim() ? { [moveWhere.value]: moveTo.value.trim() } : undefined))));
  advanced.addEventListener('toggle', () => on.advanced(advanced.open));
  return h('section', { class: 'selection' },
    h('div', { class: 'row' }, field('Selector', selector)),
    h('p', { class: sel.warnings.length ? 'matches matches--warn' : 'matches', attrs: { id: 'sb-matches' },
      text: sel.matches === 1 ? 'Matches exactly this element.' : sel.matches > 1 ? `Matches ${sel.matches} elements.` : 'Matches nothing.' }),
    sel.warnings.length ? h('ul', { class: 'warnings', attrs: { id: 'sb-warnings', role: 'alert' } }, sel.warnings.map((w) => h('li', { text: w }))) : null,
    view.mode === 'after' ? h('p', { class: 'hint', text: sel.editable ? 'Type the new copy in the page: the outlined element is editable.' : 'This element holds other elements: change its parts, or use the options below.' }) : null,
    advanced);
}

/** The whole panel for `view` (see main.js for its fields); `on` holds the actions. */
export function renderPanel(view, on) {
  const experiment = view.experiment;
  if (!experiment) {
    return h('div', { class: 'panel', attrs: { role: 'dialog', 'aria-label': 'splitbeam editor' } },
      h('header', null, h('strong', { text: 'splitbeam editor' }), button('sb-close', 'Close', on.close)),
      h('p', { class: 'message message--alarm', attrs: { id: 'sb-message', role: 'alert' }, text: view.message || 'Loading…' }));
  }
  const variants = Array.isArray(experiment.variants) ? experiment.variants : [];
  const variant = h('select', { attrs: { id: 'sb-variant', 'aria-label': 'Variant' } },
    variants.map((v, i) => h('option', { attrs: { value: String(i) }, text: v && typeof v.key === 'string' ? v.key : `variant ${i}` })));
  variant.value = String(view.variantIndex);
  variant.addEventListener('change', () => on.variant(Number(variant.value)));
  const pressed = (mode) => ({ 'aria-pressed': String(view.mode === mode) });
  const changes = view.changes;
  const problems = view.problems || [];
  return h('div', { class: 'panel', attrs: { role: 'dialog', 'aria-label': 'splitbeam editor' } },
    h('header', null,
      h('strong', { text: experiment.name || experiment.key }),
      h('span', { class: `badge badge--${experiment.status}`, attrs: { id: 'sb-status' }, text: experiment.status }),
      button('sb-pick', view.picking ? 'Selecting: on' : 'Selecting: off', on.togglePick, { 'aria-pressed': String(view.picking) }),
      button('sb-close', 'Close', on.close)),
    h('div', { class: 'row' }, field('Variant', variant),
      button('sb-before', 'Before', () => on.mode('before'), pressed('before')),
      button('sb-after', 'After', () => on.mode('after'), pressed('after'))),
    selectionSection(view, on),
    h('section', { class: 'changes' },
      h('h2', { text: `Changes in ${variants[view.variantIndex] ? variants[view.variantIndex].key : 'this variant'}` }),
      changes.length
        ? h('ol', { attrs: { id: 'sb-changes' } }, changes.map((c, i) => h('li', { attrs: { 'data-change': String(i) } },
          h('code', { text: typeof c.selector === 'string' ? c.selector : '(page)' }), ' ', h('span', { text: describe(c) }), ' ',
          button(`sb-drop-${i}`, '×', () => on.drop(i), { 'aria-label': 'Drop this change', class: 'drop' }))))
        : h('p', { class: 'hint', attrs: { id: 'sb-changes' }, text: 'None yet.' })),
    problems.length ? h('ul', { class: 'problems', attrs: { id: 'sb-problems', role: 'alert' } },
      problems.map((p) => h('li', null, p.path ? h('code', { text: p.path }) : null, p.path ? ': ' : '', p.message || ''))) : null,
    h('div', { class: 'row actions' },
      button('sb-save', experiment.status === 'running' ? 'Save (live at once)' : 'Save draft', on.save, view.busy ? { disabled: '' } : {}),
      experiment.status !== 'running' ? button('sb-start', 'Start experiment', on.start, view.busy ? { disabled: '' } : {}) : null,
      view.stale ? button('sb-reload', 'Load the current version (drops your edits)', on.reload) : null),
    view.message ? h('p', { class: `message message--${view.messageKind || 'ok'}`, attrs: { id: 'sb-message', role: 'status' }, text: view.message }) : null,
    view.previewUrl ? h('p', { class: 'preview' }, h('span', { text: 'QA link (see it as a visitor): ' }),
      h('a', { attrs: { id: 'sb-preview', href: view.previewUrl, target: '_blank', rel: 'noopener' }, text: 'open preview' })) : null);
}

export const PANEL_CSS = `
:host { all: initial; }
.panel { position: fixed; right: 16px; bottom: 16px; width: 380px; max-height: 80vh; overflow: auto; z-index: 2147483647;
  background: #fff; color: #1b1f24; border: 1px solid #c9ced6; border-radius: 8px; box-shadow: 0 8px 28px rgba(0,0,0,.22);
  font: 13px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; padding: 10px 12px; box-sizing: border-box; }
.panel * { box-sizing: border-box; font: inherit; }
header { display: flex; gap: 6px; align-items: center; margin-bottom: 8px; }
header strong { flex: 1; font-weight: 700; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
h2 { font-weight: 700; margin: 10px 0 4px; }
.row { display: flex; gap: 6px; align-items: end; margin: 6px 0; flex-wrap: wrap; }
.field { display: flex; flex-direction: column; gap: 2px; flex: 1; }
input[type=text], select { border: 1px solid #c9ced6; border-radius: 4px; padding: 4px 6px; min-width: 0; flex: 1; background: #fff; color: inherit; }
button { border: 1px solid #8a94a3; border-radius: 4px; background: #f4f6f8; padding: 4px 8px; cursor: pointer; color: inherit; }
button[aria-pressed=true] { background: #1b1f24; color: #fff; }
button#sb-save, button#sb-start { background: #1457d2; color: #fff; border-color: #1457d2; }
button:disabled { opacity: .5; cursor: default; }
.badge { border-radius: 10px; padding: 0 8px; background: #e6e9ee; }
.badge--running { background: #d6f5df; } .badge--draft { background: #fff1c2; }
.hint, .matches { color: #57606a; margin: 4px 0; }
.matches--warn { color: #9a3a00; }
.warnings, .problems { color: #9a3a00; margin: 4px 0; padding-left: 18px; }
.problems { color: #b3261e; }
.message--alarm { color: #b3261e; } .message--ok { color: #1a7f37; }
code { font-family: ui-monospace, monospace; font-size: 12px; background: #f4f6f8; padding: 0 3px; border-radius: 3px; }
ol { padding-left: 18px; margin: 4px 0; } .drop { padding: 0 6px; }
details { margin: 6px 0; } summary { cursor: pointer; color: #1457d2; }
.check { display: flex; gap: 6px; align-items: center; margin: 6px 0; }
.box { position: fixed; left: 0; top: 0; pointer-events: none; z-index: 2147483646; border-radius: 2px; }
.box--hover { outline: 2px dashed #1457d2; background: rgba(20,87,210,.06); }
.box--selected { outline: 2px solid #e8590c; }
`;
