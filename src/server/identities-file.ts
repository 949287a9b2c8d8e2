import { createHash } from 'node:crypto';
import { readFileSync, type Stats, unwatchFile, watchFile } from 'node:fs';
import type { Logger } from 'pino';
import { importAccessKey } from '../auth/access-keys.js';
import { compileVpcEndpoints } from '../policy/vpc-endpoint.js';
import type { IdentityStore } from '../storage/identity-store.js';
import type { Store } from '../storage/store.js';
import {
  attachManagedPolicy,
  attachScp,
  checkIdentityPolicy,
  checkRoleName,
  checkScp,
  checkServiceName,
  checkUserName,
  compileTrustPolicy,
  createManagedPolicy,
  deleteService,
  deleteUser,
  ensureAccount,
  ensureRole,
  ensureUser,
  IdentityError,
  putRolePolicy,
  putUserPolicy,
} from './identity-admin.js';

/**
 * The identities file (docs/identities.md): accounts, their IAM users with principal tags, inline
 * policies and access keys, roles, SCPs and service identities, applied at start and again
 * whenever the file changes (watchIdentitiesFile). The file wins for what it names — a named user gets
 * exactly the tags, policies and listed access keys the file gives it — and leaves everything else
 * alone; a user marked `"deleted": true` is removed. Each change is logged.
 */
export interface IdentitiesFile {
  accounts: Record<
    string,
    {
      users?: Record<string, UserEntry>;
      roles?: Record<string, RoleEntry>;
      scps?: Record<string, unknown>;
      services?: Record<string, ServiceEntry>;
      /** Customer managed policies by name (created, or their documents replaced). */
      managedPolicies?: Record<string, unknown>;
    }
  >;
  /** VPC endpoints and their policies, held in memory by the server (src/server/vpc-endpoints-file.ts). */
  vpcEndpoints?: Record<string, { vpc?: string; policy?: unknown }>;
}

interface ServiceEntry {
  accessKeys?: { accessKeyId: string; secretAccessKey: string }[];
  deleted?: boolean;
}

interface RoleEntry {
  trustPolicy?: unknown;
  tags?: Record<string, string>;
  policies?: Record<string, unknown>;
  /** Names of managed policies of the account attached to the role: exactly these. */
  attachedPolicies?: string[];
  maxSessionDuration?: number;
  deleted?: boolean;
}

interface UserEntry {
  tags?: Record<string, string>;
  policies?: Record<string, unknown>;
  /** Names of managed policies of the account attached to the user: exactly these. */
  attachedPolicies?: string[];
  accessKeys?: { accessKeyId: string; secretAccessKey: string }[];
  deleted?: boolean;
}

export interface ApplyTarget {
  store: Store;
  identities: IdentityStore;
  rootKey: Buffer;
  logger: Logger;
  now: number;
}

export async function applyIdentitiesFile(path: string, target: ApplyTarget): Promise<void> {
  await applyIdentitiesText(readIdentitiesFile(path), path, target);
}

function readIdentitiesFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new IdentityError(`Identities file ${path}: ${(err as Error).message}`);
  }
}

/**
 * Applies the text of an identities file. The whole file is checked first — its shape, every name
 * and every policy document — so a file with a mistake changes nothing; only what depends on the
 * store (a trust policy naming a principal that does not exist) can fail part way.
 */
