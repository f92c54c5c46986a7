// GraphQL enums mirror the Prisma enums; each value says what it means.
import { builder } from '../builder.js';
import * as E from '../generated/prisma/enums.js';

type Described<T extends string> = Record<T, string>;

function enumOf<T extends string>(name: string, description: string, values: Described<T>) {
  return builder.enumType(name, {
    description,
    values: Object.fromEntries(
      Object.entries(values).map(([value, desc]) => [value, { value, description: desc as string }]),
    ) as Record<T, { value: T; description: string }>,
  });
}

export const RoleEnum = enumOf<E.Role>('Role', 'What a team member may do.', {
  ADMIN: 'Manages the workspace: inboxes, team members and API keys, as well as conversations.',
  AGENT: 'Works conversations; cannot manage keys or team members.',
});

export const AvailabilityEnum = enumOf<E.Availability>('Availability', 'Whether a team member can take conversations now.', {
  ONLINE: 'Available for new conversations.',
  AWAY: 'Signed in but not taking new conversations.',
  OFFLINE: 'Not working.',
});

export const ApiKeyKindEnum = enumOf<E.ApiKeyKind>('ApiKeyKind', 'Who uses an API key, which decides what it may see.', {
  TEAM: "Used by the team's tools and dashboards: sees internal notes.",
  CONNECTOR: 'Used by channel connectors and contact-facing widgets: never sees internal notes.',
});

export const ScopeEnum = enumOf<E.Scope>('Scope', 'A permission an API key carries.', {
  READ_CONVERSATIONS: 'read:conversations: read conversations, messages, labels, handoffs and the timeline.',
  WRITE_CONVERSATIONS: 'write:conversations: change conversations, messages and labels.',
  READ_CONTACTS: 'read:contacts: read contacts and their identities.',
  WRITE_CONTACTS: 'write:contacts: create, change, merge and erase contacts.',
  ADMIN: 'admin: manage inboxes, team members and API keys; implies every other scope.',
});

export const ChannelEnum = enumOf<E.Channel>('Channel', 'The medium an inbox talks over.', {
  WHATSAPP: 'WhatsApp; contacts are known by phone number.',
  INSTAGRAM: 'Instagram direct messages; contacts are known by Instagram user id.',
  FACEBOOK: 'Facebook Messenger; contacts are known by page-scoped user id.',
  SMS: 'SMS; contacts are known by phone number.',
  EMAIL: 'Email; contacts are known by email address.',
  WEB_CHAT: 'The web chat widget on your site.',
  VOICE: 'Phone calls; contacts are known by phone number.',
});

export const ConversationStatusEnum = enumOf<E.ConversationStatus>('ConversationStatus', 'Where a conversation stands in its lifecycle.', {
  OPEN: 'Needs attention from the AI or the team.',
  PENDING: 'Waiting on the customer.',
  SNOOZED: 'Set aside until `snoozedUntil`, when it reopens by itself.',
  RESOLVED: 'The issue was addressed; it may reopen.',
  CLOSED: 'Finished; reopens if the contact writes again.',
  ARCHIVED: 'Final and read-only; a new message from the contact starts a new conversation.',
});

export const ControllerEnum = enumOf<E.Controller>('Controller', 'Who answers the contact.', {
  AI_AGENT: 'The AI agent answers.',
  HUMAN: 'A human has taken over (a handoff is open); the AI must not talk.',
});

export const PriorityEnum = enumOf<E.Priority>('Priority', 'How urgent a conversation is.', {
  NONE: 'No priority set.',
  LOW: 'Low.',
  MEDIUM: 'Medium.',
  HIGH: 'High.',
  URGENT: 'Urgent: handle first.',
});

export const ResolutionReasonEnum = enumOf<E.ResolutionReason>('ResolutionReason', 'Why a conversation was resolved.', {
  ISSUE_RESOLVED: "The contact's issue was addressed.",
  NOT_ISSUE: 'There was nothing to solve.',
  DUPLICATE: 'Another conversation covers it.',
  SPAM: 'Spam or abuse.',
});

export const ContentTypeEnum = enumOf<E.ContentType>('ContentType', 'What a message mainly carries.', {
  TEXT: 'Text.',
  IMAGE: 'An image (see attachments).',
  AUDIO: 'Audio, such as a voice note.',
  VIDEO: 'A video.',
  DOCUMENT: 'A document such as a PDF.',
  ATTACHMENT: 'Other attached files.',
  CARD: 'A rich card with actions (see card).',
});

export const SenderTypeEnum = enumOf<E.SenderType>('SenderType', 'Who wrote a message.', {
  CONTACT: 'The customer (inbound, posted by a channel connector).',
  HUMAN: 'A team member.',
  AI_AGENT: 'The AI agent.',
  SYSTEM: 'Parley or an automation.',
});

export const MessageStatusEnum = enumOf<E.MessageStatus>('MessageStatus', 'Delivery status of a message.', {
  RECEIVED: 'Inbound: received from the contact.',
  PENDING: 'Outbound: not yet handed to the channel.',
  SENT: 'Outbound: accepted by the channel.',
  DELIVERED: "Outbound: delivered to the contact's device.",
  READ: 'Outbound: read by the contact.',
  FAILED: 'Outbound: could not be delivered (see errorReason).',
});

export const ActorTypeEnum = enumOf<E.ActorType>('ActorType', 'Who did something recorded in the timeline.', {
  USER: 'A team member (through a key acting as them).',
  API_KEY: 'An integration, through an API key acting as no user.',
  CONTACT: 'The contact.',
  AI_AGENT: 'The AI agent.',
  SYSTEM: 'Parley itself, e.g. waking a snoozed conversation.',
  AUTOMATION: 'An automation rule of the workspace (see automationRules).',
});

export const EventTypeEnum = enumOf<E.EventType>('TimelineEventType', 'What happened, in a timeline event.', {
  CONVERSATION_CREATED: 'A conversation was created.',
  MESSAGE_ADDED: 'A message or internal note was added.',
  MESSAGE_STATUS_CHANGED: "A message's delivery status changed.",
  MESSAGE_DELETED: 'A message was deleted (its tombstone stays).',
  ASSIGNED: 'The assignee changed.',
  STATUS_CHANGED: 'The status changed: resolve, close, archive, reopen, pending, snooze or wake.',
  LABELS_CHANGED: 'Labels were added or removed.',
  PRIORITY_CHANGED: 'The priority changed.',
  CONVERSATION_UPDATED: 'The subject or custom attributes changed.',
  HANDOFF_STARTED: 'A human took over from the AI.',
  HANDOFF_COMPLETED: 'Control went back to the AI.',
  CONVERSATION_DELETED: 'A conversation and its messages were deleted.',
  CONTACTS_MERGED: 'Two contacts were merged.',
  CONTACT_DELETED: 'A contact was erased with their conversations.',
  CONVERSATION_READ: "The team read the conversation: its unread count went back to zero.",
  SATISFACTION_RECORDED: "The contact's satisfaction rating was recorded.",
  SURVEY_ANSWERED: 'The contact answered a satisfaction survey, or changed the answer (after: surveyId, rating, comment).',
  LABEL_CREATED: 'A label was created.',
  LABEL_UPDATED: 'A label was renamed, recoloured or redescribed.',
  LABEL_DELETED: 'A label was deleted and taken off every conversation.',
  CONTACT_CREATED: 'A contact was created.',
  CONTACT_UPDATED: "A contact's name, email, phone or attributes changed.",
});
