#!/usr/bin/env node
// Runs `prisma generate` on machines that cannot download Prisma's native schema engine.
// Generation does not need that engine, but the CLI checks for it first: point the check at
// a stand-in that only prints a version. On a machine that has the real engine, it is used.
//
// It generates only when needed (about 4 s of CPU, on every `npm start` and test command
// otherwise): src/generated/.generate-hash records a hash of what the last generation read
// (the schema, the Prisma config, this script, the installed generators' versions), and a run
// whose inputs have not changed, with the generated files in place, does nothing.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const stamp = join('src', 'generated', '.generate-hash');
const hash = createHash('sha256');
for (const file of [
  'prisma/schema.prisma',
  'prisma.config.ts',
  new URL(import.meta.url).pathname,
  'node_modules/prisma/package.json',
  'node_modules/@prisma/client/package.json',
  'node_modules/@pothos/plugin-prisma/package.json',
]) {
  hash.update(file).update('\0').update(readFileSync(file)).update('\0');
}
const digest = hash.digest('hex');
const outputs = [join('src', 'generated', 'prisma', 'client.ts'), join('src', 'generated', 'pothos-prisma-types.ts')];
const generated = () => {
  try {
    return readFileSync(stamp, 'utf8').trim() === digest && outputs.every((f) => existsSync(f));
  } catch {
    return false;
  }
};
if (generated() && !process.argv.includes('--force')) process.exit(0);

const env = {
  ...process.env,
  PATH: `${join(process.cwd(), 'node_modules', '.bin')}:${process.env.PATH ?? ''}`, PRISMA_HIDE_UPDATE_MESSAGE: '1', CHECKPOINT_DISABLE: '1' };
if (!env.PRISMA_SCHEMA_ENGINE_BINARY) {
  const dir = join(tmpdir(), 'parley-prisma');
  mkdirSync(dir, { recursive: true });
  const standIn = join(dir, 'schema-engine');
  if (!existsSync(standIn)) {
    writeFileSync(standIn, '#!/bin/sh\necho "schema-engine-cli 0.0.0 (stand-in: generation only)"\n');
    chmodSync(standIn, 0o755);
  }
  env.PRISMA_SCHEMA_ENGINE_BINARY = standIn;
}
const result = spawnSync(process.execPath, ['node_modules/prisma/build/index.js', 'generate'], {
  env,
  stdio: 'inherit',
});
if (result.status === 0) writeFileSync(stamp, `${digest}\n`);
process.exit(result.status ?? 1);
