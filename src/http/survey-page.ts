// The public satisfaction survey page: GET /survey/<token> shows a small HTML form (five
// rating buttons and a comment box; no script, no file from anywhere, works without
// JavaScript), and a POST of that form to the same address records the answer through the
// same service as answerSurvey, then redirects to the page with a thank-you (POST, redirect,
// GET: a reload does not post again). The token is the only authority: no key, no cookie.
//
// Unknown tokens are 404 and expired surveys 410, each a page that says so. Bodies are small
// (16 KB at most) and only urlencoded; answers are limited per survey, and posts to unknown
// tokens per address.
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PrismaClient } from '../generated/prisma/client.js';
import { scopeToWorkspace } from '../db/tenant.js';
import { NotFoundError, SurveyExpiredError, ValidationError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Events } from '../pubsub.js';
import {
  answerSurvey,
  COMMENT_MAX,
  findSurveyByToken,
  isExpired,
  RATING_LABELS,
  SURVEY_PATH_PREFIX,
  type SurveyByToken,
} from '../services/surveys.js';

const MAX_BODY_BYTES = 16 * 1024;
/**
 * Answers per survey in a minute, and posts per client address to tokens that open no survey
 * (guessing, junk). Answers to real surveys are not counted per address: behind a proxy every
 * contact shares the proxy's address.
 */
const PER_SURVEY_PER_MINUTE = 10;
const UNKNOWN_PER_ADDRESS_PER_MINUTE = 60;
/** Keys a limiter remembers at most; past it, the oldest windows are forgotten first. */
const LIMITER_KEYS = 10_000;

const CSS = `
body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f6f8fa;color:#1f2328}
main{max-width:34rem;margin:2rem auto;padding:1.5rem;background:#fff;border:1px solid #d0d7de;border-radius:8px}
h1{font-size:1.4rem;margin-top:0}
fieldset{border:0;padding:0;margin:1rem 0}
legend{font-weight:600;margin-bottom:.5rem}
.ratings{display:flex;flex-wrap:wrap;gap:.5rem}
button{font:inherit;padding:.6rem .9rem;border:2px solid #0969da;border-radius:6px;background:#fff;color:#0969da;cursor:pointer}
button:hover,button:focus-visible{background:#0969da;color:#fff}
button:focus-visible,textarea:focus-visible{outline:3px solid #fb8500;outline-offset:2px}
button.chosen{background:#0969da;color:#fff}
label{display:block;font-weight:600;margin-bottom:.25rem}
textarea{font:inherit;width:100%;box-sizing:border-box;min-height:6rem;padding:.5rem;border:1px solid #8c959f;border-radius:6px}
.note{color:#59636e;font-size:.9rem}
.status{padding:.75rem;border-radius:6px;background:#dafbe1;border:1px solid #4ac26b}
.problem{padding:.75rem;border-radius:6px;background:#ffebe9;border:1px solid #ff8182}
`;

const CSP = [
  "default-src 'none'",
  `style-src 'sha256-${createHash('sha256').update(CSS).digest('base64')}'`,
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

const HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': CSP,
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'x-robots-tag': 'noindex',
};

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const ratingText = (rating: number) => `${rating} - ${RATING_LABELS[rating - 1]}`;
const dateText = (d: Date) => d.toISOString().slice(0, 10);

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

interface FormState {
  /** A rating chosen in the card's link (?rating=N): shown, recorded only when the contact presses it. */
  chosen?: number | null;
  comment?: string | null;
  /** Shown above the form: the thanks, or what was wrong with the post. */
  status?: { kind: 'thanks' | 'problem'; text: string } | null;
}

