// Webhooks: endpoints, their delivery log, and the mutations that manage them. Every field
// needs the admin scope. Rules live in src/services/webhooks.ts; delivery in src/workers/.
import { encodeGlobalID } from '@pothos/plugin-relay';
import type { GraphQLResolveInfo } from 'graphql';
import { builder } from '../builder.js';
import { MUTATION_NULL, READ_NULL } from './nullability.js';
import { seesInternalNotes, serviceContext, type Context } from '../context.js';
import { NotFoundError, ValidationError, requestError } from '../errors.js';
import type { Prisma } from '../generated/prisma/client.js';
import * as webhooks from '../services/webhooks.js';
import { payloadDocumentProblem } from '../workers/webhook-payload.js';
import { ApiKeyKindEnum, SenderTypeEnum } from './enums.js';
import { localId } from './ids.js';
import { decodeId, mutationErrors } from './mutations.js';
import { ContactEventKindEnum, ConversationEventFilterInput, ConversationEventKindEnum, parseEventFilter, type FilterArg } from './subscriptions.js';
import { parseCursor } from '../subscriptions/live-stream.js';

const DAY_MS = 86_400_000;

export const WebhookDeliveryStateEnum = builder.enumType('WebhookDeliveryState', {
  description: 'Where a delivery stands.',
  values: {
    PENDING: { description: 'Waiting for its next attempt, or being attempted.' },
    SUCCEEDED: { description: 'The endpoint answered 2xx.' },
    FAILED: { description: 'Every scheduled attempt failed, or the endpoint answered 410 Gone.' },
  } as const,
});

