import { builder } from '../builder.js';
import { seesInternalNotes } from '../context.js';
import { ContentTypeEnum, MessageStatusEnum, SenderTypeEnum } from './enums.js';

export interface AttachmentShape {
  name: string;
  url: string;
  mimeType: string;
  size: number;
}
export interface CardActionShape {
  label: string;
  url?: string | null;
  action?: string | null;
}
export interface CardShape {
  title: string;
  description?: string | null;
  actions?: CardActionShape[];
}

export const Attachment = builder.objectRef<AttachmentShape>('Attachment').implement({
  description: 'A file sent with a message.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'File name.' }),
    url: t.exposeString('url', { description: 'Where the file can be fetched.' }),
    mimeType: t.exposeString('mimeType', { description: 'MIME type, e.g. image/png.' }),
    size: t.exposeInt('size', { description: 'Size in bytes.' }),
  }),
});

export const CardAction = builder.objectRef<CardActionShape>('CardAction').implement({
  description: 'A button on a card: it opens a URL or triggers a named action.',
  fields: (t) => ({
    label: t.exposeString('label', { description: 'Text on the button.' }),
    url: t.exposeString('url', { nullable: true, description: 'The URL it opens; null for a button that only triggers an action.' }),
    action: t.exposeString('action', { nullable: true, description: 'The action name it triggers; null for a plain link.' }),
  }),
});

export const Card = builder.objectRef<CardShape>('Card').implement({
  description: 'A rich message: a title, a description and actions.',
  fields: (t) => ({
    title: t.exposeString('title', { description: 'Title.' }),
    description: t.exposeString('description', { nullable: true, description: 'Body text; null when the card has none.' }),
    actions: t.field({ type: [CardAction], description: 'Buttons, in order.', resolve: (c) => c.actions ?? [] }),
  }),
});

export const MessageNode = builder.prismaNode('Message', {
  description: 'A message in a conversation, or an internal note (private) that the contact never sees.',
  authScopes: { scope: 'READ_CONVERSATIONS' },
  nullable: true,
  id: { field: 'id', description: 'Global id of the message.' },
  // CONNECTOR keys never see internal notes, not even by id.
  findUnique: (id, ctx) => (seesInternalNotes(ctx) ? { id } : { id, private: false }),
  fields: (t) => ({
    conversation: t.relation('conversation', { description: 'The conversation the message belongs to.' }),
    content: t.exposeString('content', { nullable: true, description: 'Text content; null once the message is deleted.' }),
    contentType: t.expose('contentType', { type: ContentTypeEnum, description: 'What the message mainly carries.' }),
    attachments: t.field({
      type: [Attachment],
      description: 'Attached files; empty once the message is deleted.',
      resolve: (m) => (m.deletedAt ? [] : ((m.attachments as unknown as AttachmentShape[]) ?? [])),
    }),
    card: t.field({
      type: Card,
      nullable: true,
      description: 'The card, for CARD messages; null for other messages and once deleted.',
      resolve: (m) => (m.deletedAt ? null : ((m.card as unknown as CardShape | null) ?? null)),
    }),
    senderType: t.expose('senderType', { type: SenderTypeEnum, description: 'Who wrote it.' }),
    senderUser: t.relation('senderUser', { nullable: true, description: 'The team member who wrote it, for HUMAN messages; null otherwise.' }),
    senderContact: t.relation('senderContact', { nullable: true, description: 'The contact who wrote it, for CONTACT messages; null otherwise, and (with a FORBIDDEN error) for a key without read:contacts.' }),
    private: t.exposeBoolean('private', { description: 'An internal note: visible to TEAM keys only, never to the contact.' }),
    status: t.expose('status', { type: MessageStatusEnum, description: 'Delivery status.' }),
    errorReason: t.exposeString('errorReason', { nullable: true, description: 'Why delivery failed, for FAILED messages; null otherwise.' }),
    providerMessageId: t.exposeString('providerMessageId', { nullable: true, description: "The channel provider's id for the message (a WhatsApp message id, an email Message-ID); null when there is none." }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the message was written.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When the message last changed (e.g. a delivery receipt).' }),
    deletedAt: t.expose('deletedAt', { type: 'DateTime', nullable: true, description: 'When the message was deleted (its tombstone stays in the thread); null while it is not.' }),
  }),
});
