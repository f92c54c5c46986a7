// Which live events a subscriber gets: the kind of each event, and whether a conversation
// matches a subscription's filter. Pure functions, over the facts a LiveEvent loads.
import type { Channel, ConversationStatus, Controller, EventType, Priority, SenderType } from '../generated/prisma/client.js';
import type { ConversationState, EventFacts, JsonRecord, LiveEvent } from './live-event.js';

export const CONVERSATION_EVENT_KINDS = [
  'CONVERSATION_CREATED',
  'MESSAGE_ADDED',
  'MESSAGE_STATUS_CHANGED',
  'MESSAGE_DELETED',
  'ASSIGNED',
  'STATUS_CHANGED',
  'SNOOZED',
  'RESOLVED',
  'LABELS_CHANGED',
  'PRIORITY_CHANGED',
  'CONVERSATION_UPDATED',
  'CONVERSATION_READ',
  'SATISFACTION_RECORDED',
  'SURVEY_ANSWERED',
  'HANDOFF_STARTED',
  'HANDOFF_COMPLETED',
  'CONVERSATION_DELETED',
] as const;
export type ConversationEventKind = (typeof CONVERSATION_EVENT_KINDS)[number];

/**
 * The kind a timeline event type has in `conversationEvents`; null for events that concern
 * no single conversation (labels, contacts), which that subscription does not carry. A new
 * event type fails to compile here until it is given a kind or null.
 */
const KIND_OF_TYPE: Record<EventType, ConversationEventKind | null> = {
  CONVERSATION_CREATED: 'CONVERSATION_CREATED',
  MESSAGE_ADDED: 'MESSAGE_ADDED',
  MESSAGE_STATUS_CHANGED: 'MESSAGE_STATUS_CHANGED',
  MESSAGE_DELETED: 'MESSAGE_DELETED',
  ASSIGNED: 'ASSIGNED',
  STATUS_CHANGED: 'STATUS_CHANGED',
  LABELS_CHANGED: 'LABELS_CHANGED',
  PRIORITY_CHANGED: 'PRIORITY_CHANGED',
  CONVERSATION_UPDATED: 'CONVERSATION_UPDATED',
  CONVERSATION_READ: 'CONVERSATION_READ',
  SATISFACTION_RECORDED: 'SATISFACTION_RECORDED',
  SURVEY_ANSWERED: 'SURVEY_ANSWERED',
  HANDOFF_STARTED: 'HANDOFF_STARTED',
  HANDOFF_COMPLETED: 'HANDOFF_COMPLETED',
  CONVERSATION_DELETED: 'CONVERSATION_DELETED',
  CONTACTS_MERGED: null,
  CONTACT_DELETED: null,
  CONTACT_CREATED: null,
  CONTACT_UPDATED: null,
  LABEL_CREATED: null,
  LABEL_UPDATED: null,
  LABEL_DELETED: null,
};

/** Whether `conversationEvents` carries events of this type at all. */
export function isConversationEventType(type: EventType): boolean {
  return KIND_OF_TYPE[type] != null;
}

export const MESSAGE_EVENT_TYPES: ReadonlySet<EventType> = new Set<EventType>(['MESSAGE_ADDED', 'MESSAGE_STATUS_CHANGED', 'MESSAGE_DELETED']);

/** A status change is told apart when it snoozes or resolves: lists treat those specially. */
export function kindOf(type: EventType, after: JsonRecord | null): ConversationEventKind | null {
  const kind = KIND_OF_TYPE[type];
  if (kind === 'STATUS_CHANGED') {
    if (after?.status === 'SNOOZED') return 'SNOOZED';
    if (after?.status === 'RESOLVED') return 'RESOLVED';
  }
  return kind;
}

/** A subscription filter with its global ids decoded. Every field narrows; all combine. */
export interface LiveConversationFilter {
  /** Only events of these kinds. */
  kinds?: ConversationEventKind[] | null;
  /** For message events, only messages from these senders (other events are not narrowed). */
  senderTypes?: SenderType[] | null;
  conversationId?: string | null;
  inboxIds?: string[] | null;
  channels?: Channel[] | null;
  statuses?: ConversationStatus[] | null;
  priorities?: Priority[] | null;
  controller?: Controller | null;
  contactIds?: string[] | null;
  assignee?: { userIds?: string[] | null; unassigned?: boolean | null; me?: boolean | null } | null;
  labels?: { anyOf?: string[] | null; allOf?: string[] | null; noneOf?: string[] | null } | null;
}

const some = <T>(list: readonly T[] | null | undefined): list is readonly T[] => !!list && list.length > 0;

/** True when the filter looks at the conversation's fields, not only at its id. */
export function filtersFields(f: LiveConversationFilter): boolean {
  return (
    some(f.inboxIds) ||
    some(f.channels) ||
    some(f.statuses) ||
    some(f.priorities) ||
    some(f.contactIds) ||
    f.controller != null ||
    (f.assignee != null && (some(f.assignee.userIds) || f.assignee.unassigned != null || f.assignee.me != null)) ||
    (f.labels != null && (some(f.labels.anyOf) || some(f.labels.allOf) || some(f.labels.noneOf)))
  );
}

/**
 * Whether a conversation in `state` matches. A field the state does not know (a deleted
 * conversation whose event did not record it) does not exclude: a live list would rather
 * hear of a change it can ignore than miss one. `me` is the key's user.
 */