function formPage(found: SurveyByToken, token: string, state: FormState): string {
  const { survey } = found;
  const who = `conversation #${found.conversationNumber} with ${found.workspaceName}`;
  const status = state.status
    ? `<p class="${state.status.kind === 'thanks' ? 'status' : 'problem'}" role="${state.status.kind === 'thanks' ? 'status' : 'alert'}">${escapeHtml(state.status.text)}</p>`
    : '';
  const previous =
    survey.rating != null && state.status?.kind !== 'thanks'
      ? `<p>You rated ${escapeHtml(ratingText(survey.rating))}. You can change your answer until ${dateText(survey.expiresAt)}.</p>`
      : '';
  const chosen = state.chosen ? `<p id="chosen-hint">You chose ${escapeHtml(ratingText(state.chosen))}: press it below to send it, with a comment if you like.</p>` : '';
  const buttons = RATING_LABELS.map((_, i) => {
    const r = i + 1;
    const mark = state.chosen === r ? ' class="chosen" aria-describedby="chosen-hint"' : '';
    return `<button type="submit" name="rating" value="${r}"${mark}>${escapeHtml(ratingText(r))}</button>`;
  }).join('\n');
  const comment = state.comment ?? survey.comment ?? '';
  return page(
    `How did we do? - ${found.workspaceName}`,
    `<h1>How would you rate our help?</h1>
<p class="note">About ${escapeHtml(who)}.</p>
${status}${previous}${chosen}
<form method="post" action="${escapeHtml(token)}">
<label for="comment">Anything you want to tell us? (optional)</label>
<textarea id="comment" name="comment" maxlength="${COMMENT_MAX}" rows="4">${escapeHtml(comment)}</textarea>
<fieldset>
<legend>Your rating, from 1 (very unhappy) to 5 (very happy)</legend>
<div class="ratings">
${buttons}
</div>
</fieldset>
</form>
<p class="note">You can change your answer until ${dateText(survey.expiresAt)}.</p>`,
  );
}

const messagePage = (title: string, text: string) => page(title, `<h1>${escapeHtml(title)}</h1>\n<p>${escapeHtml(text)}</p>`);

const NOT_FOUND = () => messagePage('Survey not found', 'This survey link is not valid. Check that you opened the whole link from the message you received.');

function expiredPage(found: SurveyByToken): string {
  const answer = found.survey.rating != null ? ` Your answer (${ratingText(found.survey.rating)}) was recorded. Thank you!` : '';
  return messagePage('This survey has closed', `This survey closed on ${dateText(found.survey.expiresAt)} and can no longer be answered.${answer}`);
}

/**
 * A fixed window count per key, forgotten after its minute. At most `maxKeys` keys: past it,
 * the oldest windows go first (never all at once, which would let a flood of new keys reset
 * every count). Windows are kept in the order they began, so the oldest is always first.
 */
export class MinuteLimiter {
  private readonly counts = new Map<string, { n: number; until: number }>();
  constructor(
    private readonly max: number,
    private readonly maxKeys = LIMITER_KEYS,
  ) {}
  allow(key: string, now = Date.now()): boolean {
    const c = this.counts.get(key);
    if (c && c.until > now) {
      c.n += 1;
      return c.n <= this.max;
    }
    if (c) this.counts.delete(key);
    for (const [k, v] of this.counts) {
      if (v.until > now && this.counts.size < this.maxKeys) break;
      this.counts.delete(k);
    }
    this.counts.set(key, { n: 1, until: now + 60_000 });
    return true;
  }
}

