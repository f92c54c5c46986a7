// The typed errors of mutations. A mutation declares the DomainError classes it can
// return (`errors: { types: [NotFoundError, ...], directResult: true }`); the errors
// plugin then answers with a union of its payload and those error types, and a service
// that throws one of them has its transaction rolled back and writes nothing.
import { builder } from '../builder.js';
import { encodeGlobalID } from '@pothos/plugin-relay';
import {
  CannedResponseNotInInboxError,
  ConversationArchivedError,
  DomainError,
  DuplicateError,
  HumanInControlError,
  IdempotencyConflictError,
  InvalidTransitionError,
  NoActiveHandoffError,
  NotFoundError,
  SurveyExpiredError,
  UnknownTemplateVariableError,
  ValidationError,
  VersionConflictError,
} from '../errors.js';
import { ConversationStatusEnum } from './enums.js';
import { isUuid } from '../uuid.js';


export const ErrorInterface = builder.interfaceRef<DomainError>('Error').implement({
  description: 'A failure of a mutation that the caller can act on. Each kind is its own type.',
  fields: (t) => ({
    message: t.exposeString('message', { description: 'What went wrong, for people.' }),
    code: t.exposeString('code', { description: 'What went wrong, for programs (e.g. NOT_FOUND).' }),
  }),
});

builder.objectType(NotFoundError, {
  name: 'NotFoundError',
  description: 'A referenced object does not exist in your workspace (or is of another type).',
  interfaces: [ErrorInterface],
  isTypeOf: (e) => e instanceof NotFoundError,
  fields: (t) => ({
    entity: t.exposeString('entity', { description: 'The kind of object looked for, e.g. Conversation.' }),
    ref: t.string({
      description: 'The id or number that was not found (a global id for ids).',
      // Services work with database ids; callers know objects by their global ids.
      resolve: (e) => (isUuid(e.ref) ? encodeGlobalID(e.entity, e.ref) : e.ref),
    }),
  }),
});

builder.objectType(ValidationError, {
  name: 'ValidationError',
  description: 'An input value breaks a rule: empty content, an invalid email or phone, a date in the past...',
  interfaces: [ErrorInterface],
  isTypeOf: (e) => e instanceof ValidationError,
  fields: (t) => ({
    field: t.exposeString('field', { description: 'The input field at fault, as a dotted path (e.g. input.content).' }),
  }),
});

builder.objectType(InvalidTransitionError, {
  name: 'InvalidTransitionError',
  description: 'The status change is not allowed from the current status (see the transition table in the README).',
  interfaces: [ErrorInterface],
  isTypeOf: (e) => e instanceof InvalidTransitionError,
  fields: (t) => ({
    currentStatus: t.field({ type: ConversationStatusEnum, description: 'The status the conversation is in.', resolve: (e) => e.currentStatus as never }),
    requestedStatus: t.field({ type: ConversationStatusEnum, description: 'The status that was asked for.', resolve: (e) => e.requestedStatus as never }),
    allowedStatuses: t.field({
      type: [ConversationStatusEnum],
      description: 'The statuses the conversation may move to from its current status; empty when it is final.',
      resolve: (e) => [...e.allowed] as never,
    }),
  }),
});

builder.objectType(VersionConflictError, {
  name: 'VersionConflictError',
  description: 'The conversation changed since you read it: expectedVersion is stale. Read it again, then retry.',
  interfaces: [ErrorInterface],
  isTypeOf: (e) => e instanceof VersionConflictError,
  fields: (t) => ({
    expectedVersion: t.exposeInt('expectedVersion', { description: 'The version you sent.' }),
    currentVersion: t.exposeInt('currentVersion', { description: 'The version the conversation is at now.' }),
  }),
});

builder.objectType(DuplicateError, {
  name: 'DuplicateError',
  description: "A value that must be unique in the workspace is already taken (a label name, a contact email, phone or channel handle, a canned response's short code).",
  interfaces: [ErrorInterface],
  isTypeOf: (e) => e instanceof DuplicateError,
  fields: (t) => ({
    entity: t.exposeString('entity', { description: 'The kind of object that holds the value, e.g. Label.' }),
    field: t.exposeString('field', { description: 'The input field whose value is taken, as a dotted path (e.g. input.name).' }),
    existingId: t.id({
      nullable: true,
      description: 'Global id of the object that already holds the value; null when it is not known.',
      resolve: (e) => (e.existingId ? encodeGlobalID(e.entity, e.existingId) : null),
    }),
  }),
});

