import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDemo } from '../src/demo/demo.js';
import { silentLogger } from '../src/log.js';
import { renderReport } from '../src/report/render.js';
import { tempDir } from './helpers.js';

let browser: Browser;
const dir = tempDir();

beforeAll(async () => {
  // Debian's chromium, started the way this workplace needs: headless, no sandbox (root), no background network.
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

afterAll(async () => {
  await browser?.close();
  dir.cleanup();
});

describe('the HTML report in a real browser', () => {
  it('renders the summary, a chart per list and the change table, with nothing fetched', async () => {
    const previous = process.env.TMPDIR;
    process.env.TMPDIR = dir.path;
    const demo = await runDemo(() => undefined, silentLogger);
    process.env.TMPDIR = previous;
    const html = renderReport(demo.report, 'html');
    const page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.setContent(html, { waitUntil: 'load' });
    expect(await page.locator('h1').textContent()).toBe('dnsfence change report');
    expect(await page.locator('.summary').textContent()).toContain('verified');
    expect(await page.locator('svg').count()).toBe(4);
    const bars = await page.locator('svg rect.add').count();
    expect(bars).toBeGreaterThan(0);
    const box = await page.locator('svg').first().boundingBox();
    expect(box && box.width > 300 && box.height > 40).toBe(true);
    expect(await page.locator('table.changes tbody tr').count()).toBe(demo.report.rows.length);
    expect(await page.locator('table.changes tr.removed').count()).toBe(1);
    expect(requests).toEqual([]);
    // Printable: the print stylesheet lays it out without error.
    await page.emulateMedia({ media: 'print' });
    const pdf = await page.pdf({ format: 'A4' });
    expect(pdf.subarray(0, 4).toString()).toBe('%PDF');
    await page.emulateMedia({ media: 'screen' });
    const shots = process.env.DNSFENCE_SCREENSHOTS ?? dir.path;
    mkdirSync(shots, { recursive: true });
    await page.screenshot({ path: join(shots, 'report.png'), fullPage: true });
    await page.close();
  });
});
