// Mutations on conversations: create, update, assign, read, the lifecycle (resolve, close,
// archive, reopen, snooze, pending), satisfaction, labels, delete and bulk updates.
import { wrapErrorIfMatches } from '@pothos/plugin-errors';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { builder } from '../builder.js';
import { MUTATION_NULL } from './nullability.js';
import { serviceContext, type Context, seesInternalNotes } from '../context.js';
import {
  badInput,
  ConversationArchivedError,
  IdempotencyConflictError,
  InvalidTransitionError,
  NotFoundError,
  ValidationError,
  VersionConflictError,
} from '../errors.js';
import { bulkUpdateConversations } from '../services/bulk.js';
import {
  assignConversation,
  changeConversationStatus,
  createConversation,
  deleteConversation,
  type CreatedConversation,
  markConversationRead,
  recordSatisfaction,
  updateConversation,
  type LifecycleChange,
} from '../services/conversations.js';
import { changeConversationLabels } from '../services/labels.js';
import { ErrorInterface } from './errors.js';
import { PriorityEnum, ResolutionReasonEnum } from './enums.js';
import { NewMessageInputType, needsNothingMore, toNewMessage } from './message-mutations.js';
import { decodeId, decodeIds, decodeOptionalId, mutationErrors, noRow } from './mutations.js';
import type { ResolutionReason } from '../generated/prisma/client.js';
import { LIMITS } from '../services/validation.js';

type Types = typeof builder extends PothosSchemaTypes.SchemaBuilder<infer T> ? T : never;

interface ConversationResult {
  conversationId: string;
}

// A payload's objects are nullable where reading them needs a scope the mutation does not:
// a key with write:conversations alone gets its typed result, and a FORBIDDEN on the object.
const conversationOf = (t: PothosSchemaTypes.ObjectFieldBuilder<Types, ConversationResult>, description: string) =>
  t.prismaField({
    type: 'Conversation',
    nullable: true,
    description: `${description} Null, with a FORBIDDEN error, for a key without read:conversations.`,
    resolve: (query, r, _args, ctx) => ctx.db.conversation.findUniqueOrThrow({ ...query, where: { id: r.conversationId } }),
  });

/** A payload that carries the changed conversation. */
function conversationPayload(name: string, description: string) {
  return builder.objectRef<ConversationResult>(name).implement({
    description,
    fields: (t) => ({ conversation: conversationOf(t, 'The conversation, as it is now.') }),
  });
}

const conversationId = (c: { id: string }) => ({ conversationId: c.id });

// createConversation

const ConversationContactInput = builder.inputType('ConversationContactInput', {
  description:
    "Who the conversation is with, by the identity its channel knows them by: a phone for SMS, WhatsApp and voice; an email for email; a handle for Instagram and Facebook (and, optionally, web chat). That identity is required; the others are optional. A contact already known by it (or by the email or phone) is reused.",
  fields: (t) => ({
    name: t.string({ description: 'Name, if known.' }),
    email: t.string({ description: 'Email address.' }),
    phone: t.string({ description: 'Phone number in E.164 form, e.g. +14155550123.' }),
    handle: t.string({ description: 'The user id or handle on the channel (Instagram, Facebook, web chat visitor id).' }),
  }),
});

const CreateConversationInput = builder.inputType('CreateConversationInput', {
  description: 'A new conversation: its inbox, its contact (an existing one, or an identity), and optionally its first message.',
  fields: (t) => ({
    inboxId: t.id({ required: true, description: 'The inbox (and so the channel).' }),
    contactId: t.id({ description: 'An existing contact. Give either contactId or contact.' }),
    contact: t.field({ type: ConversationContactInput, description: 'The contact by identity. Give either contactId or contact.' }),
    subject: t.string({ description: 'Subject line, e.g. for email.' }),
    priority: t.field({ type: PriorityEnum, description: 'Priority; NONE by default.' }),
    labelIds: t.idList({ description: 'Labels to put on it.' }),
    customAttributes: t.field({ type: 'JSONObject', description: 'Free-form attributes.' }),
    providerThreadId: t.string({ description: "The channel provider's thread id, where the channel has one." }),
    message: t.field({
      type: NewMessageInputType,
      description: 'The first message. With a provider message id or idempotency key already used, the first conversation is returned and nothing is written.',
    }),
  }),
});

interface CreatedResult extends ConversationResult {
  contactId: string;
  messageId: string | null;
  duplicate: boolean;
  rows?: CreatedConversation['rows'];
}

