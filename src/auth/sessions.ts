import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { unwrapSecret, wrapSecret } from '../crypto/wrap.js';
import type { IdentityStore, RoleRecord, SessionRecord } from '../storage/identity-store.js';
import { newSecretAccessKey } from './access-keys.js';
import type { Caller } from './caller.js';
import { TtlCache } from './ttl-cache.js';

/**
 * Temporary credentials (STS sessions): an `ASIA…` access key id, a secret and a session token,
 * valid until an expiry. The secret is stored wrapped under the root key (bound to the access key
 * id) and the token only as its SHA-256, so a copy of the store lets no one sign as a session; every
 * process and node sharing the store can verify them.
 */
export interface IssuedSession {
  record: SessionRecord;
  secretAccessKey: string;
  sessionToken: string;
}

export interface SessionCredential {
  caller: Caller;
  secret: string;
  tokenSha256: string;
  expiresAt: number;
}

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export function newTemporaryAccessKeyId(): string {
  let id = 'ASIA';
  for (let i = 0; i < 16; i++) id += ID_ALPHABET[randomInt(ID_ALPHABET.length)];
  return id;
}

function secretContext(accessKeyId: string): string {
  return `session\n${accessKeyId}`;
}

export function tokenSha256(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function assumedRoleArn(accountId: string, roleName: string, sessionName: string): string {
  return `arn:aws:sts::${accountId}:assumed-role/${roleName}/${sessionName}`;
}

export function roleArnOf(accountId: string, roleName: string): string {
  return `arn:aws:iam::${accountId}:role/${roleName}`;
}

/**
 * A caller for a session of `role` that no AssumeRole issued — one a service names in
 * X-Trent-On-Behalf-Of, or one `trent policy explain` evaluates: the role's own tags apply, with no
 * session tags, session policy or expiry.
 */
export function roleSessionCaller(
  role: RoleRecord,
  sessionName: string,
  accessKeyId: string,
  createdAt: number,
): Caller {
  return {
    accountId: role.accountId,
    arn: assumedRoleArn(role.accountId, role.roleName, sessionName),
    type: 'AssumedRole',
    accessKeyId,
    session: {
      roleName: role.roleName,
      roleId: role.roleId,
      roleArn: roleArnOf(role.accountId, role.roleName),
      sessionName,
      tags: {},
      transitiveTagKeys: [],
      chained: false,
      createdAt,
      expiresAt: Number.MAX_SAFE_INTEGER,
    },
  };
}

/** Issues and stores a session; the caller of AssumeRole has been authorized already. */
export async function issueSession(
  identities: IdentityStore,
  rootKey: Buffer,
  session: Omit<SessionRecord, 'accessKeyId' | 'secretWrapped' | 'tokenSha256'>,
  now: number,
): Promise<IssuedSession> {
  const accessKeyId = newTemporaryAccessKeyId();
  const secretAccessKey = newSecretAccessKey();
  // Opaque to clients; long enough that guessing is hopeless (AWS's tokens are a few hundred characters).
  const sessionToken = randomBytes(120).toString('base64');
  const record: SessionRecord = {
    ...session,
    accessKeyId,
    secretWrapped: wrapSecret(rootKey, Buffer.from(secretAccessKey, 'utf8'), secretContext(accessKeyId)),
    tokenSha256: tokenSha256(sessionToken),
  };
  await identities.insertSession(record, now);
  return { record, secretAccessKey, sessionToken };
}

export function sessionCaller(record: SessionRecord): Caller {
  return {
    accountId: record.accountId,
    arn: assumedRoleArn(record.accountId, record.roleName, record.sessionName),
    type: 'AssumedRole',
    accessKeyId: record.accessKeyId,
    session: {
      roleName: record.roleName,
      roleId: record.roleId,
      roleArn: roleArnOf(record.accountId, record.roleName),
      sessionName: record.sessionName,
      tags: record.tags,
      transitiveTagKeys: record.transitiveTagKeys,
      chained: record.chained,
      createdAt: record.createdAt,
      expiresAt: record.expiresAt,
      ...(record.sessionPolicy === undefined ? {} : { policy: record.sessionPolicy }),
    },
  };
}

/** Does `token` hash to the stored digest? (Constant time.) */
export function tokenMatches(credential: SessionCredential, token: string): boolean {
  const a = Buffer.from(tokenSha256(token), 'hex');
  const b = Buffer.from(credential.tokenSha256, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Session lookups for authentication, cached briefly like access keys (sessions never change). */
export class SessionCache {
  private readonly cache: TtlCache<SessionCredential | undefined>;

  constructor(
    private readonly identities: IdentityStore,
    private readonly rootKey: Buffer,
    ttlMs = 5000,
    maxEntries = 10_000,
  ) {
    this.cache = new TtlCache(ttlMs, maxEntries);
  }

  lookup(accessKeyId: string): Promise<SessionCredential | undefined> {
    return this.cache.get(accessKeyId, this.#read);
  }

  readonly #read = async (accessKeyId: string): Promise<SessionCredential | undefined> => {
    const record = /^ASIA[A-Z2-7]{16}$/.test(accessKeyId) ? await this.identities.getSession(accessKeyId) : undefined;
    const secret =
      record === undefined
        ? undefined
        : unwrapSecret(this.rootKey, record.secretWrapped, secretContext(accessKeyId))?.toString('utf8');
    return record === undefined || secret === undefined
      ? undefined
      : { caller: sessionCaller(record), secret, tokenSha256: record.tokenSha256, expiresAt: record.expiresAt };
  };
}
