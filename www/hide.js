// The selectors to hide on this page, from the hide list `splitbeam snippet`/`splitbeam tag`
// compiled (core/src/hide.rs): rules of [kind, pattern, selectors], kind 0 every page, 1 a regex
// over the decoded path, 2 a regex over the URL (and the URL without its origin); +4 a draft,
// hidden only on a QA link. A pattern the browser cannot read hides (too much only delays).
export function hideFor(rules) {
  const qa = /[?&]splitbeam=/.test(location.search);
  let path = location.pathname;
  try {
    path = decodeURIComponent(path);
  } catch (_) {}
  const href = location.href;
  const out = [];
  for (const [kind, pattern, selectors] of rules || []) {
    if (kind & 4 && !qa) continue;
    let hit = true;
    try {
      const re = kind & 3 ? new RegExp(pattern, 'i') : null;
      if (re) hit = (kind & 3) == 1 ? re.test(path) : re.test(href) || re.test(href.slice(location.origin.length));
    } catch (_) {}
    if (hit) for (const s of selectors) if (out.indexOf(s) < 0) out.push(s);
  }
  return out;
}

// A `<style>` hiding `selectors` until it is removed; null when there is nothing to hide.
export function hide(selectors) {
  if (!selectors.length) return null;
  const style = document.createElement('style');
  style.textContent = selectors.map((s) => s + '{visibility:hidden!important}').join('');
  (document.head || document.documentElement).appendChild(style);
  return style;
}