const CreateConversationPayload = builder.objectRef<CreatedResult>('CreateConversationPayload').implement({
  description: 'The new conversation, its contact and its first message.',
  fields: (t) => ({
    conversation: t.prismaField({
      type: 'Conversation',
      nullable: true,
      description: 'The conversation (the existing one, for a retry). Null, with a FORBIDDEN error, for a key without read:conversations.',
      resolve: (query, r, _args, ctx) =>
        r.rows && needsNothingMore(query) ? r.rows.conversation : ctx.db.conversation.findUniqueOrThrow({ ...query, where: { id: r.conversationId } }),
    }),
    contact: t.prismaField({
      type: 'Contact',
      nullable: true,
      description: 'The contact: reused when already known, created otherwise. Null, with a FORBIDDEN error, for a key without read:contacts.',
      resolve: (query, r, _args, ctx) => (r.rows && needsNothingMore(query) ? r.rows.contact : ctx.db.contact.findUniqueOrThrow({ ...query, where: { id: r.contactId } })),
    }),
    firstMessage: t.prismaField({
      type: 'Message',
      nullable: true,
      description: 'The first message, if one was given; null when none was, for CONNECTOR keys when it is an internal note, and (with a FORBIDDEN error) for a key without read:conversations.',
      resolve: (query, r, _args, ctx) => {
        if (!r.messageId) return noRow(query);
        const row = r.rows?.message;
        if (row && needsNothingMore(query)) return row.private && !seesInternalNotes(ctx) ? null : row;
        return ctx.db.message.findFirst({ ...query, where: { id: r.messageId, ...(seesInternalNotes(ctx) ? {} : { private: false }) } });
      },
    }),
    duplicate: t.exposeBoolean('duplicate', { description: 'True when nothing was written: the first message had already been received.' }),
  }),
});

builder.mutationField('createConversation', (t) =>
  t.field({
    type: CreateConversationPayload,
    description: 'Starts a conversation in an inbox, with an existing contact or one found (or created) by identity, and an optional first message.' + MUTATION_NULL,
    nullable: true,
    authScopes: { scope: 'WRITE_CONVERSATIONS' },
    args: { input: t.arg({ type: CreateConversationInput, required: true, description: 'The conversation.' }) },
    errors: mutationErrors('createConversation', [NotFoundError, ValidationError, IdempotencyConflictError]),
    resolve: (_root, { input }, ctx) =>
      createConversation(serviceContext(ctx), {
        ...input,
        inboxId: decodeId(input.inboxId, 'Inbox', ctx),
        contactId: decodeOptionalId(input.contactId, 'Contact', ctx),
        labelIds: decodeIds(input.labelIds, 'Label', ctx),
        message: input.message ? toNewMessage(input.message, ctx) : null,
      }),
  }),
);

// updateConversation

const UpdateConversationInput = builder.inputType('UpdateConversationInput', {
  description: 'Changes to a conversation; absent fields stay as they are.',
  fields: (t) => ({
    conversationId: t.id({ required: true, description: 'The conversation.' }),
    expectedVersion: t.int({
      description: 'The version you read. If the conversation has changed since, nothing is written and the answer is a VersionConflictError.',
    }),
    subject: t.string({ description: 'New subject; null clears it.' }),
    priority: t.field({ type: PriorityEnum, description: 'New priority.' }),
    customAttributes: t.field({ type: 'JSONObject', description: 'New custom attributes: they replace the current ones.' }),
  }),
});

builder.mutationField('updateConversation', (t) =>
  t.field({
    type: conversationPayload('UpdateConversationPayload', 'The updated conversation.'),
    description: 'Changes the subject, priority or custom attributes of a conversation, optionally only if it is still at expectedVersion.' + MUTATION_NULL,
    nullable: true,
    authScopes: { scope: 'WRITE_CONVERSATIONS' },
    args: { input: t.arg({ type: UpdateConversationInput, required: true, description: 'The changes.' }) },
    errors: mutationErrors('updateConversation', [NotFoundError, ValidationError, VersionConflictError, ConversationArchivedError]),
    resolve: async (_root, { input }, ctx) =>
      conversationId(await updateConversation(serviceContext(ctx), { ...input, conversationId: decodeId(input.conversationId, 'Conversation', ctx) })),
  }),
);

// assignConversation

