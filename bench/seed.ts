// Seeds the benchmark database: a big workspace (100,000 conversations, about 1.1 million
// messages) and a small one (10,000 conversations), with realistic distributions over
// statuses, channels, assignees, labels, priorities and controllers. Everything is made by
// INSERT ... SELECT over generate_series inside PostgreSQL, so seeding takes minutes, not hours.
//
//   npx tsx bench/seed.ts            creates the database (or reuses it when already seeded)
//   npx tsx bench/seed.ts --fresh    drops and seeds it again
//
// The database is BENCH_DATABASE (parley_bench) on BENCH_PG_ADMIN_URL (the local PostgreSQL).
// Not part of the test suite: nothing under bench/ runs in CI.
import pg from 'pg';
import { migrate, openDatabase } from '../src/db/client.js';

export const ADMIN_URL = process.env.BENCH_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const DATABASE = process.env.BENCH_DATABASE ?? 'parley_bench';
/** Shrinks both workspaces for a quick trial of the scripts (BENCH_SCALE=0.01); 1 for the benchmark. */
const SCALE = Number(process.env.BENCH_SCALE ?? 1);
/** Bumped whenever the generated data changes, so an old database is seeded again. */
const SEED_VERSION = 3;

/** The word planted in about 0.1 % of the messages, for the search benchmark. */
export const RARE_WORD = 'zephyrine';

export function databaseUrl(): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${DATABASE}`;
  return url.toString();
}

export interface BenchWorkspace {
  id: string;
  name: string;
  conversations: number;
  messages: number;
}

const VOCABULARY = (
  'order invoice refund payment card charge account password login email address delivery parcel tracking ' +
  'shipping return exchange size colour color price discount coupon code subscription plan upgrade downgrade cancel ' +
  'renewal trial billing receipt tax vat company team seat user admin access permission error bug crash slow page ' +
  'app android iphone browser chrome firefox safari update version install download export import report data ' +
  'sync calendar meeting call phone number whatsapp message chat support agent human help thanks hello hi please ' +
  'urgent today tomorrow yesterday week month morning evening asap soon still again problem issue question answer ' +
  'working broken missing wrong late damaged lost found received sent paid unpaid pending approved declined failed ' +
  'store shop product item stock available unavailable warehouse courier driver address postcode city country ' +
  'france spain germany italy brazil india japan mexico canada london paris berlin madrid rome tokyo lisbon ' +
  'monday tuesday wednesday thursday friday saturday sunday one two three four five six seven eight nine ten ' +
  'the a an and or but so because if when where why how what who which is are was were be been have has had ' +
  'do does did can could would should will may might must i you we they he she it my your our their this that'
).split(' ');

const FIRST = ['Ana', 'Bo', 'Chen', 'Dara', 'Eli', 'Fatima', 'Gus', 'Hana', 'Ivan', 'Jia', 'Kofi', 'Lena', 'Mateo', 'Nia', 'Omar', 'Priya', 'Quinn', 'Rosa', 'Sami', 'Tara', 'Uma', 'Vik', 'Wen', 'Xavi', 'Yara', 'Zane'];
const LAST = ['Silva', 'Berg', 'Wang', 'Okafor', 'Novak', 'Haddad', 'Moreau', 'Tanaka', 'Petrov', 'Lopez', 'Mensah', 'Fischer', 'Rossi', 'Kim', 'Singh', 'Dubois', 'Nakamura', 'Costa', 'Murphy', 'Ali'];
const LABELS = [
  'billing', 'bug', 'vip', 'refund', 'onboarding', 'shipping', 'returns', 'feature-request', 'urgent', 'spam', 'enterprise', 'churn-risk',
  'android', 'ios', 'web', 'api', 'integrations', 'invoice', 'password', 'login', 'delivery', 'damaged', 'discount', 'upgrade',
  'downgrade', 'cancellation', 'feedback', 'partner', 'legal', 'security',
];

/** Runs `fn` on a connection to the server's admin database (ADMIN_URL). */
export async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

const log = (msg: string) => process.stderr.write(`[bench:seed ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

async function timed<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const start = Date.now();
  const result = await fn();
  log(`${what}: ${((Date.now() - start) / 1000).toFixed(1)} s`);
  return result;
}

