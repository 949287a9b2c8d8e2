import { randomBytes, randomInt } from 'node:crypto';
import { unwrapSecret, wrapSecret } from '../crypto/wrap.js';
import type { AccessKeyRecord } from '../storage/records.js';
import type { Store } from '../storage/store.js';
import type { Caller } from './caller.js';
import { serviceNameOf, servicePrincipalOf } from './service-identity.js';
import { TtlCache } from './ttl-cache.js';

/**
 * Access keys: creation, and the lookup that authentication does on every request.
 *
 * Secrets are stored wrapped under the root key (bound to the access key id). Lookups are cached
 * for a few seconds: the hot path reads no database, and a key deleted by `trent access-key
 * delete` — possibly from another process — stops working within `ttlMs`.
 */
export interface Credential {
  caller: Caller;
  secret: string;
}

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export function newAccessKeyId(): string {
  let id = 'AKIA';
  for (let i = 0; i < 16; i++) id += ID_ALPHABET[randomInt(ID_ALPHABET.length)];
  return id;
}

export function newSecretAccessKey(): string {
  // 30 random bytes → 40 base64 characters, the length of an AWS secret access key.
  return randomBytes(30).toString('base64');
}

export function callerOf(record: AccessKeyRecord): Caller {
  if (serviceNameOf(record.principalArn) !== undefined) {
    return {
      accountId: record.accountId,
      arn: record.principalArn,
      type: 'AWSService',
      accessKeyId: record.accessKeyId,
    };
  }
  const user = /^arn:aws:iam::\d{12}:user\/(.+)$/.exec(record.principalArn)?.[1];
  return user === undefined
    ? { accountId: record.accountId, arn: record.principalArn, type: 'Root', accessKeyId: record.accessKeyId }
    : {
        accountId: record.accountId,
        arn: record.principalArn,
        type: 'IAMUser',
        accessKeyId: record.accessKeyId,
        userName: user,
      };
}

/** The principal of an access key: the account root, an IAM user, or a service identity (`service`). */
export function principalArnFor(accountId: string, userName?: string, service?: string): string {
  if (service !== undefined) return servicePrincipalOf(service);
  return userName === undefined ? `arn:aws:iam::${accountId}:root` : `arn:aws:iam::${accountId}:user/${userName}`;
}

function secretContext(accessKeyId: string): string {
  return `access-key\n${accessKeyId}`;
}

export async function createAccessKey(
  store: Store,
  rootKey: Buffer,
  options: { accountId: string; userName?: string; service?: string; description?: string; now: number },
): Promise<{ record: AccessKeyRecord; secret: string }> {
  for (;;) {
    const accessKeyId = newAccessKeyId();
    const secret = newSecretAccessKey();
    const record: AccessKeyRecord = {
      accessKeyId,
      accountId: options.accountId,
      principalArn: principalArnFor(options.accountId, options.userName, options.service),
      secretWrapped: wrapSecret(rootKey, Buffer.from(secret, 'utf8'), secretContext(accessKeyId)),
      createdAt: options.now,
      description: options.description ?? '',
    };
    if (await store.insertAccessKey(record)) return { record, secret };
  }
}

/**
 * Stores an access key whose id and secret the operator chose (the identities file). An existing
 * key with that id is replaced: the file wins.
 */
export async function importAccessKey(
  store: Store,
  rootKey: Buffer,
  options: { accessKeyId: string; secret: string; accountId: string; userName?: string; service?: string; now: number },
): Promise<AccessKeyRecord> {
  const { accessKeyId } = options;
  const record: AccessKeyRecord = {
    accessKeyId,
    accountId: options.accountId,
    principalArn: principalArnFor(options.accountId, options.userName, options.service),
    secretWrapped: wrapSecret(rootKey, Buffer.from(options.secret, 'utf8'), secretContext(accessKeyId)),
    createdAt: options.now,
    description: 'identities file',
  };
  const existing = await store.getAccessKey(accessKeyId);
  if (existing !== undefined) {
    if (existing.principalArn === record.principalArn && unwrapAccessKeySecret(rootKey, existing) === options.secret) {
      return existing;
    }
    await store.deleteAccessKey(accessKeyId);
  }
  if (!(await store.insertAccessKey(record))) throw new Error(`Access key ${accessKeyId} could not be stored.`);
  return record;
}

export function unwrapAccessKeySecret(rootKey: Buffer, record: AccessKeyRecord): string | undefined {
  return unwrapSecret(rootKey, record.secretWrapped, secretContext(record.accessKeyId))?.toString('utf8');
}

export class CredentialCache {
  private readonly cache: TtlCache<Credential | undefined>;

  constructor(
    private readonly store: Store,
    private readonly rootKey: Buffer,
    ttlMs = 5000,
    maxEntries = 10_000,
  ) {
    this.cache = new TtlCache(ttlMs, maxEntries);
  }

  lookup(accessKeyId: string): Promise<Credential | undefined> {
    return this.cache.get(accessKeyId, this.#read);
  }

  readonly #read = async (accessKeyId: string): Promise<Credential | undefined> => {
    const record = await this.store.getAccessKey(accessKeyId);
    const secret = record === undefined ? undefined : unwrapAccessKeySecret(this.rootKey, record);
    return record === undefined || secret === undefined ? undefined : { caller: callerOf(record), secret };
  };
}
