// The in-page editor's selector proposal (www/editor/selector.js), unit by unit: which selector it
// proposes (a unique id, then a data attribute, then a short path, positions last) and which
// warnings it gives (several matches, generated class names, nth- chains). The name heuristics
// run in Node; the DOM cases in Chromium, where querySelectorAll is the one pages use.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { looksGenerated } from '../../www/editor/selector.js';
import { launch } from './lib/snippet-browser.mjs';

const SOURCE = new URL('../../www/editor/selector.js', import.meta.url);
let browser, page;

before(async () => {
  browser = await launch();
  page = await browser.newPage();
  await page.setContent('<!doctype html><html><body></body></html>');
  await page.addScriptTag({ type: 'module', content: `${await readFile(SOURCE, 'utf8')}\nwindow.selectorLib = { proposeSelector, checkSelector };` });
  await page.waitForFunction(() => window.selectorLib);
});
after(async () => {
  await browser?.close();
});

/** The proposal for the element `pick` finds in `html`. */
const propose = (html, pick) => page.evaluate(([html, pick]) => {
  document.body.innerHTML = html; // the test's own fixture, not page or user data
  return window.selectorLib.proposeSelector(document.querySelector(pick));
}, [html, pick]);

test('names made by people are stable; build tools\' and frameworks\' are not', () => {
  for (const name of ['hero', 'cta', 'product-card__title', 'btn--primary', 'step-2', 'h1']) assert.equal(looksGenerated(name), false, name);
  for (const name of ['css-1x2y3z', 'sc-bdVaJa', 'jsx-2034458919', 'title__3xYz9', ':r1:', 'ember1234', 'a1b2c3']) {
    assert.equal(looksGenerated(name), true, name);
  }
});

test('a unique, hand-written id is the selector', async () => {
  const p = await propose('<main><h1 id="headline" class="css-1x2y3z">Hi</h1><h1>Other</h1></main>', '#headline');
  assert.deepEqual(p, { selector: '#headline', matches: 1, warnings: [] });
});

test('a generated id is passed over for a data attribute', async () => {
  const p = await propose('<div id="ember1234" data-testid="price">9 €</div><div data-testid="name">Bean</div>', '#ember1234');
  assert.deepEqual(p, { selector: '[data-testid="price"]', matches: 1, warnings: [] });
});

test('a data attribute shared with another tag gets the tag', async () => {
  const p = await propose('<p data-role="promo">A</p><span data-role="promo">B</span>', 'span');
  assert.equal(p.selector, 'span[data-role="promo"]');
  assert.equal(p.matches, 1);
});

test('without id or data attribute: the shortest path from the nearest anchored ancestor', async () => {
  const p = await propose('<section id="hero"><h1>Autumn</h1><p>Roasted</p></section><section><h1>Other</h1></section>', '#hero h1');
  assert.deepEqual(p, { selector: '#hero h1', matches: 1, warnings: [] });
  const q = await propose('<div class="card"><h2 class="card__title">A</h2></div><aside><h2>B</h2></aside>', '.card h2');
  assert.equal(q.selector, 'h2.card__title', 'a stable class makes the step unique');
  assert.deepEqual(q.warnings, []);
});

test('generated class names are left out of the path', async () => {
  const p = await propose('<div class="css-9z8y7x"><h2 class="sc-abc123">A</h2></div><h3>B</h3>', 'h2');
  assert.equal(p.selector, 'h2');
  assert.deepEqual(p.warnings, []);
});

test('siblings alike: positions, with a warning that they are fragile', async () => {
  const p = await propose('<ul><li>One</li><li>Two</li><li>Three</li></ul>', 'li:nth-child(2)');
  assert.equal(p.selector, 'li:nth-of-type(2)', 'as short as is unique');
  assert.equal(p.matches, 1);
  assert.equal(p.warnings.length, 1);
  assert.match(p.warnings[0], /positions \(1 ×/);
  const chain = await propose('<ul><li>One</li><li>Two</li></ul><ul><li>A</li><li>B</li></ul>', 'ul li:nth-child(2)');
  assert.equal(chain.selector, 'ul:nth-of-type(1) > li:nth-of-type(2)');
  assert.equal(chain.matches, 1);
  assert.match(chain.warnings.join(' '), /positions \(2 ×/);
});

test('a selector edited by hand that matches several elements or names generated classes is warned about', async () => {
  const check = (html, selector) => page.evaluate(([html, selector]) => {
    document.body.innerHTML = html;
    return window.selectorLib.checkSelector(selector, document);
  }, [html, selector]);
  const several = await check('<p class="note">a</p><p class="note">b</p>', '.note');
  assert.equal(several.matches, 2);
  assert.match(several.warnings.join(' '), /Matches 2 elements/);
  const generated = await check('<p class="css-1x2y3z">a</p>', '.css-1x2y3z');
  assert.match(generated.warnings.join(' '), /generated.*css-1x2y3z/);
  const none = await check('<p>a</p>', '#missing');
  assert.match(none.warnings.join(' '), /no element/);
  const invalid = await check('<p>a</p>', 'p[');
  assert.equal(invalid.matches, -1);
  assert.match(invalid.warnings.join(' '), /not a valid/);
});
