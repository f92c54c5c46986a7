// PGlite takes no lock on its data directory, and two processes writing one directory
// corrupt it silently. Parley owns the directory through a control channel socket inside it
// (src/control/channel.ts): the owner is alive exactly as long as a connection to its socket
// is accepted, whatever its PID became since (PIDs are reused, after a container restart
// above all). A second process stops at once.
//
// Taking over from an owner that died must be atomic when several processes start at once,
// and a socket file is created (bind) before it accepts connections (listen): a peer that
// connects in between is refused as if the socket were stale. So ownership is a sequence of
// generations, parley.<n>.sock, each a hard link to a socket that already listens:
//   1. listen on a socket of one's own (parley-tmp-<pid>-<random>.sock);
//   2. read the highest generation n present; if its socket accepts a connection, the
//      directory is in use: stop;
//   3. otherwise hard-link one's socket as generation n + 1. link() fails if that name
//      exists, so of several processes doing this at once exactly one succeeds; the others
//      go back to 2 and find it alive;
//   4. look again: a generation above one's own (possible only if one's view of the
//      directory was out of date while the owner removed old generations) means one is not
//      the owner: remove one's link and go back to 2.
// The owner then removes the generations and temporary sockets that nothing listens on, and
// points parley.sock (a symbolic link, the channel's stable address) at its generation.
//
// The owner's channel also takes the operator's commands while it runs (src/control/operator.ts):
// the command line reaches it through ownerSocketPath() instead of opening the directory.
import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { MAX_SOCKET_PATH_BYTES, openChannel, probeChannel, type ControlChannel, type Who } from '../control/channel.js';

/** The data directory cannot be locked (it is in use, or unusable for the lock's socket). */
export class DataDirError extends Error {}
/** Another live process owns the directory; `pid` is the owner's, when known. */
export class DataDirInUseError extends DataDirError {
  constructor(
    message: string,
    readonly dir: string,
    readonly pid: number | undefined,
  ) {
    super(message);
  }
}

/** The control channel's stable address inside a data directory. */
export const CHANNEL_FILE = 'parley.sock';
const GENERATION = /^parley\.(\d+)\.sock$/;
const TEMPORARY = /^parley-tmp-\d+-[0-9a-f]+\.sock$/;
const generationFile = (n: number) => `parley.${n}.sock`;
/** The owner's pid beside its generation: the in-use message names it even when the owner is too busy to answer (a blocked event loop). */
const pidFile = (n: number) => `parley.${n}.pid`;
const PID_FILE = /^parley\.(\d+)\.pid$/;

/** The channels of the locks this process holds, by absolute directory: the server answers operator commands on its own. */
const held = new Map<string, ControlChannel>();

/** The control channel of the lock this process holds on `dir`, if it holds one. */
export function heldLockChannel(dir: string): ControlChannel | undefined {
  return held.get(resolve(dir));
}

/**
 * The socket of the process that owns `dir` now (its generation, not the parley.sock pointer,
 * which its owner points only once it has tidied up), or undefined when there is none.
 * Whether anything still listens on it is for the caller to find out.
 */
export function ownerSocketPath(dir: string): string | undefined {
  const abs = resolve(dir);
  let top: number | undefined;
  try {
    top = generations(abs).at(-1);
  } catch {
    return undefined;
  }
  return top === undefined ? undefined : socketPath(abs, generationFile(top));
}

