// Building DOM nodes for the dashboard without ever parsing data as HTML.
// Experiment names, variant keys and goal keys come from config and events: they only reach the page as text.

const SVG_NS = 'http://www.w3.org/2000/svg';

/** An HTML element. `props`: {class, text, title, href, attrs}; children: nodes, strings (as text) or null. */
export function h(tag, props, ...children) {
  return fill(document.createElement(tag), props, children);
}

/** An SVG element; `props.attrs` holds its geometry. */
export function s(tag, props, ...children) {
  return fill(document.createElementNS(SVG_NS, tag), props, children);
}

function fill(node, props, children) {
  const p = props || {};
  if (p.class) node.setAttribute('class', p.class);
  if (p.text !== undefined && p.text !== null) node.textContent = String(p.text);
  if (p.title) node.setAttribute('title', String(p.title));
  if (p.href) node.setAttribute('href', p.href);
  for (const [name, value] of Object.entries(p.attrs || {})) {
    if (value !== undefined && value !== null) node.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.appendChild(typeof child === 'string' || typeof child === 'number'
      ? document.createTextNode(String(child))
      : child);
  }
  return node;
}

/** The dashboard URL of one experiment; the key is percent-encoded, so any key makes a safe path. */
export function experimentHref(key) {
  return '/experiments/' + encodeURIComponent(String(key));
}
