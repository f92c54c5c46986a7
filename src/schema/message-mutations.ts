// Mutations on messages: sendMessage, updateMessageStatus (delivery receipts), deleteMessage.
import { builder } from '../builder.js';
import { MUTATION_NULL } from './nullability.js';
import { serviceContext, type Context, seesInternalNotes } from '../context.js';
import {
  CannedResponseNotInInboxError,
  ConversationArchivedError,
  forbidden,
  HumanInControlError,
  IdempotencyConflictError,
  NotFoundError,
  ValidationError,
} from '../errors.js';
import { deleteMessage, sendMessage, updateMessageStatus, type NewMessageInput, type WrittenRows } from '../services/messages.js';
import { ContentTypeEnum, MessageStatusEnum, SenderTypeEnum } from './enums.js';
import { decodeId, decodeOptionalId, mutationErrors } from './mutations.js';

type Types = typeof builder extends PothosSchemaTypes.SchemaBuilder<infer T> ? T : never;
type InputFields = PothosSchemaTypes.InputFieldBuilder<Types, 'InputObject'>;

export const AttachmentInput = builder.inputType('AttachmentInput', {
  description: 'A file sent with a message; Parley stores its URL, not the file.',
  fields: (t) => ({
    name: t.string({ required: true, description: 'File name.' }),
    url: t.string({ required: true, description: 'Where the file can be fetched (http or https).' }),
    mimeType: t.string({ required: true, description: 'MIME type, e.g. image/png.' }),
    size: t.int({ required: true, description: 'Size in bytes.' }),
  }),
});

export const CardActionInput = builder.inputType('CardActionInput', {
  description: 'A button on a card: give a url (a link) or an action name (a postback), or both.',
  fields: (t) => ({
    label: t.string({ required: true, description: 'Text on the button.' }),
    url: t.string({ description: 'The URL it opens.' }),
    action: t.string({ description: 'The action name it triggers.' }),
  }),
});

export const CardInput = builder.inputType('CardInput', {
  description: 'A rich message: a title, a description and up to 10 actions.',
  fields: (t) => ({
    title: t.string({ required: true, description: 'Title.' }),
    description: t.string({ description: 'Body text.' }),
    actions: t.field({ type: [CardActionInput], description: 'Buttons, in order.' }),
  }),
});

/** The fields that describe a message, shared by sendMessage and createConversation's first message. */
export function messageInputFields(t: InputFields) {
  return {
    content: t.string({ description: 'Text, up to 64 KB. Required unless the message has attachments or a card.' }),
    contentType: t.field({
      type: ContentTypeEnum,
      description: 'What the message mainly carries. Defaults to CARD with a card, ATTACHMENT with attachments, TEXT otherwise.',
    }),
    attachments: t.field({ type: [AttachmentInput], description: 'Up to 20 files.' }),
    card: t.field({ type: CardInput, description: 'The card, for CARD messages.' }),
    senderType: t.field({
      type: SenderTypeEnum,
      required: true,
      description: 'CONTACT for an inbound message posted by a channel connector, HUMAN for an agent, AI_AGENT for the bot, SYSTEM for Parley or an automation.',
    }),
    senderUserId: t.id({ description: "The team member who wrote a HUMAN message; defaults to the API key's user." }),
    private: t.boolean({
      description: 'An internal note: never shown to the contact nor to CONNECTOR keys. It counts in messageCount as TEAM keys see it (not as CONNECTOR keys see it) and changes nothing else of the conversation, updatedAt included. TEAM keys only.',
    }),
    providerMessageId: t.string({
      description: "The channel provider's id for the message. A message repeated with the same provider id in the same inbox is not stored twice.",
    }),
    idempotencyKey: t.string({
      description: 'Makes retries safe: a retry with the same key returns the first result and writes nothing; the same key with a different message is an IdempotencyConflictError.',
    }),
  };
}

interface MessageInputShape {
  content?: string | null;
  contentType?: NewMessageInput['contentType'];
  attachments?: NewMessageInput['attachments'];
  card?: NewMessageInput['card'];
  senderType: NewMessageInput['senderType'];
  senderUserId?: string | null;
  private?: boolean | null;
  providerMessageId?: string | null;
  idempotencyKey?: string | null;
}

