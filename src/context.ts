// The request context: who is calling, and a database client scoped to their workspace.
import type { Prisma, PrismaClient } from './generated/prisma/client.js';
import type { Database } from './db/client.js';
import { scopeToWorkspace, type ScopedDb } from './db/tenant.js';
import type { Logger } from './logger.js';
import type { Events } from './pubsub.js';
import type { LiveHub } from './subscriptions/hub.js';
import type { AuthInfo } from './services/auth.js';
import type { PlatformAuth } from './services/platform.js';
import type { ServiceContext } from './services/timeline.js';
import type { SurveySettings } from './services/surveys.js';
import type { WebhookDeps } from './services/webhooks.js';
import type { WebhookSender } from './workers/webhook-sender.js';
import { unauthenticated } from './errors.js';

/** A workspace id that matches no row: the scope of a request that has no key. */
const NO_WORKSPACE = '00000000-0000-0000-0000-000000000000';

export interface Context {
  /** Null when the request carries no key: only introspection answers then. */
  auth: AuthInfo | null;
  /** A platform key (src/services/platform.ts): then `auth` is null, and only the platform's fields answer. */
  platform: PlatformAuth | null;
  /** Every query and write goes through this client; it is scoped to the caller's workspace. */
  db: ScopedDb;
  /** The unscoped client, for the few lookups that precede a workspace (authentication). */
  prisma: PrismaClient;
  pubsub: Events['pubsub'];
  /** Where subscription fields get their events (src/subscriptions/hub.ts). */
  live: LiveHub | null;
  logger: Logger;
  requestId: string;
  /** Webhook secrets and URL policy, and the sender that makes test deliveries. */
  webhooks: WebhookRuntime | null;
  /** When a mutation must be done by (ms since the epoch), set by the execution-timeout plugin. */
  deadline?: number;
  /** Called after a transaction with events commits: wakes the workers that read the timeline. */
  onCommit?: () => void;
  /** How survey links are made. */
  surveys?: SurveySettings;
  /** Runs a statement that builds JSON, and returns its text (the query planner's; see Database.jsonText). */
  jsonText: Database['jsonText'];
}

export interface WebhookRuntime extends WebhookDeps {
  sender: WebhookSender;
  /** The depth limit a custom payload document must keep. */
  maxDepth: number;
}

export interface AppDeps {
  prisma: PrismaClient;
  events: Events;
  logger: Logger;
  live?: LiveHub;
  webhooks?: WebhookRuntime;
  /** Called after a transaction with events commits (the automation runner looks at once). */
  onCommit?: () => void;
  /** How survey links are made (PUBLIC_URL, SURVEY_TTL_DAYS). */
  surveys?: SurveySettings;
  /** Runs the query planner's statements (Database.jsonText). */
  jsonText: Database['jsonText'];
}

export function buildContext(deps: AppDeps, auth: AuthInfo | null, requestId: string, platform: PlatformAuth | null = null): Context {
  return {
    auth,
    platform,
    db: scopeToWorkspace(deps.prisma, auth?.workspaceId ?? NO_WORKSPACE),
    prisma: deps.prisma,
    pubsub: deps.events.pubsub,
    live: deps.live ?? null,
    webhooks: deps.webhooks ?? null,
    onCommit: deps.onCommit,
    surveys: deps.surveys,
    jsonText: deps.jsonText,
    logger: deps.logger.child({ requestId }),
    requestId,
  };
}

/** Internal notes (private messages, notes on events and resolutions) are for TEAM keys only. */
export function seesInternalNotes(ctx: Pick<Context, 'auth'>): boolean {
  return ctx.auth?.kind === 'TEAM';
}

/** The caller as services see it: the scoped client, the workspace and the actor. */
export function serviceContext(ctx: Context): ServiceContext {
  if (!ctx.auth) throw unauthenticated('An API key is required: send it as X-API-Key or Authorization: Bearer.');
  const { workspaceId, userId, apiKeyId } = ctx.auth;
  return {
    db: ctx.db,
    workspaceId,
    actor: userId ? { type: 'USER', userId, apiKeyId } : { type: 'API_KEY', apiKeyId },
    pubsub: ctx.pubsub,
    deadline: ctx.deadline,
    committed: ctx.onCommit,
    surveys: ctx.surveys,
  };
}
