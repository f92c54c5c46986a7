import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { schema } from '../../src/schema/index.js';
import { computeCost } from '../../src/security/cost.js';

const cost = (query: string, variables: Record<string, unknown> = {}) => computeCost(schema, parse(query), variables);

describe('query cost', () => {
  it('charges nothing for scalars and 1 per object', () => {
    expect(cost('{ viewer { kind scopes } }')).toBe(1);
    expect(cost('{ viewer { workspace { name } user { name } } }')).toBe(3);
    expect(cost('{ __schema { types { name } } }')).toBeGreaterThan(0);
  });

  it('multiplies a connection by its page size, and nested connections by each other', () => {
    const id = '"x"';
    const one = cost(`{ node(id: ${id}) { ... on Conversation { messages(first: 10) { edges { node { content } } } } } }`);
    // node (1) + messages (1 + 10 x node (1))
    expect(one).toBe(1 + 1 + 10);
    const withVariable = cost(`query($n: Int) { node(id: ${id}) { ... on Conversation { messages(first: $n) { edges { node { content } } } } } }`, { n: 50 });
    expect(withVariable).toBe(1 + 1 + 50);
    const nested = cost(
      `{ node(id: ${id}) { ... on Conversation { messages(first: 10) { edges { node { conversation { messages(first: 10) { edges { node { id } } } } } } } } } }`,
    );
    // node 1 + messages(1 + 10 x (node 1 + conversation (1 + messages (1 + 10 x 1))))
    expect(nested).toBe(1 + 1 + 10 * (1 + 1 + 1 + 10));
  });

  it('prices a missing page size at the default page', () => {
    expect(cost('{ node(id: "x") { ... on Conversation { messages { edges { node { id } } } } } }')).toBe(1 + 1 + 20);
  });

  it('takes the dearest branch of an abstract selection, not their sum', () => {
    const q = '{ node(id: "x") { ... on Conversation { contact { name } } ... on Message { conversation { contact { name } } } } }';
    expect(cost(q)).toBe(1 + 2);
  });
});