/** A message input as the services take it: ids decoded, notes refused to CONNECTOR keys. */
export function toNewMessage(input: MessageInputShape, ctx: Context): NewMessageInput {
  if (input.private && !seesInternalNotes(ctx)) throw forbidden('CONNECTOR keys cannot write internal notes.');
  return { ...input, senderUserId: decodeOptionalId(input.senderUserId, 'User', ctx) };
}

export const NewMessageInputType = builder.inputType('NewMessageInput', {
  description: 'A message, as written by the contact, a team member, the AI or the system.',
  fields: (t) => messageInputFields(t),
});

interface MessageResult {
  messageId: string;
  conversationId: string;
  duplicate?: boolean;
  applied?: boolean;
  rows?: WrittenRows;
}

// A payload's rows come from the mutation's own transaction when the selection needs nothing
// but their columns (Pothos's query is empty: no relation to include): the write then costs
// one transaction and no read after it. A selection with relations reads them as any query does.
export const needsNothingMore = (query: object) => Object.keys(query).length === 0;

/** The message of a payload, as the caller may see it: CONNECTOR keys never get an internal note. */
const messageOf = (t: PothosSchemaTypes.ObjectFieldBuilder<Types, MessageResult>, description: string) =>
  t.prismaField({
    type: 'Message',
    nullable: true,
    description: `${description} Null for a CONNECTOR key when it is an internal note, and (with a FORBIDDEN error) for a key without read:conversations.`,
    resolve: (query, r, _args, ctx) => {
      const row = r.rows?.message;
      if (row && needsNothingMore(query)) return row.private && !seesInternalNotes(ctx) ? null : row;
      return ctx.db.message.findFirst({ ...query, where: { id: r.messageId, ...(seesInternalNotes(ctx) ? {} : { private: false }) } });
    },
  });

// Nullable: reading it needs read:conversations, which a key that may write need not have.
const conversationOf = (t: PothosSchemaTypes.ObjectFieldBuilder<Types, MessageResult>, description: string) =>
  t.prismaField({
    type: 'Conversation',
    nullable: true,
    description: `${description} Null, with a FORBIDDEN error, for a key without read:conversations.`,
    resolve: (query, r, _args, ctx) => {
      const row = r.rows?.conversation;
      if (row && needsNothingMore(query)) return row;
      return ctx.db.conversation.findUniqueOrThrow({ ...query, where: { id: r.conversationId } });
    },
  });

const SendMessageInput = builder.inputType('SendMessageInput', {
  description: 'A message to add to a conversation.',
  fields: (t) => ({
    conversationId: t.id({ required: true, description: 'The conversation. If it is ARCHIVED, a CONTACT message starts a new conversation with the same contact and inbox.' }),
    ...messageInputFields(t),
    cannedResponseId: t.id({
      description:
        "Send this canned response: the server renders it for the conversation (the sender user, else the key's user, as the agent) in the same transaction, and its text is the content. Give content or cannedResponseId, not both; not for CONTACT messages. With an idempotency key, a retry returns the first message without rendering again.",
    }),
  }),
});

const SendMessagePayload = builder.objectRef<MessageResult>('SendMessagePayload').implement({
  description: 'The message sent, and its conversation with updated counters.',
  fields: (t) => ({
    // Not `message`: that would clash with Error.message in clients' `... on Error { message }`.
    sentMessage: messageOf(t, 'The message (the first one, for a retry or a repeated provider message id).'),
    conversation: conversationOf(t, 'The conversation the message is in: a new one when the contact wrote to an ARCHIVED conversation.'),
    duplicate: t.boolean({
      description: 'True when nothing was written: a retry with the same idempotency key, or a provider message id already stored.',
      resolve: (r) => r.duplicate ?? false,
    }),
  }),
});

builder.mutationField('sendMessage', (t) =>
  t.field({
    type: SendMessagePayload,
    description:
      "Adds a message to a conversation and updates its counters in the same transaction; its text is `content`, or a canned response rendered on the server (`cannedResponseId`). A contact's message reopens a PENDING, SNOOZED, RESOLVED or CLOSED conversation. While a human is in control, AI_AGENT messages are refused (HumanInControlError); AI internal notes are allowed." + MUTATION_NULL,
    nullable: true,
    authScopes: { scope: 'WRITE_CONVERSATIONS' },
    args: { input: t.arg({ type: SendMessageInput, required: true, description: 'The message.' }) },
    errors: mutationErrors('sendMessage', [
      NotFoundError,
      ValidationError,
      IdempotencyConflictError,
      HumanInControlError,
      ConversationArchivedError,
      CannedResponseNotInInboxError,
    ]),
    resolve: async (_root, { input }, ctx) => {
      const { conversationId, cannedResponseId, ...message } = input;
      return sendMessage(serviceContext(ctx), {
        conversationId: decodeId(conversationId, 'Conversation', ctx),
        cannedResponseId: decodeOptionalId(cannedResponseId, 'CannedResponse', ctx),
        ...toNewMessage(message, ctx),
      });
    },
  }),
);

