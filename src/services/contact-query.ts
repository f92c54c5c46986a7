// The contact list: filters and keyset pages (newest first), as a Prisma where clause so
// the GraphQL layer can load a page and its nested selections in one planned query.
// Substring search on name, email and phone is ILIKE '%text%', which the trigram indexes
// of the search migration serve.
import type { Prisma } from '../generated/prisma/client.js';
import { badInput } from '../errors.js';
import { escapeLike, searchText, type Viewer } from './conversation-query.js';
import {
  decodeCursor,
  encodeCursor,
  pageRequest,
  timestampValue,
  type CursorScope,
  type PageArgs,
  type PageRequest,
} from './pagination.js';

export interface ContactFilter {
  search?: string | null;
  email?: string | null;
  phone?: string | null;
  hasConversations?: boolean | null;
}

function scope(viewer: Viewer): CursorScope {
  return { list: 'contacts', order: 'CREATED_AT:DESC', workspaceId: viewer.workspaceId };
}

export function contactPageRequest(viewer: Viewer, args: PageArgs): PageRequest {
  const check = timestampValue(false);
  return pageRequest(args, (cursor, argument) => {
    const pos = decodeCursor(cursor, scope(viewer), argument, (v) => check(v));
    if (pos.values.length !== 1) throw badInput(`The ${argument} cursor is malformed.`, { argument });
    return pos;
  });
}

export function contactCursor(viewer: Viewer, contact: { id: string; createdAt: Date }): string {
  return encodeCursor(scope(viewer), { values: [contact.createdAt.toISOString()], id: contact.id });
}

/** The where clause of a filter (the client adds the workspace). Validates the filter. */
export function contactWhere(filter: ContactFilter = {}): Prisma.ContactWhereInput {
  const and: Prisma.ContactWhereInput[] = [];
  const text = searchText(filter.search);
  if (text) {
    // `contains` leaves %, _ and \ as LIKE pattern characters: escaped, they are text.
    const like = escapeLike(text);
    and.push({
      OR: [
        { name: { contains: like, mode: 'insensitive' } },
        { email: { contains: like, mode: 'insensitive' } },
        { phone: { contains: like } },
      ],
    });
  }
  if (filter.email != null) {
    const email = filter.email.trim().toLowerCase();
    if (!email || email.length > 254) throw badInput('filter.email must be an email address.', { argument: 'filter.email' });
    and.push({ email });
  }
  if (filter.phone != null) {
    // Stored in E.164: spaces, dashes, dots and brackets in the filter are ignored.
    const phone = filter.phone.replace(/[\s\-().]/g, '');
    if (!/^\+?\d{3,15}$/.test(phone)) throw badInput('filter.phone must be a phone number, e.g. +14155550123.', { argument: 'filter.phone' });
    and.push({ phone });
  }
  if (filter.hasConversations != null) {
    and.push(filter.hasConversations ? { conversations: { some: {} } } : { conversations: { none: {} } });
  }
  return { AND: and };
}

/** Where, order and take of one page: newest first, keyset on (createdAt, id). */
export function contactPageQuery(request: PageRequest): {
  where: Prisma.ContactWhereInput;
  orderBy: Prisma.ContactOrderByWithRelationInput[];
  take: number;
  skip?: number;
} {
  const dir = request.backward ? 'asc' : 'desc';
  const position = request.backward ? request.before : request.after;
  let where: Prisma.ContactWhereInput = {};
  if (position) {
    const at = new Date(position.values[0]!);
    const cmp = request.backward ? 'gt' : 'lt';
    where = { OR: [{ createdAt: { [cmp]: at } }, { createdAt: at, id: { [cmp]: position.id } }] };
  }
  return {
    where,
    orderBy: [{ createdAt: dir }, { id: dir }],
    take: request.size + 1,
  };
}
