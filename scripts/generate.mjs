#!/usr/bin/env node
// Runs `prisma generate` on machines that cannot download Prisma's native schema engine.
// Generation does not need that engine, but the CLI checks for it first: point the check at
// a stand-in that only prints a version. On a machine that has the real engine, it is used.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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
process.exit(result.status ?? 1);
