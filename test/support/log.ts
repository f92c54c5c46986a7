// A server's log, captured: startTestServer({ start: { logDestination: log.stream } }) sends
// its JSON lines here, where a test reads them or waits for one.
import { Writable } from 'node:stream';

export type LogLine = Record<string, any> & { level: number; msg: string };

export class LogCapture {
  readonly lines: LogLine[] = [];
  /** Everything written, as written. */
  text = '';
  private waiters = new Set<() => void>();
  readonly stream = new Writable({
    write: (chunk: Buffer, _encoding, done) => {
      this.text += String(chunk);
      for (const line of String(chunk).split('\n').filter(Boolean)) this.lines.push(JSON.parse(line));
      for (const w of [...this.waiters]) w();
      done();
    },
  });

  /** The first line that `match` accepts, waiting for it up to `timeoutMs`. */
  waitFor(match: (line: LogLine) => boolean, what: string, timeoutMs = 60_000): Promise<LogLine> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const line = this.lines.find(match);
        if (!line) return;
        finish();
        resolve(line);
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`no log line ${what} within ${timeoutMs} ms; lines:\n${this.text}`));
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }
}
