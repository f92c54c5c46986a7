import { builder } from '../builder.js';
import { READ_NULL } from './nullability.js';
import { ApiKeyKindEnum, ScopeEnum } from './enums.js';
import { noRow } from './mutations.js';

export const WorkspaceNode = builder.prismaNode('Workspace', {
  description: 'A tenant: one organisation with its team, inboxes, contacts and conversations.',
  authScopes: { authenticated: true },
  nullable: true,
  id: { field: 'id', description: 'Global id of the workspace.' },
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Display name.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the workspace was created.' }),
  }),
});

const Viewer = builder.objectRef<{ workspaceId: string }>('Viewer').implement({
  description: 'The API key making the request, and what it acts as.',
  fields: (t) => ({
    workspace: t.prismaField({
      type: 'Workspace',
      description: 'The workspace the key belongs to.',
      resolve: (query, _parent, _args, ctx) =>
        ctx.db.workspace.findUniqueOrThrow({ ...query, where: { id: ctx.auth!.workspaceId } }),
    }),
    user: t.prismaField({
      type: 'User',
      nullable: true,
      description: 'The team member the key acts as ("me"); null for a key that acts as no user.',
      resolve: (query, _parent, _args, ctx) =>
        ctx.auth!.userId ? ctx.db.user.findUnique({ ...query, where: { id: ctx.auth!.userId } }) : noRow(query),
    }),
    apiKeyId: t.id({
      description: 'Global id of the key making the request.',
      resolve: (_p, _a, ctx) => Buffer.from(`ApiKey:${ctx.auth!.apiKeyId}`).toString('base64'),
    }),
    kind: t.field({ type: ApiKeyKindEnum, description: 'What kind of key it is.', resolve: (_p, _a, ctx) => ctx.auth!.kind }),
    scopes: t.field({
      type: [ScopeEnum],
      description: 'The scopes the key carries.',
      resolve: (_p, _a, ctx) => [...ctx.auth!.scopes],
    }),
  }),
});

builder.queryField('viewer', (t) =>
  t.field({
    type: Viewer,
    description: 'Who is asking: the API key, its workspace and the user it acts as.' + READ_NULL,
    nullable: true,
    authScopes: { authenticated: true },
    resolve: (_root, _args, ctx) => ({ workspaceId: ctx.auth!.workspaceId }),
  }),
);
