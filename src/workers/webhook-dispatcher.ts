// The webhook dispatcher: reads each workspace's timeline from a durable position and turns
// every event into one delivery per endpoint that wants it, with its body built then (the
// conversation as it is when the dispatcher takes the event) and frozen from then on.
//
// The position and the deliveries it produced are written in one transaction, guarded by the
// position it started from (compare-and-set): a process killed mid-dispatch leaves nothing
// half-done, the next pass takes the same events again, and two processes never both write a
// batch. Evaluating (filters, payload) happens before that transaction, through the same
// tenant-scoped GraphQL execution live subscriptions use: webhook payloads and subscription
// payloads are one thing seen from two transports. The mutation that wrote the event did
// none of this: its transaction stays as lean as before.
import { parse, type DocumentNode, type ExecutionResult } from 'graphql';
import type { ApiKeyKind, EventType, PrismaClient, Scope } from '../generated/prisma/client.js';
import type { Logger } from '../logger.js';
import { webhookDeliveriesQueued } from '../metrics.js';
import { scopeToWorkspace } from '../db/tenant.js';
import { webhookMessageId } from '../security/webhook-signature.js';
import type { AuthInfo } from '../services/auth.js';
import { webhookBody } from '../services/webhooks.js';
import {
  acceptsConversationEvent,
  contactKindOf,
  kindOf,
  type ConversationEventKind,
  type LiveConversationFilter,
} from '../subscriptions/conversation-filter.js';
import { LiveEvent } from '../subscriptions/live-event.js';
import { CONTACT_PAYLOAD_DOCUMENT, DEFAULT_PAYLOAD_DOCUMENT } from './webhook-payload.js';
import { uuidv7 } from '../uuid.js';
import { PassLoop } from './pass-loop.js';
import type { RequestPressure } from './request-pressure.js';

/** Runs a subscription document for one event, as a key of the given visibility would see it. */
export type EventExecutor = (auth: AuthInfo, document: DocumentNode, event: LiveEvent, share: Map<string, Promise<unknown>>) => Promise<ExecutionResult>;

export interface DispatcherOptions {
  pollMs: number;
  /** Events taken per workspace per pass. */
  batchSize: number;
  /** Deliveries older than this are deleted. */
  retentionMs: number;
  /** Requests first: each batch waits while many are in flight (bounded). */
  pressure?: RequestPressure;
}

interface EndpointRow {
  id: string;
  kind: ApiKeyKind;
  eventKinds: string[];
  senderTypes: string[];
  contactEventKinds: string[];
  filter: unknown;
  payloadDocument: string | null;
  startSeq: bigint;
}

interface EventRecord {
  id: string;
  seq: bigint;
  type: EventType;
  conversationId: string | null;
  messageId: string | null;
  before: unknown;
  after: unknown;
  createdAt: Date;
}

interface NewDelivery {
  id: string;
  workspaceId: string;
  endpointId: string;
  eventId: string;
  eventSeq: bigint;
  kind: string;
  messageId: string;
  body: string;
  bodyBytes: number;
  contactId: string | null;
}

const READ_SCOPES: ReadonlySet<Scope> = new Set<Scope>(['READ_CONVERSATIONS', 'READ_CONTACTS']);
const PRUNE_EVERY_MS = 60 * 60 * 1000;
/**
 * For the transactions that write a batch: wait for a connection (and run) far longer than
 * Prisma's defaults (2 s, 5 s). Under a burst of mutations the pool is busy for longer, and a
 * batch that cannot start is thrown away with its evaluation, to be evaluated again.
 */
const BATCH_TRANSACTION = { maxWait: 30_000, timeout: 60_000 };
/** Events evaluated at once (each holds a database connection for its reads). */
const EVALUATE_AT_ONCE = 6;

/** `fn` over `items`, at most `limit` at a time; the results in the items' order. */
async function mapInOrder<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

const defaultDocument = parse(DEFAULT_PAYLOAD_DOCUMENT);
const contactDocument = parse(CONTACT_PAYLOAD_DOCUMENT);
const parsedDocuments = new Map<string, DocumentNode>();
function documentOf(text: string | null): DocumentNode {
  if (!text) return defaultDocument;
  let doc = parsedDocuments.get(text);
  if (!doc) {
    doc = parse(text);
    if (parsedDocuments.size > 500) parsedDocuments.clear();
    parsedDocuments.set(text, doc);
  }
  return doc;
}

/** The endpoint's filter, its event kinds and sender types in one LiveConversationFilter. */
function filterOf(e: EndpointRow): LiveConversationFilter {
  return {
    ...((e.filter as LiveConversationFilter | null) ?? {}),
    kinds: e.eventKinds.length ? (e.eventKinds as ConversationEventKind[]) : null,
    senderTypes: e.senderTypes.length ? (e.senderTypes as LiveConversationFilter['senderTypes']) : null,
  };
}

