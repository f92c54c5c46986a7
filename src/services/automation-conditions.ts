// An automation rule's conditions, and their evaluation: pure functions over what the runner
// (or a dry run) loaded, so the same answer comes from both and a unit test needs no database.
// The conversation part is the live filter grammar (src/subscriptions/conversation-filter.ts).
import { isDeepStrictEqual } from 'node:util';
import type { ContentType, SenderType } from '../generated/prisma/client.js';
import { matchesFilter, type LiveConversationFilter } from '../subscriptions/conversation-filter.js';

/** A custom attribute test: equals compares the JSON value; contains is a case-insensitive substring of its text. */
export interface AttributeTest {
  key: string;
  equals?: unknown;
  contains?: string | null;
}

/** One condition: exactly one of its fields is set. */
export interface Condition {
  conversation?: LiveConversationFilter;
  messageContainsAny?: string[];
  messageSenderTypes?: SenderType[];
  messageContentTypes?: ContentType[];
  contactEmailDomains?: string[];
  contactAttribute?: AttributeTest;
  conversationAttribute?: AttributeTest;
}

/** Every condition of `all` holds, and (when `any` is not empty) at least one of `any`. */
export interface Conditions {
  all: Condition[];
  any: Condition[];
}

/** What the conditions look at. */
export interface Facts {
  conversation: {
    inboxId: string;
    channel: string;
    status: string;
    priority: string;
    controller: string;
    assigneeId: string | null;
    contactId: string;
    labelIds: string[];
    customAttributes: unknown;
  };
  /** The event's message; null when the event has none. */
  message: { content: string | null; senderType: string; contentType: string } | null;
  contact: { email: string | null; customAttributes: unknown } | null;
}

export interface Verdict {
  matched: boolean;
  /** Why, in words: the first condition that failed, or what held. */
  reason: string;
}

const attr = (values: unknown, key: string): unknown =>
  values && typeof values === 'object' && !Array.isArray(values) ? (values as Record<string, unknown>)[key] : undefined;

function attributeHolds(values: unknown, t: AttributeTest): boolean {
  const value = attr(values, t.key);
  if (value === undefined || value === null) return false;
  // A deep comparison: objects equal whatever the order of their keys (JSON text would not be).
  if (t.equals !== undefined && !isDeepStrictEqual(value, t.equals)) return false;
  if (t.contains != null) {
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    if (!text.toLowerCase().includes(t.contains.toLowerCase())) return false;
  }
  return true;
}

/** Words match whole or inside a word, case-insensitively ("refund" finds "Refunds"). */
export function containsAnyWord(content: string | null, words: readonly string[]): boolean {
  if (!content) return false;
  const text = content.toLowerCase();
  return words.some((w) => w.trim() !== '' && text.includes(w.trim().toLowerCase()));
}

export function emailDomain(email: string | null): string | null {
  const at = email?.lastIndexOf('@') ?? -1;
  return at < 0 ? null : email!.slice(at + 1).toLowerCase();
}

/** One condition: whether it holds, and its name for the run log. */
export function evaluateCondition(c: Condition, facts: Facts): { holds: boolean; name: string } {
  if (c.conversation) {
    const conv = facts.conversation;
    const state = { ...conv, labelIds: conv.labelIds } as Parameters<typeof matchesFilter>[0];
    return { holds: matchesFilter(state, c.conversation, null), name: 'conversation' };
  }
  if (c.messageContainsAny) return { holds: containsAnyWord(facts.message?.content ?? null, c.messageContainsAny), name: `message contains any of [${c.messageContainsAny.join(', ')}]` };
  if (c.messageSenderTypes) return { holds: !!facts.message && c.messageSenderTypes.includes(facts.message.senderType as SenderType), name: 'message sender type' };
  if (c.messageContentTypes) return { holds: !!facts.message && c.messageContentTypes.includes(facts.message.contentType as ContentType), name: 'message content type' };
  if (c.contactEmailDomains) {
    const domain = emailDomain(facts.contact?.email ?? null);
    return { holds: domain !== null && c.contactEmailDomains.some((d) => d.toLowerCase() === domain), name: 'contact email domain' };
  }
  if (c.contactAttribute) return { holds: attributeHolds(facts.contact?.customAttributes, c.contactAttribute), name: `contact attribute ${c.contactAttribute.key}` };
  if (c.conversationAttribute) {
    return { holds: attributeHolds(facts.conversation.customAttributes, c.conversationAttribute), name: `conversation attribute ${c.conversationAttribute.key}` };
  }
  return { holds: true, name: 'empty condition' };
}

export function evaluateConditions(conditions: Conditions, facts: Facts): Verdict {
  for (const c of conditions.all) {
    const r = evaluateCondition(c, facts);
    if (!r.holds) return { matched: false, reason: `condition failed: ${r.name}` };
  }
  if (conditions.any.length) {
    const held = conditions.any.map((c) => evaluateCondition(c, facts)).find((r) => r.holds);
    if (!held) return { matched: false, reason: 'none of the any-of conditions held' };
    return { matched: true, reason: `all conditions held (any-of: ${held.name})` };
  }
  return { matched: true, reason: conditions.all.length ? 'all conditions held' : 'no conditions' };
}
