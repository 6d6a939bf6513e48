// A variant's changes on the page, for the whole of a page view: the loader applies what the
// first-paint module chose (src/change_list.rs hands the changes over), and the whole snippet, once
// it has started, sets what it decides on each route (src/page_changes.rs) through the same state
// (`window.splitbeamChanges`), so the takeover changes nothing on the page. Each change remembers
// what it replaced and can tell whether the page has since overwritten it (a framework re-render,
// lazy content: a MutationObserver re-applies, within a budget). On the critical path these lines
// replace 7.6 KB gzip of wasm and its glue (README, "Why the snippet has this shape").

// How often one element's change is re-applied within a second before backing off: a page that
// fights back cannot hang the tab.
const MAX_REAPPLIES = 3;
const WINDOW_MS = 1000;

let active = [];
let observer = null;
let retryPending = false;

const query = (selector, all) => {
  try {
    return all ? Array.from(document.querySelectorAll(selector)) : document.querySelector(selector);
  } catch (_) {
    // An invalid selector matches nothing (`splitbeam validate` reports it).
    return all ? [] : null;
  }
};

// A DOM call that throws (an attribute name the browser refuses, a move the DOM forbids) costs that
// one operation, never the other changes or the page; an operation that threw is not retried.
const attempt = (f) => {
  try {
    f();
    return true;
  } catch (_) {
    return false;
  }
};
const applyOrGiveUp = (op) => attempt(op.apply) || (op.holds = () => true);

// The operations of one change on one element, each { apply, holds, revert }.
function operations(change, el) {
  const ops = [];
  const content = (set, read) => {
    let original = [];
    let shown;
    ops.push({
      apply() {
        // The original child nodes themselves: reverting restores markup, and the page's own
        // references and listeners on them stay valid.
        original = Array.from(el.childNodes);
        set();
        shown = read();
      },
      holds: () => read() === shown,
      revert() {
        el.textContent = '';
        original.forEach((node) => el.appendChild(node));
      },
    });
  };
  if (change.text != null) content(() => (el.textContent = change.text), () => el.textContent);
  // Markup reads back normalised: what holds is what the browser shows.
  if (change.html != null) content(() => (el.innerHTML = change.html), () => el.innerHTML);
  const attribute = (name, wanted, value = () => wanted) => {
    let original = null;
    let shown;
    ops.push({
      apply() {
        original = el.getAttribute(name);
        el.setAttribute(name, value(original));
        shown = el.getAttribute(name);
      },
      holds: () => el.getAttribute(name) === shown,
      revert: () => (original == null ? el.removeAttribute(name) : el.setAttribute(name, original)),
    });
  };
  for (const [name, value] of change.attr || []) attribute(name, value);
  // Appended, so the variant's declarations win over the element's own inline style.
  if (change.style != null) attribute('style', change.style, (own) => (own && own.trim() ? own + ';' + change.style : change.style));
  const classes = (names, add) => {
    const words = names.split(/\s+/).filter(Boolean);
    const changed = [];
    ops.push({
      apply() {
        for (const word of words)
          if (el.classList.contains(word) != add) {
            el.classList.toggle(word, add);
            if (changed.indexOf(word) < 0) changed.push(word);
          }
      },
      holds: () => words.every((word) => el.classList.contains(word) == add),
      revert: () => changed.forEach((word) => el.classList.toggle(word, !add)),
    });
  };
  if (change.addClass != null) classes(change.addClass, true);
  if (change.removeClass != null) classes(change.removeClass, false);
  // `remove` and `move` both take the element out of its place; revert puts it back there.
  const [place, to] = change.move || [];
  if (change.remove || to) {
    let parent = null;
    let next = null;
    const target = () => (to ? query(to) : null);
    ops.push({
      apply() {
        parent = el.parentNode;
        next = el.nextSibling;
        if (change.remove) return el.remove();
        const t = target();
        // Never into itself or its own subtree (a DOM exception).
        if (t && !el.contains(t)) place == 'before' ? t.before(el) : place == 'after' ? t.after(el) : t.append(el);
      },
      holds() {
        if (change.remove) return !el.isConnected;
        const t = target();
        // Nothing to move next to (yet): holding, so the target's absence causes no churn.
        if (!t) return true;
        const placed = place == 'before' ? el.nextElementSibling : place == 'after' ? el.previousElementSibling : el.parentElement;
        return placed === t || el.contains(t);
      },
      revert() {
        // The old next sibling may have left too; then the end of the old parent is the best place.
        if (parent) parent.insertBefore(el, next && next.parentNode === parent ? next : null);
      },
    });
  }
  ops.forEach(applyOrGiveUp);
  return ops;
}

