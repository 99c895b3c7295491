import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TARGET_TYPES } from '../adapters/registry.js';
import { parseConfig } from '../src/config/load.js';
import { serveSettings } from '../src/config/serve.js';
import type { Config } from '../src/config/types.js';
import type { TestZoneServer } from './fakes/dns.js';
import { silentLogger } from '../src/log.js';
import { renderPage, type PageModel } from '../src/serve/page.js';
import { FeedServer } from '../src/serve/server.js';
import { openDatabase } from '../src/store/db.js';
import { migrate } from '../src/store/migrate.js';
import { runSync } from '../src/sync/engine.js';
import { registerSecret, startZone, tempDir } from './helpers.js';

// The status page of `serve` in Debian's chromium, headless, at a phone's width and a desktop's:
// what it shows, that it loads nothing but itself, and that it never scrolls sideways.

const SECRET = registerSecret('page-secret-5f0c2a91');
const LONG =
  'update-service-with-a-rather-long-label-as-cdns-like-them.eu-central-1.cdn.vendor-example.example';

let browser: Browser;
let zone: TestZoneServer;
let dir: ReturnType<typeof tempDir>;
let config: Config;
let server: FeedServer;

beforeAll(async () => {
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
  let port: number;
  ({
    zone,
    spec: { port },
  } = await startZone());
  zone.set('www.example.com', { a: ['192.0.2.1'], aaaa: ['2001:db8:ffff:ffff:ffff:ffff:ffff:1'], ttl: 60 });
  zone.set(LONG, { a: ['198.51.100.7'], ttl: 60 });
  zone.set('broken.example.com', { behaviour: 'servfail' });
  dir = tempDir();
  const users = dir.secretFile('feed-users');
  writeFileSync(users, `auditor:${SECRET}\n`, { mode: 0o600 });
  chmodSync(users, 0o600);
  const file = join(dir.path, 'dnsfence.yaml');
  writeFileSync(
    file,
    `resolvers: ["127.0.0.1:${port}"]
resolve: { timeout: 1s, attempts: 1 }
lists:
  partner_api_with_a_long_nm:
    names: [www.example.com, ${LONG}, broken.example.com]
    static: ["2001:db8:ffff:ffff:ffff:ffff:ffff:0/112"]
targets:
  feeds_for_the_firewalls: { type: feed }
  export: { type: file, dir: lists }
serve:
  listen: "127.0.0.1:0"
  users_file: feed-users
`,
  );
  config = parseConfig(readFileSync(file, 'utf8'), file, TARGET_TYPES);
  const db = openDatabase(config.database);
  migrate(db, config.database);
  await runSync(config, db, { command: 'sync', preview: false, force: false, clock: () => new Date() });
  db.close();
  server = await FeedServer.start({
    config,
    settings: serveSettings(config.serve),
    healthyWithinMs: 600_000,
    log: silentLogger,
    clock: () => new Date(),
  });
  // One firewall polls, so that the page has a consumer to show.
  await new Promise<void>((resolve, reject) =>
    http
      .get(
        `${server.url}/feeds/feeds_for_the_firewalls/partner_api_with_a_long_nm.txt`,
        { auth: `auditor:${SECRET}` },
        (res) => {
          res.resume();
          res.on('end', resolve);
        },
      )
      .on('error', reject),
  );
}, 60_000);

afterAll(async () => {
  await server?.close();
  await browser?.close();
  await zone?.stop();
  dir?.cleanup();
});

/** The page at a width, with every request the browser made. */
async function open(
  width: number,
  load: (page: Page) => Promise<void>,
): Promise<{ page: Page; requests: string[] }> {
  const context = await browser.newContext({
    viewport: { width, height: 800 },
    httpCredentials: { username: 'auditor', password: SECRET },
  });
  const page = await context.newPage();
  const requests: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  await load(page);
  return { page, requests };
}

const noSidewaysScroll = async (page: Page) => {
  const [scroll, client] = (await page.evaluate(
    '[document.documentElement.scrollWidth, document.documentElement.clientWidth]',
  )) as [number, number];
  return scroll <= client;
};

