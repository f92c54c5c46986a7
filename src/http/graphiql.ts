// GraphiQL, served by Parley itself: the page a browser gets at /graphql and every file it loads
// (the GraphiQL bundle with the explorer, its styles, Monaco's workers, the icon, the start
// script) under /graphiql/assets/<version>/. The files come from the installed
// @graphql-yoga/render-graphiql package, which holds yoga's GraphiQL build as strings; yoga's own
// page asks a public CDN for them, which leaves a machine without internet on "Loading...".
// Nothing the page loads comes from anywhere else, and its Content-Security-Policy says so.
//
// The page prefills no headers: a placeholder key would be sent with the introspection query
// and fail it, where no key at all is let through. Its default query tells where the key goes.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import type { Logger } from '../logger.js';

const gzip = promisify(gzipCallback);

export const GRAPHIQL_ASSETS_PREFIX = '/graphiql/assets/';

const BUNDLE_PACKAGE = '@graphql-yoga/render-graphiql';
const bundleVersion: string = createRequire(import.meta.url)(`${BUNDLE_PACKAGE}/package.json`).version;
const bootScript = readFileSync(new URL('./graphiql-boot.js', import.meta.url));
/** Changes whenever any file changes: the assets are cached for a year under it. */
const assetVersion = `${bundleVersion}-${createHash('sha256').update(bootScript).digest('hex').slice(0, 10)}`;
const assetBase = `${GRAPHIQL_ASSETS_PREFIX}${assetVersion}/`;

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  // React and Monaco set inline styles and insert <style> elements.
  "style-src 'self' 'unsafe-inline'",
  // The stylesheet carries its fonts and icons as data: URLs.
  "font-src 'self' data:",
  "img-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const COMMON_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
};

// Narrow enough for the editor beside an open docs pane.
export const DEFAULT_GRAPHIQL_QUERY = `# Parley's GraphiQL
#
# The docs and the explorer (icons on the left)
# need no key. To run operations, open Headers
# below and paste the API key printed at first
# start (or made with the parley command):
#
#   {"X-API-Key": "prl_..."}
#
# Subscriptions use it too (SSE on /graphql).
# Run: Ctrl-Enter, or the play button.

query Viewer {
  viewer {
    workspace { name }
    user { name }
    scopes
  }
}
`;

interface Asset {
  type: string;
  body: Buffer;
  etag: string;
  gzipped: Promise<Buffer> | null;
}

type AssetName = 'graphiql.js' | 'graphiql.css' | 'editor.worker.js' | 'json.worker.js' | 'graphql.worker.js' | 'favicon.ico' | 'boot.js';