export class WebhookDispatcher {
  private readonly loop: PassLoop;
  private lastPrune = 0;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly execute: EventExecutor,
    private readonly options: DispatcherOptions,
    private readonly logger: Logger,
    /** Called when deliveries were queued (the sender looks at once instead of at its next poll). */
    private readonly onQueued: () => void,
  ) {
    this.loop = new PassLoop(() => this.pass(), options.pollMs, (err) => this.logger.error({ err }, 'webhook dispatcher: a pass failed'));
  }

  private get running(): boolean {
    return this.loop.running;
  }

  start() {
    this.loop.start();
  }

  /** Looks at the timeline now (an event has just committed in this process). */
  wake() {
    this.loop.wake();
  }

  /** One pass over every workspace that has events the dispatcher has not taken; true if more are waiting. */
  async pass(): Promise<boolean> {
    let more = false;
    const behind = await this.prisma.$queryRaw<{ workspace_id: string; last_seq: bigint; event_seq: bigint }[]>`
      SELECT p."workspace_id", p."last_seq", w."event_seq" FROM "webhook_dispatch_position" p
      JOIN "workspace_counter" w ON w."workspace_id" = p."workspace_id" WHERE w."event_seq" > p."last_seq" LIMIT 100`;
    for (const row of behind) {
      if (!this.running) return false;
      if (await this.dispatch(row.workspace_id, row.last_seq, row.event_seq)) more = true;
    }
    const replays = await this.prisma.webhookEndpoint.findMany({
      where: { replaySeq: { not: null }, enabled: true },
      select: { id: true, workspaceId: true, replaySeq: true, replayUntilSeq: true },
      take: 20,
    });
    for (const r of replays) {
      if (!this.running) return false;
      if (await this.replay(r.id, r.workspaceId, r.replaySeq!, r.replayUntilSeq ?? 0n)) more = true;
    }
    // Hourly, or more often when deliveries are kept less than ten hours.
    if (Date.now() - this.lastPrune > Math.min(PRUNE_EVERY_MS, this.options.retentionMs / 10)) await this.prune();
    return more;
  }

  private async endpointsOf(workspaceId: string, only?: string): Promise<EndpointRow[]> {
    return this.prisma.webhookEndpoint.findMany({
      where: { workspaceId, enabled: true, ...(only ? { id: only } : {}) },
      select: { id: true, kind: true, eventKinds: true, senderTypes: true, contactEventKinds: true, filter: true, payloadDocument: true, startSeq: true },
    });
  }

  private async eventsOf(workspaceId: string, after: bigint, until: bigint | null): Promise<EventRecord[]> {
    return this.prisma.event.findMany({
      where: { workspaceId, seq: { gt: after, ...(until !== null ? { lte: until } : {}) } },
      orderBy: { seq: 'asc' },
      take: this.options.batchSize,
      select: { id: true, seq: true, type: true, conversationId: true, messageId: true, before: true, after: true, createdAt: true },
    });
  }

  /** Takes the next batch of a workspace's events; true when more are waiting. */
  private async dispatch(workspaceId: string, lastSeq: bigint, eventSeq: bigint): Promise<boolean> {
    const endpoints = await this.endpointsOf(workspaceId);
    if (!endpoints.length) {
      // Nobody listens: the position moves on without reading the events.
      await this.prisma.webhookDispatchPosition.updateMany({ where: { workspaceId, lastSeq }, data: { lastSeq: eventSeq } });
      return false;
    }
    await this.options.pressure?.wait();
    const events = await this.eventsOf(workspaceId, lastSeq, null);
    if (!events.length) return false;
    const deliveries = await this.evaluate(workspaceId, events, endpoints);
    const last = events[events.length - 1]!.seq;
    const written = await this.prisma.$transaction(async (tx) => {
      const moved = await tx.webhookDispatchPosition.updateMany({ where: { workspaceId, lastSeq }, data: { lastSeq: last } });
      // Another process took this batch first.
      if (!moved.count) return false;
      if (deliveries.length) {
        await tx.webhookDelivery.createMany({ data: deliveries.map((d) => ({ ...d, state: 'PENDING', nextAttemptAt: new Date() })), skipDuplicates: true });
        // An erasure that committed while the batch was evaluated: its events are gone, so are these payloads.
        await tx.$executeRaw`
          UPDATE "webhook_delivery" d SET "body" = NULL, "state" = 'FAILED', "last_error" = 'The payload was erased with its contact.', "next_attempt_at" = NULL, "completed_at" = now()
          WHERE d."id" = ANY(${deliveries.map((x) => x.id)}::uuid[]) AND NOT EXISTS (SELECT 1 FROM "event" e WHERE e."id" = d."event_id")`;
      }
      return true;
    }, BATCH_TRANSACTION);
    if (written && deliveries.length) {
      webhookDeliveriesQueued.inc(deliveries.length);
      this.onQueued();
    }
    return last < eventSeq;
  }

  /** Evaluates an endpoint's events again (a replay asked for); each delivery goes out again. */
  private async replay(endpointId: string, workspaceId: string, from: bigint, until: bigint): Promise<boolean> {
    const endpoints = await this.endpointsOf(workspaceId, endpointId);
    const events = until > from ? await this.eventsOf(workspaceId, from, until) : [];
    const last = events.length ? events[events.length - 1]!.seq : until;
    const deliveries = endpoints.length && events.length ? await this.evaluate(workspaceId, events, endpoints, { replay: true }) : [];
    const done = events.length < this.options.batchSize || last >= until;
    await this.prisma.$transaction(async (tx) => {
      const moved = await tx.webhookEndpoint.updateMany({
        where: { id: endpointId, replaySeq: from },
        data: done ? { replaySeq: null, replayUntilSeq: null } : { replaySeq: last },
      });
      if (!moved.count) return;
      const now = new Date();
      for (const d of deliveries) {
        await tx.webhookDelivery.upsert({
          where: { endpointId_eventId: { endpointId: d.endpointId, eventId: d.eventId } },
          create: { ...d, state: 'PENDING', nextAttemptAt: now },
          update: { body: d.body, bodyBytes: d.bodyBytes, contactId: d.contactId, kind: d.kind, state: 'PENDING', attemptCount: 0, nextAttemptAt: now, completedAt: null },
        });
      }
    }, BATCH_TRANSACTION);
    if (deliveries.length) this.onQueued();
    return !done;
  }

  /**
   * The deliveries for a batch of events: each endpoint's filter is judged on the event, and
   * each payload document runs once per event and visibility, whatever the number of endpoints.
   */
  private async evaluate(workspaceId: string, events: EventRecord[], endpoints: EndpointRow[], { replay = false } = {}): Promise<NewDelivery[]> {
    const db = scopeToWorkspace(this.prisma, workspaceId);
    // Each event costs a few reads (its facts, the payload's fields): several are evaluated at
    // once, and their deliveries kept in timeline order.
    // One execution context per visibility for the whole batch: its loaders read the rows of
    // several events together, and each row once (the batch is evaluated at one moment).
    const share = new Map<string, Promise<unknown>>();
    const perEvent = await mapInOrder(events, EVALUATE_AT_ONCE, (row) => this.evaluateOne(workspaceId, db, row, endpoints, replay, share));
    return perEvent.flat();
  }

  /** One event's deliveries, one per endpoint that wants it. */
  private async evaluateOne(workspaceId: string, db: ReturnType<typeof scopeToWorkspace>, row: EventRecord, endpoints: EndpointRow[], replay: boolean, share: Map<string, Promise<unknown>>): Promise<NewDelivery[]> {
    const out: NewDelivery[] = [];
    const event = new LiveEvent(workspaceId, row, db);
    const contactKind = contactKindOf(row.type);
    const wanting: EndpointRow[] = [];
    for (const endpoint of endpoints) {
      if (!replay && row.seq <= endpoint.startSeq) continue;
      const wants = contactKind
        ? endpoint.contactEventKinds.includes(contactKind) || (!endpoint.contactEventKinds.length && !endpoint.eventKinds.length)
        : // An endpoint that names contact kinds only wants no conversation event.
          !(endpoint.contactEventKinds.length && !endpoint.eventKinds.length) &&
          (await acceptsConversationEvent(event, filterOf(endpoint), { kind: endpoint.kind, userId: null }));
      if (wants) wanting.push(endpoint);
    }
    if (!wanting.length) return out;
    const facts = await event.facts();
    const kind = contactKind ?? kindOf(row.type, facts.after) ?? row.type;
    const bodies = new Map<string, string>();
    for (const endpoint of wanting) {
      // A contact event has the contact payload (an endpoint's own document selects conversationEvents).
      const document = contactKind ? contactDocument : documentOf(endpoint.payloadDocument);
      const key = `${endpoint.kind}\n${contactKind ? 'contact' : (endpoint.payloadDocument ?? '')}`;
      let body = bodies.get(key);
      if (body === undefined) {
        const auth: AuthInfo = { workspaceId, apiKeyId: endpoint.id, keyPrefix: 'webhook', kind: endpoint.kind, scopes: READ_SCOPES, userId: null };
        const result = await this.execute(auth, document, event, share);
        const data = result.data ? Object.values(result.data)[0] ?? null : null;
        body = webhookBody(kind, row.createdAt, row.seq, data, result.errors).body;
        bodies.set(key, body);
      }
      out.push({
        id: uuidv7(),
        workspaceId,
        endpointId: endpoint.id,
        eventId: row.id,
        eventSeq: row.seq,
        kind,
        messageId: webhookMessageId(endpoint.id, row.id),
        body,
        bodyBytes: Buffer.byteLength(body),
        contactId: facts.conversation?.contactId ?? (contactKind && typeof facts.after?.contactId === 'string' ? facts.after.contactId : null),
      });
    }
    return out;
  }

  private async prune() {
    this.lastPrune = Date.now();
    const before = new Date(Date.now() - this.options.retentionMs);
    const { count } = await this.prisma.webhookDelivery.deleteMany({ where: { createdAt: { lt: before }, state: { not: 'PENDING' } } });
    if (count) this.logger.info({ count }, 'webhook deliveries past their retention deleted');
  }

  async stop() {
    await this.loop.stop();
  }
}