async function applyIdentitiesText(text: string, path: string, target: ApplyTarget): Promise<void> {
  let file: IdentitiesFile;
  try {
    file = parseIdentitiesFile(text);
    checkDocuments(file);
  } catch (err) {
    throw new IdentityError(`Identities file ${path}: ${(err as Error).message}`);
  }
  const { logger } = target;
  const accounts = Object.entries(file.accounts);
  for (const [accountId, account] of accounts) {
    await ensureAccount(target, accountId, target.now);
    for (const [policyName, document] of Object.entries(account.managedPolicies ?? {})) {
      await createManagedPolicy(target, accountId, policyName, asText(document), target.now, { replace: true });
      logger.info({ accountId, policyName }, 'identities file: managed policy applied');
    }
    for (const [userName, entry] of Object.entries(account.users ?? {})) {
      if (entry.deleted === true) {
        if (await deleteUser(target, accountId, userName))
          logger.info({ accountId, userName }, 'identities file: user deleted');
        continue;
      }
      const { created } = await ensureUser(target, accountId, userName, target.now, entry.tags ?? {});
      logger.info({ accountId, userName, created }, 'identities file: user applied (the file wins over the store)');
      const wanted = entry.policies ?? {};
      for (const old of await target.identities.listUserPolicies(accountId, userName)) {
        if (!(old.policyName in wanted)) await target.identities.deleteUserPolicy(accountId, userName, old.policyName);
      }
      for (const [policyName, document] of Object.entries(wanted)) {
        await putUserPolicy(target, accountId, userName, policyName, asText(document));
      }
      await applyAttachments(target, accountId, 'user', userName, entry.attachedPolicies ?? []);
      for (const key of entry.accessKeys ?? []) {
        await importAccessKey(target.store, target.rootKey, {
          accessKeyId: key.accessKeyId,
          secret: key.secretAccessKey,
          accountId,
          userName,
          now: target.now,
        });
      }
    }
  }
  // Users of every account first, then roles: a trust policy may name a user or role of any
  // account in the file, and is bound to it when saved — so roles trusting roles are saved in
  // passes until none is left or a pass makes no progress.
  let pending = accounts.flatMap(([accountId, account]) =>
    Object.entries(account.roles ?? {}).map(([roleName, entry]) => ({ accountId, roleName, entry })),
  );
  while (pending.length > 0) {
    const failed: typeof pending = [];
    let lastError: unknown;
    for (const role of pending) {
      try {
        await applyRole(target, role.accountId, role.roleName, role.entry);
      } catch (err) {
        if (!(err instanceof IdentityError)) throw err;
        failed.push(role);
        lastError = err;
      }
    }
    if (failed.length === pending.length) throw lastError;
    pending = failed;
  }
  for (const [accountId, account] of accounts) {
    if (account.scps !== undefined) {
      // The file names the account's whole set of SCPs: ones it does not list are detached.
      for (const old of await target.identities.listScps(accountId)) {
        if (!(old.policyName in account.scps)) await target.identities.deleteScp(accountId, old.policyName);
      }
      for (const [policyName, document] of Object.entries(account.scps)) {
        await attachScp(target, accountId, policyName, asText(document), target.now);
      }
      logger.info({ accountId, scps: Object.keys(account.scps) }, 'identities file: SCPs applied');
    }
    for (const [name, entry] of Object.entries(account.services ?? {})) {
      if (entry.deleted === true) {
        if (await deleteService(target, accountId, name))
          logger.info({ accountId, service: name }, 'identities file: service identity deleted');
        continue;
      }
      for (const key of entry.accessKeys ?? []) {
        await importAccessKey(target.store, target.rootKey, {
          accessKeyId: key.accessKeyId,
          secret: key.secretAccessKey,
          accountId,
          service: name,
          now: target.now,
        });
      }
      logger.info({ accountId, service: name }, 'identities file: service identity applied');
    }
  }
}

async function applyRole(target: ApplyTarget, accountId: string, roleName: string, entry: RoleEntry): Promise<void> {
  const { logger } = target;
  if (entry.deleted === true) {
    if (await target.identities.deleteRole(accountId, roleName))
      logger.info({ accountId, roleName }, 'identities file: role deleted');
    return;
  }
  const { created } = await ensureRole(target, accountId, roleName, target.now, {
    trustPolicy: asText(entry.trustPolicy),
    tags: entry.tags ?? {},
    maxSessionDuration: entry.maxSessionDuration,
  });
  logger.info({ accountId, roleName, created }, 'identities file: role applied (the file wins over the store)');
  const wanted = entry.policies ?? {};
  for (const old of await target.identities.listRolePolicies(accountId, roleName)) {
    if (!(old.policyName in wanted)) await target.identities.deleteRolePolicy(accountId, roleName, old.policyName);
  }
  for (const [policyName, document] of Object.entries(wanted)) {
    await putRolePolicy(target, accountId, roleName, policyName, asText(document));
  }
  await applyAttachments(target, accountId, 'role', roleName, entry.attachedPolicies ?? []);
}

