// Child processes for the tests: `src/main.ts` the way `npm start` runs it, the operator
// command, or any other script. One helper for all of them, so that every child is waited on
// the same way and reaped the same way.
//
// On a busy machine (2 cores, other suites running beside this one) a child's start can take
// many times its idle 3 to 6 s (most of it PGlite compiling and opening its database), so:
//  - readiness is a real signal (a line of output: "Parley is listening"), never a sleep, and
//    the wait for it is long (START_TIMEOUT_MS); tests that start processes declare a test
//    timeout to match (PROCESS_TEST_TIMEOUT_MS);
//  - every child is killed and reaped (its exit awaited) after the test that started it, or
//    after the file for those started in a beforeAll, whatever the outcome: a start that timed
//    out cannot keep a data directory or a port from the next test.
// Children run in their own process group, so that killing one also kills what it started
// (a cluster's workers).
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, afterEach, beforeEach, expect } from 'vitest';

/** How long a child may take to become ready. */
export const START_TIMEOUT_MS = 180_000;
/** A test timeout for tests that start up to a few processes one after the other. */
export const PROCESS_TEST_TIMEOUT_MS = 600_000;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ChildRun {
  child: ChildProcess;
  pid: number;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Resolves when the output matches, rejects when the process exits first or after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited: Promise<Exit>;
  /** Sends `signal` to the process (only the process: a cluster primary passes it on). */
  signal(signal: NodeJS.Signals): void;
  /** SIGKILLs the whole process group and waits for the process to exit. */
  kill(): Promise<Exit>;
}

export type ParleyProcess = ChildRun;

/**
 * V8 flags for the Node children the tests start. A child lives seconds, and PGlite's 9 MB of
 * WebAssembly, compiled at its start, was also optimised again by TurboFan on background threads:
 * about 2 s of CPU per start (a server start to "listening" took 6.2 CPU-seconds, 4.2 with
 * --liftoff-only). Liftoff's code runs the same SQL, only less fast, which a child's few
 * queries do not notice. Cluster workers inherit the flag (process.execArgv).
 */
export const CHILD_NODE_FLAGS = ['--liftoff-only'];

let perTest: Set<ChildRun> | null = null;
const perFile = new Set<ChildRun>();
/**
 * Children not yet reaped: only their process groups are surely still theirs. One set per test
 * worker process: test files share a worker (vitest.config.ts, isolate: false) and each
 * evaluates this module anew, but the 'exit' listener below is added once.
 */
const shared = globalThis as { parleyUnreapedChildren?: Set<ChildRun> };
const firstInProcess = !shared.parleyUnreapedChildren;
const unreaped = (shared.parleyUnreapedChildren ??= new Set<ChildRun>());

