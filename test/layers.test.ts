import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

// The layers of docs/design.md are kept by the lint rule of eslint.config.js, which npm test runs.
// These cases show that it refuses what points up, and lets through what points down.

const eslint = new ESLint();
async function problems(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: file });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('layers only point down', () => {
  it('refuses an import that points back up, or across to a neighbour', async () => {
    expect(
      await problems('src/store/x.ts', "import { runSync } from '../sync/engine.js';\nvoid runSync;\n"),
    ).toEqual([expect.stringContaining('store must not import from sync')]);
    expect(
      await problems(
        'src/config/x.ts',
        "import { Resolver } from '../resolver/resolver.js';\nvoid Resolver;\n",
      ),
    ).toEqual([expect.stringContaining('config must not import from resolver')]);
    expect(
      await problems(
        'adapters/nftables/x.ts',
        "import { runSync } from '../../src/sync/engine.js';\nvoid runSync;\n",
      ),
    ).toEqual([expect.stringContaining('adapters must not import from sync')]);
    expect(
      await problems('src/report/x.ts', "import { syncLines } from '../sync/lines.js';\nvoid syncLines;\n"),
    ).toEqual([expect.stringContaining('report must not import from sync')]);
    expect(
      await problems('src/address.ts', "import { keyPath } from './config/key-path.js';\nvoid keyPath;\n"),
    ).toEqual([expect.stringContaining('base must not import from config')]);
  });

  it('lets through what points down, and what stays in its own folder', async () => {
    expect(
      await problems(
        'src/sync/x.ts',
        "import { planTarget } from '../planner/target.js';\nvoid planTarget;\n",
      ),
    ).toEqual([]);
    expect(
      await problems(
        'src/resolver/x.ts',
        "import type { ResolverSpec } from '../config/resolver-spec.js';\nexport type X = ResolverSpec;\n",
      ),
    ).toEqual([]);
    expect(
      await problems('src/cli/x.ts', "import { runSync } from '../sync/engine.js';\nvoid runSync;\n"),
    ).toEqual([]);
    expect(await problems('src/store/x.ts', "import { stmt } from './db.js';\nvoid stmt;\n")).toEqual([]);
  });
});
