// Mutations on the workspace's labels: createLabel, updateLabel, deleteLabel.
// (Labels on a conversation: addLabels, removeLabels, setLabels in conversation-mutations.ts.)
import { encodeGlobalID } from '@pothos/plugin-relay';
import { builder } from '../builder.js';
import { MUTATION_NULL } from './nullability.js';
import { serviceContext } from '../context.js';
import { DuplicateError, NotFoundError, ValidationError } from '../errors.js';
import { createLabel, deleteLabel, updateLabel } from '../services/labels.js';
import { decodeId, mutationErrors } from './mutations.js';

const LabelPayload = (name: string, description: string) =>
  builder.objectRef<{ labelId: string }>(name).implement({
    description,
    fields: (t) => ({
      // Nullable: reading it needs read:conversations, which a key that may write need not have.
      label: t.prismaField({
        type: 'Label',
        nullable: true,
        description: 'The label, as it is now. Null, with a FORBIDDEN error, for a key without read:conversations.',
        resolve: (query, r, _args, ctx) => ctx.db.label.findUniqueOrThrow({ ...query, where: { id: r.labelId } }),
      }),
    }),
  });

const CreateLabelInput = builder.inputType('CreateLabelInput', {
  description: 'A new label.',
  fields: (t) => ({
    name: t.string({ required: true, description: 'Name, unique in the workspace whatever its case; at most 50 characters.' }),
    color: t.string({ description: 'Hex colour, e.g. #1f6feb; grey by default.' }),
    description: t.string({ description: 'What the label is for.' }),
  }),
});

builder.mutationField('createLabel', (t) =>
  t.field({
    type: LabelPayload('CreateLabelPayload', 'The new label.'),
    description: 'Creates a label.' + MUTATION_NULL,
    nullable: true,
    authScopes: { scope: 'WRITE_CONVERSATIONS' },
    args: { input: t.arg({ type: CreateLabelInput, required: true, description: 'The label.' }) },
    errors: mutationErrors('createLabel', [ValidationError, DuplicateError]),
    resolve: async (_root, { input }, ctx) => ({ labelId: (await createLabel(serviceContext(ctx), input)).id }),
  }),
);

const UpdateLabelInput = builder.inputType('UpdateLabelInput', {
  description: 'Changes to a label; absent fields stay as they are.',
  fields: (t) => ({
    labelId: t.id({ required: true, description: 'The label.' }),
    name: t.string({ description: 'New name, unique in the workspace whatever its case.' }),
    color: t.string({ description: 'New hex colour.' }),
    description: t.string({ description: 'New description; null clears it.' }),
  }),
});

builder.mutationField('updateLabel', (t) =>
  t.field({
    type: LabelPayload('UpdateLabelPayload', 'The updated label.'),
    description: 'Renames, recolours or redescribes a label; conversations keep it.' + MUTATION_NULL,
    nullable: true,
    authScopes: { scope: 'WRITE_CONVERSATIONS' },
    args: { input: t.arg({ type: UpdateLabelInput, required: true, description: 'The changes.' }) },
    errors: mutationErrors('updateLabel', [NotFoundError, ValidationError, DuplicateError]),
    resolve: async (_root, { input }, ctx) => ({
      labelId: (await updateLabel(serviceContext(ctx), { ...input, labelId: decodeId(input.labelId, 'Label', ctx) })).id,
    }),
  }),
);

const DeleteLabelInput = builder.inputType('DeleteLabelInput', {
  description: 'The label to delete.',
  fields: (t) => ({ labelId: t.id({ required: true, description: 'The label.' }) }),
});

const DeleteLabelPayload = builder.objectRef<{ labelId: string }>('DeleteLabelPayload').implement({
  description: 'What was deleted.',
  fields: (t) => ({
    deletedLabelId: t.id({ description: 'Global id of the deleted label.', resolve: (r) => encodeGlobalID('Label', r.labelId) }),
  }),
});

builder.mutationField('deleteLabel', (t) =>
  t.field({
    type: DeleteLabelPayload,
    description: 'Deletes a label and takes it off every conversation.' + MUTATION_NULL,
    nullable: true,
    authScopes: { scope: 'WRITE_CONVERSATIONS' },
    args: { input: t.arg({ type: DeleteLabelInput, required: true, description: 'The label.' }) },
    errors: mutationErrors('deleteLabel', [NotFoundError]),
    resolve: async (_root, { input }, ctx) => {
      const labelId = decodeId(input.labelId, 'Label', ctx);
      await deleteLabel(serviceContext(ctx), labelId);
      return { labelId };
    },
  }),
);
