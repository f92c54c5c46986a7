import { queryFromInfo } from '@pothos/plugin-prisma';
import { builder } from '../builder.js';
import { READ_NULL } from './nullability.js';
import { contactCursor, contactPageQuery, contactPageRequest, contactWhere } from '../services/contact-query.js';
import {
  contactConversationCursor,
  contactConversationsPageRequest,
  findContactConversationPageIds,
} from '../services/conversation-query.js';
import { pageInfoOf } from '../services/pagination.js';
import { loadConversationRows, type ConversationRow } from '../services/conversation-rows.js';
import { ConversationNode, conversationRowsPlan, viewerOf } from './conversation.js';
import { ChannelEnum } from './enums.js';
import { fieldKey, grouped, perRequestLoader } from './loaders.js';

export const ContactNode = builder.prismaNode('Contact', {
  description: 'A customer who writes to the workspace, over one or several channels.',
  authScopes: { scope: 'READ_CONTACTS' },
  nullable: true,
  id: { field: 'id', description: 'Global id of the contact.' },
  fields: (t) => ({
    name: t.exposeString('name', { nullable: true, description: 'Name; null when unknown.' }),
    email: t.exposeString('email', { nullable: true, description: 'Email address, unique in the workspace; null when unknown.' }),
    phone: t.exposeString('phone', { nullable: true, description: 'Phone number in E.164 form (+14155550123), unique in the workspace; null when unknown.' }),
    customAttributes: t.expose('customAttributes', { type: 'JSONObject', description: 'Free-form attributes set by integrations.' }),
    identities: t.relation('identities', {
      description: 'How the contact is known on each channel.',
      query: { orderBy: { createdAt: 'asc' } },
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the contact was created.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When the contact last changed.' }),
  }),
});

builder.prismaObject('ContactIdentity', {
  name: 'ContactIdentity',
  description: 'How a contact is known on one channel: a WhatsApp number, an Instagram user id, an email address.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Id of the identity.' }),
    channel: t.expose('channel', { type: ChannelEnum, description: 'The channel.' }),
    handle: t.exposeString('handle', { description: "The contact's address on that channel." }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the identity was first seen.' }),
  }),
});

// ---- reading contacts ------------------------------------------------------------------

export const ContactFilterInput = builder.inputType('ContactFilter', {
  description: 'Narrows the contact list. Every field is optional and they all combine (AND).',
  fields: (t) => ({
    search: t.string({
      required: false,
      description:
        'Substring of the name, email or phone (case-insensitive). At most 200 characters; an empty or blank search is refused with BAD_USER_INPUT (omit it to list without searching).',
    }),
    email: t.string({ required: false, description: 'Exactly this email address (case-insensitive).' }),
    phone: t.string({ required: false, description: 'Exactly this phone number, in E.164 form (+14155550123); spaces and dashes are ignored.' }),
    hasConversations: t.boolean({ required: false, description: 'true: contacts with at least one conversation; false: with none.' }),
  }),
});

builder.queryField('contacts', (t) =>
  t.connection(
    {
      type: ContactNode,
      description: 'Contacts of the workspace, newest first. At most 100 per page; page with first/after or last/before.' + READ_NULL,
      nullable: true,
      authScopes: { scope: 'READ_CONTACTS' },
      args: { filter: t.arg({ type: ContactFilterInput, required: false, description: 'What to list; see ContactFilter.' }) },
      resolve: async (_root, args, ctx, info) => {
        const viewer = viewerOf(ctx);
        const where = contactWhere(args.filter ?? {});
        const request = contactPageRequest(viewer, args);
        const page = contactPageQuery(request);
        const query = queryFromInfo({ context: ctx, info, path: ['edges', 'node'], select: { id: true, createdAt: true } });
        const rows = await ctx.db.contact.findMany({ ...query, where: { AND: [where, page.where] }, orderBy: page.orderBy, take: page.take });
        const { rows: nodes, pageInfo } = pageInfoOf(request, rows, (c) => contactCursor(viewer, c));
        return {
          edges: nodes.map((node) => ({ cursor: contactCursor(viewer, node), node })),
          pageInfo,
          totalCount: () => ctx.db.contact.count({ where }),
        } as never;
      },
    },
    {
      name: 'ContactConnection',
      description: 'A page of contacts.',
      fields: (c) => ({
        totalCount: c.int({
          description: 'How many contacts match the filter, all pages together. Computed only when asked for.',
          resolve: (connection) => (connection as unknown as { totalCount: () => Promise<number> }).totalCount(),
        }),
      }),
    },
    { name: 'ContactEdge', description: 'A contact in a page, with its cursor.' },
  ),
);

builder.prismaObjectField('Contact', 'conversations', (t) =>
  t.connection(
    {
      type: ConversationNode,
      description:
        "The contact's conversations, every status included, newest first. At most 100 per page. Needs the read:conversations scope: null, with a FORBIDDEN error, for a key without it (or with BAD_USER_INPUT for a page size over 100 or a bad cursor).",
      nullable: true,
      authScopes: { scope: 'READ_CONVERSATIONS' },
      resolve: async (contact, args, ctx, info) => {
        const viewer = viewerOf(ctx);
        const request = contactConversationsPageRequest(viewer, args);
        const key = `contact-conversations:${fieldKey(info)}:${JSON.stringify([args.first, args.last, args.after, args.before])}`;
        // The cursors are made of createdAt.
        const plan = conversationRowsPlan(info, ['edges', 'node'], ['createdAt']);
        const loader = perRequestLoader<ConversationRow>(ctx, key, async (ids) => {
          const pages = await findContactConversationPageIds(ctx.db, viewer, ids, request);
          const rows = await loadConversationRows(ctx.db, viewer.workspaceId, [...pages.values()].flat(), plan);
          return grouped(ids, pages, rows);
        });
        const rows = await loader.load(contact.id);
        const { rows: page, pageInfo } = pageInfoOf(request, rows, (c) => contactConversationCursor(viewer, c));
        return { edges: page.map((node) => ({ cursor: contactConversationCursor(viewer, node), node })), pageInfo };
      },
    },
    { name: 'ContactConversationsConnection', description: "A page of a contact's conversations." },
    { name: 'ContactConversationsEdge', description: 'A conversation and its cursor.' },
  ),
);
