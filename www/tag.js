// The inline tag (dist/tag.js; `splitbeam tag` and the collector's /tag fill in the marker): pasted
// at the top of <head>. Before first paint it hides only the elements that experiments on this page
// may change, starts the command queue and adds splitbeam.js async. Nothing in it waits on the
// collector: whatever the collector does, the hidden elements show again after the timeout.
import { hide, hideFor } from './hide.js';

(() => {
  try {
    // {h: hide rules, s: splitbeam.js URL, t: timeout ms, a: attributes for the script element}
    const tag = { c: '__SPLITBEAM_TAG__' }.c;
    window.splitbeam = window.splitbeam || [];
    const state = (window.splitbeamTag = { done: false, style: hide(hideFor(tag.h)), timeout: tag.t });
    state.timer = setTimeout(() => {
      state.done = true;
      if (state.style) state.style.remove();
    }, tag.t);
    const script = document.createElement('script');
    script.async = true;
    script.src = tag.s;
    for (const name in tag.a) script.setAttribute(name, tag.a[name]);
    (document.head || document.documentElement).appendChild(script);
  } catch (err) {
    console.error('splitbeam: the inline tag failed: ' + ((err && err.message) || err));
  }
})();