function asset(type: string, body: Buffer): Asset {
  return { type, body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`, gzipped: null };
}

let assets: Promise<Map<string, Asset>> | null = null;

/** The package's strings (about 8 MB), read on the first request for them, not at start. */
function loadAssets(): Promise<Map<string, Asset>> {
  assets ??= import('@graphql-yoga/render-graphiql/graphiql').then((b) => {
    const js = 'text/javascript; charset=utf-8';
    const icon = /^data:([^;,]+);base64,(.*)$/s.exec(b.favicon);
    const files: [AssetName, Asset][] = [
      ['graphiql.js', asset(js, Buffer.from(b.js))],
      ['graphiql.css', asset('text/css; charset=utf-8', Buffer.from(b.css))],
      ['editor.worker.js', asset(js, Buffer.from(b.editorWorkerService))],
      ['json.worker.js', asset(js, Buffer.from(b.jsonWorker))],
      ['graphql.worker.js', asset(js, Buffer.from(b.graphqlWorker))],
      ['boot.js', asset(js, bootScript)],
    ];
    if (icon) files.push(['favicon.ico', asset(icon[1]!, Buffer.from(icon[2]!, 'base64'))]);
    return new Map(files);
  });
  assets.catch(() => {
    assets = null;
  });
  return assets;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export interface GraphiQLOptions {
  title: string;
  endpoint: string;
  logger: Logger;
}

export interface GraphiQLRoute {
  /** Answers the request and resolves true when it is GraphiQL's; resolves false otherwise. */
  serve(req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean>;
}

export function graphiqlRoute(opts: GraphiQLOptions): GraphiQLRoute {
  // Read by the start script; a JSON <script> element is data, not code, under the CSP.
  const options = {
    title: opts.title,
    endpoint: opts.endpoint,
    defaultQuery: DEFAULT_GRAPHIQL_QUERY,
    // Over HTTP with the Headers tab's headers, as queries are: the pasted key works for both.
    subscriptionsProtocol: 'SSE',
    assets: assetBase,
  };
  const page = Buffer.from(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(opts.title)} GraphiQL</title>
<link rel="icon" href="${assetBase}favicon.ico">
<link rel="stylesheet" href="${assetBase}graphiql.css">
</head>
<body class="no-focus-outline">
<noscript>GraphiQL needs JavaScript.</noscript>
<div id="root">Loading ${escapeHtml(opts.title)} GraphiQL...</div>
<script id="graphiql-options" type="application/json">${JSON.stringify(options).replace(/</g, '\\u003c')}</script>
<script src="${assetBase}boot.js"></script>
<script src="${assetBase}graphiql.js"></script>
</body>
</html>
`);
  const endpoints = new Set([opts.endpoint, `${opts.endpoint}/`]);

  const servePage = (req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, {
      ...COMMON_HEADERS,
      'content-type': 'text/html; charset=utf-8',
      'content-length': page.length,
      'cache-control': 'no-cache',
      'content-security-policy': CSP,
      'x-frame-options': 'DENY',
    });
    res.end(req.method === 'HEAD' ? undefined : page);
  };

  const serveAsset = async (req: IncomingMessage, res: ServerResponse, path: string) => {
    const rest = path.slice(GRAPHIQL_ASSETS_PREFIX.length);
    const slash = rest.indexOf('/');
    const version = rest.slice(0, slash);
    const file = (await loadAssets()).get(rest.slice(slash + 1));
    if (slash < 0 || !file) {
      res.writeHead(404, { ...COMMON_HEADERS, 'content-type': 'text/plain; charset=utf-8' }).end('Not Found');
      return;
    }
    // An older page asking for files of another version gets these, but not for a year.
    const cache = version === assetVersion ? 'public, max-age=31536000, immutable' : 'no-cache';
    const gzipped = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? '')) && file.body.length > 1024;
    // Each encoding is its own representation, with its own tag.
    const etag = gzipped ? `${file.etag.slice(0, -1)}-gz"` : file.etag;
    const headers: Record<string, string | number> = { ...COMMON_HEADERS, 'content-type': file.type, 'cache-control': cache, etag, vary: 'accept-encoding' };
    if (String(req.headers['if-none-match'] ?? '').includes(etag)) {
      res.writeHead(304, headers).end();
      return;
    }
    if (gzipped) headers['content-encoding'] = 'gzip';
    const body = gzipped ? await (file.gzipped ??= gzip(file.body)) : file.body;
    res.writeHead(200, { ...headers, 'content-length': body.length });
    res.end(req.method === 'HEAD' ? undefined : body);
  };

  return {
    async serve(req, res, path) {
      const method = req.method ?? 'GET';
      if (method !== 'GET' && method !== 'HEAD') return false;
      if (path.startsWith(GRAPHIQL_ASSETS_PREFIX)) {
        await serveAsset(req, res, path).catch((err) => {
          opts.logger.error({ err, path }, 'serving a GraphiQL asset failed');
          if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
          res.end('Internal Server Error');
        });
        return true;
      }
      // What yoga renders GraphiQL for: a browser's GET of the endpoint, asking for HTML.
      if (endpoints.has(path) && String(req.headers.accept ?? '').includes('text/html')) {
        servePage(req, res);
        return true;
      }
      return false;
    },
  };
}
