// Mutations on contacts (write:contacts): createContact, updateContact, mergeContacts,
// deleteContact (erasure).
import { encodeGlobalID } from '@pothos/plugin-relay';
import { builder } from '../builder.js';
import { MUTATION_NULL } from './nullability.js';
import { serviceContext } from '../context.js';
import { DuplicateError, NotFoundError, ValidationError } from '../errors.js';
import { createContact, deleteContact, mergeContacts, updateContact } from '../services/contacts.js';
import { ChannelEnum } from './enums.js';
import { decodeId, mutationErrors } from './mutations.js';

const ContactPayload = (name: string, description: string) =>
  builder.objectRef<{ contactId: string }>(name).implement({
    description,
    fields: (t) => ({
      // Nullable: reading it needs read:contacts, which a key that may write need not have.
      contact: t.prismaField({
        type: 'Contact',
        nullable: true,
        description: 'The contact, as it is now. Null, with a FORBIDDEN error, for a key without read:contacts.',
        resolve: (query, r, _args, ctx) => ctx.db.contact.findUniqueOrThrow({ ...query, where: { id: r.contactId } }),
      }),
    }),
  });

const ContactIdentityInput = builder.inputType('ContactIdentityInput', {
  description: 'How the contact is known on one channel.',
  fields: (t) => ({
    channel: t.field({ type: ChannelEnum, required: true, description: 'The channel.' }),
    handle: t.string({ required: true, description: 'The address on that channel: an E.164 phone for SMS, WhatsApp and voice, an email for email, a user id or handle otherwise.' }),
  }),
});

const CreateContactInput = builder.inputType('CreateContactInput', {
  description: 'A new contact.',
  fields: (t) => ({
    name: t.string({ description: 'Name.' }),
    email: t.string({ description: 'Email address, unique in the workspace.' }),
    phone: t.string({ description: 'Phone number in E.164 form (+14155550123), unique in the workspace.' }),
    customAttributes: t.field({ type: 'JSONObject', description: 'Free-form attributes.' }),
    identities: t.field({ type: [ContactIdentityInput], description: 'How the contact is known on each channel; each unique in the workspace.' }),
  }),
});

builder.mutationField('createContact', (t) =>
  t.field({
    type: ContactPayload('CreateContactPayload', 'The new contact.'),
    description: 'Creates a contact.' + MUTATION_NULL,
    nullable: true,
    authScopes: { scope: 'WRITE_CONTACTS' },
    args: { input: t.arg({ type: CreateContactInput, required: true, description: 'The contact.' }) },
    errors: mutationErrors('createContact', [ValidationError, DuplicateError]),
    resolve: async (_root, { input }, ctx) => ({ contactId: (await createContact(serviceContext(ctx), input)).id }),
  }),
);

const UpdateContactInput = builder.inputType('UpdateContactInput', {
  description: 'Changes to a contact; absent fields stay as they are, null clears name, email or phone.',
  fields: (t) => ({
    contactId: t.id({ required: true, description: 'The contact.' }),
    name: t.string({ description: 'New name.' }),
    email: t.string({ description: 'New email address, unique in the workspace.' }),
    phone: t.string({ description: 'New phone number in E.164 form, unique in the workspace.' }),
    customAttributes: t.field({ type: 'JSONObject', description: 'New custom attributes: they replace the current ones.' }),
  }),
});

builder.mutationField('updateContact', (t) =>
  t.field({
    type: ContactPayload('UpdateContactPayload', 'The updated contact.'),
    description: "Changes a contact's name, email, phone or custom attributes." + MUTATION_NULL,
    nullable: true,
    authScopes: { scope: 'WRITE_CONTACTS' },
    args: { input: t.arg({ type: UpdateContactInput, required: true, description: 'The changes.' }) },
    errors: mutationErrors('updateContact', [NotFoundError, ValidationError, DuplicateError]),
    resolve: async (_root, { input }, ctx) => ({
      contactId: (await updateContact(serviceContext(ctx), { ...input, contactId: decodeId(input.contactId, 'Contact', ctx) })).id,
    }),
  }),
);

const MergeContactsInput = builder.inputType('MergeContactsInput', {
  description: 'Two records of the same person.',
  fields: (t) => ({
    survivorId: t.id({ required: true, description: 'The contact that remains.' }),
    duplicateId: t.id({ required: true, description: 'The contact that disappears into the survivor.' }),
  }),
});

builder.mutationField('mergeContacts', (t) =>
  t.field({
    type: ContactPayload('MergeContactsPayload', 'The surviving contact, with what it took over.'),
    description:
      "Merges a duplicate contact into a survivor: the duplicate's conversations, identities and surveys move to the survivor, the survivor's missing name, email and phone are taken from the duplicate, and the duplicate disappears." + MUTATION_NULL,
    nullable: true,
    authScopes: { scope: 'WRITE_CONTACTS' },
    args: { input: t.arg({ type: MergeContactsInput, required: true, description: 'The contacts.' }) },
    errors: mutationErrors('mergeContacts', [NotFoundError, ValidationError]),
    resolve: async (_root, { input }, ctx) => ({
      contactId: (
        await mergeContacts(serviceContext(ctx), {
          survivorId: decodeId(input.survivorId, 'Contact', ctx),
          duplicateId: decodeId(input.duplicateId, 'Contact', ctx),
        })
      ).id,
    }),
  }),
);

const DeleteContactInput = builder.inputType('DeleteContactInput', {
  description: 'The contact to erase.',
  fields: (t) => ({ contactId: t.id({ required: true, description: 'The contact.' }) }),
});

const DeleteContactPayload = builder.objectRef<{ contactId: string }>('DeleteContactPayload').implement({
  description: 'What was erased.',
  fields: (t) => ({
    deletedContactId: t.id({ description: 'Global id of the erased contact.', resolve: (r) => encodeGlobalID('Contact', r.contactId) }),
  }),
});

builder.mutationField('deleteContact', (t) =>
  t.field({
    type: DeleteContactPayload,
    description:
      'Erases a contact: the contact, its identities, conversations and messages, and the timeline events about them are deleted. What remains has no content: a CONVERSATION_DELETED event per conversation (live lists drop them) and one CONTACT_DELETED event.' + MUTATION_NULL,
    nullable: true,
    authScopes: { scope: 'WRITE_CONTACTS' },
    args: { input: t.arg({ type: DeleteContactInput, required: true, description: 'The contact.' }) },
    errors: mutationErrors('deleteContact', [NotFoundError]),
    resolve: async (_root, { input }, ctx) => {
      const contactId = decodeId(input.contactId, 'Contact', ctx);
      await deleteContact(serviceContext(ctx), contactId);
      return { contactId };
    },
  }),
);
