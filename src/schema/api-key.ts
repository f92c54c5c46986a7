import { builder } from '../builder.js';
import { ApiKeyKindEnum, ScopeEnum } from './enums.js';

builder.prismaNode('ApiKey', {
  description: 'A credential for the API. The secret is shown once, when the key is created; Parley keeps only its hash.',
  authScopes: { scope: 'ADMIN' },
  nullable: true,
  id: { field: 'id', description: 'Global id of the key.' },
  fields: (t) => ({
    name: t.exposeString('name', { description: 'What the key is for.' }),
    prefix: t.exposeString('prefix', { description: 'The first characters of the secret, to recognise it.' }),
    kind: t.expose('kind', { type: ApiKeyKindEnum, description: 'Who uses the key, which decides what it sees.' }),
    scopes: t.expose('scopes', { type: [ScopeEnum], description: 'What the key may do.' }),
    user: t.relation('user', { nullable: true, description: 'The team member the key acts as; null for a key that acts as no user.' }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime', nullable: true, description: 'Last use, to the minute; null when it was never used.' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true, description: 'When the key stops working; null when it never expires.' }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true, description: 'When the key was revoked; null while it is not.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the key was created.' }),
  }),
});