beforeEach(() => {
  perTest = new Set();
});
afterEach(async () => {
  const started = perTest;
  perTest = null;
  if (started) await Promise.all([...started].map((c) => c.kill()));
});
afterAll(async () => {
  await Promise.all([...perFile].map((c) => c.kill()));
});
// Should the test worker itself be stopped, take the children along. Only those not reaped
// yet: the pid of one that was is free again, and with pid_max at 32768 a suite wraps around;
// reused by a child another test file started (detached, so a group leader), a group kill
// here would kill that child.
if (firstInProcess) {
  process.once('exit', () => {
    for (const c of unreaped) {
      try {
        process.kill(-c.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  });
}

/**
 * Runs `node <script> ...args` (a JavaScript file: no TypeScript loader) from the repository
 * root with a clean environment (PATH and HOME, then `env`). The child is reaped after the
 * current test, or after the file when started outside a test (beforeAll).
 */
export function runScript(script: string, args: string[], env: Record<string, string>): ChildRun {
  return runCommand(process.execPath, [...CHILD_NODE_FLAGS, script, ...args], env);
}

/** Runs any command as runScript runs a script: clean environment, own process group, reaped after. */
export function runCommand(command: string, args: string[], env: Record<string, string>, cwd?: string): ChildRun {
  const child = spawn(command, args, {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  // Reaped when 'exit' is emitted (or never started).
  const reaped = () => unreaped.delete(run);
  child.once('exit', reaped);
  child.once('error', reaped);
  let out = '';
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const w of [...waiters]) w();
  };
  child.stdout!.on('data', (d) => {
    out += d;
    wake();
  });
  child.stderr!.on('data', (d) => {
    out += d;
    wake();
  });
  // 'close' comes after the streams ended: the output is complete then.
  const exited = new Promise<Exit>((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal }));
    child.once('error', () => resolve({ code: null, signal: null }));
  });
  let done = false;
  void exited.then(() => {
    done = true;
    wake();
  });
  const run: ChildRun = {
    child,
    pid: child.pid!,
    output: () => out,
    exited,
    waitFor: (pattern, timeoutMs = START_TIMEOUT_MS) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const m = out.match(pattern);
          if (m) return finish(() => resolve(m));
          if (done) return finish(() => reject(new Error(`process exited (${child.exitCode ?? child.signalCode}) before ${pattern}:\n${out}`)));
        };
        const timer = setTimeout(() => finish(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${pattern}:\n${out}`))), timeoutMs);
        const finish = (f: () => void) => {
          clearTimeout(timer);
          waiters.delete(check);
          f();
        };
        waiters.add(check);
        check();
      }),
    signal: (signal) => {
      if (!done) child.kill(signal);
    },
    kill: async () => {
      if (!done) {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          child.kill('SIGKILL');
        }
      }
      return exited;
    },
  };
  (perTest ?? perFile).add(run);
  if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) unreaped.add(run);
  return run;
}

/**
 * The server as `npm start` runs it: dist/main.js, compiled from src/ by the global setup
 * (scripts/build.mjs, as `npm start` builds). LOG_LEVEL info unless `env` says otherwise.
 * Compiled, a child starts without a TypeScript loader: about a second of CPU less per start.
 */
export function runParley(env: Record<string, string>): ParleyProcess {
  return runCommand(process.execPath, [...CHILD_NODE_FLAGS, '--enable-source-maps', 'dist/main.js'], { LOG_LEVEL: 'info', ...env });
}

/** Waits for "Parley is listening" and returns the server's base URL. */
export async function listening(p: ParleyProcess, timeoutMs = START_TIMEOUT_MS): Promise<string> {
  const m = await p.waitFor(/"url":"(http:\/\/[^"]+)\/graphql"[^\n]*"msg":"Parley is listening"/, timeoutMs);
  return m[1]!;
}

/** The operator command (`npm run parley -- ...args`, compiled like the server), run to its end. */
export async function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  const p = runCommand(process.execPath, [...CHILD_NODE_FLAGS, '--enable-source-maps', 'dist/cli/parley.js', ...args], env);
  const { code } = await p.exited;
  return { code, out: p.output() };
}

/** How an exit reads in a failed assertion: code, signal and the end of the child's output. */
export function describeExit(p: ChildRun, exit: Exit, tailChars = 4000): string {
  const out = p.output();
  const tail = out.length > tailChars ? `[...${out.length - tailChars} characters before]${out.slice(-tailChars)}` : out;
  return `pid ${p.pid} exited with code ${exit.code}, signal ${exit.signal}; its output's tail:\n${tail}`;
}

/**
 * Sends `signal` (SIGTERM unless told) and expects the clean stop Parley promises: exit code 0,
 * no signal. A failure says how the process ended and what it wrote last.
 */
export async function stopCleanly(p: ChildRun, signal: NodeJS.Signals = 'SIGTERM'): Promise<Exit> {
  p.signal(signal);
  const exit = await p.exited;
  expect(exit, describeExit(p, exit)).toEqual({ code: 0, signal: null });
  return exit;
}

/** Polls `check` until it returns true, failing after `timeoutMs`. For states with no event to wait on. */
export async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = START_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
