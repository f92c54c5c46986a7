// The pure part of the live API: event kinds and subscription filters.
import { describe, expect, it } from 'vitest';
import { eventMatches, kindOf, matchesFilter, overlay, type LiveConversationFilter } from '../src/subscriptions/conversation-filter.js';
import type { ConversationState, EventFacts } from '../src/subscriptions/live-event.js';

const conversation: ConversationState & { id: string } = {
  id: 'c1',
  inboxId: 'inbox-1',
  channel: 'WHATSAPP',
  status: 'OPEN',
  priority: 'HIGH',
  controller: 'AI_AGENT',
  assigneeId: 'u1',
  contactId: 'k1',
  labelIds: ['l1', 'l2'],
};
const facts = (over: Partial<EventFacts> = {}): EventFacts => ({ before: null, after: null, conversation, messagePrivate: null, messageSenderType: null, ...over } as EventFacts);

describe('kindOf', () => {
  it('tells snoozing and resolving apart from other status changes', () => {
    expect(kindOf('STATUS_CHANGED', { status: 'SNOOZED' })).toBe('SNOOZED');
    expect(kindOf('STATUS_CHANGED', { status: 'RESOLVED' })).toBe('RESOLVED');
    expect(kindOf('STATUS_CHANGED', { status: 'OPEN' })).toBe('STATUS_CHANGED');
    expect(kindOf('MESSAGE_ADDED', null)).toBe('MESSAGE_ADDED');
  });
  it('gives no kind to events that concern no single conversation', () => {
    expect(kindOf('LABEL_CREATED', null)).toBeNull();
    expect(kindOf('CONTACT_UPDATED', null)).toBeNull();
  });
});

describe('matchesFilter', () => {
  const cases: [string, LiveConversationFilter, boolean][] = [
    ['no filter', {}, true],
    ['inbox in', { inboxIds: ['inbox-1', 'inbox-2'] }, true],
    ['inbox out', { inboxIds: ['inbox-2'] }, false],
    ['channel', { channels: ['EMAIL'] }, false],
    ['status', { statuses: ['OPEN', 'PENDING'] }, true],
    ['priority', { priorities: ['LOW'] }, false],
    ['controller', { controller: 'HUMAN' }, false],
    ['contact', { contactIds: ['k1'] }, true],
    ['assignee user', { assignee: { userIds: ['u1'] } }, true],
    ['assignee other user', { assignee: { userIds: ['u2'] } }, false],
    ['unassigned', { assignee: { unassigned: true } }, false],
    ['assigned to someone', { assignee: { unassigned: false } }, true],
    ['me (u1)', { assignee: { me: true } }, true],
    ['not me', { assignee: { me: false } }, false],
    ['labels any of', { labels: { anyOf: ['l2', 'l9'] } }, true],
    ['labels all of', { labels: { allOf: ['l1', 'l9'] } }, false],
    ['labels none of', { labels: { noneOf: ['l1'] } }, false],
    ['all combine', { inboxIds: ['inbox-1'], statuses: ['OPEN'], priorities: ['HIGH'] }, true],
    ['all combine, one fails', { inboxIds: ['inbox-1'], statuses: ['RESOLVED'] }, false],
  ];
  for (const [name, filter, expected] of cases) {
    it(name, () => expect(matchesFilter(conversation, filter, 'u1')).toBe(expected));
  }
  it('does not exclude on a field it does not know', () => {
    expect(matchesFilter({ status: 'OPEN' }, { inboxIds: ['inbox-9'], statuses: ['OPEN'] }, null)).toBe(true);
    expect(matchesFilter({ status: 'OPEN' }, { statuses: ['RESOLVED'] }, null)).toBe(false);
  });
});

describe('eventMatches', () => {
  it('matches a conversation as it is after the event or as it was before it', () => {
    const resolved = { ...conversation, status: 'RESOLVED' as const };
    const f: LiveConversationFilter = { statuses: ['OPEN'] };
    // Resolved by this event: it was OPEN before, so a list of OPEN conversations hears of it.
    expect(eventMatches(facts({ conversation: resolved, before: { status: 'OPEN' }, after: { status: 'RESOLVED' } }), f, null)).toBe(true);
    // Resolved earlier, assigned now: neither side is OPEN.
    expect(eventMatches(facts({ conversation: resolved, before: { assigneeId: null }, after: { assigneeId: 'u1' } }), f, null)).toBe(false);
  });
  it('judges a replayed event by the values it recorded, not only by the conversation now', () => {
    // Now RESOLVED, but this (older) event reopened it: after the event it was OPEN.
    const now = { ...conversation, status: 'RESOLVED' as const };
    expect(eventMatches(facts({ conversation: now, before: { status: 'CLOSED' }, after: { status: 'OPEN' } }), { statuses: ['OPEN'] }, null)).toBe(true);
  });
  it('uses the label ids derived from a label change, on both sides', () => {
    const now = { ...conversation, labelIds: [] };
    const f: LiveConversationFilter = { labels: { anyOf: ['l1'] } };
    expect(eventMatches(facts({ conversation: now, before: { labels: ['vip'], labelIds: ['l1'] }, after: { labels: [], labelIds: [] } }), f, null)).toBe(true);
    expect(eventMatches(facts({ conversation: now, before: { labels: [], labelIds: [] }, after: { labels: [], labelIds: [] } }), f, null)).toBe(false);
  });
  it('matches a deleted conversation by what its deletion recorded', () => {
    const deleted = facts({ conversation: null, before: { status: 'OPEN', number: 4 }, after: { deleted: true } });
    expect(eventMatches(deleted, { statuses: ['OPEN'] }, null)).toBe(true);
    expect(eventMatches(deleted, { statuses: ['PENDING'] }, null)).toBe(false);
  });
  it('judges by the conversation as it was just after the event, when later events changed it', () => {
    // The contact wrote while a human had control; the AI has it back now.
    const now = { ...conversation, controller: 'AI_AGENT' as const };
    const f: LiveConversationFilter = { controller: 'AI_AGENT' };
    expect(eventMatches(facts({ conversation: now, atEvent: { ...now, controller: 'HUMAN' }, changesState: false }), f, null)).toBe(false);
    expect(eventMatches(facts({ conversation: now, atEvent: now, changesState: false }), f, null)).toBe(true);
  });
  it("does not take a receipt's delivery status for the conversation's status", () => {
    const open = { ...conversation, status: 'OPEN' as const };
    const receipt = facts({ conversation: open, atEvent: open, before: { status: 'SENT' }, after: { status: 'DELIVERED' }, changesState: false });
    expect(eventMatches(receipt, { statuses: ['OPEN'] }, null)).toBe(true);
  });
  it('overlays only the fields filters know', () => {
    expect(overlay(conversation, { status: 'PENDING', subject: 'x', assigneeId: null })).toMatchObject({ status: 'PENDING', assigneeId: null, inboxId: 'inbox-1' });
  });
});
