// Abuse limits, as yoga/envelop plugins: the same plugins run for HTTP requests and for
// operations over WebSocket, since both go through yoga's envelop pipeline.
//
// - shape limits (graphql-armor): depth, aliases, directives, tokens; field suggestions
//   are not given away when introspection is off;
// - query cost, computed before execution (src/security/cost.ts): a maximum per query and a
//   budget per key per minute (src/security/budget.ts); every response says in
//   `extensions.cost` what the query cost and what is left;
// - an execution timeout for queries (mutations end with their transaction), a cap on list
//   inputs, U+0000 and lone surrogates refused in any text, input nested too deep refused
//   before anything recurses on it (src/security/input.ts), JSON bodies that are not UTF-8 refused,
//   introspection off by configuration.
import { EnvelopArmor } from '@escape.tech/graphql-armor';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { GraphQLError, NoSchemaIntrospectionCustomRule, getOperationAST, type ExecutionResult } from 'graphql';
import type { GraphQLParams, Plugin } from 'graphql-yoga';
import type { Context } from '../context.js';
import { badInput, requestError } from '../errors.js';
import { rateLimited } from '../metrics.js';
import type { Budget } from './budget.js';
import { computeCost } from './cost.js';
import { documentHoldsNul, documentTextProblem, variablesProblem, type InputProblem } from './input.js';

export interface Limits {
  maxDepth: number;
  maxAliases: number;
  maxDirectives: number;
  maxTokens: number;
  maxCost: number;
  /** Items allowed in any list given as a variable. */
  maxListInput: number;
  /** Levels of braces, brackets and parentheses in a document, and of objects and lists in the variables. */
  maxNesting: number;
  executionTimeoutMs: number;
  introspection: boolean;
}

export const DEFAULT_LIMITS: Limits = {
  maxDepth: 12,
  maxAliases: 30,
  maxDirectives: 20,
  maxTokens: 4_000,
  maxCost: 20_000,
  maxListInput: 1_000,
  maxNesting: 64,
  executionTimeoutMs: 15_000,
  introspection: true,
};

function longestList(value: unknown, depth = 0): number {
  if (depth > 10 || value === null || typeof value !== 'object') return 0;
  if (Array.isArray(value)) return Math.max(value.length, ...value.slice(0, 1000).map((v) => longestList(v, depth + 1)));
  return Math.max(0, ...Object.values(value).map((v) => longestList(v, depth + 1)));
}

function inputRefusal(problem: InputProblem, where: 'document' | 'variables', maxNesting: number): GraphQLError {
  switch (problem) {
    case 'NUL_CHARACTER':
      return badInput('Text may not contain the NUL character (U+0000).', { reason: problem });
    case 'LONE_SURROGATE':
      return badInput('Text may not contain a lone UTF-16 surrogate (a code unit from U+D800 to U+DFFF without its pair).', { reason: problem });
    case 'NESTING':
      return badInput(
        where === 'document'
          ? `A document may nest braces, brackets and parentheses at most ${maxNesting} levels deep.`
          : `Variables may nest objects and lists at most ${maxNesting} levels deep.`,
        { reason: problem, limit: maxNesting },
      );
  }
}

/**
 * The document's text is checked before it is parsed: graphql-js's parser recurses on nesting
 * (and overflows the stack some two thousand levels down), and refuses a lone surrogate only as
 * a syntax error.
 */
const checkedDocumentText = (maxNesting: number): Plugin<Context> => ({
  onParse({ params }) {
    const source = typeof params.source === 'string' ? params.source : params.source.body;
    const problem = documentTextProblem(source, maxNesting);
    if (problem) throw inputRefusal(problem, 'document', maxNesting);
  },
});

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const badRequest = (message: string) => requestError('BAD_REQUEST', message, {}, 400);

/**
 * POST bodies are JSON, decoded strictly. Other bodies (form posts, multipart, raw GraphQL
 * text, anything else) are refused with 415 and a JSON error: Parley takes no uploads, and
 * yoga's parsers for them would read invalid bytes as U+FFFD. Bytes that are not UTF-8 are
 * refused (400 BAD_REQUEST) rather than stored. Otherwise as yoga's own JSON parser, whose
 * messages it keeps, but without echoing the parser's error (a piece of the body).
 */
const strictJsonBodies: Plugin<Context> = {
  onRequestParse({ request, setRequestParser }) {
    if (request.method !== 'POST') return;
    const type = request.headers.get('content-type') ?? '';
    if (!/^application\/(graphql\+)?json\b/i.test(type)) {
      setRequestParser(() => {
        throw requestError('UNSUPPORTED_MEDIA_TYPE', `POST bodies must be JSON (content-type: application/json), not ${type.split(';')[0] || 'untyped'}.`, {}, 415);
      });
      return;
    }
    setRequestParser(async (req) => {
      // Reading may fail on its own (an aborted upload, a size limit): that is not decoding.
      const bytes = await req.arrayBuffer();
      let text: string;
      try {
        text = strictUtf8.decode(bytes);
      } catch {
        throw badRequest('POST body is not valid UTF-8.');
      }
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        throw badRequest('POST body sent invalid JSON.');
      }
      if (body === null || typeof body !== 'object') throw badRequest(`POST body is expected to be object but received ${body === null ? 'null' : typeof body}`);
      return body as GraphQLParams;
    });
  },
};

type WithCost = { __cost?: { requested: number; limit: number; remaining: number | null; budget: number | null } };

/** What the operation of this context cost (null when it was refused before its cost was known). */
export function costOf(context: object): number | null {
  return (context as WithCost).__cost?.requested ?? null;
}