const AssignConversationInput = builder.inputType('AssignConversationInput', {
  description: 'Who becomes responsible for a conversation.',
  fields: (t) => ({
    conversationId: t.id({ required: true, description: 'The conversation.' }),
    assigneeId: t.id({ description: 'The team member; null (or absent) unassigns.' }),
    note: t.string({ description: 'An internal note kept in the timeline.' }),
  }),
});

builder.mutationField('assignConversation', (t) =>
  t.field({
    type: conversationPayload('AssignConversationPayload', 'The conversation with its new assignee.'),
    description: 'Assigns a conversation to a team member, or unassigns it.' + MUTATION_NULL,
    nullable: true,
    authScopes: { scope: 'WRITE_CONVERSATIONS' },
    args: { input: t.arg({ type: AssignConversationInput, required: true, description: 'The assignment.' }) },
    errors: mutationErrors('assignConversation', [NotFoundError, ValidationError, ConversationArchivedError]),
    resolve: async (_root, { input }, ctx) =>
      conversationId(
        await assignConversation(serviceContext(ctx), {
          conversationId: decodeId(input.conversationId, 'Conversation', ctx),
          assigneeId: decodeOptionalId(input.assigneeId, 'User', ctx) ?? null,
          note: input.note,
        }),
      ),
  }),
);

// markConversationRead

const MarkConversationReadInput = builder.inputType('MarkConversationReadInput', {
  description: 'The conversation the team has read.',
  fields: (t) => ({ conversationId: t.id({ required: true, description: 'The conversation.' }) }),
});

builder.mutationField('markConversationRead', (t) =>
  t.field({
    type: conversationPayload('MarkConversationReadPayload', 'The conversation, its unread count at zero.'),
    description: "Resets the conversation's unread count for the workspace's team." + MUTATION_NULL,
    nullable: true,
    authScopes: { scope: 'WRITE_CONVERSATIONS' },
    args: { input: t.arg({ type: MarkConversationReadInput, required: true, description: 'The conversation.' }) },
    errors: mutationErrors('markConversationRead', [NotFoundError]),
    resolve: async (_root, { input }, ctx) =>
      conversationId(await markConversationRead(serviceContext(ctx), decodeId(input.conversationId, 'Conversation', ctx))),
  }),
);

// The lifecycle: one mutation per target status, all through the one transition table.

const lifecycleErrors = (mutation: string) => mutationErrors(mutation, [NotFoundError, ValidationError, InvalidTransitionError]);

const ResolveConversationInput = builder.inputType('ResolveConversationInput', {
  description: 'How a conversation was resolved.',
  fields: (t) => ({
    conversationId: t.id({ required: true, description: 'The conversation.' }),
    reason: t.field({ type: ResolutionReasonEnum, required: true, description: 'Why it is resolved.' }),
    note: t.string({ description: 'An internal note kept on the conversation and in the timeline.' }),
    requestSatisfaction: t.boolean({
      description:
        'Send the contact a satisfaction survey about this resolution: a CARD message with the ratings 1 to 5 and a link to the public survey page (see Conversation.surveys). Recorded as satisfactionRequested.',
    }),
  }),
});

builder.mutationField('resolveConversation', (t) =>
  t.field({
    type: conversationPayload('ResolveConversationPayload', 'The resolved conversation.'),
    description: "Marks a conversation RESOLVED: the contact's issue was addressed. It reopens if the contact writes again." + MUTATION_NULL,
    nullable: true,
    authScopes: { scope: 'WRITE_CONVERSATIONS' },
    args: { input: t.arg({ type: ResolveConversationInput, required: true, description: 'The resolution.' }) },
    errors: lifecycleErrors('resolveConversation'),
    resolve: async (_root, { input }, ctx) =>
      conversationId(
        await changeConversationStatus(serviceContext(ctx), decodeId(input.conversationId, 'Conversation', ctx), {
          to: 'RESOLVED',
          reason: input.reason,
          note: input.note,
          requestSatisfaction: input.requestSatisfaction,
        }),
      ),
  }),
);

