// The platform's face of the API: with a platform key, create workspaces (each with its first
// ADMIN and a key for that admin) and list them. Platform keys see nothing inside a workspace,
// and workspace keys never reach these fields (FORBIDDEN): src/services/platform.ts.
import { decodeGlobalID, encodeGlobalID } from '@pothos/plugin-relay';
import { builder } from '../builder.js';
import { badInput, ValidationError } from '../errors.js';
import * as platform from '../services/platform.js';
import { isUuid } from '../uuid.js';
import { mutationErrors } from './mutations.js';
import { MUTATION_NULL, READ_NULL } from './nullability.js';

interface WorkspaceRow {
  id: string;
  name: string;
  createdAt: Date;
}

const PlatformWorkspace = builder.objectRef<WorkspaceRow>('PlatformWorkspace').implement({
  description: 'A workspace as the platform sees it: its identity, never what is inside it.',
  fields: (t) => ({
    id: t.id({ description: 'Global id of the workspace (the id its own keys see as `viewer.workspace.id`).', resolve: (w) => encodeGlobalID('Workspace', w.id) }),
    name: t.exposeString('name', { description: 'Display name.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the workspace was created.' }),
  }),
});

const MAX_PAGE = 500;

builder.queryField('workspaces', (t) =>
  t.field({
    type: [PlatformWorkspace],
    description: 'The workspaces, oldest first (platform keys only). Page with `after`: the id of the last workspace of the previous page.' + READ_NULL,
    nullable: true,
    authScopes: { platformKey: true },
    args: {
      first: t.arg.int({ description: `How many workspaces, 1 to ${MAX_PAGE} (default 100).` }),
      after: t.arg.id({ description: 'Only the workspaces created after this one (its global id).' }),
    },
    resolve: async (_root, args, ctx) => {
      const first = args.first ?? 100;
      if (first < 1 || first > MAX_PAGE) throw badInput(`first must be between 1 and ${MAX_PAGE}.`, { argument: 'first' });
      let after: string | undefined;
      if (args.after) {
        const decoded = (() => {
          try {
            return decodeGlobalID(String(args.after));
          } catch {
            return null;
          }
        })();
        if (decoded?.typename !== 'Workspace' || !isUuid(decoded.id)) throw badInput('after must be the id of a workspace.', { argument: 'after' });
        after = decoded.id;
      }
      // Across workspaces, on purpose: this is the platform's list (the field needs a platform key).
      return ctx.prisma.workspace.findMany({
        where: after ? { id: { gt: after } } : {},
        orderBy: { id: 'asc' },
        take: first,
        select: { id: true, name: true, createdAt: true },
      });
    },
  }),
);

const CreateWorkspacePayload = builder
  .objectRef<{ workspace: WorkspaceRow; adminUserId: string; apiKeyId: string; secret: string }>('CreateWorkspacePayload')
  .implement({
    description: 'The new workspace, its first ADMIN, and the secret of that admin’s key (shown this once).',
    fields: (t) => ({
      workspace: t.field({ type: PlatformWorkspace, description: 'The workspace.', resolve: (p) => p.workspace }),
      adminUserId: t.id({ description: 'Global id of the first ADMIN (a User of the workspace).', resolve: (p) => encodeGlobalID('User', p.adminUserId) }),
      apiKeyId: t.id({ description: "Global id of the admin's key (an ApiKey of the workspace).", resolve: (p) => encodeGlobalID('ApiKey', p.apiKeyId) }),
      secret: t.exposeString('secret', {
        description: "The admin's key: a TEAM key with every scope, acting as the admin. Shown this once; only its hash is stored.",
      }),
    }),
  });

builder.mutationField('createWorkspace', (t) =>
  t.field({
    type: CreateWorkspacePayload,
    description: 'Creates a workspace with its first ADMIN and a key for that admin, in one transaction (platform keys only).' + MUTATION_NULL,
    nullable: true,
    authScopes: { platformKey: true },
    args: {
      input: t.arg({
        required: true,
        description: 'The workspace and its first admin.',
        type: builder.inputType('CreateWorkspaceInput', {
          description: 'A new workspace and its first ADMIN.',
          fields: (f) => ({
            name: f.string({ required: true, description: 'Display name of the workspace.' }),
            adminName: f.string({ required: true, description: "The first admin's name." }),
            adminEmail: f.string({ required: true, description: "The first admin's email." }),
            keyName: f.string({ description: 'A name for the admin’s key (default: the admin’s name and "first admin").' }),
          }),
        }),
      }),
    },
    errors: mutationErrors('createWorkspace', [ValidationError]),
    resolve: async (_root, { input }, ctx) => {
      const created = await platform.createWorkspace(ctx.prisma, input);
      const workspace = await ctx.prisma.workspace.findUniqueOrThrow({ where: { id: created.workspaceId }, select: { id: true, name: true, createdAt: true } });
      ctx.logger.info({ workspaceId: created.workspaceId, platformKey: ctx.platform?.keyPrefix }, 'workspace created by a platform key');
      return { ...created, workspace };
    },
  }),
);
