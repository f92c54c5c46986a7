// Canned responses: saved replies with a short code (/hello), a title and a template
// (src/services/canned-response-template.ts), optionally limited to some inboxes.
// Managing them is the admin's; using them (list, preview, send) an agent's. The rules are
// here once: the short code's form, the template checked when saved (an unknown variable is
// refused by name), the inbox limitation, and the values a conversation gives the variables.
import { createHash } from 'node:crypto';
import { Prisma, type CannedResponse, type Conversation } from '../generated/prisma/client.js';
import type { ScopedDb, ScopedTx } from '../db/tenant.js';
import { violatedConstraint } from '../db/unique-violation.js';
import { badInput, CannedResponseNotInInboxError, DuplicateError, NotFoundError, UnknownTemplateVariableError, ValidationError } from '../errors.js';
import {
  TemplateSyntaxError,
  VARIABLE_NAMES,
  firstName,
  parseTemplate,
  renderSegments,
  unknownVariable,
  type Segment,
  type TemplateValues,
} from './canned-response-template.js';
import { decodeCursor, encodeCursor, pageRequest, type CursorScope, type PageArgs, type PageRequest } from './pagination.js';
import { inTransaction, type ServiceContext } from './timeline.js';
import { LIMITS, checkIdCount, requiredText } from './validation.js';

/** A slash, then 1 to 32 lowercase letters, digits, "-" or "_", starting with a letter or digit. */
const SHORT_CODE = /^\/[a-z0-9][a-z0-9_-]{0,31}$/;
const TITLE_MAX = 100;
export const TEMPLATE_MAX = 10_000;

/**
 * The short code in stored form: trimmed, lowercased, with its leading slash ("Hello" and
 * "/hello" are both "/hello"). Two responses cannot differ by case alone.
 */
export function normalizeShortCode(value: string, field: string): string {
  const trimmed = value.trim().toLowerCase();
  const code = trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
  if (!SHORT_CODE.test(code)) {
    throw new ValidationError(
      'A short code is a slash (optional when you type it) and 1 to 32 lowercase letters, digits, "-" or "_", starting with a letter or digit, e.g. /hello.',
      field,
    );
  }
  return code;
}

/** Parses and checks a template: readable, and every variable a known one. */
export function checkTemplate(content: string, field: string): { content: string; segments: Segment[] } {
  if (!content.trim()) throw new ValidationError('This value must not be empty.', field);
  if (content.length > TEMPLATE_MAX) throw new ValidationError(`A canned response is limited to ${TEMPLATE_MAX} characters.`, field);
  let segments: Segment[];
  try {
    segments = parseTemplate(content);
  } catch (e) {
    if (e instanceof TemplateSyntaxError) throw new ValidationError(`The template cannot be read: ${e.message}.`, field);
    throw e;
  }
  const unknown = unknownVariable(segments);
  if (unknown) throw new UnknownTemplateVariableError(unknown, field, VARIABLE_NAMES);
  return { content, segments };
}

/** Inboxes of the workspace, held (FOR KEY SHARE) until the transaction ends; every id must exist. */
async function holdInboxes(tx: ScopedTx, workspaceId: string, ids: readonly string[], field: string): Promise<string[]> {
  const unique = [...new Set(ids)];
  checkIdCount(unique, field, LIMITS.idsPerCall);
  if (!unique.length) return [];
  const held = await tx.$queryRaw<{ id: string }[]>`
    SELECT "id" FROM "inbox" WHERE "workspace_id" = ${workspaceId}::uuid AND "id" = ANY(${unique}::uuid[]) FOR KEY SHARE`;
  const found = new Set(held.map((r) => r.id));
  const missing = unique.find((id) => !found.has(id));
  if (missing) throw new NotFoundError('Inbox', missing);
  return unique;
}

async function assertShortCodeFree(tx: ScopedTx, shortCode: string, exceptId: string | null) {
  const other = await tx.cannedResponse.findFirst({ where: { shortCode, ...(exceptId ? { NOT: { id: exceptId } } : {}) }, select: { id: true } });
  if (other) throw new DuplicateError('CannedResponse', 'input.shortCode', other.id);
}

/** Two requests that pass the check at once: the loser gets the same typed error. */
function duplicateFromRace(error: unknown): never {
  if (violatedConstraint(error)?.includes('short_code')) throw new DuplicateError('CannedResponse', 'input.shortCode', null);
  throw error;
}

export interface CannedResponseInput {
  shortCode: string;
  title: string;
  content: string;
  /** Inboxes it is limited to; none (or null) means every inbox. */
  inboxIds?: readonly string[] | null;
}

