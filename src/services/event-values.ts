// What a key may read of a timeline event's before/after values.
//
// Some events record figures that count internal notes: MESSAGE_ADDED, MESSAGE_DELETED and
// CONVERSATION_DELETED record the conversation's messageCount, CONTACT_DELETED the number of
// messages erased. Those events are visible to CONNECTOR keys (contact-facing widgets), which
// must never learn that notes exist. So each such event records the figure twice, with and
// without notes, and CONNECTOR keys read the public one under the plain name: for them
// messageCount is the count without notes, as Conversation.messageCount is. This is the one
// place that decides it, whichever way an event is read (a query, node(id), a live payload).

/** Each figure that counts internal notes, and its counterpart that does not. */
export const PUBLIC_FIGURES = {
  messageCount: 'publicMessageCount',
  messages: 'publicMessages',
} as const;

type Values = Record<string, unknown>;

/**
 * An event's before or after values as the key may read them: unchanged for TEAM keys; for
 * CONNECTOR keys, each figure that counts notes replaced by its public counterpart (and
 * dropped when the event predates the counterpart, as nothing tells how many were notes).
 */
export function eventValuesFor(kind: 'TEAM' | 'CONNECTOR' | null | undefined, values: unknown): unknown {
  if (kind === 'TEAM' || !values || typeof values !== 'object' || Array.isArray(values)) return values;
  let out: Values | null = null;
  for (const [all, pub] of Object.entries(PUBLIC_FIGURES)) {
    if (!(all in values) && !(pub in values)) continue;
    out ??= { ...(values as Values) };
    delete out[all];
    delete out[pub];
    if (pub in values) out[all] = (values as Values)[pub];
  }
  return out ?? values;
}
