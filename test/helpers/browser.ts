/**
 * Real Chromium (the Debian package) through playwright-core for browser
 * tests: one browser per test file, a fresh context per page, and screenshots
 * kept under test-results/screenshots/ as artifacts.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, expect } from 'vitest';
import { waitFor } from './wait-for.js';

export const CHROMIUM_PATH = '/usr/bin/chromium';
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const SCREENSHOT_DIR = join(ROOT, 'test-results', 'screenshots');
const DOCS_SCREENSHOT_DIR = join(ROOT, 'docs', 'screenshots');

let browser: Promise<Browser> | null = null;
const pages = new Set<Page>();
const pageErrors = new Map<Page, string[]>();

afterEach(async () => {
  const open = [...pages];
  pages.clear();
  // Script errors fail the test that caused them, even when every assertion passed.
  const errors = open.flatMap((p) => pageErrors.get(p) ?? []);
  await Promise.all(open.map((p) => p.context().close().catch(() => {})));
  expect(errors, 'errors thrown by page scripts').toEqual([]);
});

afterAll(async () => {
  const b = browser;
  browser = null;
  if (b) await (await b).close();
});

/** Opens `url` in a new context (its own localStorage) and records the page's script errors. */
export async function openPage(url: string, opts: { width?: number; height?: number; beforeLoad?: (page: Page) => void } = {}): Promise<Page> {
  browser ??= chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const context = await (await browser).newContext({ viewport: { width: opts.width ?? 1440, height: opts.height ?? 1000 } });
  const page = await context.newPage();
  pages.add(page);
  const errors: string[] = [];
  pageErrors.set(page, errors);
  page.on('pageerror', (err) => errors.push(err.message));
  // Destructive buttons ask first; the tests mean to press them.
  page.on('dialog', (dialog) => void dialog.accept());
  opts.beforeLoad?.(page);
  await page.goto(url);
  return page;
}

/**
 * Saves a full-page screenshot as test-results/screenshots/`name`.png and, with `docsAs`
 * and GAFFER_UPDATE_SCREENSHOTS=1, copies it to docs/screenshots/ for the README
 * (only on request, so a test run does not rewrite committed files).
 */
export async function screenshot(page: Page, name: string, docsAs?: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  // Transitions finished, so bars show the values the assertions just read.
  await page.screenshot({ path, fullPage: true, animations: 'disabled' });
  if (docsAs && process.env.GAFFER_UPDATE_SCREENSHOTS === '1') {
    mkdirSync(DOCS_SCREENSHOT_DIR, { recursive: true });
    copyFileSync(path, join(DOCS_SCREENSHOT_DIR, docsAs));
  }
  return path;
}

/** The text of the first element matching `selector`, trimmed. */
export async function textOf(page: Page, selector: string): Promise<string> {
  return ((await page.locator(selector).first().textContent()) ?? '').trim();
}

/** Waits until the text at `selector` satisfies `pred` (the page updates itself; nothing reloads it) and returns that text. */
export async function waitForText(page: Page, selector: string, pred: (text: string) => boolean, what: string, timeoutMs?: number): Promise<string> {
  const found = await waitFor(async () => {
    const text = await textOf(page, selector).catch(() => null);
    return text !== null && pred(text) && { text };
  }, what, timeoutMs);
  return found.text;
}

/** Parses a number as the dashboards format it ("1,234", "12/s"). */
export function numberIn(text: string): number {
  const m = /-?[\d,]+(\.\d+)?/.exec(text);
  if (!m) throw new Error(`no number in "${text}"`);
  return Number(m[0].replace(/,/g, ''));
}

/** Counts the WebSocket messages the page receives (to check the feed is aggregated per tick); call from `beforeLoad`. */
export function countWsFrames(page: Page): { received: () => number } {
  let n = 0;
  page.on('websocket', (ws) => ws.on('framereceived', () => n++));
  return { received: () => n };
}