/** One workspace: `n` conversations over `contacts` contacts, 2 to 29 messages each (mean about 11). */
async function seedWorkspace(c: pg.Client, name: string, n: number, contacts: number): Promise<BenchWorkspace> {
  const ws = (await c.query<{ id: string }>(
    `INSERT INTO workspace (id, name, created_at, updated_at) VALUES (gen_random_uuid(), $1, now(), now()) RETURNING id`,
    [name],
  )).rows[0]!.id;
  await c.query(`INSERT INTO workspace_counter (workspace_id, conversation_seq, event_seq) VALUES ($1, $2, 0)`, [ws, n]);
  await c.query(
    `INSERT INTO "user" (id, workspace_id, name, email, role, availability, created_at, updated_at)
     SELECT gen_random_uuid(), $1, 'Agent ' || g, 'agent' || g || '@bench.test',
            (CASE WHEN g = 1 THEN 'ADMIN' ELSE 'AGENT' END)::"Role",
            (CASE WHEN g % 5 = 0 THEN 'AWAY' ELSE 'ONLINE' END)::"Availability", now(), now()
     FROM generate_series(1, 25) g`,
    [ws],
  );
  await c.query(
    `INSERT INTO inbox (id, workspace_id, name, channel, created_at, updated_at)
     SELECT gen_random_uuid(), $1, v.name, v.channel::"Channel", now(), now()
     FROM (VALUES ('WhatsApp', 'WHATSAPP'), ('Support email', 'EMAIL'), ('Website chat', 'WEB_CHAT'),
                  ('Instagram', 'INSTAGRAM'), ('SMS', 'SMS'), ('Messenger', 'FACEBOOK')) AS v(name, channel)`,
    [ws],
  );
  await c.query(
    `INSERT INTO label (id, workspace_id, name, color, created_at, updated_at)
     SELECT gen_random_uuid(), $1, l, '#' || lpad(to_hex((g * 2654435761) % 16777216), 6, '0'), now() + g * interval '1 millisecond', now()
     FROM unnest($2::text[]) WITH ORDINALITY AS t(l, g)`,
    [ws, LABELS],
  );
  await timed(`${name}: ${contacts} contacts`, () =>
    c.query(
      `INSERT INTO contact (id, workspace_id, name, email, phone, custom_attributes, created_at, updated_at)
       SELECT gen_random_uuid(), $1, f || ' ' || l,
              lower(f) || '.' || lower(l) || g || '@example' || (g % 97) || '.test',
              CASE WHEN g % 3 = 0 THEN NULL ELSE '+1' || (2000000000 + g)::text END,
              jsonb_build_object('plan', (ARRAY['free', 'starter', 'pro', 'enterprise'])[1 + g % 4], 'customerId', 'CUS-' || g),
              now() - random() * interval '365 days', now()
       FROM generate_series(1, $2::int) g
       CROSS JOIN LATERAL (SELECT ($3::text[])[1 + g % cardinality($3::text[])] AS f,
                                  ($4::text[])[1 + (g / cardinality($3::text[])) % cardinality($4::text[])] AS l) n`,
      [ws, contacts, FIRST, LAST],
    ),
  );

  // Numbered lookups for the generator.
  await c.query(`DROP TABLE IF EXISTS b_user, b_inbox, b_label, b_contact, b_plan`);
  await c.query(`CREATE TEMP TABLE b_user AS SELECT row_number() OVER (ORDER BY email)::int AS n, id FROM "user" WHERE workspace_id = $1`, [ws]);
  await c.query(`CREATE TEMP TABLE b_inbox AS SELECT row_number() OVER (ORDER BY name)::int AS n, id, channel FROM inbox WHERE workspace_id = $1`, [ws]);
  await c.query(`CREATE TEMP TABLE b_label AS SELECT row_number() OVER (ORDER BY created_at, name)::int AS n, id FROM label WHERE workspace_id = $1`, [ws]);
  await c.query(`CREATE TEMP TABLE b_contact AS SELECT row_number() OVER (ORDER BY id)::int AS n, id FROM contact WHERE workspace_id = $1`, [ws]);
  await c.query(`CREATE UNIQUE INDEX ON b_contact (n)`);
  await c.query(`ANALYZE b_user; ANALYZE b_inbox; ANALYZE b_label; ANALYZE b_contact`);

  // Inboxes by name: Instagram, Messenger, SMS, Support email, WhatsApp, Website chat.
  await timed(`${name}: ${n} conversations`, async () => {
    await c.query(
      `CREATE TEMP TABLE b_plan AS
       SELECT g AS n, gen_random_uuid() AS id,
              date_trunc('milliseconds', now() - power(random(), 1.5) * interval '180 days') AS created_at,
              random() AS r_status, random() AS r_assign, random() AS r_prio, random() AS r_ctrl, random() AS r_inbox,
              2 + floor(power(random(), 2) * 28)::int AS msgs,
              1 + floor(random() * $1::int)::int AS contact_n
       FROM generate_series(1, $2::int) g`,
      [contacts, n],
    );
    await c.query(
      `INSERT INTO conversation (id, workspace_id, number, inbox_id, contact_id, subject, status, controller, priority,
                                 assignee_id, custom_attributes, created_at, last_activity_at, updated_at, version)
       SELECT p.id, $1, p.n, i.id, ct.id,
              CASE WHEN i.channel = 'EMAIL' THEN 'Question about order ' || (100000 + p.n) END,
              (CASE WHEN p.r_status < 0.20 THEN 'OPEN' WHEN p.r_status < 0.30 THEN 'PENDING' WHEN p.r_status < 0.35 THEN 'SNOOZED'
                    WHEN p.r_status < 0.65 THEN 'RESOLVED' WHEN p.r_status < 0.90 THEN 'CLOSED' ELSE 'ARCHIVED' END)::"ConversationStatus",
              (CASE WHEN p.r_ctrl < 0.25 THEN 'HUMAN' ELSE 'AI_AGENT' END)::"Controller",
              (CASE WHEN p.r_prio < 0.60 THEN 'NONE' WHEN p.r_prio < 0.75 THEN 'LOW' WHEN p.r_prio < 0.90 THEN 'MEDIUM'
                    WHEN p.r_prio < 0.97 THEN 'HIGH' ELSE 'URGENT' END)::"Priority",
              u.id,
              CASE WHEN p.n % 10 = 0 THEN jsonb_build_object('orderRef', 'ORD-' || (100000 + p.n)) ELSE '{}'::jsonb END,
              p.created_at, p.created_at, p.created_at, 1
       FROM b_plan p
       JOIN b_inbox i ON i.n = (CASE WHEN p.r_inbox < 0.35 THEN 5 WHEN p.r_inbox < 0.60 THEN 4 WHEN p.r_inbox < 0.80 THEN 6
                                     WHEN p.r_inbox < 0.90 THEN 1 WHEN p.r_inbox < 0.95 THEN 3 ELSE 2 END)
       JOIN b_contact ct ON ct.n = p.contact_n
       LEFT JOIN b_user u ON p.r_assign >= 0.3 AND u.n = 1 + floor(power(greatest(p.r_assign - 0.3, 0) / 0.7, 1.6) * 25)::int`,
      [ws],
    );
  });

  await c.query('ANALYZE b_plan; ANALYZE conversation');
  const messages = await timed(`${name}: messages`, async () => {
    const r = await c.query(
      `INSERT INTO message (id, workspace_id, conversation_id, inbox_id, content, content_type, attachments, sender_type,
                            sender_user_id, sender_contact_id, private, status, created_at, updated_at)
       SELECT gen_random_uuid(), $1, c.id, c.inbox_id,
              w[1 + floor(random() * nw)::int] || ' ' || w[1 + floor(random() * nw)::int] || ' ' || w[1 + floor(random() * nw)::int] || ' ' ||
              w[1 + floor(random() * nw)::int] || ' ' || w[1 + floor(random() * nw)::int] || ' ' || w[1 + floor(random() * nw)::int] || ' ' ||
              w[1 + floor(random() * nw)::int] || ' ' || w[1 + floor(random() * nw)::int] ||
              CASE WHEN random() < 0.001 THEN ' ${RARE_WORD}' ELSE '' END,
              'TEXT', '[]'::jsonb, s.sender::"SenderType",
              CASE WHEN s.sender = 'HUMAN' THEN coalesce(c.assignee_id, (SELECT id FROM b_user WHERE n = 1)) END,
              CASE WHEN s.sender = 'CONTACT' THEN c.contact_id END,
              s.private,
              (CASE WHEN s.sender = 'CONTACT' THEN 'RECEIVED' WHEN s.private THEN 'SENT' ELSE 'DELIVERED' END)::"MessageStatus",
              c.created_at + (k - 1) * interval '7 minutes' + s.jitter * interval '1 minute',
              c.created_at + (k - 1) * interval '7 minutes' + s.jitter * interval '1 minute'
       FROM conversation c
       JOIN b_plan p ON p.id = c.id
       CROSS JOIN LATERAL generate_series(1, p.msgs) k
       CROSS JOIN LATERAL (
         SELECT CASE WHEN k % 2 = 1 THEN 'CONTACT' WHEN c.controller = 'HUMAN' AND k > 2 THEN 'HUMAN' ELSE 'AI_AGENT' END AS sender,
                (k % 2 = 0 AND random() < 0.05) AS private,
                floor(random() * 6)::int AS jitter
       ) s0
       CROSS JOIN LATERAL (SELECT CASE WHEN s0.private THEN 'HUMAN' ELSE s0.sender END AS sender, s0.private, s0.jitter) s
       CROSS JOIN (SELECT $2::text[] AS w, cardinality($2::text[]) AS nw) v
       WHERE c.workspace_id = $1`,
      [ws, VOCABULARY],
    );
    return r.rowCount ?? 0;
  });

  // Fresh tables have no statistics: without them the planner re-runs the whole
  // DISTINCT ON below for every conversation.
  await timed(`${name}: analyze`, () => c.query('ANALYZE conversation; ANALYZE message'));
  await timed(`${name}: counters`, () =>
    c.query(
      `WITH last AS MATERIALIZED (
         SELECT DISTINCT ON (m.conversation_id) m.conversation_id, m.id, m.created_at, m.content, m.sender_type
         FROM message m WHERE m.workspace_id = $1 AND NOT m.private
         ORDER BY m.conversation_id, m.created_at DESC, m.id DESC
       ), agg AS MATERIALIZED (
         SELECT m.conversation_id, count(*)::int AS n, (count(*) FILTER (WHERE NOT m.private))::int AS public_n,
                min(m.created_at) FILTER (WHERE m.sender_type IN ('AI_AGENT', 'HUMAN') AND NOT m.private) AS first_response,
                min(m.created_at) FILTER (WHERE m.sender_type = 'HUMAN' AND NOT m.private) AS first_human
         FROM message m WHERE m.workspace_id = $1 GROUP BY m.conversation_id
       )
       UPDATE conversation c SET
         message_count = agg.n,
         public_message_count = agg.public_n,
         last_message_id = last.id,
         last_message_at = last.created_at,
         last_activity_at = last.created_at,
         last_message_preview = left(last.content, 140),
         last_message_sender_type = last.sender_type,
         unread_count = CASE WHEN last.sender_type = 'CONTACT' AND c.status IN ('OPEN', 'PENDING') THEN 1 ELSE 0 END,
         waiting_since = CASE WHEN last.sender_type = 'CONTACT' AND c.status NOT IN ('RESOLVED', 'CLOSED', 'ARCHIVED') THEN last.created_at END,
         first_response_at = agg.first_response,
         first_human_response_at = agg.first_human,
         snoozed_until = CASE WHEN c.status = 'SNOOZED' THEN now() + interval '2 days' END,
         resolved_at = CASE WHEN c.status IN ('RESOLVED', 'CLOSED', 'ARCHIVED') THEN last.created_at + interval '20 minutes' END,
         resolution_reason = (CASE WHEN c.status IN ('RESOLVED', 'CLOSED', 'ARCHIVED') THEN 'ISSUE_RESOLVED' END)::"ResolutionReason",
         satisfaction_requested = c.status IN ('RESOLVED', 'CLOSED', 'ARCHIVED') AND c.number % 2 = 0,
         satisfaction_rating = CASE WHEN c.status IN ('RESOLVED', 'CLOSED', 'ARCHIVED') AND c.number % 2 = 0 AND c.number % 5 <> 0
                                    THEN 1 + (c.number * 7) % 5 END,
         updated_at = last.created_at
       FROM last JOIN agg ON agg.conversation_id = last.conversation_id
       WHERE c.id = last.conversation_id AND c.workspace_id = $1`,
      [ws],
    ),
  );

  await timed(`${name}: labels and handoffs`, async () => {
    // 0 to 3 labels each, the first labels far more common than the last.
    await c.query(
      `INSERT INTO "_ConversationToLabel" ("A", "B")
       SELECT c.id, l.id FROM conversation c
       CROSS JOIN LATERAL (SELECT bl.id FROM b_label bl ORDER BY random() * bl.n * bl.n LIMIT ((c.number * 7919) % 7) / 2) l
       WHERE c.workspace_id = $1`,
      [ws],
    );
    await c.query(
      `INSERT INTO handoff (id, workspace_id, conversation_id, started_at, ended_at, started_by_type, ended_by_type, assignee_id, reason, summary)
       SELECT gen_random_uuid(), $1, c.id, c.created_at + interval '10 minutes',
              CASE WHEN c.controller = 'AI_AGENT' THEN c.created_at + interval '40 minutes' END,
              'AI_AGENT', (CASE WHEN c.controller = 'AI_AGENT' THEN 'USER' END)::"ActorType", c.assignee_id,
              'The contact asked for a human', 'Summary of the conversation so far'
       FROM conversation c
       WHERE c.workspace_id = $1 AND (c.controller = 'HUMAN' OR c.number % 10 = 3)`,
      [ws],
    );
  });
  return { id: ws, name, conversations: n, messages };
}