/** Leaves exactly the listed managed policies attached to a user or role. */
async function applyAttachments(
  target: ApplyTarget,
  accountId: string,
  entityType: 'user' | 'role',
  entityName: string,
  wanted: string[],
): Promise<void> {
  for (const old of await target.identities.listAttachedPolicies(accountId, entityType, entityName)) {
    if (!wanted.includes(old.policyName)) {
      await target.identities.detachPolicy({ accountId, policyName: old.policyName, entityType, entityName });
    }
  }
  for (const policyName of wanted) {
    await attachManagedPolicy(target, accountId, entityType, entityName, policyName);
  }
}

/** Every name and policy document of the file, checked before anything is written. */
function checkDocuments(file: IdentitiesFile): void {
  compileVpcEndpoints(file.vpcEndpoints);
  for (const [accountId, account] of Object.entries(file.accounts)) {
    for (const [userName, user] of Object.entries(account.users ?? {})) {
      const where = `account ${accountId}, user ${userName}`;
      inContext(where, () => checkUserName(userName));
      if (user.deleted === true) continue;
      for (const [policyName, document] of Object.entries(user.policies ?? {})) {
        inContext(where, () => checkIdentityPolicy(policyName, asText(document)));
      }
    }
    for (const [roleName, role] of Object.entries(account.roles ?? {})) {
      const where = `account ${accountId}, role ${roleName}`;
      inContext(where, () => checkRoleName(roleName));
      if (role.deleted === true) continue;
      inContext(where, () => compileTrustPolicy(asText(role.trustPolicy)));
      for (const [policyName, document] of Object.entries(role.policies ?? {})) {
        inContext(where, () => checkIdentityPolicy(policyName, asText(document)));
      }
    }
    for (const [policyName, document] of Object.entries(account.scps ?? {})) {
      inContext(`account ${accountId}`, () => checkScp(policyName, asText(document)));
    }
    for (const [policyName, document] of Object.entries(account.managedPolicies ?? {})) {
      inContext(`account ${accountId}, managed policy ${policyName}`, () =>
        checkIdentityPolicy(policyName, asText(document)),
      );
    }
    for (const name of Object.keys(account.services ?? {})) {
      inContext(`account ${accountId}, service ${name}`, () => checkServiceName(name));
    }
  }
}

function inContext(where: string, check: () => unknown): void {
  try {
    check();
  } catch (err) {
    throw new Error(`${where}: ${(err as Error).message}`);
  }
}

/**
 * Re-applies the identities file whenever it changes, while the server runs. The file is polled
 * (its size, modification time and inode — an editor that writes a new file and renames it over
 * the old one changes the inode) rather than watched with fs.watch, which loses track of a
 * replaced file on some platforms; the content's SHA-256 decides whether anything changed. A file
 * that does not parse or validate is logged and ignored: the identities applied last stay.
 * Returns a function that stops watching and waits for an application in progress.
 */
export function watchIdentitiesFile(
  path: string,
  target: Omit<ApplyTarget, 'now'>,
  options: { intervalMs?: number; onApplied?: () => void } = {},
): () => Promise<void> {
  let applied = digestOf(path);
  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  const check = () => {
    if (stopped) return;
    running = running.then(async () => {
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch (err) {
        // Between an editor's unlink and its rename the file may be briefly missing.
        target.logger.warn(
          { path, err: (err as Error).message },
          'identities file unreadable: keeping the identities applied last',
        );
        return;
      }
      const digest = sha256(text);
      if (digest === applied) return;
      applied = digest;
      try {
        await applyIdentitiesText(text, path, { ...target, now: Date.now() });
        target.logger.info({ path }, 'identities file reloaded');
        options.onApplied?.();
      } catch (err) {
        target.logger.error(
          { path, err: (err as Error).message },
          'identities file not reloaded: keeping the identities applied last',
        );
      }
    });
  };
  const listener = (curr: Stats, prev: Stats) => {
    if (curr.mtimeMs !== prev.mtimeMs || curr.size !== prev.size || curr.ino !== prev.ino) check();
  };
  watchFile(path, { interval: options.intervalMs ?? 1000, persistent: false }, listener);
  return async () => {
    stopped = true;
    unwatchFile(path, listener);
    await running;
  };
}

