import { builder } from '../builder.js';
import { READ_NULL } from './nullability.js';
import { escapeLike, searchText } from '../services/conversation-query.js';

export const LabelNode = builder.prismaNode('Label', {
  description: 'A tag for conversations, such as "billing" or "vip".',
  authScopes: { scope: 'READ_CONVERSATIONS' },
  nullable: true,
  id: { field: 'id', description: 'Global id of the label.' },
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Name, unique in the workspace.' }),
    color: t.exposeString('color', { description: 'Hex colour, e.g. #1f6feb.' }),
    description: t.exposeString('description', { nullable: true, description: 'What the label is for; null when it has no description.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the label was created.' }),
  }),
});

const byName = new Intl.Collator('en', { sensitivity: 'base', numeric: true });

builder.queryField('labels', (t) =>
  t.prismaField({
    type: ['Label'],
    description: "The workspace's labels, by name (case-insensitive). Optionally only those whose name contains `search`." + READ_NULL,
    nullable: true,
    authScopes: { scope: 'READ_CONVERSATIONS' },
    args: {
      search: t.arg.string({ required: false, description: 'Only labels whose name contains this text (case-insensitive), at most 200 characters.' }),
    },
    resolve: async (query, _root, args, ctx) => {
      const search = args.search == null ? null : searchText(args.search);
      const labels = await ctx.db.label.findMany({
        ...query,
        // `contains` leaves %, _ and \ as LIKE pattern characters: escaped, they are text.
        where: search ? { name: { contains: escapeLike(search), mode: 'insensitive' } } : {},
      });
      // By name as people read it (case and accents aside), whatever the database's collation.
      return labels.sort((a, b) => byName.compare(a.name, b.name) || (a.id < b.id ? -1 : 1));
    },
  }),
);