describe('the status page in a browser', () => {
  for (const width of [360, 1280])
    it(`at ${width} px: lists, names, addresses, failing names, targets, feeds and their consumers; nothing else loaded, no sideways scroll`, async () => {
      const url = `${server.url}/`;
      // The consumer's fetch reaches the database with the next batch of fetch records.
      let text = '';
      const fetchText = async () => {
        const { page, requests } = await open(width, (p) =>
          p.goto(url, { waitUntil: 'load' }).then(() => undefined),
        );
        text = (await page.locator('body').innerText()) ?? '';
        return { page, requests };
      };
      let opened = await fetchText();
      for (const deadline = Date.now() + 10_000; !text.includes('auditor') && Date.now() < deadline;) {
        await opened.page.context().close();
        await new Promise((r) => setTimeout(r, 300));
        opened = await fetchText();
      }
      const { page, requests } = opened;
      expect(await page.title()).toBe('dnsfence status');
      expect(await page.locator('#list-partner_api_with_a_long_nm h3').innerText()).toMatch(
        /partner_api_with_a_long_nm\s+\d addresses, failing: broken\.example\.com/,
      );
      const card = page.locator('#list-partner_api_with_a_long_nm');
      await expect(
        card.locator('.addresses').getByText('192.0.2.1', { exact: true }).isVisible(),
      ).resolves.toBe(true);
      await expect(card.locator('.names').getByText(LONG, { exact: true }).isVisible()).resolves.toBe(true);
      expect(text).toContain('feeds_for_the_firewalls');
      expect(text).toContain('/feeds/feeds_for_the_firewalls/partner_api_with_a_long_nm.v6.txt');
      expect(text).toMatch(/127\.0\.0\.1 \(user auditor\)/);
      expect(text).toMatch(/"[0-9a-f]{32}" \(current\)/);
      expect(text).toContain('Latest changes');
      expect(await page.locator('meta[http-equiv="refresh"]').getAttribute('content')).toBe('30');
      expect(requests).toEqual([url]);
      expect(await noSidewaysScroll(page)).toBe(true);
      const shots = process.env.DNSFENCE_SCREENSHOTS ?? join(dir.path, 'shots');
      mkdirSync(shots, { recursive: true });
      await page.screenshot({ path: join(shots, `status-${width}.png`), fullPage: true });
      await page.context().close();
    });

  for (const width of [360, 1280])
    it(`at ${width} px: a name learned from DNS traffic shows when and from whom`, async () => {
      const base: PageModel = {
        generatedAt: '2026-11-01T12:00:00.000Z',
        status: {
          database: '/var/lib/dnsfence/dnsfence.db',
          last_run: null,
          lists: [
            {
              list: 'i2n_avcloud',
              addresses: ['203.0.113.40'],
              failing: [],
              names: [
                {
                  name: `a.${LONG}`,
                  lookups: [
                    {
                      family: 'ipv4',
                      outcome: 'answer',
                      last_success: null,
                      failing_since: null,
                      detail: null,
                    },
                  ],
                  learned: {
                    entry: '*.avcloud.intra2net.com',
                    first_learned: '2026-11-01T11:58:00.000Z',
                    client: '192.0.2.50',
                    last_queried: '2026-11-01T11:59:00.000Z',
                    last_client: '192.0.2.50',
                  },
                },
              ],
            },
          ],
          targets: [],
          leftovers: [],
          notifications: [],
        },
        changes: [],
        feeds: [],
        consumers: [],
        refreshSeconds: 30,
      };
      const { page, requests } = await open(width, (p) =>
        p.setContent(renderPage(base), { waitUntil: 'load' }),
      );
      await expect(page.getByText(`learned 2026-11-01 11:58:00Z from 192.0.2.50`).isVisible()).resolves.toBe(
        true,
      );
      expect(requests).toEqual([]);
      expect(await noSidewaysScroll(page)).toBe(true);
      await page.context().close();
    });
});

describe('serve, in process', () => {
  it('a fault in answering one request is a 500 and a log line, and serve goes on answering', async () => {
    const errors: string[] = [];
    const own = await FeedServer.start({
      config,
      settings: serveSettings(config.serve),
      healthyWithinMs: 600_000,
      log: { ...silentLogger, error: (m) => errors.push(m) },
      clock: () => new Date(),
    });
    const get = (path: string) =>
      new Promise<number>((resolve, reject) =>
        http
          .get(`${own.url}${path}`, { auth: `auditor:${SECRET}` }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          })
          .on('error', reject),
      );
    try {
      // A defect stands in for any: the feed files cannot be looked up.
      const published = (own as unknown as { published: { get(): unknown } }).published;
      const real = published.get.bind(published);
      published.get = () => {
        throw new Error('a defect');
      };
      expect(await get('/feeds/feeds_for_the_firewalls/partner_api_with_a_long_nm.txt')).toBe(500);
      expect(errors).toEqual(['serve: internal error: a defect']);
      published.get = real;
      expect(await get('/feeds/feeds_for_the_firewalls/partner_api_with_a_long_nm.txt')).toBe(200);
    } finally {
      await own.close();
    }
  });
});
