// Requests Parley makes to URLs its users gave it (webhook endpoints). A URL must not be a
// way into the server's own network: by default the address it resolves to is checked when
// the connection is made (not only when the URL was saved, which a DNS change would defeat),
// and private, loopback, link-local, multicast and cloud-metadata addresses are refused.
// WEBHOOK_ALLOW_PRIVATE_URLS turns that off (local development and tests use 127.0.0.1); https
// is required unless it is on. Redirects are not followed; at most a few KB of the answer are read.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';

export interface OutboundPolicy {
  /** Private and loopback addresses and plain http allowed (development, tests). */
  allowPrivate: boolean;
}

const blocked = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata (169.254.169.254)
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  blocked.addSubnet(net, bits, 'ipv4');
}
for (const [net, bits] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
  ['64:ff9b::', 96], // NAT64 (embeds IPv4)
  ['2001:db8::', 32],
  ['fd00:ec2::254', 128], // AWS metadata over IPv6
] as const) {
  blocked.addSubnet(net, bits, 'ipv6');
}

/** Whether an address is one a webhook may not reach by default. */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return blocked.check(address, 'ipv4');
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    if (mapped) return blocked.check(mapped[1]!, 'ipv4');
    return blocked.check(address, 'ipv6');
  }
  return true;
}

/** Why a URL cannot be a webhook endpoint under this policy, or null when it can. */
export function urlProblem(raw: string, policy: OutboundPolicy): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'is not a valid absolute URL';
  }
  if (raw.length > 2000) return 'is longer than 2,000 characters';
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must use https';
  if (url.protocol === 'http:' && !policy.allowPrivate) return 'must use https (plain http is allowed only with WEBHOOK_ALLOW_PRIVATE_URLS=true)';
  if (url.username || url.password) return 'must not carry a user name or password';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!policy.allowPrivate && (isIP(host) ? isPrivateAddress(host) : /^localhost$|\.localhost$|\.internal$|\.local$/i.test(host))) {
    return 'points at a private, loopback or link-local address (allowed only with WEBHOOK_ALLOW_PRIVATE_URLS=true)';
  }
  return null;
}

export class OutboundRefused extends Error {}

/** A DNS lookup that refuses private answers: the check happens on the address connected to. */
function guardedLookup(policy: OutboundPolicy): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return (callback as (e: Error | null, a: LookupAddress[]) => void)(err, []);
      const list = addresses as LookupAddress[];
      const allowed = policy.allowPrivate ? list : list.filter((a) => !isPrivateAddress(a.address));
      if (!allowed.length) {
        return (callback as (e: Error | null, a: LookupAddress[]) => void)(
          new OutboundRefused(`${hostname} resolves to a private, loopback or link-local address`),
          [],
        );
      }
      if ((options as { all?: boolean }).all) (callback as (e: null, a: LookupAddress[]) => void)(null, allowed);
      else (callback as (e: null, a: string, f: number) => void)(null, allowed[0]!.address, allowed[0]!.family);
    });
  };
}

export interface PostResult {
  status: number | null;
  /** The first `maxBodyBytes` of the answer, as text. */
  body: string | null;
  /** `Retry-After` in milliseconds, when the answer gave one. */
  retryAfterMs: number | null;
  error: string | null;
  durationMs: number;
}

export interface PostOptions {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  maxBodyBytes: number;
  policy: OutboundPolicy;
  signal?: AbortSignal;
}

function retryAfter(value: string | string[] | undefined, now: number): number | null {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return null;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/** POSTs `body`; never throws: a failure is described in the result. */
export function post(options: PostOptions): Promise<PostResult> {
  const started = performance.now();
  const done = (r: Omit<PostResult, 'durationMs'>): PostResult => ({ ...r, durationMs: Math.round(performance.now() - started) });
  const problem = urlProblem(options.url, options.policy);
  if (problem) return Promise.resolve(done({ status: null, body: null, retryAfterMs: null, error: `The URL ${problem}.` }));
  const url = new URL(options.url);
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve) => {
    let settled = false;
    const finish = (r: Omit<PostResult, 'durationMs'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(done(r));
    };
    const req = client.request(
      url,
      {
        method: 'POST',
        headers: { ...options.headers, 'content-length': String(Buffer.byteLength(options.body)) },
        lookup: guardedLookup(options.policy),
        signal: options.signal,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const end = () => {
          const status = res.statusCode ?? null;
          const ok = status !== null && status >= 200 && status < 300;
          finish({
            status,
            body: size ? Buffer.concat(chunks).toString('utf8').slice(0, options.maxBodyBytes) : null,
            retryAfterMs: retryAfter(res.headers['retry-after'], Date.now()),
            error: ok ? null : status !== null && status >= 300 && status < 400 ? `Redirect (${status}) not followed` : `HTTP ${status}`,
          });
          res.destroy();
        };
        res.on('data', (chunk: Buffer) => {
          if (size < options.maxBodyBytes) chunks.push(chunk);
          size += chunk.length;
          // Enough of it: the rest is not read.
          if (size >= options.maxBodyBytes) end();
        });
        res.on('end', end);
        res.on('error', end);
      },
    );
    const timer = setTimeout(() => {
      req.destroy();
      finish({ status: null, body: null, retryAfterMs: null, error: `No answer within ${options.timeoutMs} ms` });
    }, options.timeoutMs);
    req.on('error', (err) => {
      const message = err instanceof OutboundRefused || err.cause instanceof OutboundRefused ? err.message : `${(err as NodeJS.ErrnoException).code ?? 'Error'}: ${err.message}`;
      finish({ status: null, body: null, retryAfterMs: null, error: message.slice(0, 500) });
    });
    req.end(options.body);
  });
}
