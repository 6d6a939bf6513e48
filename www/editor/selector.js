// The selector the in-page editor proposes for a clicked element, and how much to trust it.
// Preference, most stable first: a unique id, then a unique data attribute, then a short path
// from the nearest ancestor that has one (tag names and stable class names, `#hero h1`), and only
// when nothing shorter is unique, positions (:nth-of-type). GrowthBook's visual editor asks
// @medv/finder for the shortest unique selector; we prefer what survives a redesign over what is
// shortest, and say why a selector is risky instead of hiding it.

/** Data attributes worth anchoring on, best first (test ids are there to be stable). */
const PREFERRED_DATA = ['data-testid', 'data-test', 'data-qa', 'data-cy', 'data-id', 'data-section', 'data-product'];
/** Build tools' prefixes for generated class names (CSS-in-JS, scoped styles). */
const GENERATED_PREFIX = /^(css|sc|jsx|emotion|styled|svelte|astro|chakra|makeStyles|tw)-/i;
/** A path longer than this is one a template change breaks. */
const LONG_PATH = 4;

/**
 * Whether an id, class or attribute value looks made by a build tool or framework rather than by
 * a person: such names change with the next deploy.
 */
export function looksGenerated(name) {
  if (typeof name !== 'string' || name === '') return true;
  // `css-1x2y3z`, `sc-bdVaJa`: a tool's prefix and then a hash (digits or camel-case noise).
  if (GENERATED_PREFIX.test(name) && /\d|[a-z][A-Z]/.test(name.replace(GENERATED_PREFIX, ''))) return true;
  if (/[:{}]/.test(name)) return true; // React's useId (:r1:), template leftovers
  if ((name.match(/\d/g) || []).length >= 3) return true; // ember123, product-12345, a1b2c3
  // A hash-like part: letters and digits mixed, 4+ characters (CSS modules' `title__3xYz9`).
  return name.split(/[-_]+/).some((part) => part.length >= 4 && /\d/.test(part) && /[a-z]/i.test(part));
}

const cssString = (value) => '"' + String(value).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\a ') + '"';

function matchCount(doc, selector) {
  try {
    return doc.querySelectorAll(selector).length;
  } catch {
    return -1; // not a valid selector
  }
}

/** `#id` when the element's id is unique and looks hand-written. */
function byId(el, doc) {
  if (!el.id || looksGenerated(el.id)) return null;
  const selector = '#' + CSS.escape(el.id);
  return matchCount(doc, selector) === 1 ? selector : null;
}

/** `[data-x="v"]` (or `tag[data-x="v"]`) when one of its data attributes is unique. */
function byData(el, doc) {
  // Values are not judged by looksGenerated: `data-sku="10442"` is as stable as a name.
  const attrs = [...el.attributes].filter((a) => a.name.startsWith('data-') && a.value !== '' && a.value.length <= 80 && !/[\n{}]/.test(a.value));
  attrs.sort((a, b) => rank(a.name) - rank(b.name));
  for (const attr of attrs) {
    const bare = `[${CSS.escape(attr.name)}=${cssString(attr.value)}]`;
    if (matchCount(doc, bare) === 1) return bare;
    const tagged = el.localName + bare;
    if (matchCount(doc, tagged) === 1) return tagged;
  }
  return null;
}

const rank = (name) => {
  const i = PREFERRED_DATA.indexOf(name);
  return i < 0 ? PREFERRED_DATA.length : i;
};

/** One step of a path: the tag, plus its first stable class name. */
function step(el) {
  const stable = [...el.classList].find((c) => !looksGenerated(c));
  return el.localName + (stable ? '.' + CSS.escape(stable) : '');
}

/** The step with its position among same-tag siblings, when it has any. */
function positioned(el) {
  const same = el.parentElement ? [...el.parentElement.children].filter((c) => c.localName === el.localName) : [el];
  return same.length > 1 ? `${step(el)}:nth-of-type(${same.indexOf(el) + 1})` : step(el);
}

/** A path from the nearest anchored ancestor (id or data attribute), shortest unique first. */
function byPath(el, doc) {
  const steps = [];
  let anchor = null;
  for (let node = el; node && node.localName !== 'html'; node = node.parentElement) {
    if (node !== el) anchor = byId(node, doc) || byData(node, doc);
    if (anchor) break;
    steps.unshift(node);
  }
  // The element's own step, then more of its ancestors', joined as descendants of the anchor.
  for (let k = 1; k <= steps.length; k++) {
    const tail = steps.slice(-k).map(step);
    const selector = [anchor, ...tail].filter(Boolean).join(' ');
    if (matchCount(doc, selector) === 1) return selector;
  }
  // Nothing unique without positions: a child chain with :nth-of-type where siblings share a
  // tag, again as short as is unique.
  let selector = '';
  for (let k = 1; k <= steps.length; k++) {
    selector = [anchor, steps.slice(-k).map(positioned).join(' > ')].filter(Boolean).join(' ');
    if (matchCount(doc, selector) === 1) return selector;
  }
  return selector;
}

/**
 * How trustworthy a selector is on this page: how many elements it matches, and warnings a
 * person can act on (it matches several or none, names generated classes, depends on positions).
 */
export function checkSelector(selector, doc) {
  const matches = matchCount(doc, selector);
  const warnings = [];
  if (matches < 0) warnings.push('This is not a valid CSS selector.');
  else if (matches === 0) warnings.push('Matches no element on this page.');
  else if (matches > 1) warnings.push(`Matches ${matches} elements: the change applies to all of them.`);
  const names = [...selector.matchAll(/[#.]((?:\\.|[\w-])+)/g)].map((m) => m[1].replace(/\\/g, ''));
  const generated = names.filter(looksGenerated);
  if (generated.length) warnings.push(`Looks generated by a build tool (${generated.join(', ')}): it may change with the next deploy.`);
  const positions = (selector.match(/:nth-(child|of-type|last-child|last-of-type)\(/g) || []).length;
  if (positions) warnings.push(`Depends on element positions (${positions} × nth-…): adding or moving elements on the page breaks it.`);
  if (selector.split(/\s*[\s>+~]\s*/).filter(Boolean).length > LONG_PATH) warnings.push('A long path: a change of the page template breaks it.');
  return { selector, matches, warnings };
}

/** The selector proposed for `el`, with its match count and warnings. */
export function proposeSelector(el) {
  const doc = el.ownerDocument;
  const selector = byId(el, doc) || byData(el, doc) || byPath(el, doc);
  return checkSelector(selector, doc);
}
