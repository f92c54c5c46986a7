// What a webhook body holds. Every body has the same envelope:
//   { "type": <ConversationEventKind>, "timestamp": <when it happened>, "cursor": <timeline cursor>,
//     "data": <the conversationEvents selection for the event> }
// `data` is the result of a GraphQL subscription document on `conversationEvents`, executed
// for the event as a key of the endpoint's kind would see it: the default document below, or
// the endpoint's own (checked when it is saved by payloadDocumentProblem).
import { getOperationAST, Kind, parse, validate, type DocumentNode, type FieldNode, type GraphQLSchema, type SelectionSetNode } from 'graphql';

export const DEFAULT_PAYLOAD_DOCUMENT = /* GraphQL */ `
subscription ParleyWebhook {
  conversationEvents {
    cursor
    kind
    conversationId
    event {
      id
      type
      createdAt
      actorType
      actorUser { id name email }
      actorContact { id name }
      before
      after
      note
    }
    conversation {
      id
      number
      subject
      status
      controller
      priority
      messageCount
      unreadCount
      waitingSince
      lastMessageAt
      snoozedUntil
      resolutionReason
      customAttributes
      createdAt
      updatedAt
      contact { id name email phone customAttributes }
      inbox { id name channel }
      assignee { id name email }
      labels { id name color }
    }
    message {
      id
      content
      contentType
      senderType
      private
      status
      providerMessageId
      attachments { name url mimeType size }
      senderUser { id name }
      createdAt
      deletedAt
    }
  }
}`;

/** Contact events (a CRM sync) have a payload of their own: the contactEvents selection. */
export const CONTACT_PAYLOAD_DOCUMENT = /* GraphQL */ `
subscription ParleyContactWebhook {
  contactEvents {
    cursor
    kind
    contactId
    event { id type createdAt actorType actorUser { id name email } before after }
    contact { id name email phone customAttributes createdAt updatedAt identities { channel handle } }
  }
}`;

function depthOf(set: SelectionSetNode | undefined, level = 1): number {
  if (!set) return level - 1;
  let max = level;
  for (const s of set.selections) max = Math.max(max, depthOf((s as FieldNode).selectionSet, level + 1));
  return max;
}

/**
 * Why a custom payload document cannot be used, or null when it can: it must parse, be valid
 * against the schema, and be one subscription operation selecting `conversationEvents` (no
 * arguments: the endpoint's filter does that job; no variables), within the depth limit.
 */
export function payloadDocumentProblem(schema: GraphQLSchema, text: string, maxDepth: number): string | null {
  let document: DocumentNode;
  try {
    document = parse(text, { maxTokens: 4000 });
  } catch (e) {
    return `it does not parse: ${(e as Error).message}`;
  }
  const operations = document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
  if (operations.length !== 1) return 'it must hold exactly one operation';
  const op = getOperationAST(document)!;
  if (op.operation !== 'subscription') return 'it must be a subscription operation (subscription { conversationEvents { ... } })';
  if (op.variableDefinitions?.length) return 'it must not declare variables';
  const roots = op.selectionSet.selections;
  if (roots.length !== 1 || roots[0]!.kind !== Kind.FIELD || roots[0]!.name.value !== 'conversationEvents') {
    return 'it must select conversationEvents, and only it';
  }
  if (roots[0]!.arguments?.length) return "conversationEvents must take no arguments here: the endpoint's filter and event kinds choose the events";
  const errors = validate(schema, document);
  if (errors.length) return errors.map((e) => e.message).join(' ');
  if (depthOf(op.selectionSet) > maxDepth) return `it nests deeper than ${maxDepth} levels`;
  return null;
}