export function matchesFilter(state: ConversationState, f: LiveConversationFilter, me: string | null): boolean {
  const within = <T>(list: readonly T[] | null | undefined, value: T | undefined) => !some(list) || value === undefined || list.includes(value);
  if (!within(f.inboxIds, state.inboxId)) return false;
  if (!within(f.channels, state.channel)) return false;
  if (!within(f.statuses, state.status)) return false;
  if (!within(f.priorities, state.priority)) return false;
  if (!within(f.contactIds, state.contactId)) return false;
  if (f.controller != null && state.controller !== undefined && state.controller !== f.controller) return false;
  const a = f.assignee;
  if (a && state.assigneeId !== undefined) {
    const assignee = state.assigneeId;
    if (some(a.userIds) && !(assignee !== null && a.userIds.includes(assignee))) return false;
    if (a.unassigned != null && (assignee === null) !== a.unassigned) return false;
    if (a.me != null && (me !== null && assignee === me) !== a.me) return false;
  }
  const l = f.labels;
  if (l && state.labelIds !== undefined) {
    const has = new Set(state.labelIds);
    if (some(l.anyOf) && !l.anyOf.some((id) => has.has(id))) return false;
    if (some(l.allOf) && !l.allOf.every((id) => has.has(id))) return false;
    if (some(l.noneOf) && l.noneOf.some((id) => has.has(id))) return false;
  }
  return true;
}

const STATE_KEYS = ['inboxId', 'channel', 'status', 'priority', 'controller', 'assigneeId', 'contactId'] as const;

/** `base` with the values an event recorded (its before or its after) laid over it. */
export function overlay(base: ConversationState | null, values: JsonRecord | null): ConversationState {
  const state: ConversationState = { ...base };
  if (!values) return state;
  for (const key of STATE_KEYS) {
    const v = values[key];
    if (typeof v === 'string' || (v === null && key === 'assigneeId')) (state as Record<string, unknown>)[key] = v;
  }
  // Label ids, as the event loader derives them from the label names an event records.
  if (Array.isArray(values.labelIds)) state.labelIds = values.labelIds.filter((id): id is string => typeof id === 'string');
  return state;
}

/**
 * An event matches when its conversation matches the filter as it is after the event, or
 * did before it: the event that takes a conversation out of a live list still reaches it.
 */
export function eventMatches(facts: EventFacts, f: LiveConversationFilter, me: string | null): boolean {
  if (!filtersFields(f)) return true;
  // A deleted conversation is judged by what its events recorded of it.
  const then = facts.atEvent ?? facts.conversation ?? overlay(null, facts.before);
  if (facts.changesState === false) return matchesFilter(then, f, me);
  return matchesFilter(overlay(then, facts.after), f, me) || matchesFilter(overlay(then, facts.before), f, me);
}

/** Who is subscribing, as far as what they may see goes. */
export interface LiveViewer {
  kind: 'TEAM' | 'CONNECTOR';
  /** The key's user: "me". */
  userId: string | null;
}

/** `conversationEvents`: a conversation event matching the filter; internal notes for TEAM keys only. */
export async function acceptsConversationEvent(e: LiveEvent, f: LiveConversationFilter, viewer: LiveViewer): Promise<boolean> {
  if (!e.conversationId || !isConversationEventType(e.type)) return false;
  if (f.conversationId && f.conversationId !== e.conversationId) return false;
  const kinds = some(f.kinds) ? f.kinds : null;
  // Only a status change needs its values to tell its kind (snoozed, resolved).
  if (kinds && e.type !== 'STATUS_CHANGED' && !kinds.includes(KIND_OF_TYPE[e.type]!)) return false;
  const message = MESSAGE_EVENT_TYPES.has(e.type);
  const note = message && viewer.kind !== 'TEAM';
  const senders = message && some(f.senderTypes) ? f.senderTypes : null;
  if (!note && !senders && !filtersFields(f) && !(kinds && e.type === 'STATUS_CHANGED')) return true;
  const facts = await e.facts();
  if (kinds && e.type === 'STATUS_CHANGED' && !kinds.includes(kindOf(e.type, facts.after)!)) return false;
  // A CONNECTOR key never hears of an internal note, nor of a message it cannot tell is public.
  if (note && facts.messagePrivate !== false) return false;
  if (senders && !(facts.messageSenderType && senders.includes(facts.messageSenderType))) return false;
  return eventMatches(facts, f, viewer.userId);
}

/** `messageAdded`: a message added to the conversation, still there; internal notes for TEAM keys only. */
export async function acceptsMessageAdded(e: LiveEvent, conversationId: string, viewer: LiveViewer): Promise<boolean> {
  if (e.type !== 'MESSAGE_ADDED' || e.conversationId !== conversationId || !e.messageId) return false;
  const facts = await e.facts();
  if (facts.messagePrivate === null) return false;
  return !facts.messagePrivate || viewer.kind === 'TEAM';
}

export const CONTACT_EVENT_KINDS = ['CONTACT_CREATED', 'CONTACT_UPDATED', 'CONTACTS_MERGED', 'CONTACT_ERASED'] as const;
export type ContactEventKind = (typeof CONTACT_EVENT_KINDS)[number];

const CONTACT_KIND_OF_TYPE: Partial<Record<EventType, ContactEventKind>> = {
  CONTACT_CREATED: 'CONTACT_CREATED',
  CONTACT_UPDATED: 'CONTACT_UPDATED',
  CONTACTS_MERGED: 'CONTACTS_MERGED',
  CONTACT_DELETED: 'CONTACT_ERASED',
};

/** The kind a timeline event type has in `contactEvents`; null for events that are not about a contact. */
export function contactKindOf(type: EventType): ContactEventKind | null {
  return CONTACT_KIND_OF_TYPE[type] ?? null;
}

/** `contactEvents`: a contact created, updated, merged or erased, of one of `kinds` (all when empty). */
export function acceptsContactEvent(e: LiveEvent, kinds: readonly ContactEventKind[] | null): boolean {
  const kind = contactKindOf(e.type);
  return kind !== null && (!some(kinds) || kinds.includes(kind));
}