export async function createCannedResponse(sctx: ServiceContext, input: CannedResponseInput): Promise<CannedResponse> {
  const shortCode = normalizeShortCode(input.shortCode, 'input.shortCode');
  const title = requiredText(input.title, 'input.title', TITLE_MAX);
  const { content } = checkTemplate(input.content, 'input.content');
  try {
    return await inTransaction(sctx, async (tx) => {
      const inboxIds = await holdInboxes(tx, sctx.workspaceId, input.inboxIds ?? [], 'input.inboxIds');
      await assertShortCodeFree(tx, shortCode, null);
      return tx.cannedResponse.create({
        data: { workspaceId: sctx.workspaceId, shortCode, title, content, inboxes: { connect: inboxIds.map((id) => ({ id })) } },
      });
    });
  } catch (e) {
    return duplicateFromRace(e);
  }
}

export interface CannedResponseUpdate {
  cannedResponseId: string;
  shortCode?: string | null;
  title?: string | null;
  content?: string | null;
  /** Absent: unchanged; null or empty: every inbox; ids: only these. */
  inboxIds?: readonly string[] | null;
}

export async function updateCannedResponse(sctx: ServiceContext, input: CannedResponseUpdate): Promise<CannedResponse> {
  const shortCode = input.shortCode == null ? undefined : normalizeShortCode(input.shortCode, 'input.shortCode');
  const title = input.title == null ? undefined : requiredText(input.title, 'input.title', TITLE_MAX);
  const content = input.content == null ? undefined : checkTemplate(input.content, 'input.content').content;
  try {
    return await inTransaction(sctx, async (tx) => {
      const current = await tx.cannedResponse.findUnique({ where: { id: input.cannedResponseId } });
      if (!current) throw new NotFoundError('CannedResponse', input.cannedResponseId);
      const data: Prisma.CannedResponseUncheckedUpdateInput = {};
      if (shortCode !== undefined && shortCode !== current.shortCode) {
        await assertShortCodeFree(tx, shortCode, current.id);
        data.shortCode = shortCode;
      }
      if (title !== undefined && title !== current.title) data.title = title;
      if (content !== undefined && content !== current.content) data.content = content;
      if (input.inboxIds !== undefined) {
        const inboxIds = await holdInboxes(tx, sctx.workspaceId, input.inboxIds ?? [], 'input.inboxIds');
        data.inboxes = { set: inboxIds.map((id) => ({ id })) };
      }
      if (!Object.keys(data).length) return current;
      return tx.cannedResponse.update({ where: { id: current.id }, data });
    });
  } catch (e) {
    return duplicateFromRace(e);
  }
}

export async function deleteCannedResponse(sctx: ServiceContext, cannedResponseId: string): Promise<void> {
  await inTransaction(sctx, async (tx) => {
    const { count } = await tx.cannedResponse.deleteMany({ where: { id: cannedResponseId } });
    if (!count) throw new NotFoundError('CannedResponse', cannedResponseId);
  });
}

// ---- using a response --------------------------------------------------------------------

/** What a conversation gives the variables, with `agentUserId` as the agent (null: none). */
async function valuesFor(tx: ScopedTx | ScopedDb, conversationId: string, agentUserId: string | null): Promise<TemplateValues> {
  const conversation = await tx.conversation.findUniqueOrThrow({
    where: { id: conversationId },
    select: {
      number: true,
      subject: true,
      contact: { select: { name: true, email: true, phone: true } },
      inbox: { select: { name: true } },
      workspace: { select: { name: true } },
    },
  });
  const agent = agentUserId ? await tx.user.findUnique({ where: { id: agentUserId }, select: { name: true, email: true } }) : null;
  const { contact } = conversation;
  return {
    'contact.name': contact.name,
    'contact.first_name': firstName(contact.name),
    'contact.email': contact.email,
    'contact.phone': contact.phone,
    'agent.name': agent?.name ?? null,
    'agent.first_name': firstName(agent?.name),
    'agent.email': agent?.email ?? null,
    'conversation.number': String(conversation.number),
    'conversation.subject': conversation.subject,
    'inbox.name': conversation.inbox.name,
    'workspace.name': conversation.workspace.name,
  };
}

/**
 * The text of a canned response for a conversation: the response must exist in the workspace
 * and be usable in the conversation's inbox. Values go in as plain text (a single pass).
 */
export async function renderCannedResponse(
  tx: ScopedTx | ScopedDb,
  cannedResponseId: string,
  conversation: Pick<Conversation, 'id' | 'inboxId'>,
  agentUserId: string | null,
): Promise<string> {
  const response = await tx.cannedResponse.findUnique({ where: { id: cannedResponseId }, include: { inboxes: { select: { id: true } } } });
  if (!response) throw new NotFoundError('CannedResponse', cannedResponseId);
  if (response.inboxes.length && !response.inboxes.some((i) => i.id === conversation.inboxId)) {
    throw new CannedResponseNotInInboxError(response.id, conversation.id, conversation.inboxId);
  }
  // Checked when saved; parsed again here, an unknown variable (none today) would render empty.
  return renderSegments(parseTemplate(response.content), await valuesFor(tx, conversation.id, agentUserId));
}

export interface Preview {
  cannedResponseId: string;
  conversationId: string;
  content: string;
}