/** The simple status changes: a conversation and an optional note. */
function simpleLifecycleMutation(mutation: string, to: 'OPEN' | 'PENDING' | 'CLOSED' | 'ARCHIVED', description: string) {
  const name = mutation[0]!.toUpperCase() + mutation.slice(1);
  const Input = builder.inputType(`${name}Input`, {
    description: `The conversation to move to ${to}.`,
    fields: (t) => ({
      conversationId: t.id({ required: true, description: 'The conversation.' }),
      note: t.string({ description: 'An internal note kept in the timeline.' }),
    }),
  });
  builder.mutationField(mutation, (t) =>
    t.field({
      type: conversationPayload(`${name}Payload`, `The conversation, now ${to}.`),
      description: description + MUTATION_NULL,
      nullable: true,
      authScopes: { scope: 'WRITE_CONVERSATIONS' },
      args: { input: t.arg({ type: Input, required: true, description: 'The conversation.' }) },
      errors: lifecycleErrors(mutation),
      resolve: async (_root, { input }, ctx) =>
        conversationId(
          await changeConversationStatus(serviceContext(ctx), decodeId(input.conversationId, 'Conversation', ctx), { to, note: input.note } as LifecycleChange),
        ),
    }),
  );
}

simpleLifecycleMutation('closeConversation', 'CLOSED', 'Closes a conversation: finished. It reopens if the contact writes again.');
simpleLifecycleMutation('archiveConversation', 'ARCHIVED', 'Archives a RESOLVED or CLOSED conversation: final and read-only. A new message from the contact starts a new conversation.');
simpleLifecycleMutation('reopenConversation', 'OPEN', 'Reopens a conversation: it needs attention again.');
simpleLifecycleMutation('setConversationPending', 'PENDING', 'Marks a conversation PENDING: waiting on the customer.');

const SnoozeConversationInput = builder.inputType('SnoozeConversationInput', {
  description: 'How long to set a conversation aside.',
  fields: (t) => ({
    conversationId: t.id({ required: true, description: 'The conversation.' }),
    until: t.field({ type: 'DateTime', required: true, description: 'When it reopens by itself; must be in the future.' }),
    note: t.string({ description: 'An internal note kept in the timeline.' }),
  }),
});

builder.mutationField('snoozeConversation', (t) =>
  t.field({
    type: conversationPayload('SnoozeConversationPayload', 'The snoozed conversation.'),
    description: 'Sets a conversation aside until a time in the future, when it reopens by itself (a timeline event by the SYSTEM actor). A message from the contact reopens it sooner.' + MUTATION_NULL,
    nullable: true,
    authScopes: { scope: 'WRITE_CONVERSATIONS' },
    args: { input: t.arg({ type: SnoozeConversationInput, required: true, description: 'The snooze.' }) },
    errors: lifecycleErrors('snoozeConversation'),
    resolve: async (_root, { input }, ctx) =>
      conversationId(
        await changeConversationStatus(serviceContext(ctx), decodeId(input.conversationId, 'Conversation', ctx), {
          to: 'SNOOZED',
          until: input.until,
          note: input.note,
        }),
      ),
  }),
);

// recordSatisfaction

const RecordSatisfactionInput = builder.inputType('RecordSatisfactionInput', {
  description: "The contact's answer to the satisfaction survey.",
  fields: (t) => ({
    conversationId: t.id({ required: true, description: 'The conversation.' }),
    rating: t.int({ required: true, description: 'From 1 (very unhappy) to 5 (very happy).' }),
    comment: t.string({ description: "The contact's comment." }),
  }),
});

builder.mutationField('recordSatisfaction', (t) =>
  t.field({
    type: conversationPayload('RecordSatisfactionPayload', 'The conversation with the rating.'),
    description:
      "Stores a satisfaction rating (1-5) and comment collected outside Parley on a conversation; a later answer replaces it. Surveys Parley sends are answered on their page or with answerSurvey." +
      MUTATION_NULL,
    nullable: true,
    authScopes: { scope: 'WRITE_CONVERSATIONS' },
    args: { input: t.arg({ type: RecordSatisfactionInput, required: true, description: 'The rating.' }) },
    errors: mutationErrors('recordSatisfaction', [NotFoundError, ValidationError]),
    resolve: async (_root, { input }, ctx) =>
      conversationId(await recordSatisfaction(serviceContext(ctx), { ...input, conversationId: decodeId(input.conversationId, 'Conversation', ctx) })),
  }),
);

// Labels on a conversation

