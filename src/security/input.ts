// Checks of a request's raw input, made before anything reads it deeply: the text of the
// document before it is parsed, and the variables before they are coerced. Every walk here is
// a loop over an explicit stack or a single pass over the text: the input decides how deep it
// nests, so nothing that reads it may recurse on it (graphql-js's parser overflows the stack on
// a literal nested some two thousand levels deep, JSON.stringify on variables nested deeper).
import { BREAK, visit, type DocumentNode } from 'graphql';

const NUL = '\u0000';

/** A UTF-16 surrogate without its other half, which no UTF-8 text (and no PostgreSQL text) can hold. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function hasLoneSurrogate(text: string): boolean {
  return LONE_SURROGATE.test(text);
}

export type InputProblem = 'NUL_CHARACTER' | 'LONE_SURROGATE' | 'NESTING';

function textProblem(text: string): InputProblem | null {
  if (text.includes(NUL)) return 'NUL_CHARACTER';
  if (hasLoneSurrogate(text)) return 'LONE_SURROGATE';
  return null;
}

/**
 * The first problem of the variables: text (strings and object keys, at any depth) holding
 * U+0000 or a lone surrogate, or objects and lists nested more than `maxNesting` levels deep.
 */
export function variablesProblem(variables: unknown, maxNesting: number): InputProblem | null {
  const stack: [unknown, number][] = [[variables, 0]];
  while (stack.length) {
    const [value, depth] = stack.pop()!;
    if (typeof value === 'string') {
      const problem = textProblem(value);
      if (problem) return problem;
    } else if (value !== null && typeof value === 'object') {
      // The variables object itself is level 0: `{ "input": { ... } }` nests 1 level.
      if (depth > maxNesting) return 'NESTING';
      if (Array.isArray(value)) {
        for (const v of value) stack.push([v, depth + 1]);
      } else {
        for (const [k, v] of Object.entries(value)) {
          const problem = textProblem(k);
          if (problem) return problem;
          stack.push([v, depth + 1]);
        }
      }
    }
  }
  return null;
}

const HEX = /^[0-9a-fA-F]{4}$/;
const isLead = (c: number) => c >= 0xd800 && c <= 0xdbff;
const isTrail = (c: number) => c >= 0xdc00 && c <= 0xdfff;

/**
 * The code unit a `\u` escape at `at` (pointing at the backslash) stands for, and where the
 * escape ends; null when it is not a well-formed escape (the parser will say so).
 */
function unicodeEscape(source: string, at: number): { code: number; end: number } | null {
  if (source[at + 2] === '{') {
    const close = source.indexOf('}', at + 3);
    if (close < 0 || close - at > 12) return null;
    const code = Number.parseInt(source.slice(at + 3, close), 16);
    return Number.isNaN(code) ? null : { code, end: close + 1 };
  }
  const hex = source.slice(at + 2, at + 6);
  return HEX.test(hex) ? { code: Number.parseInt(hex, 16), end: at + 6 } : null;
}

/**
 * The first problem of a document's text, read before it is parsed: a lone surrogate, raw or
 * written as an escape in a string literal (`"\udc00"`), or brackets, braces and parentheses
 * nested more than `maxNesting` levels deep. Comments, strings and block strings are skipped
 * as GraphQL's lexer reads them; anything malformed is left to the parser to refuse.
 */
export function documentTextProblem(source: string, maxNesting: number): InputProblem | null {
  if (hasLoneSurrogate(source)) return 'LONE_SURROGATE';
  let depth = 0;
  let i = 0;
  const n = source.length;
  while (i < n) {
    const c = source[i]!;
    if (c === '#') {
      while (i < n && source[i] !== '\n' && source[i] !== '\r') i++;
    } else if (c === '"' && source.startsWith('"""', i)) {
      // A block string has no escapes but \""": `\udc00` in it is six plain characters.
      i += 3;
      while (i < n && !source.startsWith('"""', i)) i += source.startsWith('\\"""', i) ? 4 : 1;
      i += 3;
    } else if (c === '"') {
      i++;
      while (i < n && source[i] !== '"' && source[i] !== '\n' && source[i] !== '\r') {
        if (source[i] !== '\\') {
          i++;
          continue;
        }
        if (source[i + 1] !== 'u') {
          i += 2;
          continue;
        }
        const escape = unicodeEscape(source, i);
        if (!escape) {
          i += 2;
          continue;
        }
        if (isTrail(escape.code)) return 'LONE_SURROGATE';
        if (isLead(escape.code)) {
          const next = source[escape.end] === '\\' && source[escape.end + 1] === 'u' ? unicodeEscape(source, escape.end) : null;
          if (!next || !isTrail(next.code)) return 'LONE_SURROGATE';
          i = next.end;
          continue;
        }
        i = escape.end;
      }
      i++;
    } else {
      if (c === '{' || c === '[' || c === '(') {
        if (++depth > maxNesting) return 'NESTING';
      } else if (c === '}' || c === ']' || c === ')') {
        depth = Math.max(0, depth - 1);
      }
      i++;
    }
  }
  return null;
}

/** True if a string literal of the parsed document holds U+0000 (raw, or written as a \u escape). */
export function documentHoldsNul(document: DocumentNode): boolean {
  const body = document.loc?.source.body;
  if (body !== undefined && !body.includes('\\u') && !body.includes(NUL)) return false;
  let found = false;
  visit(document, {
    StringValue(node) {
      if (!node.value.includes(NUL)) return undefined;
      found = true;
      return BREAK;
    },
  });
  return found;
}
