// GraphiQL's page and files over HTTP: everything the page loads is served by Parley itself,
// with the right types and caching, and nothing points elsewhere. The page at work in a browser
// is test/browser/graphiql.test.ts (`npm run test:browser`).
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

const page = () => fetch(`${server.url}/graphql`, { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });

/** The URLs the page loads (scripts, stylesheet, icon). */
async function pageFiles(): Promise<string[]> {
  const html = await (await page()).text();
  return [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
}

describe('GraphiQL over HTTP', () => {
  it('serves the page at /graphql to a browser, loading only files of this server, under a strict CSP', async () => {
    const res = await page();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await res.text();
    expect(html).not.toMatch(/https?:|\/\/[a-z]/i);
    // No inline script runs (the CSP would refuse it): the options are JSON data.
    for (const m of html.matchAll(/<script([^>]*)>([^]*?)<\/script>/g)) {
      if (m[2]!.trim()) expect(m[1]).toContain('type="application/json"');
    }
    const files = await pageFiles();
    expect(files.length).toBe(4);
    for (const f of files) expect(f).toMatch(/^\/graphiql\/assets\/[^/]+\/[a-z.]+$/);
  });

  it('prefills no key: the options carry no headers, and the default query says where the key goes', async () => {
    const html = await (await page()).text();
    const json = /<script id="graphiql-options" type="application\/json">([^<]*)<\/script>/.exec(html)![1]!;
    const options = JSON.parse(json);
    expect(options).not.toHaveProperty('headers');
    expect(options).not.toHaveProperty('initialHeaders');
    expect(options.defaultQuery).toContain('{"X-API-Key": "prl_..."}');
    expect(options.subscriptionsProtocol).toBe('SSE');
  });

  it('serves each file with its type, cached for a year under its version, gzipped when asked', async () => {
    const types: Record<string, string> = {
      'boot.js': 'text/javascript; charset=utf-8',
      'graphiql.js': 'text/javascript; charset=utf-8',
      'graphiql.css': 'text/css; charset=utf-8',
      'favicon.ico': 'image/x-icon',
    };
    for (const path of await pageFiles()) {
      const res = await fetch(`${server.url}${path}`, { headers: { 'accept-encoding': 'identity' } });
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type'), path).toBe(types[path.split('/').pop()!]);
      expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(res.headers.get('etag')).toMatch(/^"[\w-]+"$/);
      expect(res.headers.get('content-encoding')).toBeNull();
      expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(100);
    }
    const base = (await pageFiles()).find((f) => f.endsWith('/graphiql.js'))!.replace(/graphiql\.js$/, '');
    for (const worker of ['editor.worker.js', 'json.worker.js', 'graphql.worker.js']) {
      const res = await fetch(`${server.url}${base}${worker}`, { method: 'HEAD' });
      expect(res.status, worker).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    }

    // fetch would decompress by itself: node:http's client shows the bytes as sent.
    const { request } = await import('node:http');
    const raw = await new Promise<{ headers: Record<string, unknown>; body: Buffer }>((resolve, reject) => {
      request(`${server.url}${base}graphiql.js`, { headers: { 'accept-encoding': 'gzip, deflate' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c)).on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
      })
        .on('error', reject)
        .end();
    });
    expect(raw.headers['content-encoding']).toBe('gzip');
    const plain = Buffer.from(await (await fetch(`${server.url}${base}graphiql.js`, { headers: { 'accept-encoding': 'identity' } })).arrayBuffer());
    expect(gunzipSync(raw.body).equals(plain)).toBe(true);
    expect(raw.body.length).toBeLessThan(plain.length / 2);
  });

  it('answers 304 to a cached copy, 404 to an unknown file, and no-cache for another version', async () => {
    const base = (await pageFiles()).find((f) => f.endsWith('/boot.js'))!.replace(/boot\.js$/, '');
    const first = await fetch(`${server.url}${base}boot.js`);
    const again = await fetch(`${server.url}${base}boot.js`, { headers: { 'if-none-match': first.headers.get('etag')! } });
    expect(again.status).toBe(304);
    expect((await fetch(`${server.url}${base}nothing.js`)).status).toBe(404);
    const old = await fetch(`${server.url}/graphiql/assets/0.0.0-old/boot.js`);
    expect(old.status).toBe(200);
    expect(old.headers.get('cache-control')).toBe('no-cache');
  });

  it('leaves GraphQL requests to /graphql alone', async () => {
    const res = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/html, application/json' },
      body: JSON.stringify({ query: '{ __schema { queryType { name } } }' }),
    });
    expect(res.status).toBe(200);
    expect((await res.json()).data.__schema.queryType.name).toBe('Query');
  });
});
