import { createHmac, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { KEY_LENGTH } from './aes-gcm.js';

/**
 * The root key wraps every backing key and secret access key. It comes from a provider:
 * - `env`: base64 of 32 bytes in an environment variable (default TRENT_ROOT_KEY);
 * - `file`: a file holding base64 of 32 bytes, created with mode 0600 on a deployment's first start.
 *
 * A missing source on a deployment that already has keys is an error, never a new key: the store
 * keeps a key-check value (`keyCheckValue`) so a wrong or new root key is refused at start.
 */
export interface RootKeySource {
  kind: 'file' | 'env';
  /** File path, or environment variable name. */
  location: string;
}

export class RootKeyError extends Error {}

export function loadRootKey(source: RootKeySource, env: NodeJS.ProcessEnv = process.env): Buffer | undefined {
  if (source.kind === 'env') {
    const value = env[source.location];
    return value === undefined ? undefined : decodeRootKey(value, `environment variable ${source.location}`);
  }
  if (!existsSync(source.location)) return undefined;
  return decodeRootKey(readFileSync(source.location, 'utf8'), `root key file ${source.location}`);
}

/** Creates a new root key file (mode 0600). Only for a deployment's first start. */
export function createRootKeyFile(path: string): Buffer {
  const key = randomBytes(KEY_LENGTH);
  writeFileSync(path, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
  return key;
}

function decodeRootKey(text: string, where: string): Buffer {
  const trimmed = text.trim();
  const key = Buffer.from(trimmed, 'base64');
  if (key.length !== KEY_LENGTH || key.toString('base64') !== trimmed) {
    throw new RootKeyError(`The ${where} must hold base64 of exactly ${KEY_LENGTH} bytes.`);
  }
  return key;
}

/**
 * A value that identifies the root key without revealing it: HMAC-SHA-256 of a fixed label.
 * Stored in the store at first start and compared at every start.
 */
export function keyCheckValue(rootKey: Buffer): string {
  return createHmac('sha256', rootKey).update('trent root key check v1').digest('hex');
}
