import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { importAccessKey } from '../auth/access-keys.js';
import type { IdentityStore } from '../storage/identity-store.js';
import type { Store } from '../storage/store.js';
import {
  attachScp,
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
 * policies and access keys, applied at start. The file wins for what it names — a named user gets
 * exactly the tags, policies and listed access keys the file gives it — and leaves everything else
 * alone; a user marked `"deleted": true` is removed. Each change is logged.
 */
export interface IdentitiesFile {
  accounts: Record<
    string,
    { users?: Record<string, UserEntry>; roles?: Record<string, RoleEntry>; scps?: Record<string, unknown> }
  >;
}

interface RoleEntry {
  trustPolicy?: unknown;
  tags?: Record<string, string>;
  policies?: Record<string, unknown>;
  maxSessionDuration?: number;
  deleted?: boolean;
}

interface UserEntry {
  tags?: Record<string, string>;
  policies?: Record<string, unknown>;
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
  let file: IdentitiesFile;
  try {
    file = parseIdentitiesFile(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new IdentityError(`Identities file ${path}: ${(err as Error).message}`);
  }
  const { logger } = target;
  for (const [accountId, account] of Object.entries(file.accounts)) {
    await ensureAccount(target, accountId, target.now);
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
        const text = typeof document === 'string' ? document : JSON.stringify(document);
        await putUserPolicy(target, accountId, userName, policyName, text);
      }
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
    for (const [roleName, entry] of Object.entries(account.roles ?? {})) {
      if (entry.deleted === true) {
        if (await target.identities.deleteRole(accountId, roleName))
          logger.info({ accountId, roleName }, 'identities file: role deleted');
        continue;
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
    }
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
  }
}

function asText(document: unknown): string {
  return typeof document === 'string' ? document : JSON.stringify(document);
}

export function parseIdentitiesFile(text: string): IdentitiesFile {
  const doc = JSON.parse(text) as unknown;
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
      }
    }
    if (account.scps !== undefined && !isObject(account.scps))
      throw new Error(`account ${accountId}: scps must map policy names to documents`);
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
      if (user.accessKeys !== undefined) {
        if (!Array.isArray(user.accessKeys)) throw new Error(`${where}: accessKeys must be a list`);
        for (const k of user.accessKeys as unknown[]) {
          if (!isObject(k) || typeof k.accessKeyId !== 'string' || typeof k.secretAccessKey !== 'string') {
            throw new Error(`${where}: each access key needs accessKeyId and secretAccessKey strings`);
          }
          if (!/^AKIA[A-Z0-9]{12,124}$/.test(k.accessKeyId)) {
            throw new Error(`${where}: access key id '${k.accessKeyId}' must look like AKIA… (16 to 128 characters)`);
          }
          if (k.secretAccessKey.length < 16) throw new Error(`${where}: secretAccessKey is too short`);
        }
      }
    }
  }
  return doc as unknown as IdentitiesFile;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
