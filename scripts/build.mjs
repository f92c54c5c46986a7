#!/usr/bin/env node
// `npm run build`, and `npm start` before it starts the server: src/ compiled to dist/ as plain
// JavaScript, file by file, by esbuild: the same per-file transform tsx applies when it runs
// src/ directly (as the tests do), so dist/ behaves as src/ does, with no TypeScript loader at
// run time. Types are checked by `npm run typecheck`, not here.
//
// It builds only when needed: dist/.build-hash records a hash of what the last build read
// (every file under src/, the compiler settings, this script), and a start whose sources
// have not changed since goes straight to the server. A build goes to a folder of its own,
// which then replaces dist/ whole: dist/ never holds half a build nor files of deleted sources.
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';

const root = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..');
const src = join(root, 'src');
const dist = join(root, 'dist');
const stamp = '.build-hash';

const sources = readdirSync(src, { recursive: true, withFileTypes: true })
  .filter((e) => e.isFile())
  .map((e) => join(e.parentPath ?? e.path, e.name))
  .sort();
const hash = createHash('sha256');
for (const file of [...sources, join(root, 'tsconfig.json'), join(root, 'package.json'), new URL(import.meta.url).pathname]) {
  hash.update(file.slice(root.length)).update('\0').update(readFileSync(file)).update('\0');
}
const digest = hash.digest('hex');

const built = (dir) => {
  try {
    return readFileSync(join(dir, stamp), 'utf8').trim();
  } catch {
    return null;
  }
};

if (built(dist) === digest && !process.argv.includes('--force')) process.exit(0);

const out = `${dist}.tmp-${process.pid}`;
rmSync(out, { recursive: true, force: true });
try {
  await build({
    entryPoints: sources.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')),
    outdir: out,
    outbase: src,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: true,
    logLevel: 'warning',
  });
  // Files that are not TypeScript (a script GraphiQL runs in the browser) go as they are.
  for (const file of sources.filter((f) => !f.endsWith('.ts'))) {
    const target = join(out, file.slice(src.length));
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(file, target);
  }
  writeFileSync(join(out, stamp), `${digest}\n`);
  rmSync(dist, { recursive: true, force: true });
  try {
    renameSync(out, dist);
  } catch (err) {
    // Another build (a second `npm start` at the same moment) put its dist/ in place first.
    if (built(dist) !== digest) throw err;
  }
  process.stderr.write(`built dist/ from ${sources.length} files in src/\n`);
} finally {
  if (existsSync(out)) rmSync(out, { recursive: true, force: true });
}
