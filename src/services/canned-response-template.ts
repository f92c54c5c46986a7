// The template language of canned responses: text with variables in double braces,
// `{{contact.first_name}}`, each with an optional fallback, `{{contact.first_name | "there"}}`.
//
// Parley's own small parser, no template library: a template is parsed once into text and
// variable segments, and rendered in a single pass that puts each value in as plain text.
// A value is never parsed again, so a contact named "{{agent.name}}" stays that literal string.
//
// Grammar:  variable = "{{" name [ "|" fallback ] "}}"
//           name     = word ("." word)*        (word: lowercase letters, digits, "_")
//           fallback = '"' (any character but '"' and '\', or \" or \\)* '"'
// Spaces are allowed around the name, the bar and the fallback. "{{" always opens a
// variable; a "}}" that closes nothing, and lone braces, are text.

/** Every variable a template may use, with what it stands for. */
export const TEMPLATE_VARIABLES = {
  'contact.name': "The contact's name.",
  'contact.first_name': "The first word of the contact's name.",
  'contact.email': "The contact's email address.",
  'contact.phone': "The contact's phone number (E.164).",
  'agent.name': 'The name of the team member who sends (or previews) the response.',
  'agent.first_name': "The first word of that team member's name.",
  'agent.email': "That team member's email address.",
  'conversation.number': "The conversation's display number, e.g. 42.",
  'conversation.subject': "The conversation's subject.",
  'inbox.name': "The name of the conversation's inbox.",
  'workspace.name': "The workspace's name.",
} as const;

export type TemplateVariable = keyof typeof TEMPLATE_VARIABLES;
export const VARIABLE_NAMES = Object.keys(TEMPLATE_VARIABLES) as TemplateVariable[];
// A set, not `in`: "constructor" and "__proto__" are keys of every object.
const KNOWN = new Set<string>(VARIABLE_NAMES);

/** The values of one rendering; a missing, null or blank value takes the fallback. */
export type TemplateValues = Partial<Record<TemplateVariable, string | null>>;

export type Segment = { text: string } | { variable: string; fallback: string | null };

/** The template breaks the grammar; `offset` is where, in characters from the start. */
export class TemplateSyntaxError extends Error {
  constructor(
    readonly reason: string,
    readonly offset: number,
  ) {
    super(`${reason} (at character ${offset + 1})`);
  }
}

const NAME = /^[a-z0-9_]+(?:\.[a-z0-9_]+)*$/;

function isSpace(ch: string | undefined) {
  return ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r';
}

/** Parses a template into segments. Throws TemplateSyntaxError; does not check variable names are known. */
export function parseTemplate(template: string): Segment[] {
  const segments: Segment[] = [];
  let text = '';
  let i = 0;
  while (i < template.length) {
    if (template.startsWith('{{', i)) {
      const start = i;
      i += 2;
      while (isSpace(template[i])) i++;
      const nameStart = i;
      while (i < template.length && !isSpace(template[i]) && template[i] !== '|' && !template.startsWith('}}', i)) i++;
      const name = template.slice(nameStart, i);
      if (i >= template.length) throw new TemplateSyntaxError('"{{" is not closed by "}}"', start);
      if (!name) throw new TemplateSyntaxError('"{{" must be followed by a variable name', start);
      if (!NAME.test(name)) throw new TemplateSyntaxError(`"${name.slice(0, 60)}" is not a variable name (lowercase words joined by dots, e.g. contact.name)`, nameStart);
      while (isSpace(template[i])) i++;
      let fallback: string | null = null;
      if (template[i] === '|') {
        i++;
        while (isSpace(template[i])) i++;
        if (template[i] !== '"') throw new TemplateSyntaxError(`the fallback of ${name} must be a text in double quotes, e.g. | "there"`, i);
        i++;
        fallback = '';
        for (;;) {
          const ch = template[i];
          if (ch === undefined) throw new TemplateSyntaxError(`the fallback of ${name} is not closed by a double quote`, start);
          if (ch === '"') break;
          if (ch === '\\' && (template[i + 1] === '"' || template[i + 1] === '\\')) {
            fallback += template[i + 1];
            i += 2;
          } else {
            fallback += ch;
            i++;
          }
        }
        i++;
        while (isSpace(template[i])) i++;
      }
      if (!template.startsWith('}}', i)) throw new TemplateSyntaxError(`the variable ${name} is not closed by "}}"`, start);
      i += 2;
      if (text) segments.push({ text });
      text = '';
      segments.push({ variable: name, fallback });
      continue;
    }
    text += template[i];
    i++;
  }
  if (text) segments.push({ text });
  return segments;
}

/** The variables a template uses, in order of first use. */
export function variablesOf(segments: readonly Segment[]): string[] {
  return [...new Set(segments.flatMap((s) => ('variable' in s ? [s.variable] : [])))];
}

/** The first variable that is not one of TEMPLATE_VARIABLES, or null. */
export function unknownVariable(segments: readonly Segment[]): string | null {
  return variablesOf(segments).find((v) => !KNOWN.has(v)) ?? null;
}

/**
 * Renders parsed segments: each variable becomes its value as plain text, or its fallback
 * when the value is missing or blank (an empty text without a fallback). One pass over the
 * segments: what a value contains is never read as a template.
 */
export function renderSegments(segments: readonly Segment[], values: TemplateValues): string {
  let out = '';
  for (const s of segments) {
    if ('text' in s) {
      out += s.text;
      continue;
    }
    const value = KNOWN.has(s.variable) ? (values as Record<string, string | null | undefined>)[s.variable] : null;
    out += value != null && value.trim() !== '' ? value : (s.fallback ?? '');
  }
  return out;
}

/** The first word of a name ("Ada Lovelace" -> "Ada"); null for a missing or blank name. */
export function firstName(name: string | null | undefined): string | null {
  const first = name?.trim().split(/\s+/)[0];
  return first ? first : null;
}