export function securityPlugins(limits: Limits, budget: Budget | null): Plugin<Context>[] {
  const armor = new EnvelopArmor({
    maxDepth: { n: limits.maxDepth, ignoreIntrospection: true, flattenFragments: true },
    maxAliases: { n: limits.maxAliases },
    maxDirectives: { n: limits.maxDirectives },
    maxTokens: { n: limits.maxTokens },
    costLimit: { enabled: false }, // ours knows connections: see cost.ts
    blockFieldSuggestion: { enabled: !limits.introspection },
  }).protect();

  const charge = async (args: {
    schema: Parameters<typeof computeCost>[0];
    document: Parameters<typeof computeCost>[1];
    variableValues?: Record<string, unknown> | null;
    operationName?: string | null;
    contextValue: unknown;
  }): Promise<ExecutionResult | null> => {
    const ctx = args.contextValue as Context & WithCost;
    const variables = args.variableValues ?? {};
    if (longestList(variables) > limits.maxListInput) {
      return { errors: [badInput(`Lists given as input may hold at most ${limits.maxListInput} items.`)] };
    }
    // PostgreSQL text and JSON cannot hold U+0000 nor a lone surrogate: refused here, once,
    // for every input (a document's lone surrogates were refused before it was parsed).
    const problem = variablesProblem(variables, limits.maxNesting) ?? (documentHoldsNul(args.document) ? 'NUL_CHARACTER' : null);
    if (problem) return { errors: [inputRefusal(problem, 'variables', limits.maxNesting)] };
    const requested = computeCost(args.schema, args.document, variables, args.operationName);
    if (requested > limits.maxCost) {
      return {
        errors: [
          requestError('BAD_USER_INPUT', `This query would cost ${requested} points; the most a query may cost is ${limits.maxCost}. Ask for smaller pages or fewer nested connections.`, {
            cost: { requested, limit: limits.maxCost },
          }),
        ],
      };
    }
    let remaining: number | null = null;
    const budgetKey = ctx.auth?.apiKeyId ?? ctx.platform?.platformKeyId;
    if (budget && budgetKey) {
      const decision = await budget.take(budgetKey, requested);
      remaining = decision.remaining;
      if (!decision.allowed) {
        rateLimited.inc({ limit: 'cost_budget' });
        const retryAfterSeconds = Math.ceil(decision.retryAfterMs / 1000);
        return {
          errors: [
            requestError('RATE_LIMITED', `This key's cost budget is spent: the query costs ${requested} points and ${decision.remaining} are left. Retry in ${retryAfterSeconds} s.`, {
              retryAfterSeconds,
              cost: { requested, remaining: decision.remaining, budget: decision.capacity },
            }, 429),
          ],
        };
      }
    }
    ctx.__cost = { requested, limit: limits.maxCost, remaining, budget: budget && budgetKey ? budget.capacity : null };
    return null;
  };

  // In place, not in a copy: a planned result's data is parsed only when read (src/planner/plugin.ts).
  const withCostExtension = (result: ExecutionResult, ctx: WithCost): ExecutionResult => {
    if (ctx.__cost) (result as { extensions?: Record<string, unknown> }).extensions = { ...result.extensions, cost: ctx.__cost };
    return result;
  };

  const plugins: Plugin<Context>[] = [
    ...(armor.plugins as Plugin<Context>[]),
    useCSRFPrevention({ requestHeaders: ['x-api-key', 'authorization', 'x-graphql-yoga-csrf'] }) as Plugin<Context>,
    strictJsonBodies,
    checkedDocumentText(limits.maxNesting),
    {
      onValidate({ addValidationRule }) {
        if (!limits.introspection) addValidationRule(NoSchemaIntrospectionCustomRule);
        // graphql-armor's refusals carry no code: give every validation error one.
        return ({ result, setResult }) => {
          if (result.some((e) => !e.extensions?.code)) {
            setResult(
              result.map((e) =>
                e.extensions?.code ? e : new GraphQLError(e.message, { nodes: e.nodes, extensions: { ...e.extensions, code: 'GRAPHQL_VALIDATION_FAILED' } }),
              ),
            );
          }
        };
      },
      async onExecute({ args, setResultAndStopExecution, executeFn, setExecuteFn }) {
        const refused = await charge(args);
        if (refused) return setResultAndStopExecution(refused);
        // A mutation is not cut off from outside: answering "stopped" while its transaction
        // goes on to commit would invite a retry that writes twice. Its transactions get the
        // deadline instead (src/services/timeline.ts): each ends by then or rolls back.
        const isMutation = getOperationAST(args.document, args.operationName)?.operation === 'mutation';
        if (isMutation) (args.contextValue as Context).deadline = Date.now() + limits.executionTimeoutMs;
        else setExecuteFn(async (executeArgs) => {
          let timer: NodeJS.Timeout | undefined;
          const timeout = new Promise<ExecutionResult>((resolve) => {
            timer = setTimeout(
              () => resolve({ errors: [requestError('TIMEOUT', `The query took longer than ${limits.executionTimeoutMs} ms and was stopped.`)] }),
              limits.executionTimeoutMs,
            );
          });
          try {
            return await Promise.race([executeFn(executeArgs) as Promise<ExecutionResult>, timeout]);
          } finally {
            clearTimeout(timer);
          }
        });
        return {
          onExecuteDone({ result, setResult }) {
            if ('data' in result || 'errors' in result) setResult(withCostExtension(result as ExecutionResult, args.contextValue as WithCost));
          },
        };
      },
      async onSubscribe({ args, setResultAndStopExecution }) {
        const refused = await charge(args);
        if (refused) setResultAndStopExecution(refused);
      },
    },
  ];
  return plugins;
}
