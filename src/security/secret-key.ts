// The server's SECRET_KEY, which encrypts the secrets Parley must be able to read back
// (webhook signing secrets: Parley signs with them, so a hash would not do).
//
// Where the key comes from:
// - SECRET_KEY in the environment (32 bytes, base64 or hex): what PostgreSQL deployments set;
// - otherwise, on the embedded database, `secret.key` in the data directory, made on the first
//   start that needs it, readable by its owner only; an in-memory database (`memory://`, the
//   tests') gets a fresh key that lives as long as it does, and nothing is written to disk.
// The database keeps a fingerprint of the key that encrypted its secrets (never the key), so
// a start with another key, or without the key once secrets exist, stops with a clear error:
// never a silent re-key that would leave every stored secret unreadable.
import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config.js';
import type { PrismaClient } from '../generated/prisma/client.js';

const KEY_FILE = 'secret.key';
const SEALED_PREFIX = 'v1:';

/** A startup failure caused by the key: the message says what to do. */
export class SecretKeyError extends Error {}

/** Encrypts and decrypts short secrets with one AES-256-GCM key. */
export class SecretBox {
  readonly fingerprint: string;
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new SecretKeyError('SECRET_KEY must be 32 bytes (base64 or hex).');
    this.fingerprint = createHmac('sha256', key).update('parley secret key check v1').digest('hex');
  }

  seal(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return SEALED_PREFIX + Buffer.concat([iv, cipher.getAuthTag(), data]).toString('base64');
  }

  open(sealed: string): string {
    if (!sealed.startsWith(SEALED_PREFIX)) throw new Error('SecretBox: not a sealed value');
    const raw = Buffer.from(sealed.slice(SEALED_PREFIX.length), 'base64');
    const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  }
}

/** Parses SECRET_KEY: 32 bytes as base64 (44 characters) or hex (64 characters). */
export function parseSecretKey(text: string): Buffer {
  const t = text.trim();
  const hex = /^[0-9a-f]{64}$/i.test(t);
  const key = hex ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64');
  if (key.length !== 32 || (!hex && !/^[A-Za-z0-9+/]{43}=?$/.test(t))) {
    throw new SecretKeyError('SECRET_KEY must be 32 random bytes, base64 or hex: make one with `openssl rand -base64 32`.');
  }
  return key;
}

async function storedFingerprint(prisma: PrismaClient): Promise<string | null> {
  const row = await prisma.secretKeyCheck.findUnique({ where: { id: 1 } });
  return row?.fingerprint ?? null;
}

function sameFingerprint(a: string, b: string) {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

/**
 * The key this start uses, checked against the database's fingerprint; null when there is no
 * key and no secret needs one yet (PostgreSQL without SECRET_KEY: webhooks then say how to
 * set it). Throws SecretKeyError when the key is wrong, or missing while secrets exist.
 */
export async function loadSecretBox(config: Pick<Config, 'SECRET_KEY' | 'DATABASE_URL' | 'DATA_DIR'>, prisma: PrismaClient): Promise<SecretBox | null> {
  const stored = await storedFingerprint(prisma);
  let key: Buffer | null = null;
  if (config.SECRET_KEY) {
    key = parseSecretKey(config.SECRET_KEY);
  } else if (!config.DATABASE_URL && config.DATA_DIR.startsWith('memory://')) {
    key = randomBytes(32);
  } else if (!config.DATABASE_URL) {
    const file = join(config.DATA_DIR, KEY_FILE);
    try {
      key = parseSecretKey(readFileSync(file, 'utf8'));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e instanceof SecretKeyError ? new SecretKeyError(`${file}: ${e.message}`) : e;
      if (stored) {
        throw new SecretKeyError(
          `${file} is missing, but this database holds secrets encrypted with it. Restore the file (or set SECRET_KEY to the key it held); ` +
            'a new key could not read them.',
        );
      }
      key = randomBytes(32);
      mkdirSync(config.DATA_DIR, { recursive: true });
      // `wx`: never overwrite a key another start has just written.
      writeFileSync(file, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    }
  } else if (stored) {
    throw new SecretKeyError(
      'SECRET_KEY is not set, but this database holds webhook secrets encrypted with a key. Set SECRET_KEY to that key; a new key could not read them.',
    );
  } else {
    return null;
  }
  const box = new SecretBox(key);
  if (stored) {
    if (!sameFingerprint(stored, box.fingerprint)) {
      throw new SecretKeyError(
        "SECRET_KEY is not the key this database's secrets were encrypted with (its fingerprint differs). Start with the key that was used before.",
      );
    }
    return box;
  }
  await prisma.secretKeyCheck.createMany({ data: [{ id: 1, fingerprint: box.fingerprint }], skipDuplicates: true });
  // Two first starts at once on one PostgreSQL database: whoever wrote first decides.
  const now = await storedFingerprint(prisma);
  if (now && !sameFingerprint(now, box.fingerprint)) {
    throw new SecretKeyError('Another Parley process has just recorded a different SECRET_KEY for this database. Give every process the same key.');
  }
  return box;
}