// One element under one change, with its re-apply budget; a time to check again when throttled.
function keep(tracked, now) {
  if (tracked.ops.every((op) => op.holds())) return null;
  if (now - tracked.since >= WINDOW_MS) {
    tracked.since = now;
    tracked.reapplies = 0;
  }
  if (tracked.reapplies >= MAX_REAPPLIES) return tracked.since + WINDOW_MS;
  tracked.reapplies++;
  tracked.ops.forEach((op) => op.holds() || applyOrGiveUp(op));
  return null;
}

// Reaches elements that appeared since, and re-applies overwritten changes within budget.
function reconcile() {
  const now = Date.now();
  let retry = Infinity;
  for (const variant of active)
    for (const entry of variant.changes) {
      for (const el of query(entry.change.selector, true)) {
        const tracked = entry.tracked.find((t) => t.el === el);
        if (!tracked) entry.tracked.push({ el, ops: operations(entry.change, el), since: now, reapplies: 0 });
      }
      // Removed or moved elements no longer match their selector but may have been put back.
      for (const tracked of entry.tracked) retry = Math.min(retry, keep(tracked, now) ?? Infinity);
    }
  // The records our own changes just caused must not wake the observer again.
  if (observer) observer.takeRecords();
  if (retry < Infinity && !retryPending) {
    retryPending = true;
    setTimeout(() => ((retryPending = false), reconcile()), Math.min(Math.max(retry - Date.now(), 0), WINDOW_MS) + 1);
  }
}

// One variant on the page: its page CSS now, its element changes on `reconcile`.
function start(experiment, variant, changes) {
  const css = changes
    .filter((change) => change.css != null)
    .map((change) => {
      const style = document.createElement('style');
      style.setAttribute('data-splitbeam', experiment);
      style.textContent = change.css;
      (document.head || document.documentElement).appendChild(style);
      return style;
    });
  const elements = changes.filter((change) => change.selector != null).map((change) => ({ change, tracked: [] }));
  return { experiment, variant, changes: elements, css };
}

// Puts every element and the page CSS back as they were (latest originals), latest first.
function undo(active) {
  for (const entry of active.changes.reverse()) for (const tracked of entry.tracked.reverse()) tracked.ops.reverse().forEach((op) => attempt(op.revert));
  active.css.forEach((style) => style.remove());
}

// The variants on the page from now on, `[[experiment, variant, [change, …]], …]`: a variant already
// there stays as it is, the others are reverted; the new ones are applied and the page watched for
// them. Returns the reverted ones, `[[experiment, variant], …]`.
export function setVariants(variants) {
  const same = (a, [experiment, variant]) => a.experiment == experiment && a.variant == variant;
  const gone = active.filter((a) => !variants.some((v) => same(a, v)));
  gone.slice().reverse().forEach(undo);
  active = active.filter((a) => gone.indexOf(a) < 0);
  for (const [experiment, variant, changes] of variants) if (!active.some((a) => same(a, [experiment, variant]))) active.push(start(experiment, variant, changes));
  if (active.length) {
    reconcile();
    if (!observer) {
      observer = new MutationObserver(reconcile);
      observer.observe(document.documentElement, { childList: true, subtree: true, attributes: true, characterData: true });
    }
  } else if (observer) {
    observer.disconnect();
    observer = null;
  }
  return gone.map((a) => [a.experiment, a.variant]);
}

// `splitbeam.variant(experiment)`: the variant on the page, or null.
export const variantOf = (experiment) => (active.find((a) => a.experiment == experiment) || {}).variant || null;
