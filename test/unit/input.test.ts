// The input checks as pure functions: each walks its input without recursing on it, so a value
// or a document nested 100,000 levels deep is refused rather than overflowing the stack.
import { describe, expect, it } from 'vitest';
import { documentTextProblem, variablesProblem } from '../../src/security/input.js';

function nested(levels: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: true };
  for (let i = 1; i < levels; i++) value = { a: value };
  return value;
}

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
