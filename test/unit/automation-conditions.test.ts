// Pure evaluation of automation rule conditions: each condition kind, all-of and any-of, and
// the reason a run records.
import { describe, expect, it } from 'vitest';
import { containsAnyWord, emailDomain, evaluateConditions, type Facts } from '../../src/services/automation-conditions.js';

const facts = (over: Partial<Facts['conversation']> = {}, message: Facts['message'] = null, contact: Facts['contact'] = null): Facts => ({
  conversation: {
    inboxId: 'inbox-1',
    channel: 'WHATSAPP',
    status: 'OPEN',
    priority: 'NORMAL',
    controller: 'AI_AGENT',
    assigneeId: null,
    contactId: 'contact-1',
    labelIds: ['vip'],
    customAttributes: { tier: 'gold', seats: 12 },
    ...over,
  },
  message,
  contact,
});

describe('automation conditions', () => {
  it('no conditions always match', () => {
    expect(evaluateConditions({ all: [], any: [] }, facts())).toEqual({ matched: true, reason: 'no conditions' });
  });

  it('the conversation filter: inbox, status, labels, assignee none, controller', () => {
    const ok = { conversation: { inboxIds: ['inbox-1'], statuses: ['OPEN' as const], labels: { anyOf: ['vip'] }, assignee: { unassigned: true }, controller: 'AI_AGENT' as const } };
    expect(evaluateConditions({ all: [ok], any: [] }, facts()).matched).toBe(true);
    expect(evaluateConditions({ all: [ok], any: [] }, facts({ assigneeId: 'u1' }))).toEqual({ matched: false, reason: 'condition failed: conversation' });
    expect(evaluateConditions({ all: [{ conversation: { channels: ['EMAIL'] } }], any: [] }, facts()).matched).toBe(false);
  });

  it('message words are case-insensitive and found inside words; sender and content type', () => {
    expect(containsAnyWord('I want my REFUNDS', ['refund'])).toBe(true);
    expect(containsAnyWord('hello', ['refund', 'money back'])).toBe(false);
    expect(containsAnyWord(null, ['refund'])).toBe(false);
    const m = { content: 'Money back now', senderType: 'CONTACT', contentType: 'TEXT' };
    expect(evaluateConditions({ all: [{ messageContainsAny: ['money back'] }, { messageSenderTypes: ['CONTACT'] }, { messageContentTypes: ['TEXT'] }], any: [] }, facts({}, m)).matched).toBe(true);
    expect(evaluateConditions({ all: [{ messageSenderTypes: ['HUMAN'] }], any: [] }, facts({}, m)).matched).toBe(false);
    // No message on the event: message conditions do not hold.
    expect(evaluateConditions({ all: [{ messageContentTypes: ['TEXT'] }], any: [] }, facts()).matched).toBe(false);
  });

  it('contact email domain and custom attributes; conversation attributes', () => {
    expect(emailDomain('Ceo@BigCorp.test')).toBe('bigcorp.test');
    expect(emailDomain(null)).toBeNull();
    const contact = { email: 'ceo@BigCorp.test', customAttributes: { plan: 'Enterprise Plus' } };
    expect(evaluateConditions({ all: [{ contactEmailDomains: ['bigcorp.test'] }], any: [] }, facts({}, null, contact)).matched).toBe(true);
    expect(evaluateConditions({ all: [{ contactAttribute: { key: 'plan', contains: 'enterprise' } }], any: [] }, facts({}, null, contact)).matched).toBe(true);
    expect(evaluateConditions({ all: [{ contactAttribute: { key: 'plan', equals: 'Enterprise' } }], any: [] }, facts({}, null, contact)).matched).toBe(false);
    expect(evaluateConditions({ all: [{ conversationAttribute: { key: 'seats', equals: 12 } }], any: [] }, facts()).matched).toBe(true);
    expect(evaluateConditions({ all: [{ conversationAttribute: { key: 'missing', contains: 'x' } }], any: [] }, facts()).matched).toBe(false);
  });

  it('attribute equals compares objects deeply, whatever the order of their keys', () => {
    const nested = facts({ customAttributes: { address: { city: 'Lyon', zip: '69001' }, tags: ['a', 'b'] } });
    const holds = (key: string, equals: unknown) => evaluateConditions({ all: [{ conversationAttribute: { key, equals } }], any: [] } as never, nested).matched;
    expect(holds('address', { zip: '69001', city: 'Lyon' })).toBe(true);
    expect(holds('address', { city: 'Lyon', zip: '69001' })).toBe(true);
    expect(holds('address', { city: 'Lyon' })).toBe(false);
    expect(holds('address', { city: 'Lyon', zip: 69001 })).toBe(false);
    expect(holds('tags', ['a', 'b'])).toBe(true);
    expect(holds('tags', ['b', 'a'])).toBe(false);
  });

  it('any-of needs one to hold; all-of fails on the first that does not, and says which', () => {
    const any = [{ contactEmailDomains: ['nowhere.test'] }, { conversationAttribute: { key: 'tier', equals: 'gold' } }];
    expect(evaluateConditions({ all: [], any }, facts())).toEqual({ matched: true, reason: 'all conditions held (any-of: conversation attribute tier)' });
    expect(evaluateConditions({ all: [], any: [any[0]!] }, facts())).toEqual({ matched: false, reason: 'none of the any-of conditions held' });
    expect(evaluateConditions({ all: [{ conversationAttribute: { key: 'tier', equals: 'silver' } }], any }, facts()).reason).toBe('condition failed: conversation attribute tier');
  });
});
