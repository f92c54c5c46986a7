// Webhook endpoints: the rules for registering, changing, rotating and replaying them, and for
// asking that a delivery go again. Delivery itself runs after the commit, outside any request
// (src/workers/webhook-dispatcher.ts takes events from the timeline, src/workers/webhook-sender.ts
// sends them); nothing here makes an HTTP call.
import { encodeGlobalID } from '@pothos/plugin-relay';
import type { ScopedTx } from '../db/tenant.js';
import type { ApiKeyKind, Prisma, SenderType } from '../generated/prisma/client.js';
import { NotFoundError, ValidationError, forbidden, requestError } from '../errors.js';
import { urlProblem, type OutboundPolicy } from '../security/outbound.js';
import type { SecretBox } from '../security/secret-key.js';
import { newWebhookSecret, webhookMessageId } from '../security/webhook-signature.js';
import type { ContactEventKind, ConversationEventKind, LiveConversationFilter } from '../subscriptions/conversation-filter.js';
import { requireAdminRole } from './admin.js';
import { lastCursor, type ServiceContext } from './timeline.js';
import { optionalText } from './validation.js';
import { uuidv7 } from '../uuid.js';

/** How long a rotated-out secret keeps signing, so receivers can switch without a gap. */
export const PREVIOUS_SECRET_VALIDITY_MS = 24 * 60 * 60 * 1000;
export const MAX_ENDPOINTS_PER_WORKSPACE = 50;
export const MAX_PAYLOAD_DOCUMENT_LENGTH = 10_000;

/** What the webhook services need besides the caller. */
export interface WebhookDeps {
  /** Encrypts signing secrets at rest; null when the server has no SECRET_KEY. */
  box: SecretBox | null;
  policy: OutboundPolicy;
}

/** The caller, with the kind of its key (which bounds what endpoints it may make). */
export interface WebhookCaller extends ServiceContext {
  keyKind: ApiKeyKind;
}

export interface EndpointSettings {
  url?: string | null;
  description?: string | null;
  kind?: ApiKeyKind | null;
  eventKinds?: ConversationEventKind[] | null;
  senderTypes?: SenderType[] | null;
  contactEventKinds?: ContactEventKind[] | null;
  /** The filter as given (global ids), and decoded. */
  filterInput?: Prisma.InputJsonValue | null;
  filter?: LiveConversationFilter | null;
  /** Already checked against the schema by the caller (src/schema/webhook.ts). */
  payloadDocument?: string | null;
  enabled?: boolean | null;
}

function boxOf(deps: WebhookDeps): SecretBox {
  if (!deps.box) {
    throw requestError(
      'BAD_REQUEST',
      'Webhooks need the server to have a SECRET_KEY (32 random bytes, base64: `openssl rand -base64 32`), which encrypts their signing secrets. Set it and restart.',
    );
  }
  return deps.box;
}

/**
 * A TEAM endpoint receives internal notes: only a TEAM key acting as an ADMIN (or as no user)
 * may create or change one. An admin-scoped CONNECTOR key must not route notes to itself.
 */
async function mayManage(ctx: WebhookCaller, kind: ApiKeyKind, what: string) {
  if (kind !== 'TEAM') return;
  if (ctx.keyKind !== 'TEAM') throw forbidden(`Only a TEAM key may ${what} a TEAM endpoint (it receives internal notes).`, { requiredKeyKind: 'TEAM' });
  await requireAdminRole(ctx, `${what} a TEAM endpoint (it receives internal notes)`);
}

function checkedUrl(url: string, deps: WebhookDeps): string {
  const value = url.trim();
  const problem = urlProblem(value, deps.policy);
  if (problem) throw new ValidationError(`The URL ${problem}.`, 'input.url');
  return value;
}

function settingsData(input: EndpointSettings, deps: WebhookDeps) {
  const data: Prisma.WebhookEndpointUncheckedUpdateInput = {};
  if (input.url != null) data.url = checkedUrl(input.url, deps);
  if (input.description !== undefined) data.description = optionalText(input.description, 'input.description', 500);
  if (input.eventKinds != null) data.eventKinds = [...new Set(input.eventKinds)];
  if (input.senderTypes != null) data.senderTypes = [...new Set(input.senderTypes)];
  if (input.contactEventKinds != null) data.contactEventKinds = [...new Set(input.contactEventKinds)];
  if (input.filterInput !== undefined) {
    data.filterInput = input.filterInput ?? undefined;
    data.filter = (input.filter ?? undefined) as Prisma.InputJsonValue | undefined;
  }
  if (input.payloadDocument !== undefined) data.payloadDocument = input.payloadDocument;
  return data;
}

async function findEndpoint(ctx: ServiceContext, endpointId: string) {
  const endpoint = await ctx.db.webhookEndpoint.findUnique({ where: { id: endpointId } });
  if (!endpoint) throw new NotFoundError('WebhookEndpoint', endpointId);
  return endpoint;
}