const UpdateMessageStatusInput = builder.inputType('UpdateMessageStatusInput', {
  description: 'A delivery receipt: name the message by messageId, or by inboxId and providerMessageId.',
  fields: (t) => ({
    messageId: t.id({ description: 'The message.' }),
    inboxId: t.id({ description: 'The inbox the provider message id belongs to (with providerMessageId).' }),
    providerMessageId: t.string({ description: "The channel provider's id for the message." }),
    status: t.field({ type: MessageStatusEnum, required: true, description: 'The new status: SENT, DELIVERED, READ, or FAILED (with errorReason).' }),
    errorReason: t.string({ description: 'Why delivery failed; required with FAILED.' }),
  }),
});

const UpdateMessageStatusPayload = builder.objectRef<MessageResult>('UpdateMessageStatusPayload').implement({
  description: 'The message with its current status.',
  fields: (t) => ({
    updatedMessage: messageOf(t, 'The message, with its current status (unchanged when the receipt was ignored).'),
    applied: t.boolean({
      description: 'False when the receipt was ignored because it would move the status backwards (receipts arrive out of order) or repeats it.',
      resolve: (r) => r.applied ?? false,
    }),
  }),
});

builder.mutationField('updateMessageStatus', (t) =>
  t.field({
    type: UpdateMessageStatusPayload,
    description:
      'Records a delivery receipt: PENDING -> SENT -> DELIVERED -> READ, or FAILED (from PENDING or SENT) with a reason. A receipt that would move the status backwards is accepted and ignored.' + MUTATION_NULL,
    nullable: true,
    authScopes: { scope: 'WRITE_CONVERSATIONS' },
    args: { input: t.arg({ type: UpdateMessageStatusInput, required: true, description: 'The receipt.' }) },
    errors: mutationErrors('updateMessageStatus', [NotFoundError, ValidationError]),
    resolve: (_root, { input }, ctx) =>
      updateMessageStatus(serviceContext(ctx), {
        messageId: decodeOptionalId(input.messageId, 'Message', ctx),
        inboxId: decodeOptionalId(input.inboxId, 'Inbox', ctx),
        providerMessageId: input.providerMessageId,
        status: input.status,
        errorReason: input.errorReason,
        hidePrivate: !seesInternalNotes(ctx),
      }),
  }),
);

const DeleteMessageInput = builder.inputType('DeleteMessageInput', {
  description: 'The message to delete.',
  fields: (t) => ({
    messageId: t.id({ required: true, description: 'The message.' }),
  }),
});

const DeleteMessagePayload = builder.objectRef<MessageResult>('DeleteMessagePayload').implement({
  description: 'The tombstone of the deleted message, and its conversation with corrected counters.',
  fields: (t) => ({
    deletedMessage: messageOf(t, 'The message, now a tombstone: no content, attachments or card; deletedAt set.'),
    conversation: conversationOf(t, 'The conversation, with its counters and last message corrected.'),
  }),
});

builder.mutationField('deleteMessage', (t) =>
  t.field({
    type: DeleteMessagePayload,
    description:
      "Deletes a message softly: its content, attachments and card are removed, a tombstone stays in the thread, and the conversation's counters are corrected. Deleting a deleted message changes nothing. An ARCHIVED conversation is read-only: its messages cannot be deleted (deleting the contact erases them)." + MUTATION_NULL,
    nullable: true,
    authScopes: { scope: 'WRITE_CONVERSATIONS' },
    args: { input: t.arg({ type: DeleteMessageInput, required: true, description: 'The message.' }) },
    errors: mutationErrors('deleteMessage', [NotFoundError, ConversationArchivedError]),
    resolve: (_root, { input }, ctx) =>
      deleteMessage(serviceContext(ctx), decodeId(input.messageId, 'Message', ctx), !seesInternalNotes(ctx)),
  }),
);
