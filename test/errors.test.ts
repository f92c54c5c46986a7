// An unexpected failure inside the server (here: the database loses a table under it) is
// answered with a code, an error id and the request's id, and nothing else: no message of
// the failure, no SQL, no stack trace, no internal path. The rest of the query still answers.
// On PGlite, and on PostgreSQL in the PARLEY_TEST_DB=postgres suite.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client } from './support/graphql.js';
import { seedWorkspace, type SeededWorkspace } from './support/seed.js';
import { startTestServer, type TestServer } from './support/server.js';

let server: TestServer;
let ws: SeededWorkspace;

beforeAll(async () => {
  server = await startTestServer({ env: { COST_BUDGET_PER_MINUTE: '0' } });
  ws = await seedWorkspace(server.db.prisma, 'Errors');
});
afterAll(() => server?.close());

describe('unexpected errors', () => {
  it('are masked: a code, an error id and the request id, and the rest of the query answers', async () => {
    const api = client(server.url, ws.key);
    await server.db.prisma.$executeRawUnsafe('ALTER TABLE "label" RENAME TO "label_gone_missing"');
    try {
      const res = await api.request(`{ labels { id name } inboxes { name } }`, {}, { headers: { 'x-request-id': 'req-masking-1' } });
      expect(res.status).toBeLessThan(500);
      expect(res.errors).toHaveLength(1);
      const [error] = res.errors!;
      expect(error!.message).toBe('Unexpected error.');
      expect(error!.path).toEqual(['labels']);
      expect(Object.keys(error!.extensions ?? {}).sort()).toEqual(['code', 'errorId', 'requestId']);
      expect(error!.extensions).toMatchObject({ code: 'INTERNAL_SERVER_ERROR', requestId: 'req-masking-1' });
      expect(error!.extensions!.errorId).toMatch(/^[0-9a-f-]{36}$/);
      // Partial data: the other field still answered.
      expect(res.data?.inboxes).toHaveLength(3);
      const text = JSON.stringify(res);
      for (const leak of ['label_gone_missing', 'relation', 'SELECT', 'prisma', 'Prisma', 'node_modules', '/work/', '.ts:', '    at ']) {
        expect(text, leak).not.toContain(leak);
      }
      // Without an x-request-id header, the id the server gave the request.
      const own = await api.request(`{ labels { id } }`);
      expect(own.errors?.[0]?.extensions?.requestId).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      await server.db.prisma.$executeRawUnsafe('ALTER TABLE "label_gone_missing" RENAME TO "label"');
    }
    // And the server goes on answering once the table is back.
    expect((await api.request(`{ labels { id } }`)).errors).toBeUndefined();
  });
});
