import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TARGET_TYPES } from '../adapters/registry.js';
import { parseConfig } from '../src/config/load.js';
import { runDemo } from '../src/demo/demo.js';
import { silentLogger } from '../src/log.js';
import { buildReport } from '../src/report/model.js';
import { renderReport } from '../src/report/render.js';
import type { LookupResult } from '../src/resolver/types.js';
import { openDatabase } from '../src/store/db.js';
import { migrate } from '../src/store/migrate.js';
import { runSync } from '../src/sync/engine.js';
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
    // One document: the learned names and the feed consumers inside it, then its end, once.
    expect(html.match(/<\/body><\/html>/g)).toHaveLength(1);
    expect(html.trimEnd().endsWith('</body></html>')).toBe(true);
    const page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.setContent(html, { waitUntil: 'load' });
    expect(await page.locator('h1').textContent()).toBe('dnsfence change report');
    expect(await page.locator('.summary').textContent()).toContain('verified');
    // One chart per list that changed: four lists on the file target, one on the feed target.
    expect(await page.locator('svg').count()).toBe(5);
    const bars = await page.locator('svg rect.add').count();
    expect(bars).toBeGreaterThan(0);
    const box = await page.locator('svg').first().boundingBox();
    expect(box && box.width > 300 && box.height > 40).toBe(true);
    expect(await page.locator('table.changes tbody tr').count()).toBe(demo.report.rows.length);
    // The update address that aged out, on the file target and on the feed.
    expect(await page.locator('table.changes tr.removed').count()).toBe(2);
    expect(await page.locator('table.feeds tbody tr').count()).toBe(1);
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

/** Names as long as DNS allows a label to be, sharing addresses: the widest cells a report can have. */
const LONG = Array.from(
  { length: 4 },
  (_, i) =>
    `update-service-${i}-with-a-rather-long-label-as-cdns-like-them.eu-central-1.cdn.vendor-example.example`,
);

function answers(name: string, v4: string[], v6: string[]): LookupResult[] {
  const result = (family: 'ipv4' | 'ipv6', addresses: string[]): LookupResult => ({
    name,
    family,
    outcome: 'answer',
    addresses: addresses.map((address) => ({ address, ttl: 300 })),
    ttl: 300,
    chain: [name],
    resolver: '127.0.0.1:53',
  });
  return [result('ipv4', v4), result('ipv6', v6)];
}

describe('the HTML report at 800 px', () => {
  it('never scrolls sideways, and charts only the lists that changed in the period', async () => {
    const folder = join(dir.path, 'wide');
    mkdirSync(folder);
    const file = join(folder, 'dnsfence.yaml');
    writeFileSync(
      file,
      `resolvers: ["127.0.0.1:53"]
retention: 1h
lists:
  cdn_updates_with_long_name:
    names: [${LONG.join(', ')}]
  quiet:
    names: [quiet.test.example]
    static: ["2001:db8:ffff:ffff:ffff:ffff:ffff:0/112"]
targets:
  export_for_the_proxy:
    type: file
    dir: lists
`,
    );
    const config = parseConfig(readFileSync(file, 'utf8'), file, TARGET_TYPES);
    const db = openDatabase(config.database);
    migrate(db, config.database);
    const start = Date.parse('2026-11-01T00:00:00Z');
    const pass = async (hour: number, last: number) =>
      runSync(config, db, {
        command: 'test',
        preview: false,
        force: false,
        clock: () => new Date(start + hour * 3_600_000),
        lookups: [
          ...LONG.flatMap((name) =>
            answers(name, [`192.0.2.${last}`], [`2001:db8:1234:5678:9abc:def0:1234:${last.toString(16)}`]),
          ),
          ...answers('quiet.test.example', ['198.51.100.1'], []),
        ],
      });
    try {
      await pass(0, 1);
      // Later, only the CDN names move: the quiet list changes nothing in the report's period.
      for (let hour = 2; hour < 40; hour += 2) await pass(hour, hour);
      const model = buildReport(
        db,
        new Date(start + 3_600_000),
        new Date(start + 40 * 3_600_000),
        {},
        new Date(start + 40 * 3_600_000),
        config,
      );
      expect(model.lists.map((l) => l.list)).toEqual(['cdn_updates_with_long_name', 'quiet']);
      const page = await browser.newPage({ viewport: { width: 800, height: 600 } });
      await page.setContent(renderReport(model, 'html'), { waitUntil: 'load' });
      // A string: the tests are compiled without the DOM's types.
      const [scroll, client] = (await page.evaluate(
        '[document.documentElement.scrollWidth, document.documentElement.clientWidth]',
      )) as [number, number];
      expect(scroll).toBeLessThanOrEqual(client);
      expect(await page.locator('svg').count()).toBe(1);
      expect(await page.locator('h3').first().textContent()).toBe(
        'export_for_the_proxy/cdn_updates_with_long_name',
      );
      expect(await page.locator('h3', { hasText: 'export_for_the_proxy/quiet: 2 addresses' }).count()).toBe(
        1,
      );
      await page.close();
    } finally {
      db.close();
    }
  });
});
