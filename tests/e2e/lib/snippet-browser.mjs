// Headless Debian Chromium for the snippet's end-to-end tests, and a page wrapper that records
// console errors and uncaught exceptions so each test can assert the page was never broken.
import { execFileSync } from 'node:child_process';
import { chromium } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';

/** A desktop Chrome's User-Agent for this Chromium version. */
const agentOf = (version) => `Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${version} Safari/537.36`;

/**
 * Headless Chromium as a shopper's browser by default: `navigator.webdriver` false (the snippet
 * marks automated browsers as bots) and a User-Agent without "HeadlessChrome" (the collector keeps
 * crawlers out of results). The User-Agent is set for the whole browser, not only per page: a page's
 * override does not reach the beacons sent as it unloads, which then came as HeadlessChrome and made
 * a shopper a bot now and then. `automated: true` leaves both as they are.
 */
export const launch = ({ automated = false } = {}) => {
  const shopper = automated ? [] : ['--disable-blink-features=AutomationControlled', `--user-agent=${agentOf(chromiumVersion())}`];
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', ...shopper],
  });
};

let version;
/** `chromium --version`'s number, read once. */
function chromiumVersion() {
  version ??= execFileSync(CHROMIUM, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).match(/\d+(\.\d+){3}/)?.[0];
  if (!version) throw new Error(`${CHROMIUM} --version printed no version`);
  return version;
}

/** This Chromium's User-Agent as a desktop Chrome sends it. */
export const shopperAgent = (browser) => agentOf(browser.version());

/** A fresh page (own context: a first-time visitor unless `context` is given) with its problems recorded. */
export async function openPage(browser, context) {
  const ctx = context || (await browser.newContext({ userAgent: shopperAgent(browser) }));
  const page = await ctx.newPage();
  const seen = { errors: [], splitbeamErrors: [], uncaught: [] };
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    seen.errors.push(msg.text());
    if (msg.text().startsWith('splitbeam:')) seen.splitbeamErrors.push(msg.text());
  });
  page.on('pageerror', (err) => seen.uncaught.push(String(err)));
  return { page, ctx, seen };
}

/** The text of `selector` once it stops being hidden by the loader. */
export const textOf = (page, selector) => page.$eval(selector, (el) => el.textContent);

export const isVisible = (page, selector) => page.$eval(selector, (el) => getComputedStyle(el).visibility !== 'hidden');
