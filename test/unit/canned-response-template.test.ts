// The template language of canned responses: parsing, unknown variables, rendering.
import { describe, expect, it } from 'vitest';
import {
  TemplateSyntaxError,
  firstName,
  parseTemplate,
  renderSegments,
  unknownVariable,
  variablesOf,
} from '../../src/services/canned-response-template.js';
import { checkTemplate, normalizeShortCode } from '../../src/services/canned-responses.js';
import { UnknownTemplateVariableError, ValidationError } from '../../src/errors.js';

const render = (template: string, values: Record<string, string | null>) => renderSegments(parseTemplate(template), values);

describe('parseTemplate', () => {
  it('splits text and variables, with or without spaces and fallbacks', () => {
    expect(parseTemplate('Hi {{contact.first_name}}, {{ agent.name | "the team" }} here.')).toEqual([
      { text: 'Hi ' },
      { variable: 'contact.first_name', fallback: null },
      { text: ', ' },
      { variable: 'agent.name', fallback: 'the team' },
      { text: ' here.' },
    ]);
    expect(parseTemplate('{{a|""}}')).toEqual([{ variable: 'a', fallback: '' }]);
    expect(parseTemplate('no variables } here {')).toEqual([{ text: 'no variables } here {' }]);
    expect(parseTemplate('')).toEqual([]);
  });

  it('reads \\" and \\\\ in a fallback, and keeps braces and bars there as text', () => {
    expect(parseTemplate('{{contact.name | "the \\"boss\\" \\\\ {{x}} | y"}}')).toEqual([{ variable: 'contact.name', fallback: 'the "boss" \\ {{x}} | y' }]);
  });

  it('refuses what it cannot read, saying where', () => {
    const cases: [string, RegExp][] = [
      ['Hi {{contact.name', /not closed by "}}"/],
      ['Hi {{}}', /must be followed by a variable name/],
      ['{{ Contact.Name }}', /not a variable name/],
      ['{{contact..name}}', /not a variable name/],
      ['{{contact.name | there}}', /fallback of contact.name must be a text in double quotes/],
      ['{{contact.name | "there}}', /fallback of contact.name is not closed/],
      ['{{contact.name "x"}}', /contact.name is not closed by "}}"/],
      ['{{contact name}}', /contact is not closed/],
    ];
    for (const [template, reason] of cases) {
      expect(() => parseTemplate(template), template).toThrow(TemplateSyntaxError);
      expect(() => parseTemplate(template), template).toThrow(reason);
    }
    expect(() => parseTemplate('ab {{x')).toThrow(/at character 4/);
  });
});

describe('variables', () => {
  it('lists the variables used, once each, and names the first unknown one', () => {
    const segments = parseTemplate('{{contact.name}} {{agent.name}} {{contact.name}} {{contact.nickname}} {{foo}}');
    expect(variablesOf(segments)).toEqual(['contact.name', 'agent.name', 'contact.nickname', 'foo']);
    expect(unknownVariable(segments)).toBe('contact.nickname');
    expect(unknownVariable(parseTemplate('{{workspace.name}} {{inbox.name}} {{conversation.number}}'))).toBeNull();
    // Not inherited object keys either.
    expect(unknownVariable(parseTemplate('{{constructor}} {{__proto__}}'))).toBe('constructor');
  });

  it('checkTemplate refuses an unknown variable by name, and an unreadable template as a validation error', () => {
    expect(() => checkTemplate('Hi {{contact.nickname | "you"}}', 'input.content')).toThrow(UnknownTemplateVariableError);
    try {
      checkTemplate('Hi {{contact.nickname}}', 'input.content');
    } catch (e) {
      expect(e).toMatchObject({ variable: 'contact.nickname', field: 'input.content', code: 'UNKNOWN_TEMPLATE_VARIABLE' });
      expect((e as Error).message).toContain('{{contact.nickname}}');
    }
    expect(() => checkTemplate('Hi {{contact.name', 'input.content')).toThrow(ValidationError);
    expect(() => checkTemplate('   ', 'input.content')).toThrow(ValidationError);
    expect(checkTemplate('Hi {{contact.name}}', 'input.content').content).toBe('Hi {{contact.name}}');
  });
});

describe('renderSegments', () => {
  it('puts the values in, and the fallback (or nothing) for a missing, null or blank value', () => {
    const template = 'Hi {{contact.first_name | "there"}}, this is {{agent.name}} about #{{conversation.number}}{{conversation.subject}}.';
    expect(render(template, { 'contact.first_name': 'Ada', 'agent.name': 'Alan', 'conversation.number': '7' })).toBe('Hi Ada, this is Alan about #7.');
    expect(render(template, { 'contact.first_name': null })).toBe('Hi there, this is  about #.');
    expect(render(template, { 'contact.first_name': '   ' })).toBe('Hi there, this is  about #.');
    // An unknown name (refused when saved) renders as its fallback, even one every object has.
    expect(render('[{{constructor | "x"}}{{__proto__}}]', {})).toBe('[x]');
  });

  it('inserts values as text, never as a template: one pass', () => {
    const values = { 'contact.name': '{{agent.name}}', 'agent.name': 'Alan', 'contact.email': '{{contact.email}}' };
    expect(render('{{contact.name}} / {{agent.name}} / {{contact.email}}', values)).toBe('{{agent.name}} / Alan / {{contact.email}}');
    // A fallback is text too.
    expect(render('{{contact.name | "{{agent.name}}"}}', { 'agent.name': 'Alan' })).toBe('{{agent.name}}');
    // $-patterns mean nothing either (no String.replace with a replacement string).
    expect(render('{{contact.name}}', { 'contact.name': "$& $1 $' $`" })).toBe("$& $1 $' $`");
  });

  it('firstName takes the first word', () => {
    expect(firstName('  Ada   Lovelace ')).toBe('Ada');
    expect(firstName('')).toBeNull();
    expect(firstName(null)).toBeNull();
  });
});

describe('normalizeShortCode', () => {
  it('lowercases and adds the slash; refuses anything else', () => {
    expect(normalizeShortCode(' /Hello ', 'f')).toBe('/hello');
    expect(normalizeShortCode('refund-policy_2', 'f')).toBe('/refund-policy_2');
    for (const bad of ['', '/', '//x', '/-x', '/hello world', '/héllo', `/${'a'.repeat(33)}`]) {
      expect(() => normalizeShortCode(bad, 'input.shortCode'), bad).toThrow(ValidationError);
    }
  });
});
