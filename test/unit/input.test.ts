// The input checks as pure functions: each walks its input without recursing on it, so a value
// or a document nested 100,000 levels deep is refused rather than overflowing the stack.
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { documentTextProblem, variablesProblem } from '../../src/security/input.js';
import { checkCustomAttributes, customAttributesProblem } from '../../src/services/validation.js';

function nested(levels: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: true };
  for (let i = 1; i < levels; i++) value = { a: value };
  return value;
}

describe('custom attributes', () => {
  it('counts levels from the attributes object itself, lists included', () => {
    expect(customAttributesProblem(nested(5))).toBeNull();
    expect(customAttributesProblem(nested(6))).toMatch(/at most 5 levels deep/);
    expect(customAttributesProblem({ a: [[[[1]]]] })).toBeNull();
    expect(customAttributesProblem({ a: [[[[[1]]]]] })).toMatch(/at most 5 levels deep/);
  });

  it('refuses 100,000 levels, from the services too, without overflowing', () => {
    expect(customAttributesProblem(nested(100_000))).toMatch(/at most 5 levels deep/);
    expect(() => checkCustomAttributes(nested(100_000), 'input.customAttributes')).toThrow(ValidationError);
  });

  it('counts keys across levels, and bounds their length and the size', () => {
    const keys = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]));
    expect(customAttributesProblem({ ...keys(99), nested: {} })).toBeNull();
    expect(customAttributesProblem({ ...keys(99), nested: { one: 1 } })).toMatch(/at most 100 keys/);
    expect(customAttributesProblem({ ['x'.repeat(64)]: 1 })).toBeNull();
    expect(customAttributesProblem({ ['x'.repeat(65)]: 1 })).toMatch(/64 characters/);
    expect(customAttributesProblem({ s: 'x'.repeat(16 * 1024) })).toMatch(/16 KB/);
  });
});

describe('variables', () => {
  it('finds NUL and lone surrogates in values and keys, at any depth within the limit', () => {
    expect(variablesProblem({ a: [{ b: 'ok \ud83d\ude00' }] }, 64)).toBeNull();
    expect(variablesProblem({ a: [{ b: 'x\u0000' }] }, 64)).toBe('NUL_CHARACTER');
    expect(variablesProblem({ a: [{ 'k\udc00': 1 }] }, 64)).toBe('LONE_SURROGATE');
    expect(variablesProblem({ a: ['\ud800'] }, 64)).toBe('LONE_SURROGATE');
  });

  it('refuses nesting past the limit, 100,000 levels included', () => {
    // The variables object is level 0: { input: {...} } nests 1 level.
    expect(variablesProblem({ v: nested(64) }, 64)).toBeNull();
    expect(variablesProblem({ v: nested(65) }, 64)).toBe('NESTING');
    expect(variablesProblem(nested(100_000), 64)).toBe('NESTING');
  });
});

describe('document text', () => {
  it('counts braces, brackets and parentheses, but not in strings, block strings or comments', () => {
    expect(documentTextProblem(`{ a(x: [[[1]]]) { b } }`, 5)).toBeNull();
    expect(documentTextProblem(`{ a(x: [[[[1]]]]) { b } }`, 5)).toBe('NESTING');
    expect(documentTextProblem(`{ a(x: "[[[[[[\\"[[[[") { b } }`, 5)).toBeNull();
    expect(documentTextProblem(`{ a(x: """ [[[[[[ \\""" [[[[ """) { b } }`, 5)).toBeNull();
    expect(documentTextProblem(`{ a # ((((((((\n }`, 5)).toBeNull();
    expect(documentTextProblem(`{${'['.repeat(100_000)}`, 64)).toBe('NESTING');
  });

  it('finds lone surrogates, raw or escaped in a string, but not pairs nor block strings', () => {
    for (const lone of ['"\\udc00"', '"\\ud800"', '"\\ud800x"', '"\\ud800\\u0041"', '"\\u{D800}"', '"\\u{dc00}"', '"\udc00"', '# \ud800']) {
      expect(documentTextProblem(`{ a(x: ${lone}) }`, 64), lone).toBe('LONE_SURROGATE');
    }
    for (const fine of ['"\\ud83d\\ude00"', '"\ud83d\ude00"', '"\\u{1F600}"', '"""\\udc00"""', '"\\\\udc00"', '"\\u00e9"']) {
      expect(documentTextProblem(`{ a(x: ${fine}) }`, 64), fine).toBeNull();
    }
  });
});