/** Registers an endpoint; it hears of events after the current cursor. Returns its secret once. */
export async function createWebhookEndpoint(ctx: WebhookCaller, deps: WebhookDeps, input: EndpointSettings & { url: string }) {
  const box = boxOf(deps);
  const kind = input.kind ?? ctx.keyKind;
  await mayManage(ctx, kind, 'create');
  const data = settingsData(input, deps);
  const secret = newWebhookSecret();
  const endpoint = await ctx.db.$transaction(async (tx) => {
    const count = await tx.webhookEndpoint.count();
    if (count >= MAX_ENDPOINTS_PER_WORKSPACE) {
      throw new ValidationError(`A workspace may have at most ${MAX_ENDPOINTS_PER_WORKSPACE} webhook endpoints.`, 'input');
    }
    const startSeq = await lastCursor(tx, ctx.workspaceId);
    // The dispatcher reads the timeline from here on (a workspace that already has one keeps it).
    await tx.$executeRaw`
      INSERT INTO "webhook_dispatch_position" ("workspace_id", "last_seq", "updated_at") VALUES (${ctx.workspaceId}::uuid, ${startSeq}, now())
      ON CONFLICT ("workspace_id") DO NOTHING`;
    return tx.webhookEndpoint.create({
      data: {
        ...(data as Prisma.WebhookEndpointUncheckedCreateInput),
        workspaceId: ctx.workspaceId,
        url: data.url as string,
        kind,
        secret: box.seal(secret),
        startSeq,
      },
    });
  });
  return { endpoint, secret };
}

export async function updateWebhookEndpoint(ctx: WebhookCaller, deps: WebhookDeps, input: EndpointSettings & { endpointId: string }) {
  const endpoint = await findEndpoint(ctx, input.endpointId);
  await mayManage(ctx, endpoint.kind, 'change');
  if (input.kind != null && input.kind !== endpoint.kind) await mayManage(ctx, input.kind, 'change');
  const data = settingsData(input, deps);
  if (input.kind != null) data.kind = input.kind;
  if (input.enabled === true && !endpoint.enabled) {
    // Back on: a fresh start (what it missed can be replayed).
    Object.assign(data, { enabled: true, disabledReason: null, disabledAt: null, failingSince: null, nextProbeAt: null });
  } else if (input.enabled === false && endpoint.enabled) {
    Object.assign(data, { enabled: false, disabledReason: 'Disabled by a team member.', disabledAt: new Date() });
  }
  return ctx.db.webhookEndpoint.update({ where: { id: endpoint.id }, data });
}

/** Deletes an endpoint with its delivery log. */
export async function deleteWebhookEndpoint(ctx: WebhookCaller, endpointId: string) {
  const endpoint = await findEndpoint(ctx, endpointId);
  await mayManage(ctx, endpoint.kind, 'delete');
  await ctx.db.webhookEndpoint.delete({ where: { id: endpoint.id } });
  return endpoint;
}

/** A new secret; the old one keeps signing beside it for 24 hours. Returns the new one once. */
export async function rotateWebhookSecret(ctx: WebhookCaller, deps: WebhookDeps, endpointId: string) {
  const box = boxOf(deps);
  const endpoint = await findEndpoint(ctx, endpointId);
  await mayManage(ctx, endpoint.kind, 'change');
  const secret = newWebhookSecret();
  const now = new Date();
  const updated = await ctx.db.webhookEndpoint.update({
    where: { id: endpoint.id },
    data: { secret: box.seal(secret), previousSecret: endpoint.secret, previousSecretExpiresAt: new Date(now.getTime() + PREVIOUS_SECRET_VALIDITY_MS), secretRotatedAt: now },
  });
  return { endpoint: updated, secret };
}

/** Sends a delivery again from its first attempt, with the body and webhook-id it had. */
export async function redeliverWebhook(ctx: WebhookCaller, deliveryId: string) {
  const delivery = await ctx.db.webhookDelivery.findUnique({ where: { id: deliveryId }, include: { endpoint: { select: { kind: true } } } });
  if (!delivery) throw new NotFoundError('WebhookDelivery', deliveryId);
  await mayManage(ctx, delivery.endpoint.kind, 'redeliver to');
  if (delivery.body === null) throw new ValidationError('This delivery’s payload was erased (its contact was deleted): it cannot be sent again.', 'input.deliveryId');
  if (delivery.state === 'PENDING') return delivery;
  return ctx.db.webhookDelivery.update({
    where: { id: delivery.id },
    data: { state: 'PENDING', attemptCount: 0, nextAttemptAt: new Date(), completedAt: null, leaseUntil: null, leaseToken: null },
  });
}

/**
 * Asks the dispatcher to evaluate an endpoint's events again from a cursor (or a time) up to
 * now: each gets a fresh payload and goes out again, with the webhook-id it always has.
 * Returns how many timeline events the replay covers.
 */
