// Canned responses: the CannedResponse node, the cannedResponses list, createCannedResponse,
// updateCannedResponse, deleteCannedResponse (admin scope) and previewCannedResponse
// (write:conversations). Sending one is sendMessage's `cannedResponseId` (message-mutations.ts).
import { encodeGlobalID } from '@pothos/plugin-relay';
import { queryFromInfo } from '@pothos/plugin-prisma';
import { builder } from '../builder.js';
import { serviceContext } from '../context.js';
import { CannedResponseNotInInboxError, DuplicateError, NotFoundError, UnknownTemplateVariableError, ValidationError } from '../errors.js';
import { TEMPLATE_VARIABLES, parseTemplate, variablesOf } from '../services/canned-response-template.js';
import {
  TEMPLATE_MAX,
  cannedResponseCursor,
  cannedResponsePageRequest,
  createCannedResponse,
  deleteCannedResponse,
  findCannedResponsePage,
  previewCannedResponse,
  updateCannedResponse,
  type CannedResponseFilter,
  type Preview,
} from '../services/canned-responses.js';
import { searchText } from '../services/conversation-query.js';
import { pageInfoOf } from '../services/pagination.js';
import { localId } from './ids.js';
import { decodeId, decodeIds, mutationErrors } from './mutations.js';
import { MUTATION_NULL, READ_NULL } from './nullability.js';

const VARIABLES_TEXT = Object.keys(TEMPLATE_VARIABLES).join(', ');

