// The admin API: inboxes, team members and API keys. Every field needs the admin scope;
// managing team members and keys also needs an ADMIN acting user (src/services/admin.ts).
import { builder } from '../builder.js';
import { MUTATION_NULL, READ_NULL } from './nullability.js';
import { serviceContext } from '../context.js';
import { DuplicateError, NotFoundError, ValidationError } from '../errors.js';
import * as admin from '../services/admin.js';
import { ApiKeyKindEnum, AvailabilityEnum, ChannelEnum, RoleEnum, ScopeEnum } from './enums.js';
import { decodeId, decodeOptionalId, mutationErrors } from './mutations.js';

builder.queryField('apiKeys', (t) =>
  t.prismaField({
    type: ['ApiKey'],
    description: "The workspace's API keys, newest first, revoked ones included. Secrets are never shown again." + READ_NULL,
    nullable: true,
    authScopes: { scope: 'ADMIN' },
    args: { includeRevoked: t.arg.boolean({ defaultValue: true, description: 'Include revoked keys.' }) },
    resolve: (query, _root, args, ctx) =>
      ctx.db.apiKey.findMany({ ...query, where: args.includeRevoked ? {} : { revokedAt: null }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] }),
  }),
);

const InboxPayload = builder.objectRef<{ inboxId: string }>('InboxPayload').implement({
  description: 'An inbox, as it is after the change.',
  fields: (t) => ({
    inbox: t.prismaField({
      type: 'Inbox',
      description: 'The inbox.',
      resolve: (query, r, _a, ctx) => ctx.db.inbox.findUniqueOrThrow({ ...query, where: { id: r.inboxId } }),
    }),
  }),
});

builder.mutationField('createInbox', (t) =>
  t.field({
    type: InboxPayload,
    description: 'Creates an inbox on one channel.' + MUTATION_NULL,
    nullable: true,
    authScopes: { scope: 'ADMIN' },
    args: {
      input: t.arg({
        required: true,
        description: 'The inbox.',
        type: builder.inputType('CreateInboxInput', {
          description: 'A new inbox.',
          fields: (f) => ({
            name: f.string({ required: true, description: 'Display name, e.g. the WhatsApp number.' }),
            channel: f.field({ type: ChannelEnum, required: true, description: 'The channel; it cannot change later.' }),
          }),
        }),
      }),
    },
    errors: mutationErrors('createInbox', [ValidationError]),
    resolve: async (_r, { input }, ctx) => ({ inboxId: (await admin.createInbox(serviceContext(ctx), input)).id }),
  }),
);

builder.mutationField('updateInbox', (t) =>
  t.field({
    type: InboxPayload,
    description: 'Renames an inbox.' + MUTATION_NULL,
    nullable: true,
    authScopes: { scope: 'ADMIN' },
    args: {
      input: t.arg({
        required: true,
        description: 'The changes.',
        type: builder.inputType('UpdateInboxInput', {
          description: 'Changes to an inbox; absent fields stay as they are.',
          fields: (f) => ({
            inboxId: f.id({ required: true, description: 'The inbox.' }),
            name: f.string({ description: 'New display name.' }),
          }),
        }),
      }),
    },
    errors: mutationErrors('updateInbox', [NotFoundError, ValidationError]),
    resolve: async (_r, { input }, ctx) => ({
      inboxId: (await admin.updateInbox(serviceContext(ctx), { ...input, inboxId: decodeId(input.inboxId, 'Inbox', ctx) })).id,
    }),
  }),
);

const UserPayload = builder.objectRef<{ userId: string }>('UserPayload').implement({
  description: 'A team member, as they are after the change.',
  fields: (t) => ({
    user: t.prismaField({
      type: 'User',
      description: 'The team member.',
      resolve: (query, r, _a, ctx) => ctx.db.user.findUniqueOrThrow({ ...query, where: { id: r.userId } }),
    }),
  }),
});

builder.mutationField('inviteUser', (t) =>
  t.field({
    type: UserPayload,
    description: 'Adds a team member (an ADMIN acting user is required).' + MUTATION_NULL,
    nullable: true,
    authScopes: { scope: 'ADMIN' },
    args: {
      input: t.arg({
        required: true,
        description: 'The new team member.',
        type: builder.inputType('InviteUserInput', {
          description: 'A new team member.',
          fields: (f) => ({
            name: f.string({ required: true, description: 'Full name.' }),
            email: f.string({ required: true, description: 'Email address, unique in the workspace.' }),
            role: f.field({ type: RoleEnum, description: 'ADMIN or AGENT (the default).' }),
          }),
        }),
      }),
    },
    errors: mutationErrors('inviteUser', [ValidationError, DuplicateError]),
    resolve: async (_r, { input }, ctx) => ({ userId: (await admin.inviteUser(serviceContext(ctx), input)).id }),
  }),
);

