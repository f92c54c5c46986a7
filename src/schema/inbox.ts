import { builder } from '../builder.js';
import { READ_NULL } from './nullability.js';
import { ChannelEnum } from './enums.js';

export const InboxNode = builder.prismaNode('Inbox', {
  description: 'Where conversations arrive: one channel (a WhatsApp number, an email address, the web chat...).',
  authScopes: { authenticated: true },
  nullable: true,
  id: { field: 'id', description: 'Global id of the inbox.' },
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Display name.' }),
    channel: t.expose('channel', { type: ChannelEnum, description: 'The channel this inbox talks over.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the inbox was created.' }),
  }),
});

builder.queryField('inboxes', (t) =>
  t.prismaField({
    type: ['Inbox'],
    description: "The workspace's inboxes, by name." + READ_NULL,
    nullable: true,
    authScopes: { authenticated: true },
    resolve: (query, _root, _args, ctx) => ctx.db.inbox.findMany({ ...query, orderBy: [{ name: 'asc' }, { id: 'asc' }] }),
  }),
);
