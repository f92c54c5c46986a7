// Label values of the metrics: what a client chooses (an operation's name) cannot grow the
// label sets without bound, nor carry anything but a GraphQL name.
import { describe, expect, it } from 'vitest';
import { errorCodeLabel, MAX_OPERATION_NAMES, operationNameLabel, routeLabel } from '../../src/metrics.js';

describe('operation name labels', () => {
  it('keeps names of authenticated, valid operations, up to a limit; the rest are "other"', () => {
    expect(operationNameLabel(null, true)).toBe('anonymous');
    // Not admitted by an unauthenticated or invalid operation...
    expect(operationNameLabel('Dashboard', false)).toBe('other');
    // ...but by a trusted one, and then kept for all.
    expect(operationNameLabel('Dashboard', true)).toBe('Dashboard');
    expect(operationNameLabel('Dashboard', false)).toBe('Dashboard');
    expect(operationNameLabel('x'.repeat(65), true)).toBe('other');
    expect(operationNameLabel('not a name', true)).toBe('other');
    for (let i = 1; i < MAX_OPERATION_NAMES; i++) expect(operationNameLabel(`Op${i}`, true)).toBe(`Op${i}`);
    expect(operationNameLabel('OneTooMany', true)).toBe('other');
    expect(operationNameLabel('Op1', true)).toBe('Op1');
  });

  it('keeps error codes that look like codes, and fixed routes', () => {
    expect(errorCodeLabel('RATE_LIMITED')).toBe('RATE_LIMITED');
    expect(errorCodeLabel(undefined)).toBe('NONE');
    expect(errorCodeLabel('https://example.test/x')).toBe('OTHER');
    expect(errorCodeLabel(42)).toBe('OTHER');
    expect(routeLabel('/graphql')).toBe('/graphql');
    expect(routeLabel('/graphql/01234567-89ab')).toBe('other');
  });
});