function labelsMutation(mutation: 'addLabels' | 'removeLabels' | 'setLabels', description: string, idsDescription: string) {
  const name = mutation[0]!.toUpperCase() + mutation.slice(1);
  const Input = builder.inputType(`${name}Input`, {
    description: 'A conversation and labels.',
    fields: (t) => ({
      conversationId: t.id({ required: true, description: 'The conversation.' }),
      labelIds: t.idList({ required: true, description: idsDescription }),
    }),
  });
  builder.mutationField(mutation, (t) =>
    t.field({
      type: conversationPayload(`${name}Payload`, 'The conversation with its labels.'),
      description: description + MUTATION_NULL,
      nullable: true,
      authScopes: { scope: 'WRITE_CONVERSATIONS' },
      args: { input: t.arg({ type: Input, required: true, description: 'The labels.' }) },
      errors: mutationErrors(mutation, [NotFoundError, ValidationError, ConversationArchivedError]),
      resolve: async (_root, { input }, ctx) => {
        const ids = decodeIds(input.labelIds, 'Label', ctx);
        const change = mutation === 'addLabels' ? { add: ids } : mutation === 'removeLabels' ? { remove: ids } : { set: ids };
        return conversationId(await changeConversationLabels(serviceContext(ctx), decodeId(input.conversationId, 'Conversation', ctx), change));
      },
    }),
  );
}

labelsMutation('addLabels', 'Adds labels to a conversation (those it already has stay).', 'The labels to add (at most 100).');
labelsMutation('removeLabels', 'Takes labels off a conversation.', 'The labels to remove (at most 100).');
labelsMutation('setLabels', "Replaces a conversation's labels.", 'The labels it should have, all others removed (at most 100; empty removes all).');

// deleteConversation

const DeleteConversationInput = builder.inputType('DeleteConversationInput', {
  description: 'The conversation to delete, and why.',
  fields: (t) => ({
    conversationId: t.id({ required: true, description: 'The conversation.' }),
    reason: t.string({ required: true, description: 'Why it is deleted; kept in the CONVERSATION_DELETED timeline event.' }),
  }),
});

const DeleteConversationPayload = builder.objectRef<ConversationResult>('DeleteConversationPayload').implement({
  description: 'What was deleted.',
  fields: (t) => ({
    deletedConversationId: t.id({ description: 'Global id of the deleted conversation.', resolve: (r) => encodeGlobalID('Conversation', r.conversationId) }),
  }),
});

builder.mutationField('deleteConversation', (t) =>
  t.field({
    type: DeleteConversationPayload,
    description: 'Deletes a conversation and its messages. A CONVERSATION_DELETED event with the reason stays in the timeline.' + MUTATION_NULL,
    nullable: true,
    authScopes: { scope: 'WRITE_CONVERSATIONS' },
    args: { input: t.arg({ type: DeleteConversationInput, required: true, description: 'The conversation.' }) },
    errors: mutationErrors('deleteConversation', [NotFoundError, ValidationError]),
    resolve: async (_root, { input }, ctx) => {
      const id = decodeId(input.conversationId, 'Conversation', ctx);
      await deleteConversation(serviceContext(ctx), { conversationId: id, reason: input.reason });
      return { conversationId: id };
    },
  }),
);

// bulkUpdateConversations

const BulkStatusEnum = builder.enumType('BulkStatusChange', {
  description: 'The status change a bulk update applies.',
  values: {
    RESOLVE: { description: 'Resolve (needs resolutionReason).' },
    CLOSE: { description: 'Close.' },
    SNOOZE: { description: 'Snooze (needs snoozeUntil).' },
  } as const,
});

const BulkUpdateConversationsInput = builder.inputType('BulkUpdateConversationsInput', {
  description: 'One change applied to many conversations. Give at least one of assigneeId, addLabelIds, removeLabelIds, status.',
  fields: (t) => ({
    conversationIds: t.idList({ required: true, description: 'The conversations: at most 100. Each is changed in its own transaction.' }),
    assigneeId: t.id({ description: 'Assign to this team member; an explicit null unassigns; absent leaves the assignee.' }),
    addLabelIds: t.idList({ description: 'Labels to add.' }),
    removeLabelIds: t.idList({ description: 'Labels to remove.' }),
    status: t.field({ type: BulkStatusEnum, description: 'A status change: resolve, close or snooze.' }),
    resolutionReason: t.field({ type: ResolutionReasonEnum, description: 'Why, with status RESOLVE.' }),
    snoozeUntil: t.field({ type: 'DateTime', description: 'Until when, with status SNOOZE; in the future.' }),
    note: t.string({ description: 'An internal note kept in the timeline of each change.' }),
  }),
});

interface BulkResult {
  ref: string;
  conversationId: string | null;
  error: Error | null;
}

