// SIGTERM and SIGINT, from the first moment of a Parley process (src/main.ts installs this
// before it loads anything else). Until a process listens for a signal, Node leaves the
// default action in place, and the default action of SIGTERM is to end the process by that
// signal: no clean stop, the exit reported as a signal death, the database and the data
// directory's lock left as after a crash. Such a signal did arrive: a supervisor (or a test)
// that stops Parley as soon as it says "Parley is listening" could land between that line and
// the listeners installed after it.
//
// What a signal does depends on how far the process got:
//  - nothing opened yet (modules loading, configuration): exit 0 at once;
//  - starting (database, migrations, seed, workers, listen): `signal` aborts; the start gives
//    up at its next step, closes what it opened and rejects with ShutdownRequested, and the
//    process exits 0;
//  - running: the stop given to `running` (drain, then close everything), then exit.
// Later signals (a group signal, an impatient operator) wait for the first one's stop.
import type { Logger } from './logger.js';

/** The reason a start gave up: a SIGTERM or SIGINT arrived while it ran. */
export class ShutdownRequested extends Error {
  readonly signalName: NodeJS.Signals;
  constructor(signalName: NodeJS.Signals) {
    super(`${signalName} received while starting`);
    this.signalName = signalName;
  }
}

export interface Shutdown {
  /** Aborted (with a ShutdownRequested) on the first SIGTERM or SIGINT. */
  readonly signal: AbortSignal;
  /** From now on a signal aborts `signal` and leaves the stop to the start in progress. */
  starting(): void;
  /** The process is up: a signal (or one already received) runs `stop`, then exits. */
  running(logger: Logger, stop: () => Promise<void>): void;
}

export function handleShutdownSignals(): Shutdown {
  const controller = new AbortController();
  let phase: 'idle' | 'starting' | 'running' = 'idle';
  let received: NodeJS.Signals | undefined;
  /** What the log says of the stop: the signal, or why the process stops as if signalled. */
  let why: { signal: NodeJS.Signals } | { reason: string } | undefined;
  let runStop: (() => void) | undefined;
  const onSignal = (signal: NodeJS.Signals, reason?: string) => {
    if (received) return;
    received = signal;
    why = reason ? { reason } : { signal };
    controller.abort(new ShutdownRequested(signal));
    if (phase === 'idle') process.exit(process.exitCode ?? 0);
    if (phase === 'running') runStop!();
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  stopWithParent(() => onSignal('SIGTERM', 'parent exited'));
  return {
    signal: controller.signal,
    starting: () => {
      phase = 'starting';
    },
    running: (logger, stop) => {
      phase = 'running';
      runStop = () => {
        logger.info(why, 'shutting down');
        stop().then(
          () => process.exit(process.exitCode ?? 0),
          (err: unknown) => {
            logger.error({ err }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      if (received) runStop();
    },
  };
}

/**
 * Under `npm start` (which execs this process, with no shell between), npm passes SIGTERM and
 * SIGINT on. A supervisor that kills npm outright (SIGKILL at the end of its grace period, an
 * OOM kill) leaves nobody to pass them, and the server would go on listening, orphaned: it
 * notices the change of parent within a second and stops as if sent SIGTERM. Only under npm: a
 * server started directly may have been detached from its parent on purpose.
 */
function stopWithParent(stop: () => void) {
  if (!process.env.npm_lifecycle_event) return;
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    stop();
  }, 1000);
  timer.unref();
}
