// What the read benchmarks share: the inbox page they all ask for, a benchmark key, and the
// in-process measurement loop of bench/cpu.ts and bench/stack-floor.ts.
import type pg from 'pg';
import { newSecret } from '../src/services/api-keys.js';

/** The fields of the inbox page, the same in the floor's SQL (FLOOR_SQL below) and in every GraphQL query. */
export const PAGE_FIELDS = `
  pageInfo { hasNextPage endCursor }
  edges { cursor node {
    id number subject status priority lastMessageAt unreadCount
    contact { id name email phone }
    assignee { id name }
    labels { id name color }
    lastMessage { id content senderType createdAt }
  } }`;

export const INBOX_PAGE = `{ conversations(first: 50) { ${PAGE_FIELDS} } }`;

/**
 * The floor: the same page (every status but ARCHIVED, latest first, with contact, assignee,
 * labels and last message) by one hand-written statement that PostgreSQL builds as JSON; $1 is
 * the workspace. No global ids or cursors: what the database alone costs for the page.
 * `where` narrows it (the filtered page's floor), with parameters from $2.
 */
export function floorSql(where = `c.status <> 'ARCHIVED'`): string {
  return `
  SELECT coalesce(json_agg(row_to_json(p) ORDER BY p.last_activity_at DESC, p.id), '[]'::json) AS page
  FROM (
    SELECT c.id, c.number, c.subject, c.status, c.priority, c.last_message_at, c.last_activity_at, c.unread_count,
           json_build_object('id', ct.id, 'name', ct.name, 'email', ct.email, 'phone', ct.phone) AS contact,
           CASE WHEN u.id IS NULL THEN NULL ELSE json_build_object('id', u.id, 'name', u.name) END AS assignee,
           (SELECT coalesce(json_agg(json_build_object('id', l.id, 'name', l.name, 'color', l.color) ORDER BY l.name), '[]'::json)
              FROM "_ConversationToLabel" cl JOIN label l ON l.id = cl."B" WHERE cl."A" = c.id) AS labels,
           (SELECT json_build_object('id', m.id, 'content', m.content, 'senderType', m.sender_type, 'createdAt', m.created_at)
              FROM message m WHERE m.id = c.last_message_id) AS last_message
    FROM conversation c
    JOIN contact ct ON ct.id = c.contact_id
    LEFT JOIN "user" u ON u.id = c.assignee_id
    WHERE c.workspace_id = $1 AND ${where}
    ORDER BY c.last_activity_at DESC, c.id
    LIMIT 50
  ) p`;
}

/** The inbox page's floor. */
export const FLOOR_SQL = floorSql();

/** The filtered page's floor: OPEN, with label $2, assigned to $3 (bench/run.ts's filtered page). */
export const FILTERED_FLOOR_SQL = floorSql(
  `c.status = 'OPEN' AND c.assignee_id = $3 AND EXISTS (SELECT 1 FROM "_ConversationToLabel" fl WHERE fl."A" = c.id AND fl."B" = $2)`,
);

/** A TEAM key with every scope, acting as the workspace's first admin. */
export async function createBenchKey(c: pg.Client, workspaceId: string, name: string): Promise<{ secret: string; prefix: string; userId: string }> {
  const { secret, prefix, secretHash } = newSecret();
  const user = (await c.query<{ id: string }>(`SELECT id FROM "user" WHERE workspace_id = $1 AND role = 'ADMIN' LIMIT 1`, [workspaceId])).rows[0]!;
  await c.query(
    `INSERT INTO api_key (id, workspace_id, name, prefix, secret_hash, kind, scopes, user_id, created_at)
     VALUES (gen_random_uuid(), $1, $2, $3, $4, 'TEAM', ARRAY['ADMIN']::"Scope"[], $5, now())`,
    [workspaceId, name, prefix, secretHash, user.id],
  );
  return { secret, prefix, userId: user.id };
}

/**
 * Posts the inbox page to `url` `requests` times in a row after `warmup` requests, checking
 * every answer, and prints the latency and this process's CPU per request (server and client
 * together when the server runs in this process).
 */
export async function measureInboxPage(opts: { label: string; url: string; headers?: Record<string, string>; requests: number; warmup: number }) {
  const body = JSON.stringify({ query: INBOX_PAGE });
  const headers = { 'content-type': 'application/json', ...opts.headers };
  const send = async () => {
    const j = (await (await fetch(opts.url, { method: 'POST', headers, body })).json()) as any;
    if (j.errors || j.data.conversations.edges.length !== 50) throw new Error(JSON.stringify(j).slice(0, 300));
  };
  for (let i = 0; i < opts.warmup; i++) await send();
  const n = opts.requests;
  const samples: number[] = [];
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    await send();
    samples.push(performance.now() - s);
  }
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  samples.sort((a, b) => a - b);
  const ms = (x: number) => x.toFixed(2);
  console.log(
    `${opts.label}, requests ${n}: latency p50 ${ms(samples[Math.floor(n / 2)]!)} ms, p90 ${ms(samples[Math.floor(n * 0.9)]!)} ms; ` +
      `this process's CPU ${ms((cpu.user + cpu.system) / 1000 / n)} ms/request (user ${ms(cpu.user / 1000 / n)}, system ${ms(cpu.system / 1000 / n)}), wall ${ms(wall / n)} ms/request`,
  );
}
