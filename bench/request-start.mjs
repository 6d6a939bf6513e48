// What starting a request costs the main thread in a fresh context, the inline tag's way
// (`fetch()`, www/tag.js) against a `<link rel=preload as=fetch>` it could add instead: each timed
// in an inline script of a page of its own, untraced, the medians of `rounds` fresh contexts.
// `node bench/request-start.mjs [rounds]`.
import http from 'node:http';
import { launch } from '../tests/e2e/lib/snippet-browser.mjs';
import { median, table } from './lib/stats.mjs';

const rounds = Number(process.argv[2]) || 12;
const preload = (href) =>
  `{const l=document.createElement('link');l.rel='preload';l.as='fetch';l.crossOrigin='anonymous';l.href='${href}';document.head.appendChild(l)}`;
// Each page times its steps in order; the first of each kind pays what a first use costs.
const pages = {
  '/fetch': ['fetch(), the first', 'fetch(), a second'],
  '/preload': ['preload link, the first', 'preload link, a second', 'fetch() of the preloaded file'],
};
const steps = {
  '/fetch': [`fetch('/a.bin',{priority:'high'})`, `fetch('/b.bin')`],
  '/preload': [preload('/a.bin'), preload('/b.bin'), `fetch('/a.bin')`],
};
const html = (path) =>
  `<!doctype html><html><head><script>window.r=[];${steps[path].map((s) => `{const t=performance.now();${s};r.push(performance.now()-t)}`).join('')}</script></head><body>x</body></html>`;
const server = http.createServer((req, res) => {
  if (pages[req.url]) return res.end(html(req.url));
  res.setHeader('content-type', 'application/octet-stream');
  res.end(Buffer.alloc(1000));
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${server.address().port}`;
const browser = await launch();
const rows = [];
try {
  for (const [path, labels] of Object.entries(pages)) {
    const runs = [];
    for (let i = 0; i < rounds; i++) {
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      await page.goto(base + path);
      runs.push(await page.evaluate(() => window.r));
      await ctx.close();
    }
    labels.forEach((label, k) => rows.push([label, `${median(runs.map((r) => r[k])).toFixed(2)} ms`]));
  }
} finally {
  await browser.close();
  server.close();
}
console.log(`### Starting a request in a fresh context (${rounds} rounds, medians)\n`);
console.log(table(['step', 'main thread'], rows));
