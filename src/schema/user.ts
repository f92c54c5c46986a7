import { builder } from '../builder.js';
import { READ_NULL } from './nullability.js';
import { AvailabilityEnum, RoleEnum } from './enums.js';

export const UserNode = builder.prismaNode('User', {
  description: 'A team member: a human agent or admin of the workspace.',
  authScopes: { authenticated: true },
  nullable: true,
  id: { field: 'id', description: 'Global id of the user.' },
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Full name.' }),
    // CONNECTOR keys sit in contact-facing widgets: they may show a name, not an address.
    email: t.string({
      nullable: true,
      description:
        "Email address, unique in the workspace. Null for CONNECTOR keys, which serve contact-facing widgets, except for the key's own user.",
      resolve: (u, _a, ctx) => (ctx.auth?.kind === 'TEAM' || u.id === ctx.auth?.userId ? u.email : null),
    }),
    role: t.expose('role', { type: RoleEnum, description: 'What the user may do.' }),
    availability: t.expose('availability', { type: AvailabilityEnum, description: 'Whether the user takes conversations now.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the user joined.' }),
    // Not t.relationCount, whose field is always non-null: this one has a scope of its own, so
    // it is nullable and a FORBIDDEN stays on it instead of taking the user with it. The count
    // is still planned into the statement that loads the user.
    openConversationCount: t.int({
      description:
        'How many OPEN conversations are assigned to this team member. Needs the read:conversations scope: null, with a FORBIDDEN error, for a key without it.',
      nullable: true,
      authScopes: { scope: 'READ_CONVERSATIONS' },
      select: { _count: { select: { assigned: { where: { status: 'OPEN' } } } } },
      resolve: (user) => user._count.assigned,
    }),
  }),
});

builder.queryField('users', (t) =>
  t.prismaField({
    type: ['User'],
    description: "The workspace's team members, by name." + READ_NULL,
    nullable: true,
    authScopes: { authenticated: true },
    resolve: (query, _root, _args, ctx) => ctx.db.user.findMany({ ...query, orderBy: [{ name: 'asc' }, { id: 'asc' }] }),
  }),
);