function recordedPid(dir: string, n: number): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(join(dir, pidFile(n)), 'utf8'), 10);
    return Number.isInteger(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

export interface DataDirLock {
  /** The owner's control channel (for operator commands). */
  channel: ControlChannel;
  /** Gives the directory up; calling it again does nothing. */
  release(): Promise<void>;
}

function generations(dir: string): number[] {
  return readdirSync(dir)
    .map((name) => GENERATION.exec(name)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

/**
 * A path for `file` in `dir` that fits a socket address: absolute if it is short enough,
 * else relative to the working directory (Parley never changes it).
 */
export function socketPath(dir: string, file: string): string {
  const absolute = join(dir, file);
  if (Buffer.byteLength(absolute) <= MAX_SOCKET_PATH_BYTES) return absolute;
  const rel = relative(process.cwd(), absolute);
  if (Buffer.byteLength(rel) <= MAX_SOCKET_PATH_BYTES) return rel.includes('/') ? rel : `./${rel}`;
  throw new DataDirError(
    `The data directory path ${dir} is too long for its lock socket (${Buffer.byteLength(absolute)} bytes; a socket path may have at most ` +
      `${MAX_SOCKET_PATH_BYTES}). Use a shorter DATA_DIR, or start Parley from a directory closer to it.`,
  );
}

function inUse(dir: string, who: Who | undefined): DataDirInUseError {
  const known = typeof who?.pid === 'number' ? who.pid : undefined;
  const pid = known === undefined ? 'pid unknown' : `pid ${known}`;
  return new DataDirInUseError(
    `The data directory ${dir} is in use by another Parley process (${pid}). ` +
      'Only one process may own a PGlite data directory: stop it, or set DATA_DIR to another directory, ' +
      'or use DATABASE_URL=postgres://... to run several processes.',
    dir,
    known,
  );
}

function removeIfDead(dir: string, file: string): Promise<void> {
  return probeChannel(socketPath(dir, file), 'who', 1_000).then(
    (probe) => {
      if (!probe.alive) rmSync(join(dir, file), { force: true });
    },
    () => {},
  );
}

/** Takes the lock on `dir`, or throws DataDirInUseError naming the owner's pid. */
export async function lockDataDir(dir: string): Promise<DataDirLock> {
  const abs = resolve(dir);
  // A new data directory is the server user's alone, as PostgreSQL's are (an existing one keeps its mode).
  mkdirSync(abs, { recursive: true, mode: 0o700 });
  const own = `parley-tmp-${process.pid}-${randomBytes(4).toString('hex')}.sock`;
  let channel: ControlChannel;
  try {
    channel = await openChannel(socketPath(abs, own));
  } catch (e) {
    if (e instanceof DataDirError) throw e;
    throw new DataDirError(`Could not create the lock socket in the data directory ${abs}: ${(e as Error).message}`);
  }
  let mine: number | undefined;
  try {
    for (let attempt = 0; attempt < 50 && mine === undefined; attempt++) {
      const top = generations(abs).at(-1) ?? 0;
      if (top > 0) {
        const probe = await probeChannel(socketPath(abs, generationFile(top)));
        if (probe.alive) {
          const who = probe.answer as Who | undefined;
          throw inUse(abs, typeof who?.pid === 'number' ? who : ({ ...who, pid: recordedPid(abs, top) } as Who));
        }
      }
      try {
        linkSync(join(abs, own), join(abs, generationFile(top + 1)));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw e;
      }
      if ((generations(abs).at(-1) ?? 0) > top + 1) {
        rmSync(join(abs, generationFile(top + 1)), { force: true });
        continue;
      }
      mine = top + 1;
    }
    if (mine === undefined) throw new DataDirError(`Could not lock the data directory ${abs}: too many processes are starting on it at once`);
  } catch (e) {
    await channel.close();
    throw e;
  }
  const generation = mine;
  rmSync(join(abs, own), { force: true });
  const pidTmp = join(abs, `${pidFile(generation)}.${process.pid}.tmp`);
  writeFileSync(pidTmp, String(process.pid));
  renameSync(pidTmp, join(abs, pidFile(generation)));

  // Tidy up after owners that died; only the owner does this, and only where nothing listens.
  const leftovers = readdirSync(abs).filter(
    (name) => (TEMPORARY.test(name) && name !== own) || Number(GENERATION.exec(name)?.[1] ?? generation) < generation,
  );
  await Promise.all(leftovers.map((name) => removeIfDead(abs, name)));
  // The pid files of generations that are gone.
  const alive = new Set(generations(abs));
  for (const name of readdirSync(abs)) {
    const n = PID_FILE.exec(name)?.[1];
    if (n !== undefined && !alive.has(Number(n))) rmSync(join(abs, name), { force: true });
  }
  const pointer = join(abs, `${CHANNEL_FILE}.${process.pid}.tmp`);
  rmSync(pointer, { force: true });
  symlinkSync(generationFile(generation), pointer);
  renameSync(pointer, join(abs, CHANNEL_FILE));

  held.set(abs, channel);
  let released: Promise<void> | undefined;
  return {
    channel,
    release: () =>
      (released ??= (async () => {
        if (held.get(abs) === channel) held.delete(abs);
        // The pointer first, while nobody else can have replaced it; then the generation,
        // before the socket stops listening, so that no one sees it refused while it exists.
        try {
          if (readlinkSync(join(abs, CHANNEL_FILE)) === generationFile(generation)) rmSync(join(abs, CHANNEL_FILE), { force: true });
        } catch {
          // already gone
        }
        rmSync(join(abs, generationFile(generation)), { force: true });
        rmSync(join(abs, pidFile(generation)), { force: true });
        await channel.close();
      })()),
  };
}