export async function replayWebhookEvents(ctx: WebhookCaller, input: { endpointId: string; after?: bigint | null; since?: Date | null }) {
  const endpoint = await findEndpoint(ctx, input.endpointId);
  await mayManage(ctx, endpoint.kind, 'replay to');
  if ((input.after == null) === (input.since == null)) throw new ValidationError('Give exactly one of `after` (a cursor) and `since` (a time).', 'input');
  return ctx.db.$transaction(async (tx) => {
    const [bounds] = await tx.$queryRaw<{ until: bigint; from: bigint | null }[]>`
      SELECT coalesce((SELECT c."event_seq" FROM "workspace_counter" c WHERE c."workspace_id" = w."id"), 0) AS until,
        (SELECT max(e."seq") FROM "event" e WHERE e."workspace_id" = w."id" AND e."created_at" < ${input.since ?? new Date(0)}) AS "from"
      FROM "workspace" w WHERE w."id" = ${ctx.workspaceId}::uuid`;
    const from = input.after ?? bounds!.from ?? 0n;
    const until = bounds!.until;
    const updated = await tx.webhookEndpoint.update({ where: { id: endpoint.id }, data: { replaySeq: from, replayUntilSeq: until } });
    const events = until > from ? await tx.event.count({ where: { seq: { gt: from, lte: until } } }) : 0;
    return { endpoint: updated, events };
  });
}

/**
 * A delivery's body, the one envelope every webhook has (an event's, a test's, a rule's
 * notification): its kind, when, the timeline cursor (null when it is not an event), the data.
 */
export function webhookBody(type: string, timestamp: Date, cursor: bigint | null, data: unknown, errors?: readonly unknown[]): { body: string; bodyBytes: number } {
  const body = JSON.stringify({ type, timestamp: timestamp.toISOString(), cursor: cursor?.toString() ?? null, data, ...(errors?.length ? { errors } : {}) });
  return { body, bodyBytes: Buffer.byteLength(body) };
}

/** A test delivery, queued to go at once; the sender makes its one attempt. */
export async function queueTestDelivery(ctx: WebhookCaller, endpointId: string) {
  const endpoint = await findEndpoint(ctx, endpointId);
  await mayManage(ctx, endpoint.kind, 'test');
  const id = uuidv7();
  const envelope = webhookBody('WEBHOOK_TEST', new Date(), null, { message: 'A test delivery from Parley: your endpoint is reachable and can verify the signature.' });
  return ctx.db.webhookDelivery.create({
    data: {
      id,
      workspaceId: ctx.workspaceId,
      endpointId: endpoint.id,
      kind: 'WEBHOOK_TEST',
      messageId: webhookMessageId(endpoint.id, id),
      ...envelope,
      state: 'PENDING',
      // Not due for the worker's loop: the mutation sends it itself, once.
      nextAttemptAt: null,
    },
  });
}

/** What a NOTIFY_WEBHOOK action reports (see the README, "Automation rules"). */
export interface RuleNotification {
  runId: string;
  rule: { id: string; name: string; trigger: string };
  event: { id: string; seq: bigint; type: string } | null;
  episodeStart: Date | null;
  conversation: { id: string; contactId: string };
}

/**
 * Queues a delivery of a rule's run to an endpoint, in the run's transaction: the run and its
 * delivery commit together, so each run is sent once (retried like any delivery). The body holds
 * ids only; it names the contact so that erasing the contact erases it. False when the endpoint
 * is disabled (nothing queued).
 */
export async function queueRuleNotification(tx: ScopedTx, workspaceId: string, endpointId: string, n: RuleNotification): Promise<boolean> {
  const endpoint = await tx.webhookEndpoint.findUnique({ where: { id: endpointId }, select: { id: true, enabled: true } });
  if (!endpoint) throw new NotFoundError('WebhookEndpoint', endpointId);
  if (!endpoint.enabled) return false;
  const id = uuidv7();
  const envelope = webhookBody('AUTOMATION_RULE', new Date(), n.event?.seq ?? null, {
    rule: { id: encodeGlobalID('AutomationRule', n.rule.id), name: n.rule.name, trigger: n.rule.trigger },
    conversationId: encodeGlobalID('Conversation', n.conversation.id),
    event: n.event ? { id: encodeGlobalID('TimelineEvent', n.event.id), type: n.event.type, cursor: n.event.seq.toString() } : null,
    episodeStart: n.episodeStart?.toISOString() ?? null,
  });
  await tx.webhookDelivery.create({
    data: {
      id,
      workspaceId,
      endpointId,
      kind: 'AUTOMATION_RULE',
      // One run, one delivery: its webhook-id is derived from the run.
      messageId: webhookMessageId(endpointId, n.runId),
      ...envelope,
      contactId: n.conversation.contactId,
      state: 'PENDING',
      nextAttemptAt: new Date(),
    },
  });
  return true;
}