builder.prismaNode('WebhookEndpoint', {
  description:
    'A URL Parley tells what happens in the workspace: signed POSTs (Standard Webhooks), retried, in timeline order. See the README, "Webhooks".',
  authScopes: { scope: 'ADMIN' },
  nullable: true,
  id: { field: 'id', description: 'Global id of the endpoint.' },
  fields: (t) => ({
    url: t.exposeString('url', { description: 'Where deliveries are POSTed.' }),
    description: t.exposeString('description', { nullable: true, description: 'What the endpoint is for; null when no description was given.' }),
    kind: t.expose('kind', {
      type: ApiKeyKindEnum,
      description: 'What the endpoint sees, as a key of this kind would: TEAM endpoints receive internal notes, CONNECTOR endpoints never do.',
    }),
    enabled: t.exposeBoolean('enabled', { description: 'Whether deliveries are made. A disabled endpoint gets nothing until enabled again; replay what it missed.' }),
    disabledReason: t.exposeString('disabledReason', { nullable: true, description: 'Why it was disabled (by a person, by a 410 Gone answer, by days of failures); null while it is enabled.' }),
    disabledAt: t.expose('disabledAt', { type: 'DateTime', nullable: true, description: 'When it was disabled; null while it is enabled.' }),
    eventKinds: t.field({
      type: [ConversationEventKindEnum],
      description: 'The event kinds delivered; empty means every kind.',
      resolve: (e) => e.eventKinds as never,
    }),
    senderTypes: t.expose('senderTypes', { type: [SenderTypeEnum], description: 'For message events, the senders delivered; empty means every sender.' }),
    contactEventKinds: t.field({
      type: [ContactEventKindEnum],
      description: 'The contact event kinds delivered (a CRM sync). When both this and eventKinds are empty, every event is delivered.',
      resolve: (e) => e.contactEventKinds as never,
    }),
    filter: t.field({
      type: 'JSONObject',
      nullable: true,
      description: 'The conversation filter, as given when it was saved (a ConversationEventFilter); null delivers events of every conversation.',
      resolve: (e) => e.filterInput ?? null,
    }),
    payloadDocument: t.exposeString('payloadDocument', {
      nullable: true,
      description: 'The GraphQL subscription document on conversationEvents whose result is the payload\'s `data`; null for the default payload.',
    }),
    secretRotatedAt: t.expose('secretRotatedAt', { type: 'DateTime', nullable: true, description: 'When the signing secret was last rotated; null when it never was.' }),
    previousSecretExpiresAt: t.expose('previousSecretExpiresAt', {
      type: 'DateTime',
      nullable: true,
      description: 'Until when the secret before the last rotation still signs beside the new one; null when the secret was never rotated.',
    }),
    failingSince: t.expose('failingSince', {
      type: 'DateTime',
      nullable: true,
      description: 'Since when every attempt has failed; null while the endpoint answers. A failing endpoint is probed with one delivery at a time.',
    }),
    startCursor: t.string({ description: 'The timeline cursor the endpoint started from: it receives later events.', resolve: (e) => e.startSeq.toString() }),
    replayPending: t.boolean({ description: 'A replay was asked for and is still being queued.', resolve: (e) => e.replaySeq !== null }),
    recentSuccessRate: t.float({
      nullable: true,
      description: 'Of the attempts made in the last 24 hours, the share that succeeded (0 to 1); null when there were none.',
      resolve: async (e, _a, ctx) => {
        const rows = await ctx.db.webhookAttempt.groupBy({
          by: ['success'],
          where: { delivery: { endpointId: e.id }, startedAt: { gte: new Date(Date.now() - DAY_MS) } },
          _count: { _all: true },
        });
        const total = rows.reduce((n, r) => n + r._count._all, 0);
        return total ? (rows.find((r) => r.success)?._count._all ?? 0) / total : null;
      },
    }),
    recentAttemptCount: t.int({
      description: 'Attempts made in the last 24 hours.',
      resolve: (e, _a, ctx) => ctx.db.webhookAttempt.count({ where: { delivery: { endpointId: e.id }, startedAt: { gte: new Date(Date.now() - DAY_MS) } } }),
    }),
    deliveries: t.relatedConnection('deliveries', {
      description: "The endpoint's deliveries, newest first. Null only with an error on this field, e.g. BAD_USER_INPUT for a page size over 100 or a bad cursor.",
      nullable: true,
      args: {
        states: t.arg({ type: [WebhookDeliveryStateEnum], required: false, description: 'Only deliveries in these states.' }),
        kinds: t.arg.stringList({ required: false, description: 'Only deliveries of these event kinds (ConversationEventKind names, WEBHOOK_TEST, or AUTOMATION_RULE for a NOTIFY_WEBHOOK action of a rule).' }),
      },
      cursor: 'id',
      query: (args) => ({ where: deliveryWhere(args.states, args.kinds), orderBy: { id: 'desc' } }),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the endpoint was created.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it last changed.' }),
  }),
});

function deliveryWhere(states: readonly string[] | null | undefined, kinds: readonly string[] | null | undefined): Prisma.WebhookDeliveryWhereInput {
  return {
    ...(states?.length ? { state: { in: states as never } } : {}),
    ...(kinds?.length ? { kind: { in: kinds.slice(0, 50) as string[] } } : {}),
  };
}

builder.prismaObject('WebhookAttempt', {
  description: 'One HTTP call of a delivery.',
  fields: (t) => ({
    startedAt: t.expose('startedAt', { type: 'DateTime', description: 'When the call began.' }),
    durationMs: t.exposeInt('durationMs', { description: 'How long it took, in milliseconds.' }),
    httpStatus: t.exposeInt('httpStatus', { nullable: true, description: 'The status the endpoint answered; null when it did not answer.' }),
    success: t.exposeBoolean('success', { description: 'Whether it answered 2xx.' }),
    error: t.exposeString('error', { nullable: true, description: 'What went wrong: the status, a timeout, a refused address, a network error; null when it succeeded.' }),
    responseBody: t.exposeString('responseBody', { nullable: true, description: 'The first KB of what the endpoint answered; null when it did not answer.' }),
  }),
});

builder.prismaNode('WebhookDelivery', {
  description: 'One event (or test) for one endpoint: its frozen payload, its attempts and where it stands.',
  authScopes: { scope: 'ADMIN' },
  nullable: true,
  id: { field: 'id', description: 'Global id of the delivery.' },
  fields: (t) => ({
    webhookId: t.exposeString('messageId', {
      description: 'The `webhook-id` header: derived from (endpoint, event), the same on every attempt, redelivery and replay. Receivers deduplicate on it.',
    }),
    endpoint: t.relation('endpoint', { description: 'The endpoint.' }),
    kind: t.exposeString('kind', { description: 'The event kind (a ConversationEventKind name), WEBHOOK_TEST for a test delivery, or AUTOMATION_RULE for an automation rule\'s NOTIFY_WEBHOOK.' }),
    eventCursor: t.string({ nullable: true, description: "The event's timeline cursor; null for a test.", resolve: (d) => d.eventSeq?.toString() ?? null }),
    event: t.prismaField({
      type: 'Event',
      nullable: true,
      description: 'The timeline entry; null for a test, or once erased.',
      resolve: (query, d, _a, ctx) => (d.eventId ? ctx.db.event.findUnique({ ...query, where: { id: d.eventId } }) : (void { ...query }, null)),
    }),
    state: t.expose('state', { type: WebhookDeliveryStateEnum, description: 'Where it stands.' }),
    attemptCount: t.exposeInt('attemptCount', { description: 'Attempts made since it was (re)queued.' }),
    attempts: t.relation('attempts', { description: 'Every attempt, oldest first.', query: { orderBy: { startedAt: 'asc' } } }),
    payload: t.string({
      nullable: true,
      description: "The body sent, byte for byte; null once erased (its contact was deleted), or for a TEAM endpoint's delivery read with a CONNECTOR key.",
      select: { body: true, endpoint: { select: { kind: true } } },
      resolve: (d, _a, ctx) => (d.endpoint.kind === 'TEAM' && !seesInternalNotes(ctx) ? null : d.body),
    }),
    payloadBytes: t.exposeInt('bodyBytes', { description: 'The size of the body in bytes.' }),
    lastStatus: t.exposeInt('lastStatus', { nullable: true, description: 'The HTTP status of the last attempt; null before the first attempt, or when the endpoint did not answer.' }),
    lastError: t.exposeString('lastError', { nullable: true, description: 'What went wrong in the last attempt; null before the first attempt and after a success.' }),
    nextAttemptAt: t.expose('nextAttemptAt', { type: 'DateTime', nullable: true, description: 'When the next attempt is due; null when none is.' }),
    completedAt: t.expose('completedAt', { type: 'DateTime', nullable: true, description: 'When it succeeded or finally failed; null while it is pending.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the dispatcher took the event for this endpoint.' }),
  }),
});

/** CONNECTOR keys see CONNECTOR endpoints only: a TEAM endpoint's payloads carry internal notes. */
const visibleEndpoints = (ctx: Context): Prisma.WebhookEndpointWhereInput => (seesInternalNotes(ctx) ? {} : { kind: 'CONNECTOR' });

builder.queryField('webhookEndpoints', (t) =>
  t.prismaField({
    type: ['WebhookEndpoint'],
    description: "The workspace's webhook endpoints, oldest first (CONNECTOR keys see CONNECTOR endpoints only)." + READ_NULL,
    nullable: true,
    authScopes: { scope: 'ADMIN' },
    resolve: (query, _r, _a, ctx) => ctx.db.webhookEndpoint.findMany({ ...query, where: visibleEndpoints(ctx), orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] }),
  }),
);

builder.queryField('webhookDeliveries', (t) =>
  t.prismaConnection({
    type: 'WebhookDelivery',
    cursor: 'id',
    description: 'Deliveries across endpoints (or of one), newest first, filterable by state and event kind.' + READ_NULL,
    nullable: true,
    authScopes: { scope: 'ADMIN' },
    args: {
      endpointId: t.arg.id({ required: false, description: 'Only this endpoint.' }),
      states: t.arg({ type: [WebhookDeliveryStateEnum], required: false, description: 'Only deliveries in these states.' }),
      kinds: t.arg.stringList({ required: false, description: 'Only deliveries of these event kinds (ConversationEventKind names, WEBHOOK_TEST, or AUTOMATION_RULE for a NOTIFY_WEBHOOK action of a rule).' }),
    },
    resolve: (query, _r, args, ctx) =>
      ctx.db.webhookDelivery.findMany({
        ...query,
        where: {
          ...deliveryWhere(args.states, args.kinds),
          ...(args.endpointId ? { endpointId: localId(args.endpointId, 'WebhookEndpoint', 'endpointId') } : {}),
          endpoint: visibleEndpoints(ctx),
        },
        orderBy: { id: 'desc' },
      }),
  }),
);

function webhookRuntime(ctx: Context) {
  if (!ctx.webhooks) throw requestError('BAD_REQUEST', 'Webhooks are not available in this server.');
  return ctx.webhooks;
}

function caller(ctx: Context): webhooks.WebhookCaller {
  return { ...serviceContext(ctx), keyKind: ctx.auth!.kind };
}

/** The payload document, checked against the schema: a bad one is refused with the reason. */
function checkedDocument(text: string | null | undefined, ctx: Context, info: GraphQLResolveInfo): string | null | undefined {
  if (text == null) return text;
  if (!text.trim()) return null;
  if (text.length > webhooks.MAX_PAYLOAD_DOCUMENT_LENGTH) {
    throw new ValidationError(`The payload document is limited to ${webhooks.MAX_PAYLOAD_DOCUMENT_LENGTH} characters.`, 'input.payloadDocument');
  }
  const problem = payloadDocumentProblem(info.schema, text, webhookRuntime(ctx).maxDepth);
  if (problem) throw new ValidationError(`The payload document cannot be used: ${problem}.`, 'input.payloadDocument');
  return text;
}

function checkedFilter(filter: FilterArg | null | undefined, ctx: Context) {
  if (filter === undefined) return {};
  if (filter === null) return { filterInput: null, filter: null };
  // The endpoint acts as no team member: "me" means nobody.
  const decoded = parseEventFilter(filter, { auth: ctx.auth && { ...ctx.auth, userId: null } });
  const { kinds: _k, senderTypes: _s, ...rest } = decoded;
  return { filterInput: JSON.parse(JSON.stringify(filter)) as Prisma.InputJsonValue, filter: rest };
}

const EndpointPayload = builder.objectRef<{ endpointId: string }>('WebhookEndpointPayload').implement({
  description: 'An endpoint, as it is after the change.',
  fields: (t) => ({
    endpoint: t.prismaField({
      type: 'WebhookEndpoint',
      description: 'The endpoint.',
      resolve: (query, r, _a, ctx) => ctx.db.webhookEndpoint.findUniqueOrThrow({ ...query, where: { id: r.endpointId } }),
    }),
  }),
});

const EndpointSecretPayload = builder.objectRef<{ endpointId: string; secret: string }>('WebhookEndpointSecretPayload').implement({
  description: 'An endpoint and its signing secret, shown this once.',
  fields: (t) => ({
    endpoint: t.prismaField({
      type: 'WebhookEndpoint',
      description: 'The endpoint.',
      resolve: (query, r, _a, ctx) => ctx.db.webhookEndpoint.findUniqueOrThrow({ ...query, where: { id: r.endpointId } }),
    }),
    secret: t.exposeString('secret', {
      description: 'The signing secret (`whsec_...`, Standard Webhooks). Store it now: it cannot be shown again. Verify each delivery\'s `webhook-signature` with it.',
    }),
  }),
});

const CreateWebhookEndpointInput = builder.inputType('CreateWebhookEndpointInput', {
  description: 'A new webhook endpoint.',
  fields: (t) => ({
    url: t.string({ required: true, description: 'Where to POST: https (plain http and private addresses only when the server allows them).' }),
    description: t.string({ description: 'What the endpoint is for; at most 500 characters.' }),
    kind: t.field({
      type: ApiKeyKindEnum,
      description: "What it may see: TEAM (internal notes included; needs a TEAM key acting as an ADMIN) or CONNECTOR. The caller's key kind by default.",
    }),
    eventKinds: t.field({ type: [ConversationEventKindEnum], description: 'The event kinds to deliver; every kind when empty or absent.' }),
    senderTypes: t.field({ type: [SenderTypeEnum], description: 'For message events, the senders to deliver (e.g. CONTACT for an AI agent); every sender when empty or absent.' }),
    contactEventKinds: t.field({
      type: [ContactEventKindEnum],
      description: 'Contact events to deliver (created, updated, merged, erased), with the contact payload. With eventKinds also empty or absent: every event, conversation and contact.',
    }),
    filter: t.field({ type: ConversationEventFilterInput, description: 'Which conversations: the same filter as conversationEvents (its kinds and senderTypes are ignored here: use the fields above).' }),
    payloadDocument: t.string({
      description:
        'A GraphQL subscription document selecting `conversationEvents { ... }` (no arguments, no variables): its result becomes the payload\'s `data`. The default payload when absent.',
    }),
  }),
});

builder.mutationField('createWebhookEndpoint', (t) =>
  t.field({
    type: EndpointSecretPayload,
    description: 'Registers a webhook endpoint. It receives events after the current cursor (replay earlier ones with replayWebhookEvents). Returns the signing secret once.' + MUTATION_NULL,
    nullable: true,
    authScopes: { scope: 'ADMIN' },
    args: { input: t.arg({ type: CreateWebhookEndpointInput, required: true, description: 'The endpoint.' }) },
    errors: mutationErrors('createWebhookEndpoint', [ValidationError]),
    resolve: async (_r, { input }, ctx, info) => {
      const { endpoint, secret } = await webhooks.createWebhookEndpoint(caller(ctx), webhookRuntime(ctx), {
        ...input,
        ...checkedFilter(input.filter, ctx),
        payloadDocument: checkedDocument(input.payloadDocument, ctx, info),
      });
      return { endpointId: endpoint.id, secret };
    },
  }),
);

const UpdateWebhookEndpointInput = builder.inputType('UpdateWebhookEndpointInput', {
  description: 'Changes to an endpoint; absent fields stay as they are.',
  fields: (t) => ({
    endpointId: t.id({ required: true, description: 'The endpoint.' }),
    url: t.string({ description: 'New URL.' }),
    description: t.string({ description: 'New description; null clears it.' }),
    kind: t.field({ type: ApiKeyKindEnum, description: 'New visibility.' }),
    enabled: t.boolean({ description: 'false stops deliveries; true starts them again (from now: replay what was missed).' }),
    eventKinds: t.field({ type: [ConversationEventKindEnum], description: 'New event kinds; empty for every kind.' }),
    senderTypes: t.field({ type: [SenderTypeEnum], description: 'New sender types; empty for every sender.' }),
    contactEventKinds: t.field({ type: [ContactEventKindEnum], description: 'New contact event kinds.' }),
    filter: t.field({ type: ConversationEventFilterInput, description: 'New conversation filter; null for every conversation.' }),
    payloadDocument: t.string({ description: 'New payload document; null or empty for the default payload.' }),
  }),
});

builder.mutationField('updateWebhookEndpoint', (t) =>
  t.field({
    type: EndpointPayload,
    description: 'Changes an endpoint: URL, description, visibility, what it receives, its payload, enabled or disabled.' + MUTATION_NULL,
    nullable: true,
    authScopes: { scope: 'ADMIN' },
    args: { input: t.arg({ type: UpdateWebhookEndpointInput, required: true, description: 'The changes.' }) },
    errors: mutationErrors('updateWebhookEndpoint', [NotFoundError, ValidationError]),
    resolve: async (_r, { input }, ctx, info) => {
      const endpoint = await webhooks.updateWebhookEndpoint(caller(ctx), webhookRuntime(ctx), {
        ...input,
        endpointId: decodeId(input.endpointId, 'WebhookEndpoint', ctx),
        ...checkedFilter(input.filter, ctx),
        payloadDocument: checkedDocument(input.payloadDocument, ctx, info),
      });
      return { endpointId: endpoint.id };
    },
  }),
);

/** `<Mutation>Input`: one input type per mutation, as everywhere in the schema. */
const EndpointRef = (name: string) =>
  builder.inputType(name, {
    description: 'A webhook endpoint.',
    fields: (t) => ({ endpointId: t.id({ required: true, description: 'The endpoint.' }) }),
  });

builder.mutationField('deleteWebhookEndpoint', (t) =>
  t.field({
    type: builder.objectRef<{ endpointId: string }>('DeleteWebhookEndpointPayload').implement({
      description: 'What was deleted.',
      fields: (f) => ({
        deletedEndpointId: f.id({ description: 'Global id of the deleted endpoint.', resolve: (r) => encodeGlobalID('WebhookEndpoint', r.endpointId) }),
      }),
    }),
    description: 'Deletes an endpoint and its delivery log; nothing more is sent to it.' + MUTATION_NULL,
    nullable: true,
    authScopes: { scope: 'ADMIN' },
    args: { input: t.arg({ type: EndpointRef('DeleteWebhookEndpointInput'), required: true, description: 'The endpoint.' }) },
    errors: mutationErrors('deleteWebhookEndpoint', [NotFoundError]),
    resolve: async (_r, { input }, ctx) => ({
      endpointId: (await webhooks.deleteWebhookEndpoint(caller(ctx), decodeId(input.endpointId, 'WebhookEndpoint', ctx))).id,
    }),
  }),
);

builder.mutationField('rotateWebhookSecret', (t) =>
  t.field({
    type: EndpointSecretPayload,
    description: 'Gives an endpoint a new signing secret, shown once. For 24 hours deliveries carry a signature with each secret, so the receiver can switch without a gap.' + MUTATION_NULL,
    nullable: true,
    authScopes: { scope: 'ADMIN' },
    args: { input: t.arg({ type: EndpointRef('RotateWebhookSecretInput'), required: true, description: 'The endpoint.' }) },
    errors: mutationErrors('rotateWebhookSecret', [NotFoundError]),
    resolve: async (_r, { input }, ctx) => {
      const { endpoint, secret } = await webhooks.rotateWebhookSecret(caller(ctx), webhookRuntime(ctx), decodeId(input.endpointId, 'WebhookEndpoint', ctx));
      return { endpointId: endpoint.id, secret };
    },
  }),
);

const DeliveryPayload = builder.objectRef<{ deliveryId: string }>('WebhookDeliveryPayload').implement({
  description: 'A delivery, as it is after the change.',
  fields: (t) => ({
    delivery: t.prismaField({
      type: 'WebhookDelivery',
      description: 'The delivery.',
      resolve: (query, r, _a, ctx) => ctx.db.webhookDelivery.findUniqueOrThrow({ ...query, where: { id: r.deliveryId } }),
    }),
  }),
});

builder.mutationField('sendTestWebhook', (t) =>
  t.field({
    type: DeliveryPayload,
    description: 'Sends a signed test delivery (type WEBHOOK_TEST) to the endpoint now and returns it with its one attempt. It is not retried.' + MUTATION_NULL,
    nullable: true,
    authScopes: { scope: 'ADMIN' },
    args: { input: t.arg({ type: EndpointRef('SendTestWebhookInput'), required: true, description: 'The endpoint.' }) },
    errors: mutationErrors('sendTestWebhook', [NotFoundError]),
    resolve: async (_r, { input }, ctx) => {
      const runtime = webhookRuntime(ctx);
      const delivery = await webhooks.queueTestDelivery(caller(ctx), decodeId(input.endpointId, 'WebhookEndpoint', ctx));
      // The HTTP call runs here, after the delivery's row committed, with no transaction open.
      await runtime.sender.sendNow(delivery.id);
      return { deliveryId: delivery.id };
    },
  }),
);

builder.mutationField('redeliverWebhook', (t) =>
  t.field({
    type: DeliveryPayload,
    description: 'Sends a delivery again, from its first attempt, with the payload and webhook-id it had. A delivery still pending is left as it is.' + MUTATION_NULL,
    nullable: true,
    authScopes: { scope: 'ADMIN' },
    args: {
      input: t.arg({
        required: true,
        description: 'The delivery.',
        type: builder.inputType('RedeliverWebhookInput', {
          description: 'A delivery to send again.',
          fields: (f) => ({ deliveryId: f.id({ required: true, description: 'The delivery.' }) }),
        }),
      }),
    },
    errors: mutationErrors('redeliverWebhook', [NotFoundError, ValidationError]),
    resolve: async (_r, { input }, ctx) => {
      const delivery = await webhooks.redeliverWebhook(caller(ctx), decodeId(input.deliveryId, 'WebhookDelivery', ctx));
      ctx.webhooks?.sender.wake();
      return { deliveryId: delivery.id };
    },
  }),
);

builder.mutationField('replayWebhookEvents', (t) =>
  t.field({
    type: builder.objectRef<{ endpointId: string; events: number }>('ReplayWebhookEventsPayload').implement({
      description: 'The replay that was queued.',
      fields: (f) => ({
        endpoint: f.prismaField({
          type: 'WebhookEndpoint',
          description: 'The endpoint.',
          resolve: (query, r, _a, ctx) => ctx.db.webhookEndpoint.findUniqueOrThrow({ ...query, where: { id: r.endpointId } }),
        }),
        eventCount: f.int({ description: 'Timeline events the replay covers (those the endpoint wants are delivered).', resolve: (r) => r.events }),
      }),
    }),
    description:
      "Delivers an endpoint's events again from a cursor or a time up to now: for a receiver that was down or disabled. Each event is evaluated again (the conversation as it is now) and keeps its webhook-id." + MUTATION_NULL,
    nullable: true,
    authScopes: { scope: 'ADMIN' },
    args: {
      input: t.arg({
        required: true,
        description: 'What to replay.',
        type: builder.inputType('ReplayWebhookEventsInput', {
          description: 'An endpoint and where to replay from: exactly one of `after` and `since`.',
          fields: (f) => ({
            endpointId: f.id({ required: true, description: 'The endpoint.' }),
            after: f.string({ description: 'Replay events after this timeline cursor.' }),
            since: f.field({ type: 'DateTime', description: 'Replay events that happened at or after this time.' }),
          }),
        }),
      }),
    },
    errors: mutationErrors('replayWebhookEvents', [NotFoundError, ValidationError]),
    resolve: async (_r, { input }, ctx) => {
      const { endpoint, events } = await webhooks.replayWebhookEvents(caller(ctx), {
        endpointId: decodeId(input.endpointId, 'WebhookEndpoint', ctx),
        after: input.after == null ? null : parseCursor(input.after),
        since: input.since ?? null,
      });
      return { endpointId: endpoint.id, events };
    },
  }),
);