/** What one conversation of a bulk update can fail with. */
const BULK_ITEM_ERRORS = [NotFoundError, ValidationError, InvalidTransitionError, ConversationArchivedError];

const BulkConversationResult = builder.objectRef<BulkResult>('BulkConversationResult').implement({
  description: "The outcome for one conversation of a bulk update: the conversation when its change was applied, or the error that undid it.",
  fields: (t) => ({
    conversationId: t.id({ description: 'The conversation id, as given.', resolve: (r) => r.ref }),
    ok: t.boolean({ description: 'True when the change was applied (or there was nothing to change).', resolve: (r) => r.error === null }),
    conversation: t.prismaField({
      type: 'Conversation',
      nullable: true,
      description: 'The conversation after the change; null when it failed.',
      resolve: (query, r, _args, ctx) => {
        if (r.conversationId) return ctx.db.conversation.findUnique({ ...query, where: { id: r.conversationId } });
        return noRow(query);
      },
    }),
    error: t.field({
      type: ErrorInterface,
      nullable: true,
      description: 'Why this conversation was not changed (e.g. InvalidTransitionError, NotFoundError); null when it was.',
      // A resolver that returns an Error makes graphql-js throw it: the errors plugin's wrapper
      // lets the typed error through as a value, as it does for mutation results.
      resolve: (r) => (r.error ? (wrapErrorIfMatches(r.error, BULK_ITEM_ERRORS) as never) : null),
    }),
  }),
});

const BulkUpdateConversationsPayload = builder.objectRef<{ results: BulkResult[] }>('BulkUpdateConversationsPayload').implement({
  description: 'One result per distinct conversation id, in the order given.',
  fields: (t) => ({
    results: t.field({ type: [BulkConversationResult], description: 'The outcome for each conversation.', resolve: (p) => p.results }),
    succeeded: t.int({ description: 'How many conversations were changed.', resolve: (p) => p.results.filter((x) => !x.error).length }),
    failed: t.int({ description: 'How many were not.', resolve: (p) => p.results.filter((x) => x.error).length }),
  }),
});

function bulkStatus(input: { status?: 'RESOLVE' | 'CLOSE' | 'SNOOZE' | null; resolutionReason?: ResolutionReason | null; snoozeUntil?: Date | null }): LifecycleChange | null {
  if (!input.status) return null;
  if (input.status === 'CLOSE') return { to: 'CLOSED' };
  if (input.status === 'RESOLVE') {
    if (!input.resolutionReason) throw new ValidationError('Resolving needs a resolutionReason.', 'input.resolutionReason');
    return { to: 'RESOLVED', reason: input.resolutionReason };
  }
  if (!input.snoozeUntil) throw new ValidationError('Snoozing needs snoozeUntil.', 'input.snoozeUntil');
  return { to: 'SNOOZED', until: input.snoozeUntil };
}

builder.mutationField('bulkUpdateConversations', (t) =>
  t.field({
    type: BulkUpdateConversationsPayload,
    description:
      'Applies an assignment, label changes and/or a status change (resolve, close, snooze) to up to 100 conversations. Each conversation is changed in its own transaction: one that fails (e.g. an illegal transition) keeps none of the change, and the others are unaffected.' + MUTATION_NULL,
    nullable: true,
    authScopes: { scope: 'WRITE_CONVERSATIONS' },
    args: { input: t.arg({ type: BulkUpdateConversationsInput, required: true, description: 'The change and the conversations.' }) },
    errors: mutationErrors('bulkUpdateConversations', [NotFoundError, ValidationError]),
    resolve: async (_root, { input }, ctx: Context) => {
      if (input.conversationIds.length > LIMITS.idsPerCall) {
        throw badInput(`bulkUpdateConversations takes at most ${LIMITS.idsPerCall} conversations.`, { argument: 'input.conversationIds' });
      }
      const conversations = input.conversationIds.map((ref) => {
        try {
          return { ref, id: decodeId(ref, 'Conversation', ctx) };
        } catch (e) {
          if (e instanceof NotFoundError) return { ref, id: null };
          throw e;
        }
      });
      const results = await bulkUpdateConversations(serviceContext(ctx), {
        conversations,
        assigneeId: decodeOptionalId(input.assigneeId, 'User', ctx),
        addLabelIds: decodeIds(input.addLabelIds, 'Label', ctx),
        removeLabelIds: decodeIds(input.removeLabelIds, 'Label', ctx),
        status: bulkStatus(input),
        note: input.note,
      });
      return { results };
    },
  }),
);