builder.objectType(IdempotencyConflictError, {
  name: 'IdempotencyConflictError',
  description: 'The idempotency key was already used for a different message: use a new key for a new message.',
  interfaces: [ErrorInterface],
  isTypeOf: (e) => e instanceof IdempotencyConflictError,
  fields: (t) => ({
    idempotencyKey: t.exposeString('idempotencyKey', { description: 'The key that was reused.' }),
    messageId: t.id({ description: 'Global id of the message the key was first used for.', resolve: (e) => encodeGlobalID('Message', e.messageId) }),
  }),
});

builder.objectType(HumanInControlError, {
  name: 'HumanInControlError',
  description: 'A human is in control of the conversation (a handoff is open): the AI may not send messages or hand over again until stopHumanHandoff.',
  interfaces: [ErrorInterface],
  isTypeOf: (e) => e instanceof HumanInControlError,
  fields: (t) => ({
    conversationId: t.id({ description: 'Global id of the conversation.', resolve: (e) => encodeGlobalID('Conversation', e.conversationId) }),
    handoffId: t.id({
      nullable: true,
      description: 'Global id of the open handoff; null when none is recorded.',
      resolve: (e) => (e.handoffId ? encodeGlobalID('Handoff', e.handoffId) : null),
    }),
  }),
});

builder.objectType(NoActiveHandoffError, {
  name: 'NoActiveHandoffError',
  description: 'The AI is already in control of the conversation: there is no handoff to stop.',
  interfaces: [ErrorInterface],
  isTypeOf: (e) => e instanceof NoActiveHandoffError,
  fields: (t) => ({
    conversationId: t.id({ description: 'Global id of the conversation.', resolve: (e) => encodeGlobalID('Conversation', e.conversationId) }),
  }),
});

builder.objectType(ConversationArchivedError, {
  name: 'ConversationArchivedError',
  description: 'The conversation is ARCHIVED: final and read-only. A new message from the contact starts a new conversation.',
  interfaces: [ErrorInterface],
  isTypeOf: (e) => e instanceof ConversationArchivedError,
  fields: (t) => ({
    conversationId: t.id({ description: 'Global id of the conversation.', resolve: (e) => encodeGlobalID('Conversation', e.conversationId) }),
  }),
});

builder.objectType(UnknownTemplateVariableError, {
  name: 'UnknownTemplateVariableError',
  description: 'A canned response uses a variable Parley does not know, e.g. {{contact.nickname}}: nothing was saved.',
  interfaces: [ErrorInterface],
  isTypeOf: (e) => e instanceof UnknownTemplateVariableError,
  fields: (t) => ({
    variable: t.exposeString('variable', { description: 'The unknown variable, as written between the braces (e.g. contact.nickname).' }),
    field: t.exposeString('field', { description: 'The input field holding the template, as a dotted path (e.g. input.content).' }),
    knownVariables: t.stringList({ description: 'Every variable a template may use.', resolve: (e) => [...e.knownVariables] }),
  }),
});

builder.objectType(CannedResponseNotInInboxError, {
  name: 'CannedResponseNotInInboxError',
  description: "The canned response is limited to some inboxes, and the conversation is in another one: it cannot be used there.",
  interfaces: [ErrorInterface],
  isTypeOf: (e) => e instanceof CannedResponseNotInInboxError,
  fields: (t) => ({
    cannedResponseId: t.id({ description: 'Global id of the canned response.', resolve: (e) => encodeGlobalID('CannedResponse', e.cannedResponseId) }),
    conversationId: t.id({ description: 'Global id of the conversation.', resolve: (e) => encodeGlobalID('Conversation', e.conversationId) }),
    inboxId: t.id({ description: "Global id of the conversation's inbox, which is not one of the response's.", resolve: (e) => encodeGlobalID('Inbox', e.inboxId) }),
  }),
});

builder.objectType(SurveyExpiredError, {
  name: 'SurveyExpiredError',
  description: 'The survey expired (SURVEY_TTL_DAYS after it was sent): it can no longer be answered, and nothing changed.',
  interfaces: [ErrorInterface],
  isTypeOf: (e) => e instanceof SurveyExpiredError,
  fields: (t) => ({
    surveyId: t.id({ description: 'Global id of the survey.', resolve: (e) => encodeGlobalID('Survey', e.surveyId) }),
    expiresAt: t.field({ type: 'DateTime', description: 'When it expired.', resolve: (e) => e.expiresAt }),
  }),
});