export const CannedResponseNode = builder.prismaNode('CannedResponse', {
  description:
    'A saved reply agents insert by its short code. Its content is a template: variables in double braces, each with an optional fallback, e.g. `Hi {{contact.first_name | "there"}}`. Reading one needs write:conversations (using canned responses is writing).',
  authScopes: { scope: 'WRITE_CONVERSATIONS' },
  nullable: true,
  id: { field: 'id', description: 'Global id of the canned response.' },
  fields: (t) => ({
    shortCode: t.exposeString('shortCode', { description: 'What agents type to find it, e.g. /hello: unique in the workspace, lowercase, with its leading slash.' }),
    title: t.exposeString('title', { description: 'A name for people, e.g. "Greeting".' }),
    content: t.exposeString('content', { description: 'The template, as saved (not rendered): see previewCannedResponse for the text a conversation gets.' }),
    variables: t.stringList({
      description: `The variables the template uses, in order of first use (e.g. contact.first_name). Known variables: ${VARIABLES_TEXT}.`,
      select: { content: true },
      resolve: (r) => variablesOf(parseTemplate(r.content)),
    }),
    inboxes: t.relation('inboxes', {
      description: 'The inboxes it may be used in; empty when it may be used in every inbox.',
      query: { orderBy: [{ name: 'asc' }, { id: 'asc' }] },
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the canned response was created.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When the canned response last changed.' }),
  }),
});

builder.queryField('cannedResponses', (t) =>
  t.connection(
    {
      type: CannedResponseNode,
      description:
        "The workspace's canned responses, by short code. With `search`: short codes that start with it first, then short codes that contain it, then responses whose title or content contains it (case-insensitive; by short code within each group). At most 100 per page; page with first/after or last/before. Needs write:conversations." +
        READ_NULL,
      nullable: true,
      authScopes: { scope: 'WRITE_CONVERSATIONS' },
      args: {
        search: t.arg.string({
          required: false,
          description: 'Text to look for, at most 200 characters; a leading slash is ignored for short codes ("/he" and "he" both find /hello). A blank search is refused with BAD_USER_INPUT.',
        }),
        inboxId: t.arg.id({ required: false, description: 'Only the responses that may be used in this inbox (those limited to it, and those limited to no inbox).' }),
      },
      resolve: async (_root, args, ctx, info) => {
        const workspaceId = ctx.auth!.workspaceId;
        const filter: CannedResponseFilter = {
          search: args.search == null ? null : searchText(args.search),
          inboxId: args.inboxId == null ? null : localId(args.inboxId, 'Inbox', 'inboxId'),
        };
        const request = cannedResponsePageRequest(workspaceId, filter, args);
        const refs = await findCannedResponsePage(ctx.db, workspaceId, filter, request);
        const { rows: page, pageInfo } = pageInfoOf(request, refs, (r) => cannedResponseCursor(workspaceId, filter, r));
        const query = queryFromInfo({ context: ctx, info, path: ['edges', 'node'], select: { id: true } });
        const loaded = await ctx.db.cannedResponse.findMany({ ...query, where: { id: { in: page.map((r) => r.id) } } });
        const byId = new Map(loaded.map((row) => [row.id, row]));
        // A row deleted between the two statements is left out of the page.
        const edges = page.flatMap((r) => {
          const node = byId.get(r.id);
          return node ? [{ cursor: cannedResponseCursor(workspaceId, filter, r), node }] : [];
        });
        return { edges, pageInfo } as never;
      },
    },
    { name: 'CannedResponseConnection', description: 'A page of canned responses.' },
    { name: 'CannedResponseEdge', description: 'A canned response in a page, with its cursor.' },
  ),
);

// ---- managing (admin scope) ------------------------------------------------------------

const CannedResponsePayload = (name: string, description: string) =>
  builder.objectRef<{ cannedResponseId: string }>(name).implement({
    description,
    fields: (t) => ({
      cannedResponse: t.prismaField({
        type: 'CannedResponse',
        description: 'The canned response, as it is now.',
        resolve: (query, r, _args, ctx) => ctx.db.cannedResponse.findUniqueOrThrow({ ...query, where: { id: r.cannedResponseId } }),
      }),
    }),
  });

const TEMPLATE_DESCRIPTION = `The template, at most ${TEMPLATE_MAX} characters: text with variables in double braces, each with an optional fallback in double quotes used when the value is empty, e.g. \`Hi {{contact.first_name | "there"}}\`. Known variables: ${VARIABLES_TEXT}. An unknown variable is refused (UnknownTemplateVariableError), an unreadable template too (ValidationError).`;

const CreateCannedResponseInput = builder.inputType('CreateCannedResponseInput', {
  description: 'A new canned response.',
  fields: (t) => ({
    shortCode: t.string({
      required: true,
      description: 'What agents type, e.g. /hello: 1 to 32 letters, digits, "-" or "_" after the slash (which you may leave out); stored in lowercase; unique in the workspace.',
    }),
    title: t.string({ required: true, description: 'A name for people, at most 100 characters.' }),
    content: t.string({ required: true, description: TEMPLATE_DESCRIPTION }),
    inboxIds: t.idList({ description: 'Limit it to these inboxes (at most 100); omit, or leave empty, for every inbox.' }),
  }),
});

const MANAGE_ERRORS = [ValidationError, DuplicateError, UnknownTemplateVariableError, NotFoundError];

builder.mutationField('createCannedResponse', (t) =>
  t.field({
    type: CannedResponsePayload('CreateCannedResponsePayload', 'The new canned response.'),
    description: 'Creates a canned response. Needs the admin scope.' + MUTATION_NULL,
    nullable: true,
    authScopes: { scope: 'ADMIN' },
    args: { input: t.arg({ type: CreateCannedResponseInput, required: true, description: 'The canned response.' }) },
    errors: mutationErrors('createCannedResponse', MANAGE_ERRORS),
    resolve: async (_root, { input }, ctx) => {
      const created = await createCannedResponse(serviceContext(ctx), { ...input, inboxIds: decodeIds(input.inboxIds, 'Inbox', ctx) });
      return { cannedResponseId: created.id };
    },
  }),
);

const UpdateCannedResponseInput = builder.inputType('UpdateCannedResponseInput', {
  description: 'Changes to a canned response; absent fields stay as they are.',
  fields: (t) => ({
    cannedResponseId: t.id({ required: true, description: 'The canned response.' }),
    shortCode: t.string({ description: 'New short code, unique in the workspace.' }),
    title: t.string({ description: 'New title.' }),
    content: t.string({ description: `New template. ${TEMPLATE_DESCRIPTION}` }),
    inboxIds: t.idList({ description: 'The inboxes it is limited to, replacing the current ones; null or empty: every inbox. Absent: unchanged.' }),
  }),
});

builder.mutationField('updateCannedResponse', (t) =>
  t.field({
    type: CannedResponsePayload('UpdateCannedResponsePayload', 'The updated canned response.'),
    description: 'Changes a canned response. Needs the admin scope.' + MUTATION_NULL,
    nullable: true,
    authScopes: { scope: 'ADMIN' },
    args: { input: t.arg({ type: UpdateCannedResponseInput, required: true, description: 'The changes.' }) },
    errors: mutationErrors('updateCannedResponse', MANAGE_ERRORS),
    resolve: async (_root, { input }, ctx) => {
      const updated = await updateCannedResponse(serviceContext(ctx), {
        ...input,
        cannedResponseId: decodeId(input.cannedResponseId, 'CannedResponse', ctx),
        inboxIds: input.inboxIds === undefined ? undefined : decodeIds(input.inboxIds, 'Inbox', ctx),
      });
      return { cannedResponseId: updated.id };
    },
  }),
);

const DeleteCannedResponseInput = builder.inputType('DeleteCannedResponseInput', {
  description: 'The canned response to delete.',
  fields: (t) => ({ cannedResponseId: t.id({ required: true, description: 'The canned response.' }) }),
});

const DeleteCannedResponsePayload = builder.objectRef<{ cannedResponseId: string }>('DeleteCannedResponsePayload').implement({
  description: 'What was deleted.',
  fields: (t) => ({
    deletedCannedResponseId: t.id({ description: 'Global id of the deleted canned response.', resolve: (r) => encodeGlobalID('CannedResponse', r.cannedResponseId) }),
  }),
});

builder.mutationField('deleteCannedResponse', (t) =>
  t.field({
    type: DeleteCannedResponsePayload,
    description: 'Deletes a canned response; messages sent with it keep their text. Needs the admin scope.' + MUTATION_NULL,
    nullable: true,
    authScopes: { scope: 'ADMIN' },
    args: { input: t.arg({ type: DeleteCannedResponseInput, required: true, description: 'The canned response.' }) },
    errors: mutationErrors('deleteCannedResponse', [NotFoundError]),
    resolve: async (_root, { input }, ctx) => {
      const cannedResponseId = decodeId(input.cannedResponseId, 'CannedResponse', ctx);
      await deleteCannedResponse(serviceContext(ctx), cannedResponseId);
      return { cannedResponseId };
    },
  }),
);

// ---- using (write:conversations) -------------------------------------------------------

const PreviewCannedResponseInput = builder.inputType('PreviewCannedResponseInput', {
  description: 'A canned response and the conversation to render it for.',
  fields: (t) => ({
    cannedResponseId: t.id({ required: true, description: 'The canned response.' }),
    conversationId: t.id({ required: true, description: 'The conversation whose contact, inbox and number fill the variables.' }),
  }),
});

const PreviewCannedResponsePayload = builder.objectRef<Preview>('PreviewCannedResponsePayload').implement({
  description: 'The text the canned response gives in the conversation.',
  fields: (t) => ({
    renderedContent: t.exposeString('content', {
      description: "The rendered text, as sendMessage with this cannedResponseId would send it now (with the key's user as the agent).",
    }),
    cannedResponseId: t.id({ description: 'Global id of the canned response.', resolve: (r) => encodeGlobalID('CannedResponse', r.cannedResponseId) }),
    conversationId: t.id({ description: 'Global id of the conversation.', resolve: (r) => encodeGlobalID('Conversation', r.conversationId) }),
  }),
});

builder.mutationField('previewCannedResponse', (t) =>
  t.field({
    type: PreviewCannedResponsePayload,
    description:
      "Renders a canned response for a conversation, the key's user as the agent, and writes nothing. Values go in as plain text: a contact named {{agent.name}} stays that literal string. Needs write:conversations." +
      MUTATION_NULL,
    nullable: true,
    authScopes: { scope: 'WRITE_CONVERSATIONS' },
    args: { input: t.arg({ type: PreviewCannedResponseInput, required: true, description: 'The response and the conversation.' }) },
    errors: mutationErrors('previewCannedResponse', [NotFoundError, CannedResponseNotInInboxError]),
    resolve: (_root, { input }, ctx) =>
      previewCannedResponse(serviceContext(ctx), {
        cannedResponseId: decodeId(input.cannedResponseId, 'CannedResponse', ctx),
        conversationId: decodeId(input.conversationId, 'Conversation', ctx),
      }),
  }),
);