function digestOf(path: string): string | undefined {
  try {
    return sha256(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

function asText(document: unknown): string {
  return typeof document === 'string' ? document : JSON.stringify(document);
}

export function parseIdentitiesFile(text: string): IdentitiesFile {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    // V8's message quotes a piece of the text, which may be part of a secret: keep the position only.
    const at = /position (\d+)/.exec((err as Error).message)?.[1];
    throw new Error(`not valid JSON${at === undefined ? '' : ` (at position ${at})`}`);
  }
  if (!isObject(doc) || !isObject(doc.accounts)) throw new Error('expected {"accounts": {"<12-digit id>": {...}}}');
  for (const [accountId, account] of Object.entries(doc.accounts)) {
    if (!/^\d{12}$/.test(accountId)) throw new Error(`account id '${accountId}' must be 12 digits`);
    if (!isObject(account)) throw new Error(`account ${accountId} must be an object`);
    if (account.roles !== undefined) {
      if (!isObject(account.roles)) throw new Error(`account ${accountId}: roles must be an object`);
      for (const [roleName, role] of Object.entries(account.roles)) {
        const where = `account ${accountId}, role ${roleName}`;
        if (!isObject(role)) throw new Error(`${where} must be an object`);
        if (role.deleted === true) continue;
        if (role.trustPolicy === undefined) throw new Error(`${where}: trustPolicy is required`);
        if (
          role.tags !== undefined &&
          (!isObject(role.tags) || Object.values(role.tags).some((v) => typeof v !== 'string'))
        )
          throw new Error(`${where}: tags must map names to strings`);
        if (role.policies !== undefined && !isObject(role.policies))
          throw new Error(`${where}: policies must be an object`);
        if (role.maxSessionDuration !== undefined && typeof role.maxSessionDuration !== 'number')
          throw new Error(`${where}: maxSessionDuration must be a number of seconds`);
        checkAttachedPolicies(where, role.attachedPolicies);
      }
    }
    if (account.scps !== undefined && !isObject(account.scps))
      throw new Error(`account ${accountId}: scps must map policy names to documents`);
    if (account.managedPolicies !== undefined && !isObject(account.managedPolicies))
      throw new Error(`account ${accountId}: managedPolicies must map policy names to documents`);
    if (account.services !== undefined) {
      if (!isObject(account.services)) throw new Error(`account ${accountId}: services must be an object`);
      for (const [name, service] of Object.entries(account.services)) {
        const where = `account ${accountId}, service ${name}`;
        if (!isObject(service)) throw new Error(`${where} must be an object`);
        checkAccessKeys(where, service.accessKeys);
      }
    }
    if (account.users === undefined) continue;
    if (!isObject(account.users)) throw new Error(`account ${accountId}: users must be an object`);
    for (const [userName, user] of Object.entries(account.users)) {
      const where = `account ${accountId}, user ${userName}`;
      if (!isObject(user)) throw new Error(`${where} must be an object`);
      if (
        user.tags !== undefined &&
        (!isObject(user.tags) || Object.values(user.tags).some((v) => typeof v !== 'string'))
      ) {
        throw new Error(`${where}: tags must map names to strings`);
      }
      if (user.policies !== undefined && !isObject(user.policies))
        throw new Error(`${where}: policies must be an object`);
      checkAttachedPolicies(where, user.attachedPolicies);
      checkAccessKeys(where, user.accessKeys);
    }
  }
  return doc as unknown as IdentitiesFile;
}

function checkAttachedPolicies(where: string, names: unknown): void {
  if (names === undefined) return;
  if (!Array.isArray(names) || names.some((n) => typeof n !== 'string'))
    throw new Error(`${where}: attachedPolicies must be a list of managed policy names`);
}

function checkAccessKeys(where: string, keys: unknown): void {
  if (keys === undefined) return;
  if (!Array.isArray(keys)) throw new Error(`${where}: accessKeys must be a list`);
  for (const k of keys as unknown[]) {
    if (!isObject(k) || typeof k.accessKeyId !== 'string' || typeof k.secretAccessKey !== 'string') {
      throw new Error(`${where}: each access key needs accessKeyId and secretAccessKey strings`);
    }
    if (!/^AKIA[A-Z0-9]{12,124}$/.test(k.accessKeyId)) {
      throw new Error(`${where}: access key id '${k.accessKeyId}' must look like AKIA… (16 to 128 characters)`);
    }
    if (k.secretAccessKey.length < 16) throw new Error(`${where}: secretAccessKey is too short`);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
