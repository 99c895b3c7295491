#!/usr/bin/env node
// Runs the bundled CLI with the V8 code cache written when it was built (esbuild.config.mjs): the
// compiled code is loaded instead of compiling 1.5 MB of JavaScript on every start. A cache made
// by another Node version is rejected by V8, and the bundle is then simply compiled.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

const file = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'dnsfence.cjs');
const cacheFile = `${file}.v8cache`;
let cachedData;
try {
  cachedData = readFileSync(cacheFile);
} catch {
  // No cache (a build without it): compile as usual.
}
const script = new vm.Script(
  // One line of wrapper, so that line numbers in stack traces are the bundle's own.
  `(function (exports, require, module, __filename, __dirname) {${readFileSync(file, 'utf8')}\n})`,
  { filename: file, cachedData },
);
const module = { exports: {} };
script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file));
if (process.env.DNSFENCE_WRITE_CODE_CACHE)
  process.once('exit', () => writeFileSync(cacheFile, script.createCachedData()));
module.exports.main(process.argv);
