// Survey links and their configuration, as pure functions: PUBLIC_URL is checked and loses its
// trailing slash, SURVEY_TTL_DAYS is a positive number of days, and a link is PUBLIC_URL/survey/<token>.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { MinuteLimiter } from '../../src/http/survey-page.js';
import { checkAnswer, surveyLink } from '../../src/services/surveys.js';

describe('PUBLIC_URL and SURVEY_TTL_DAYS', () => {
  it('takes an http(s) URL, with a path prefix, without its trailing slash; 14 days by default', () => {
    expect(loadConfig({ PUBLIC_URL: 'https://support.example.com/parley/' })).toMatchObject({ PUBLIC_URL: 'https://support.example.com/parley', SURVEY_TTL_DAYS: 14 });
    expect(loadConfig({}).PUBLIC_URL).toBeUndefined();
    expect(loadConfig({ SURVEY_TTL_DAYS: '0.5' }).SURVEY_TTL_DAYS).toBe(0.5);
  });

  it('refuses what would make broken links, naming the variable', () => {
    for (const bad of ['support.example.com', 'ftp://example.com', 'https://example.com/?a=1', 'https://example.com/#x']) {
      expect(() => loadConfig({ PUBLIC_URL: bad })).toThrow(ConfigError);
      expect(() => loadConfig({ PUBLIC_URL: bad })).toThrow(/PUBLIC_URL/);
    }
    for (const bad of ['0', '-1', 'two weeks']) expect(() => loadConfig({ SURVEY_TTL_DAYS: bad })).toThrow(/SURVEY_TTL_DAYS/);
  });
});

describe('survey links and answers', () => {
  it('builds the link from the public URL, or the default address when none is known', () => {
    expect(surveyLink({ publicUrl: 'https://support.example.com/parley', ttlMs: 1 }, 'abc')).toBe('https://support.example.com/parley/survey/abc');
    expect(surveyLink({ publicUrl: null, ttlMs: 1 }, 'abc')).toBe('http://127.0.0.1:4000/survey/abc');
  });

  it('takes a whole rating from 1 to 5 and a comment of up to 2000 characters, blank as none', () => {
    expect(checkAnswer(5, '  Great  ')).toEqual({ rating: 5, comment: 'Great' });
    expect(checkAnswer(1, '   ')).toEqual({ rating: 1, comment: null });
    for (const rating of [0, 6, 2.5, Number.NaN]) expect(() => checkAnswer(rating, null)).toThrow(/1 to 5/);
    expect(() => checkAnswer(3, 'x'.repeat(2001))).toThrow(/2000/);
    // PostgreSQL text holds neither: refused here, for the survey page that skips the GraphQL checks.
    expect(() => checkAnswer(3, 'a\u0000b')).toThrow(/U\+0000/);
    expect(() => checkAnswer(3, 'a\uD800b')).toThrow(/surrogate/);
  });
});

describe('the survey page limiter', () => {
  it('counts per key in a minute; past its size it forgets the oldest windows, never every count', () => {
    const limiter = new MinuteLimiter(2, 3);
    expect([1, 2, 3].map(() => limiter.allow('survey', 0))).toEqual([true, true, false]);
    // A flood of new keys pushes out the oldest windows one at a time...
    expect(limiter.allow('junk-1', 1)).toBe(true);
    expect(limiter.allow('junk-2', 2)).toBe(true);
    expect(limiter.allow('survey', 3)).toBe(false);
    expect(limiter.allow('junk-3', 4)).toBe(true);
    // ...the oldest, 'survey', is forgotten now; 'junk-1' still counts.
    expect(limiter.allow('junk-1', 5)).toBe(true);
    expect(limiter.allow('junk-1', 6)).toBe(false);
    // A window ends after its minute.
    expect(limiter.allow('junk-1', 60_001)).toBe(true);
  });
});