/** Creates (or reuses) the seeded benchmark database; returns its workspaces. */
export async function ensureBenchDatabase(opts: { fresh?: boolean } = {}): Promise<{ url: string; big: BenchWorkspace; small: BenchWorkspace }> {
  const url = databaseUrl();
  const exists = await admin(async (c) => (await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE])).rowCount === 1);
  if (exists && !opts.fresh) {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      const meta = await c.query(`SELECT value FROM bench_meta WHERE key = 'seed'`).catch(() => null);
      const seed = meta?.rows[0]?.value as { version: number; scale: number; big: BenchWorkspace; small: BenchWorkspace } | undefined;
      if (seed?.version === SEED_VERSION && seed.scale === SCALE) {
        log(`reusing ${DATABASE} (seed version ${SEED_VERSION})`);
        return { url, big: seed.big, small: seed.small };
      }
    } finally {
      await c.end();
    }
  }
  log(`creating ${DATABASE}`);
  await admin(async (c) => {
    await c.query(`DROP DATABASE IF EXISTS "${DATABASE}" WITH (FORCE)`);
    await c.query(`CREATE DATABASE "${DATABASE}"`);
  });
  const db = await openDatabase({ databaseUrl: url, dataDir: './data-unused' });
  try {
    await timed('migrations', () => migrate(db));
  } finally {
    await db.close();
  }

  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(`SET maintenance_work_mem = '512MB'`);
    // Building the message text index once at the end is far faster than maintaining it row by row.
    const indexDef = (await c.query<{ indexdef: string }>(`SELECT indexdef FROM pg_indexes WHERE indexname = 'message_search_idx'`)).rows[0]!.indexdef;
    await c.query(`DROP INDEX message_search_idx`);
    const big = await seedWorkspace(c, 'Big workspace (100k)', Math.round(100_000 * SCALE), Math.round(70_000 * SCALE));
    const small = await seedWorkspace(c, 'Small workspace (10k)', Math.round(10_000 * SCALE), Math.round(7_000 * SCALE));
    await timed('message search index', () => c.query(indexDef));
    await timed('vacuum analyze', () => c.query('VACUUM ANALYZE'));
    await c.query(`CREATE TABLE bench_meta (key text PRIMARY KEY, value jsonb NOT NULL)`);
    await c.query(`INSERT INTO bench_meta VALUES ('seed', $1)`, [{ version: SEED_VERSION, scale: SCALE, big, small }]);
    log(`seeded: big ${big.conversations} conversations / ${big.messages} messages, small ${small.conversations} / ${small.messages}`);
    return { url, big, small };
  } finally {
    await c.end();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  ensureBenchDatabase({ fresh: process.argv.includes('--fresh') }).then(
    (r) => {
      process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
    },
    (err) => {
      process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    },
  );
}
