#!/usr/bin/env node
// Runs the bundled CLI with the V8 code cache written when it was built (esbuild.config.mjs): the
// compiled code is loaded instead of compiling 1.4 MB of JavaScript on every start. A cache made
// by another Node version is rejected by V8, and the bundle is then simply compiled. This file is
// CommonJS, like the bundle: an ES module entry point would start Node's ES module loader first,
// about 15 ms of every run.
const { readFileSync, writeFileSync } = require('node:fs');
const { createRequire } = require('node:module');
const { dirname, join } = require('node:path');
const vm = require('node:vm');

const file = join(__dirname, '..', 'dist', 'dnsfence.cjs');
const cacheFile = `${file}.v8cache`;
let cachedData;
try {
  cachedData = readFileSync(cacheFile);
} catch {
  // No cache (a build without it): compile as usual.
}
const script = new vm.Script(
  // One line of wrapper, so that line numbers in stack traces are the bundle's own.
  // The build leaves the bundle pure ASCII, which latin1 reads fastest, into a one-byte string.
  `(function (exports, require, module, __filename, __dirname) {${readFileSync(file, 'latin1')}\n})`,
  { filename: file, cachedData },
);
const bundle = { exports: {} };
script.runInThisContext()(bundle.exports, createRequire(file), bundle, file, dirname(file));
if (process.env.DNSFENCE_WRITE_CODE_CACHE)
  process.once('exit', () => writeFileSync(cacheFile, script.createCachedData()));
bundle.exports.main(process.argv);
