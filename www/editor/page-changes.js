// A variant's changes shown on the page and taken back, for the editor's before/after switch.
// Like GrowthBook's dom-mutator, each touched element's original state is recorded once (its
// children, attributes, place) and restored on revert, so switching back and forth never drifts.
// The snippet applies the same change kinds for visitors (www/changes.js); `remove` is shown here as
// hidden rather than removed, so that it can be undone.

const originals = new Map(); // element → {children, attributes, parent, next}

/** Records `el`'s state before the editor first changes it (typing in place included). */
export function remember(el) {
  if (originals.has(el)) return;
  originals.set(el, {
    children: [...el.childNodes].map((n) => n.cloneNode(true)),
    attributes: [...el.attributes].map((a) => [a.name, a.value]),
    parent: el.parentNode,
    next: el.nextSibling,
  });
}

/** Puts every changed element back as it was. */
export function revertAll() {
  for (const [el, was] of [...originals].reverse()) {
    for (const a of [...el.attributes]) el.removeAttribute(a.name);
    for (const [name, value] of was.attributes) el.setAttribute(name, value);
    el.replaceChildren(...was.children.map((n) => n.cloneNode(true)));
    if (was.parent && (el.parentNode !== was.parent || el.nextSibling !== was.next)) {
      was.parent.insertBefore(el, was.next && was.next.parentNode === was.parent ? was.next : null);
    }
  }
  originals.clear();
}

const classes = (value) => String(value).split(/\s+/).filter(Boolean);

/** Applies one change to the page (page-level `css` and `redirect` are not previewed). */
function apply(change, doc) {
  if (!change || typeof change.selector !== 'string') return;
  let elements;
  try {
    elements = [...doc.querySelectorAll(change.selector)];
  } catch {
    return; // a bad selector: validation says so on save
  }
  for (const el of elements) {
    remember(el);
    if (typeof change.text === 'string') el.textContent = change.text;
    if (change.attr && typeof change.attr === 'object') {
      for (const [name, value] of Object.entries(change.attr)) {
        try {
          el.setAttribute(name, String(value));
        } catch {
          // an invalid attribute name: validation says so on save
        }
      }
    }
    if (typeof change.addClass === 'string') el.classList.add(...classes(change.addClass));
    if (typeof change.removeClass === 'string') el.classList.remove(...classes(change.removeClass));
    if (typeof change.style === 'string' && change.style.trim()) {
      const own = el.getAttribute('style');
      el.setAttribute('style', own && own.trim() ? `${own};${change.style}` : change.style);
    }
    if (change.remove === true) el.style.setProperty('display', 'none', 'important');
    if (change.move && typeof change.move === 'object') {
      const [where, target] = Object.entries(change.move)[0] || [];
      let to = null;
      try {
        to = typeof target === 'string' ? doc.querySelector(target) : null;
      } catch {
        to = null;
      }
      if (to && !el.contains(to)) {
        if (where === 'before') to.before(el);
        else if (where === 'after') to.after(el);
        else if (where === 'into') to.append(el);
      }
    }
  }
}

/** Shows `changes` on the page: first everything back, then each change in order. */
export function show(changes, doc = document) {
  revertAll();
  for (const change of Array.isArray(changes) ? changes : []) apply(change, doc);
}