/** What sending the response on the conversation would say now, as the key's user. Writes nothing. */
export async function previewCannedResponse(sctx: ServiceContext, input: { cannedResponseId: string; conversationId: string }): Promise<Preview> {
  const conversation = await sctx.db.conversation.findUnique({ where: { id: input.conversationId }, select: { id: true, inboxId: true } });
  if (!conversation) throw new NotFoundError('Conversation', input.conversationId);
  const content = await renderCannedResponse(sctx.db, input.cannedResponseId, conversation, sctx.actor.userId ?? null);
  return { ...input, content };
}

// ---- the list ----------------------------------------------------------------------------

export interface CannedResponseFilter {
  /** Already checked by searchText: trimmed, not blank. */
  search: string | null;
  /** Only responses usable in this inbox (limited to it, or to no inbox). */
  inboxId: string | null;
}

/** A row of the list: its id and its sort key. */
export interface CannedResponseRef {
  id: string;
  rank: number;
  shortCode: string;
}

function scope(workspaceId: string, search: string | null): CursorScope {
  // A cursor of one search is refused by another: its rank means nothing there.
  const order = search ? `RANK:${createHash('sha256').update(search.toLowerCase()).digest('base64url').slice(0, 12)}` : 'SHORT_CODE';
  return { list: 'cannedResponses', order, workspaceId };
}

export function cannedResponsePageRequest(workspaceId: string, filter: CannedResponseFilter, args: PageArgs): PageRequest {
  return pageRequest(args, (cursor, argument) => {
    const pos = decodeCursor(cursor, scope(workspaceId, filter.search), argument, (v, i) => {
      if (i === 0 && typeof v === 'string' && /^[0-2]$/.test(v)) return v;
      if (i === 1 && typeof v === 'string' && SHORT_CODE.test(v)) return v;
      throw new Error('not a position');
    });
    if (pos.values.length !== 2) throw badInput(`The ${argument} cursor is malformed.`, { argument });
    return pos;
  });
}

export function cannedResponseCursor(workspaceId: string, filter: CannedResponseFilter, row: CannedResponseRef): string {
  return encodeCursor(scope(workspaceId, filter.search), { values: [String(row.rank), row.shortCode], id: row.id });
}

/**
 * One page of the list, as ids with their sort keys (one more than the page, for hasNextPage).
 * Without a search: by short code. With one: short codes that start with it first, then short
 * codes that contain it, then responses whose title or content contains it; by short code
 * within each. Case-insensitive; a leading slash in the search is ignored for short codes.
 */
export async function findCannedResponsePage(
  db: ScopedDb,
  workspaceId: string,
  filter: CannedResponseFilter,
  request: PageRequest,
): Promise<CannedResponseRef[]> {
  const term = filter.search?.toLowerCase() ?? null;
  const code = term === null ? null : term.replace(/^\//, '');
  const rank = term === null
    ? Prisma.sql`0`
    : Prisma.sql`CASE WHEN starts_with(substr(c.short_code, 2), ${code}) THEN 0 WHEN strpos(substr(c.short_code, 2), ${code}) > 0 THEN 1 ELSE 2 END`;
  const matches = term === null
    ? Prisma.empty
    : Prisma.sql`AND (strpos(substr(c.short_code, 2), ${code}) > 0 OR strpos(lower(c.title), ${term}) > 0 OR strpos(lower(c.content), ${term}) > 0)`;
  const inInbox = filter.inboxId === null
    ? Prisma.empty
    : Prisma.sql`AND (NOT EXISTS (SELECT 1 FROM "_CannedResponseToInbox" l WHERE l."A" = c.id)
                      OR EXISTS (SELECT 1 FROM "_CannedResponseToInbox" l WHERE l."A" = c.id AND l."B" = ${filter.inboxId}::uuid))`;
  const position = request.backward ? request.before : request.after;
  const after = position
    ? Prisma.sql`WHERE (r.rank, r.short_code COLLATE "C", r.id) ${request.backward ? Prisma.sql`<` : Prisma.sql`>`}
                 (${Number(position.values[0])}::int, ${position.values[1]}::text COLLATE "C", ${position.id}::uuid)`
    : Prisma.empty;
  const dir = request.backward ? Prisma.sql`DESC` : Prisma.sql`ASC`;
  const rows = await db.$queryRaw<{ id: string; rank: number; shortCode: string }[]>`
    SELECT r.id, r.rank, r.short_code AS "shortCode" FROM (
      SELECT c.id, c.short_code, (${rank})::int AS rank
      FROM canned_response c
      WHERE c.workspace_id = ${workspaceId}::uuid ${matches} ${inInbox}
    ) r
    ${after}
    ORDER BY r.rank ${dir}, r.short_code COLLATE "C" ${dir}, r.id ${dir}
    LIMIT ${request.size + 1}`;
  return rows.map((r) => ({ id: r.id, rank: Number(r.rank), shortCode: r.shortCode }));
}
