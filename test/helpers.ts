import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ZoneServer } from '../src/demo/dns-server.js';
import type { ResolverSpec } from '../src/resolver/servers.js';

export function tempDir(prefix = 'dnsfence-test-'): { path: string; cleanup(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

export async function startZone(): Promise<{ zone: ZoneServer; spec: ResolverSpec }> {
  const zone = new ZoneServer();
  const port = await zone.start();
  return { zone, spec: { protocol: 'udp', host: '127.0.0.1', port, label: `127.0.0.1:${port}` } };
}
