// Choosing an element on the shop's page: hover draws a box around it, click selects it. The
// boxes live in the editor's shadow root (the page's DOM is not touched), and clicks on the page
// are kept from the page while picking (a link would navigate, a goal would be tracked).

/**
 * Starts picking on `doc`. `host` is the editor's own element (never picked); `layer` is where
 * the boxes are drawn; `onPick(el)` is called with the clicked element. Returns {enabled, stop,
 * redraw}: `enabled(on)` turns picking on and off, `redraw(selected)` moves the selection's box.
 */
export function startPicker(doc, host, layer, onPick) {
  const view = doc.defaultView;
  const hoverBox = layer.appendChild(doc.createElement('div'));
  hoverBox.className = 'box box--hover';
  const selectedBox = layer.appendChild(doc.createElement('div'));
  selectedBox.className = 'box box--selected';
  let on = true;
  let hovered = null;
  let selected = null;

  const place = (box, el) => {
    if (!el || !el.isConnected) {
      box.hidden = true;
      return;
    }
    const r = el.getBoundingClientRect();
    box.hidden = false;
    box.style.setProperty('transform', `translate(${r.left}px, ${r.top}px)`);
    box.style.setProperty('width', `${r.width}px`);
    box.style.setProperty('height', `${r.height}px`);
  };
  const ours = (event) => event.composedPath().includes(host);
  const pickable = (el) => el instanceof view.Element && el !== doc.documentElement && el !== doc.body;

  const over = (event) => {
    if (!on || ours(event) || !pickable(event.target)) return;
    hovered = event.target;
    place(hoverBox, hovered);
  };
  const out = () => {
    hovered = null;
    hoverBox.hidden = true;
  };
  const click = (event) => {
    if (!on || ours(event)) return;
    event.preventDefault();
    event.stopPropagation();
    // A click inside the element being typed into places the caret; it is not a new pick.
    if (selected && selected.contains(event.target)) return;
    if (pickable(event.target)) onPick(event.target);
  };
  const moved = () => {
    place(hoverBox, hovered);
    place(selectedBox, selected);
  };
  doc.addEventListener('mouseover', over, true);
  doc.addEventListener('mouseout', out, true);
  doc.addEventListener('click', click, true);
  view.addEventListener('scroll', moved, true);
  view.addEventListener('resize', moved);
  return {
    enabled(value) {
      on = value;
      if (!on) out();
    },
    redraw(el) {
      selected = el;
      moved();
    },
    stop() {
      doc.removeEventListener('mouseover', over, true);
      doc.removeEventListener('mouseout', out, true);
      doc.removeEventListener('click', click, true);
      view.removeEventListener('scroll', moved, true);
      view.removeEventListener('resize', moved);
    },
  };
}