/** The body, or 'too large' as soon as it passes the limit (the rest is discarded, the connection closed after the answer). */
function readBody(req: IncomingMessage, limit: number): Promise<string | 'too large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let seen = 0;
    const onData = (chunk: Buffer) => {
      seen += chunk.length;
      if (seen <= limit) return void chunks.push(chunk);
      req.off('data', onData).resume();
      resolve('too large');
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export interface SurveyPageDeps {
  prisma: PrismaClient;
  pubsub: Events['pubsub'];
  logger: Logger;
  /** Called after an answer commits (wakes the workers that read the timeline). */
  onCommit?: () => void;
}

export function surveyPageRoute(deps: SurveyPageDeps) {
  const perSurvey = new MinuteLimiter(PER_SURVEY_PER_MINUTE);
  const unknownPerAddress = new MinuteLimiter(UNKNOWN_PER_ADDRESS_PER_MINUTE);

  const send = (res: ServerResponse, status: number, html: string, extra: Record<string, string> = {}) => {
    res.writeHead(status, { ...HEADERS, ...extra });
    res.end(html);
  };

  async function get(res: ServerResponse, token: string, query: URLSearchParams, head: boolean) {
    const found = await findSurveyByToken(deps.prisma, token);
    const html = !found
      ? NOT_FOUND()
      : isExpired(found.survey)
        ? expiredPage(found)
        : formPage(found, token, {
            chosen: /^[1-5]$/.test(query.get('rating') ?? '') ? Number(query.get('rating')) : null,
            status: query.has('thanks') && found.survey.rating != null ? { kind: 'thanks', text: `Thank you! We recorded your rating: ${ratingText(found.survey.rating)}.` } : null,
          });
    res.writeHead(!found ? 404 : isExpired(found.survey) ? 410 : 200, HEADERS);
    res.end(head ? undefined : html);
  }

  async function post(req: IncomingMessage, res: ServerResponse, token: string) {
    const type = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/x-www-form-urlencoded') {
      req.resume();
      return send(res, 415, messagePage('Not a survey form', 'Send the survey form from its page.'));
    }
    const tooMany = () => {
      req.resume();
      send(res, 429, messagePage('Too many answers', 'Please wait a minute before answering again.'), { 'retry-after': '60' });
    };
    // A token that opens no survey counts for its address (a malformed one is refused without a query);
    // a real survey counts for itself only.
    const found = await findSurveyByToken(deps.prisma, token);
    if (!found) {
      if (!unknownPerAddress.allow(req.socket.remoteAddress ?? '')) return tooMany();
      req.resume();
      return send(res, 404, NOT_FOUND());
    }
    if (!perSurvey.allow(found.survey.id)) return tooMany();
    const body = await readBody(req, MAX_BODY_BYTES);
    if (body === 'too large') return send(res, 413, messagePage('Comment too long', `Comments are limited to ${COMMENT_MAX} characters. Go back and shorten it.`), { connection: 'close' });
    const form = new URLSearchParams(body);
    const workspaceId = found.survey.workspaceId;
    const comment = form.get('comment');
    const rating = /^[1-5]$/.test(form.get('rating') ?? '') ? Number(form.get('rating')) : NaN;
    try {
      await answerSurvey(
        {
          db: scopeToWorkspace(deps.prisma, workspaceId),
          workspaceId,
          actor: { type: 'CONTACT', contactId: found.survey.contactId },
          pubsub: deps.pubsub,
          committed: deps.onCommit,
        },
        { token, rating, comment },
      );
    } catch (e) {
      if (e instanceof SurveyExpiredError) return send(res, 410, expiredPage(found));
      if (e instanceof NotFoundError) return send(res, 404, NOT_FOUND());
      if (e instanceof ValidationError) {
        const text = e.field.endsWith('rating') ? 'Choose a rating from 1 to 5 with one of the buttons.' : e.message;
        return send(res, 400, formPage(found, token, { comment, status: { kind: 'problem', text } }));
      }
      throw e;
    }
    // Relative, as the form's action: right behind a proxy that adds a path prefix too.
    res.writeHead(303, { location: `${token}?thanks`, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' });
    res.end();
  }

  return {
    /** Answers a request under /survey/; false for any other path. */
    async serve(req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean> {
      if (!path.startsWith(SURVEY_PATH_PREFIX)) return false;
      const token = path.slice(SURVEY_PATH_PREFIX.length);
      const query = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
      try {
        if (req.method === 'GET' || req.method === 'HEAD') await get(res, token, query, req.method === 'HEAD');
        else if (req.method === 'POST') await post(req, res, token);
        else {
          req.resume();
          send(res, 405, messagePage('Not allowed', 'Open the survey link in a browser.'), { allow: 'GET, HEAD, POST' });
        }
      } catch (err) {
        deps.logger.error({ err }, 'survey page failed');
        if (!res.headersSent) send(res, 500, messagePage('Something went wrong', 'Your answer could not be recorded. Please try again in a moment.'));
        else res.end();
      }
      return true;
    },
  };
}
