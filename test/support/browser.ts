// Headless Chromium for the browser tests: Debian's `chromium` package driven by playwright-core
// (no browser is ever downloaded), and a context that, as on a machine without internet, reaches
// no host but 127.0.0.1.
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';

const CHROMIUM = process.env.PARLEY_CHROMIUM ?? '/usr/bin/chromium';

/** A missing browser is a failure of the suite, never a reason to skip it: check it first. */
export function assertChromium(): void {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is not installed at ${CHROMIUM}: apt-get update && apt-get install -y chromium (.ci/run does).`);
  }
}

export function launchChromium(timeoutMs: number): Promise<Browser> {
  assertChromium();
  return chromium.launch({
    executablePath: CHROMIUM,
    timeout: timeoutMs,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Aborts every request of the context to a host other than 127.0.0.1, noting it in `blocked`; every URL asked for goes in `requested`. */
export async function offline(context: BrowserContext, blocked: string[], requested: string[] = []): Promise<void> {
  await context.route('**/*', (route) => {
    const target = route.request().url();
    requested.push(target);
    if (new URL(target).hostname !== '127.0.0.1') {
      blocked.push(target);
      return route.abort('blockedbyclient');
    }
    return route.continue();
  });
}
