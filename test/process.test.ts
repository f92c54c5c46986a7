// `npm start` as a newcomer runs it: an empty data directory gets the demo workspace and a
// key printed once; the data survives a restart; one process per data directory; a clean
// stop on SIGTERM; a clear message for bad configuration.
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { gql } from './support/graphql.js';
import { createTestDatabase, usePostgres } from './support/databases.js';
import { runParley, type ParleyProcess } from './support/process.js';

const dataDir = mkdtempSync(join(tmpdir(), 'parley-process-'));
const running: ParleyProcess[] = [];
afterAll(() => {
  for (const p of running) p.child.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

function start(env: Record<string, string> = {}) {
  const p = runParley({ DATA_DIR: dataDir, PORT: '0', ...env });
  running.push(p);
  return p;
}

async function listening(p: ParleyProcess): Promise<string> {
  const m = await p.waitFor(/"url":"(http:\/\/[^"]+)\/graphql"/);
  return m[1]!;
}

const DEMO = '{ viewer { workspace { name } user { name } } }';

describe('a Parley process on PGlite', () => {
  let key: string;

  it('creates the demo workspace on first start and prints its key once', async () => {
    const p = start();
    const url = await listening(p);
    key = (await p.waitFor(/\n {2}(prl_[A-Za-z0-9]+)\n/))[1]!;
    const res = await gql(url, DEMO, {}, { key });
    expect(res.data).toEqual({ viewer: { workspace: { name: 'Acme Support (demo)' }, user: { name: 'Ada Lovelace' } } });
    // The demo has what a first look at a dashboard needs.
    const demo = await gql(
      url,
      `{ conversations(first: 50, filter: { allStatuses: true }) { edges { node { status controller inbox { channel }
          handoffs { active } messages(first: 20) { edges { node { senderType private } } } } } } }`,
      {},
      { key },
    );
    const nodes = demo.data.conversations.edges.map((e: { node: any }) => e.node);
    expect(new Set(nodes.map((n: any) => n.status))).toEqual(new Set(['OPEN', 'PENDING', 'SNOOZED', 'RESOLVED', 'CLOSED', 'ARCHIVED']));
    expect(new Set(nodes.map((n: any) => n.controller))).toEqual(new Set(['AI_AGENT', 'HUMAN']));
    expect(new Set(nodes.map((n: any) => n.inbox.channel)).size).toBeGreaterThanOrEqual(4);
    const handoffs = nodes.flatMap((n: any) => n.handoffs.map((h: any) => h.active));
    expect(handoffs).toContain(true);
    expect(handoffs).toContain(false);
    const messages = nodes.flatMap((n: any) => n.messages.edges.map((e: any) => e.node));
    expect(new Set(messages.map((m: any) => m.senderType))).toEqual(new Set(['CONTACT', 'HUMAN', 'AI_AGENT', 'SYSTEM']));
    expect(messages.some((m: any) => m.private)).toBe(true);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });

    // A second process on the same data directory stops at once, saying why.
    const second = start();
    const { code } = await second.exited;
    expect(code).toBe(2);
    expect(second.output()).toMatch(/data directory .* is in use by another Parley process/);

    // SIGTERM: a clean exit that releases the directory.
    p.child.kill('SIGTERM');
    expect((await p.exited).code).toBe(0);
    expect(p.output()).toContain('shutting down');
    expect(existsSync(join(dataDir, 'parley.lock'))).toBe(false);
  });

  it('keeps its data across a restart and does not seed twice', async () => {
    const p = start();
    const url = await listening(p);
    const res = await gql(url, DEMO, {}, { key });
    expect(res.data?.viewer.workspace.name).toBe('Acme Support (demo)');
    expect(p.output()).not.toMatch(/prl_/);
    p.child.kill('SIGINT');
    expect((await p.exited).code).toBe(0);
  });

  it('refuses bad configuration with a message naming each bad variable', async () => {
    const p = start({ PORT: 'eighty', DATABASE_URL: 'mysql://x', LOG_LEVEL: 'loud' });
    const { code } = await p.exited;
    expect(code).toBe(2);
    const out = p.output();
    expect(out).toContain('Invalid configuration');
    expect(out).toMatch(/PORT: /);
    expect(out).toMatch(/DATABASE_URL: must be a postgres:\/\/ or postgresql:\/\/ URL/);
    expect(out).toMatch(/LOG_LEVEL: /);
  });
});

// Registered only in the PostgreSQL suite (npm run test:pg), which CI runs.
if (usePostgres) describe('a Parley process on PostgreSQL', () => {
  it('migrates, seeds, answers, and exits promptly on SIGTERM (its pool closed)', async () => {
    const db = await createTestDatabase({ postgres: true });
    try {
      const p = runParley({ DATABASE_URL: db.url!, PORT: '0' });
      running.push(p);
      const url = await listening(p);
      const key = (await p.waitFor(/\n {2}(prl_[A-Za-z0-9]+)\n/))[1]!;
      const res = await gql(url, DEMO, {}, { key });
      expect(res.data?.viewer.workspace.name).toBe('Acme Support (demo)');
      const t0 = Date.now();
      p.child.kill('SIGTERM');
      expect((await p.exited).code).toBe(0);
      expect(Date.now() - t0).toBeLessThan(5_000);
    } finally {
      await db.drop();
    }
  });
});