builder.mutationField('updateUser', (t) =>
  t.field({
    type: UserPayload,
    description: "Changes a team member's name, role (ADMIN acting user only) or availability." + MUTATION_NULL,
    nullable: true,
    authScopes: { scope: 'ADMIN' },
    args: {
      input: t.arg({
        required: true,
        description: 'The changes.',
        type: builder.inputType('UpdateUserInput', {
          description: 'Changes to a team member; absent fields stay as they are.',
          fields: (f) => ({
            userId: f.id({ required: true, description: 'The team member.' }),
            name: f.string({ description: 'New name.' }),
            role: f.field({ type: RoleEnum, description: 'New role; the last ADMIN cannot be demoted.' }),
            availability: f.field({ type: AvailabilityEnum, description: 'New availability.' }),
          }),
        }),
      }),
    },
    errors: mutationErrors('updateUser', [NotFoundError, ValidationError]),
    resolve: async (_r, { input }, ctx) => ({
      userId: (await admin.updateUser(serviceContext(ctx), { ...input, userId: decodeId(input.userId, 'User', ctx) })).id,
    }),
  }),
);

const ApiKeyPayload = builder.objectRef<{ apiKeyId: string }>('ApiKeyPayload').implement({
  description: 'An API key, as it is after the change.',
  fields: (t) => ({
    apiKey: t.prismaField({
      type: 'ApiKey',
      description: 'The key.',
      resolve: (query, r, _a, ctx) => ctx.db.apiKey.findUniqueOrThrow({ ...query, where: { id: r.apiKeyId } }),
    }),
  }),
});

const ApiKeySecretPayload = builder.objectRef<{ apiKeyId: string; secret: string }>('ApiKeySecretPayload').implement({
  description: 'A key and its secret. The secret is shown this once: Parley keeps only its hash.',
  fields: (t) => ({
    apiKey: t.prismaField({
      type: 'ApiKey',
      description: 'The key.',
      resolve: (query, r, _a, ctx) => ctx.db.apiKey.findUniqueOrThrow({ ...query, where: { id: r.apiKeyId } }),
    }),
    secret: t.exposeString('secret', { description: 'The secret, to send as X-API-Key. Store it now: it cannot be shown again.' }),
  }),
});

builder.mutationField('createApiKey', (t) =>
  t.field({
    type: ApiKeySecretPayload,
    description: 'Creates an API key with scopes, a kind and an optional expiry (an ADMIN acting user is required).' + MUTATION_NULL,
    nullable: true,
    authScopes: { scope: 'ADMIN' },
    args: {
      input: t.arg({
        required: true,
        description: 'The key.',
        type: builder.inputType('CreateApiKeyInput', {
          description: 'A new API key.',
          fields: (f) => ({
            name: f.string({ required: true, description: 'What the key is for.' }),
            kind: f.field({ type: ApiKeyKindEnum, description: 'TEAM (the default) or CONNECTOR.' }),
            scopes: f.field({ type: [ScopeEnum], required: true, description: 'What the key may do.' }),
            userId: f.id({ description: 'The team member the key acts as ("me"); none by default.' }),
            expiresAt: f.field({ type: 'DateTime', description: 'When the key stops working; never by default. Must be in the future.' }),
          }),
        }),
      }),
    },
    errors: mutationErrors('createApiKey', [NotFoundError, ValidationError]),
    resolve: async (_r, { input }, ctx) => {
      const { key, secret } = await admin.createApiKey(serviceContext(ctx), { ...input, userId: decodeOptionalId(input.userId, 'User', ctx) });
      return { apiKeyId: key.id, secret };
    },
  }),
);

const ApiKeyRef = builder.inputType('ApiKeyRefInput', {
  description: 'An API key.',
  fields: (f) => ({ apiKeyId: f.id({ required: true, description: 'The key.' }) }),
});

builder.mutationField('rotateApiKey', (t) =>
  t.field({
    type: ApiKeySecretPayload,
    description: 'Gives a key a new secret; the old one stops working at once. Scopes, kind and user stay.' + MUTATION_NULL,
    nullable: true,
    authScopes: { scope: 'ADMIN' },
    args: { input: t.arg({ type: ApiKeyRef, required: true, description: 'The key to rotate.' }) },
    errors: mutationErrors('rotateApiKey', [NotFoundError]),
    resolve: async (_r, { input }, ctx) => {
      const { key, secret } = await admin.rotateApiKey(serviceContext(ctx), { apiKeyId: decodeId(input.apiKeyId, 'ApiKey', ctx) });
      return { apiKeyId: key.id, secret };
    },
  }),
);

builder.mutationField('revokeApiKey', (t) =>
  t.field({
    type: ApiKeyPayload,
    description: 'Revokes a key: it stops working at once, over HTTP and WebSocket. Revoking twice is harmless.' + MUTATION_NULL,
    nullable: true,
    authScopes: { scope: 'ADMIN' },
    args: { input: t.arg({ type: ApiKeyRef, required: true, description: 'The key to revoke.' }) },
    errors: mutationErrors('revokeApiKey', [NotFoundError]),
    resolve: async (_r, { input }, ctx) => ({
      apiKeyId: (await admin.revokeApiKey(serviceContext(ctx), { apiKeyId: decodeId(input.apiKeyId, 'ApiKey', ctx) })).id,
    }),
  }),
);
