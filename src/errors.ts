// Parley reports errors in two layers, each one way throughout:
// - request-level failures (no key, missing scope, limits, malformed arguments) are GraphQL
//   errors with `extensions.code`, built by the functions below;
// - domain failures of a mutation (not found, illegal transition, stale version, duplicate)
//   are DomainError subclasses, which the schema exposes as typed errors in the payload.
// Anything else is unexpected: yoga masks it (a code and a request id; the detail is logged).
import { encodeGlobalID } from '@pothos/plugin-relay';
import { GraphQLError } from 'graphql';
import { isUuid } from './uuid.js';

/** By tag, not instanceof: yoga and Pothos may load graphql's CommonJS and ESM builds side by side. */
export function isGraphQLError(e: unknown): e is GraphQLError {
  return Object.prototype.toString.call(e) === '[object GraphQLError]';
}

export type RequestErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'BAD_USER_INPUT'
  | 'RATE_LIMITED'
  | 'NOT_FOUND'
  | 'TIMEOUT'
  | 'BAD_REQUEST'
  | 'UNSUPPORTED_MEDIA_TYPE';

export function requestError(
  code: RequestErrorCode,
  message: string,
  extra: Record<string, unknown> = {},
  httpStatus?: number,
): GraphQLError {
  return new GraphQLError(message, {
    extensions: { code, ...extra, ...(httpStatus ? { http: { status: httpStatus } } : {}) },
  });
}

export const unauthenticated = (message: string) => requestError('UNAUTHENTICATED', message, {}, 401);
export const forbidden = (message: string, extra: Record<string, unknown> = {}) =>
  requestError('FORBIDDEN', message, extra);
export const badInput = (message: string, extra: Record<string, unknown> = {}) =>
  requestError('BAD_USER_INPUT', message, extra);

/** A failure the caller can act on; shown in the schema as a typed error. */
export abstract class DomainError extends Error {
  abstract readonly code: string;
}

/** A referenced row does not exist in the caller's workspace (or is of another type). */
export class NotFoundError extends DomainError {
  readonly code = 'NOT_FOUND';
  constructor(
    readonly entity: string,
    readonly ref: string,
  ) {
    // Callers know rows by their global ids: never show them a database id.
    super(`${entity} ${isUuid(ref) ? encodeGlobalID(entity, ref) : ref} was not found`);
  }
}

/** Input that is well-formed GraphQL but breaks a rule (empty content, bad phone...). */
export class ValidationError extends DomainError {
  readonly code = 'VALIDATION_FAILED';
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
  }
}

/** A status change the transition table does not allow (see src/services/status.ts). */
export class InvalidTransitionError extends DomainError {
  readonly code = 'INVALID_TRANSITION';
  constructor(
    readonly currentStatus: string,
    readonly requestedStatus: string,
    readonly allowed: readonly string[],
  ) {
    super(
      `A ${currentStatus} conversation cannot become ${requestedStatus}` +
        (allowed.length ? ` (from ${currentStatus} it may become ${allowed.join(', ')}).` : ` (${currentStatus} is final).`),
    );
  }
}

/** The conversation changed since the caller read it: expectedVersion is stale. */
export class VersionConflictError extends DomainError {
  readonly code = 'VERSION_CONFLICT';
  constructor(
    readonly expectedVersion: number,
    readonly currentVersion: number,
  ) {
    super(`The conversation is at version ${currentVersion}, not ${expectedVersion}: read it again and retry.`);
  }
}

/** A value that must be unique in the workspace is taken (a label name, a contact's email...). */
export class DuplicateError extends DomainError {
  readonly code = 'DUPLICATE';
  constructor(
    readonly entity: string,
    readonly field: string,
    /** The row that already holds the value, when known. */
    readonly existingId: string | null,
  ) {
    super(`Another ${entity} already has this ${field}.`);
  }
}

/** The same idempotency key was used before for a different request. */
export class IdempotencyConflictError extends DomainError {
  readonly code = 'IDEMPOTENCY_CONFLICT';
  constructor(
    readonly idempotencyKey: string,
    /** The message the key was first used for. */
    readonly messageId: string,
  ) {
    super(`The idempotency key "${idempotencyKey}" was already used for a different message.`);
  }
}

/** A human is in control of the conversation: the AI may not talk, nor hand over again. */
export class HumanInControlError extends DomainError {
  readonly code = 'HUMAN_IN_CONTROL';
  constructor(
    readonly conversationId: string,
    /** The handoff that gave control to the human, if one is recorded. */
    readonly handoffId: string | null,
    message = 'A human is in control of this conversation: the AI must not talk over them.',
  ) {
    super(message);
  }
}

/** stopHumanHandoff on a conversation the AI already controls. */
export class NoActiveHandoffError extends DomainError {
  readonly code = 'NO_ACTIVE_HANDOFF';
  constructor(readonly conversationId: string) {
    super('The AI is already in control of this conversation: there is no handoff to stop.');
  }
}

/** An ARCHIVED conversation is final and read-only. */
export class ConversationArchivedError extends DomainError {
  readonly code = 'CONVERSATION_ARCHIVED';
  constructor(readonly conversationId: string) {
    super('The conversation is archived: it is final and read-only.');
  }
}

/** A canned response's template names a variable Parley does not know (it is refused when saved). */
export class UnknownTemplateVariableError extends DomainError {
  readonly code = 'UNKNOWN_TEMPLATE_VARIABLE';
  constructor(
    readonly variable: string,
    /** The input field holding the template, e.g. input.content. */
    readonly field: string,
    readonly knownVariables: readonly string[],
  ) {
    super(`The template uses {{${variable}}}, which is not a known variable (known: ${knownVariables.join(', ')}).`);
  }
}

/** A canned response limited to some inboxes, used on a conversation of another inbox. */
export class CannedResponseNotInInboxError extends DomainError {
  readonly code = 'CANNED_RESPONSE_NOT_IN_INBOX';
  constructor(
    readonly cannedResponseId: string,
    readonly conversationId: string,
    /** The conversation's inbox, which is not one of the response's. */
    readonly inboxId: string,
  ) {
    super("This canned response is limited to other inboxes than the conversation's.");
  }
}

/** A satisfaction survey past its expiry: it can no longer be answered, and nothing changed. */
export class SurveyExpiredError extends DomainError {
  readonly code = 'SURVEY_EXPIRED';
  constructor(
    readonly surveyId: string,
    readonly expiresAt: Date,
  ) {
    super(`This survey expired on ${expiresAt.toISOString()}: it can no longer be answered.`);
  }
}
