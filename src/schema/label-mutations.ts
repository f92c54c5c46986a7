// Mutations on the workspace's labels: createLabel, updateLabel, deleteLabel.
// (Labels on a conversation: addLabels, removeLabels, setLabels in conversation-mutations.ts.)
import { encodeGlobalID } from '@pothos/plugin-relay';
import { builder } from '../builder.js';
import { serviceContext } from '../context.js';
import { DuplicateError, NotFoundError, ValidationError } from '../errors.js';
import { createLabel, deleteLabel, updateLabel } from '../services/labels.js';
import { decodeId, mutationErrors } from './mutations.js';

const LabelPayload = (name: string, description: string) =>
  builder.objectRef<{ labelId: string }>(name).implement({
    description,
    fields: (t) => ({
      label: t.prismaField({
        type: 'Label',
        description: 'The label, as it is now.',
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
    description: 'Creates a label.',
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
    description: 'Renames, recolours or redescribes a label; conversations keep it.',
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
    description: 'Deletes a label and takes it off every conversation.',
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
