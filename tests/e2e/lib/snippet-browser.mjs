// Headless Debian Chromium for the snippet's end-to-end tests, and a page wrapper that records
// console errors and uncaught exceptions so each test can assert the page was never broken.
import { chromium } from 'playwright-core';

/**
 * Headless Chromium as a shopper's browser by default: `navigator.webdriver` false (the snippet
 * marks automated browsers as bots) and, through `openPage`, a User-Agent without "HeadlessChrome"
 * (the collector keeps crawlers out of results). `automated: true` leaves both as they are.
 */
export const launch = ({ automated = false } = {}) =>
  chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
      ...(automated ? [] : ['--disable-blink-features=AutomationControlled'])],
  });

/** This Chromium's User-Agent as a desktop Chrome sends it. */
export const shopperAgent = (browser) =>
  `Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${browser.version()} Safari/537.36`;

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
