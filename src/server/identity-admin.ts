import { randomInt } from 'node:crypto';
import { principalArnFor } from '../auth/access-keys.js';
import { isServiceName, servicePrincipalOf } from '../auth/service-identity.js';
import { parsePolicy } from '../policy/parse-policy.js';
import type { CompiledPolicy } from '../policy/policy.js';
import type { IdentityStore, RoleRecord, UserRecord } from '../storage/identity-store.js';
import type { AccessKeyRecord } from '../storage/records.js';
import type { Store } from '../storage/store.js';

/**
 * Administering IAM users and their inline policies: the steps shared by the `trent user` /
 * `trent policy` commands and the identities file. Names and documents are validated here, once,
 * before anything is stored.
 */
export interface IdentityAdmin {
  store: Store;
  identities: IdentityStore;
}

const USER_NAME = /^[\w+=,.@-]{1,64}$/;
const POLICY_NAME = /^[\w+=,.@-]{1,128}$/;
const ACCOUNT = /^\d{12}$/;
const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
/** IAM's quota for the inline policies of one user, in characters (whitespace included here). */
export const MAX_USER_POLICY_CHARS = 10_240;

export class IdentityError extends Error {}

/** A new unique user id: `AIDA` and 17 characters, as IAM's are. */
export function newUserId(): string {
  let id = 'AIDA';
  for (let i = 0; i < 17; i++) id += ID_ALPHABET[randomInt(ID_ALPHABET.length)];
  return id;
}

export function checkAccountId(accountId: string): void {
  if (!ACCOUNT.test(accountId)) throw new IdentityError(`The account id must be 12 digits, not '${accountId}'.`);
}

export function checkUserName(userName: string): void {
  if (!USER_NAME.test(userName)) {
    throw new IdentityError(`User name '${userName}' must be 1 to 64 characters of letters, digits and +=,.@_-.`);
  }
}

/** Creates the account's record if it has none yet. */
export async function ensureAccount(admin: IdentityAdmin, accountId: string, now: number): Promise<void> {
  checkAccountId(accountId);
  if ((await admin.store.getAccount(accountId)) === undefined)
    await admin.store.putAccount({ accountId, createdAt: now });
}

/** The user, created (with a new unique id) when missing; `tags`, when given, replace its tags. */
export async function ensureUser(
  admin: IdentityAdmin,
  accountId: string,
  userName: string,
  now: number,
  tags?: Record<string, string>,
): Promise<{ user: UserRecord; created: boolean }> {
  checkUserName(userName);
  await ensureAccount(admin, accountId, now);
  const existing = await admin.identities.getUser(accountId, userName);
  if (existing !== undefined) {
    if (tags !== undefined && JSON.stringify(tags) !== JSON.stringify(existing.tags)) {
      await admin.identities.updateUserTags(accountId, userName, tags);
      return { user: { ...existing, tags }, created: false };
    }
    return { user: existing, created: false };
  }
  const user: UserRecord = { accountId, userName, userId: newUserId(), tags: tags ?? {}, createdAt: now };
  if (!(await admin.identities.insertUser(user))) {
    const raced = await admin.identities.getUser(accountId, userName);
    if (raced !== undefined) return { user: raced, created: false };
    throw new IdentityError(`User ${userName} could not be created.`);
  }
  return { user, created: true };
}

/** Deletes a user, its inline policies and its access keys; false if there was no such user. */
export async function deleteUser(admin: IdentityAdmin, accountId: string, userName: string): Promise<boolean> {
  const arn = principalArnFor(accountId, userName);
  for (const key of await admin.store.listAccessKeys(accountId)) {
    if (key.principalArn === arn) await admin.store.deleteAccessKey(key.accessKeyId);
  }
  return admin.identities.deleteUser(accountId, userName);
}

/** Validates an identity policy document and stores it as an inline policy of an existing user. */
export async function putUserPolicy(
  admin: IdentityAdmin,
  accountId: string,
  userName: string,
  policyName: string,
  document: string,
): Promise<void> {
  checkIdentityPolicy(policyName, document);
  if (!(await admin.identities.putUserPolicy({ accountId, userName, policyName, document }))) {
    throw new IdentityError(`No user ${userName} in account ${accountId}.`);
  }
}

const ROLE_NAME = /^[\w+=,.@-]{1,64}$/;
/** IAM's quotas: trust policies 2,048 characters (adjustable to 4,096 — Trent takes the larger), SCPs 5,120. */
export const MAX_TRUST_POLICY_CHARS = 4_096;
export const MAX_SCP_CHARS = 5_120;
export const DEFAULT_MAX_SESSION_DURATION = 3_600;

export function checkRoleName(roleName: string): void {
  if (!ROLE_NAME.test(roleName)) {
    throw new IdentityError(`Role name '${roleName}' must be 1 to 64 characters of letters, digits and +=,.@_-.`);
  }
}

/** A new unique role id: `AROA` and 17 characters, as IAM's are. */
export function newRoleId(): string {
  return `AROA${newUserId().slice(4)}`;
}

/**
 * A trust policy as STS evaluates it: a resource-based policy on the role, whose statements may
 * leave out Resource (the role is the resource): each such statement gets `"Resource": "*"`.
 * Throws IdentityError when the document is not a valid policy with a Principal in each statement.
 */
export function compileTrustPolicy(
  document: string,
  id = 'trust-policy',
  principalIds?: Readonly<Record<string, string>>,
): CompiledPolicy {
  let doc: unknown;
  try {
    doc = JSON.parse(document);
  } catch (err) {
    throw new IdentityError(`Trust policy: ${(err as Error).message}`);
  }
  if (doc !== null && typeof doc === 'object' && !Array.isArray(doc)) {
    const statements = (doc as { Statement?: unknown }).Statement;
    for (const st of Array.isArray(statements) ? statements : [statements]) {
      if (st !== null && typeof st === 'object' && !('Resource' in st) && !('NotResource' in st)) {
        (st as Record<string, unknown>).Resource = '*';
      }
    }
  }
  try {
    return parsePolicy(JSON.stringify(doc), {
      kind: 'resource',
      id,
      latin1Only: false,
      ...(principalIds === undefined ? {} : { principalIds: { ...principalIds } }),
    });
  } catch (err) {
    throw new IdentityError(`Trust policy: ${(err as Error).message}`);
  }
}

const USER_ARN = /^arn:aws[a-z-]*:iam::(\d{12}):user\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]+)$/;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]+)$/;

/**
 * The unique ids of the users and roles a trust policy names, by ARN, as IAM resolves them when
 * the policy is saved (IAM User Guide, "Unique identifiers"); a name that is no user or role now is
 * refused as IAM refuses it.
 */
export async function resolveTrustPrincipals(
  admin: Pick<IdentityAdmin, 'identities'>,
  trust: CompiledPolicy,
): Promise<Record<string, string>> {
  const ids: Record<string, string> = {};
  for (const statement of trust.statements) {
    for (const entry of statement.principal?.entries ?? []) {
      if (entry.kind !== 'arn' || (entry.arnKind !== 'user' && entry.arnKind !== 'role')) continue;
      const m = (entry.arnKind === 'user' ? USER_ARN : ROLE_ARN).exec(entry.arn);
      const [, accountId = '', name = ''] = m ?? [];
      const id =
        entry.arnKind === 'user'
          ? (await admin.identities.getUser(accountId, name))?.userId
          : (await admin.identities.getRole(accountId, name))?.roleId;
      if (id === undefined) throw new IdentityError(`Invalid principal in policy: "AWS":"${entry.arn}"`);
      ids[entry.arn] = id;
    }
  }
  return ids;
}

export interface RoleSpec {
  trustPolicy: string;
  tags?: Record<string, string> | undefined;
  maxSessionDuration?: number | undefined;
}

/** Creates a role (with a new unique id), or updates the trust policy, tags and duration of an existing one. */
export async function ensureRole(
  admin: IdentityAdmin,
  accountId: string,
  roleName: string,
  now: number,
  spec: RoleSpec,
): Promise<{ role: RoleRecord; created: boolean }> {
  checkRoleName(roleName);
  if (spec.trustPolicy.length > MAX_TRUST_POLICY_CHARS) {
    throw new IdentityError(
      `The trust policy of ${roleName} is ${spec.trustPolicy.length} characters; the quota is ${MAX_TRUST_POLICY_CHARS}.`,
    );
  }
  const trustPrincipals = await resolveTrustPrincipals(admin, compileTrustPolicy(spec.trustPolicy));
  const duration = spec.maxSessionDuration ?? DEFAULT_MAX_SESSION_DURATION;
  if (!Number.isInteger(duration) || duration < 3_600 || duration > 43_200) {
    throw new IdentityError(`The maximum session duration of ${roleName} must be 3600 to 43200 seconds.`);
  }
  await ensureAccount(admin, accountId, now);
  const existing = await admin.identities.getRole(accountId, roleName);
  if (existing !== undefined) {
    const role: RoleRecord = {
      ...existing,
      trustPolicy: spec.trustPolicy,
      trustPrincipals,
      tags: spec.tags ?? existing.tags,
      maxSessionDuration: spec.maxSessionDuration ?? existing.maxSessionDuration,
    };
    if (JSON.stringify(role) !== JSON.stringify(existing)) await admin.identities.updateRole(role);
    return { role, created: false };
  }
  const role: RoleRecord = {
    accountId,
    roleName,
    roleId: newRoleId(),
    trustPolicy: spec.trustPolicy,
    trustPrincipals,
    tags: spec.tags ?? {},
    maxSessionDuration: duration,
    createdAt: now,
  };
  if (!(await admin.identities.insertRole(role))) throw new IdentityError(`Role ${roleName} could not be created.`);
  return { role, created: true };
}

/** Validates an identity policy document and stores it as an inline policy of an existing role. */
export async function putRolePolicy(
  admin: IdentityAdmin,
  accountId: string,
  roleName: string,
  policyName: string,
  document: string,
): Promise<void> {
  checkIdentityPolicy(policyName, document);
  if (!(await admin.identities.putRolePolicy({ accountId, roleName, policyName, document }))) {
    throw new IdentityError(`No role ${roleName} in account ${accountId}.`);
  }
}

/** Validates a service control policy and attaches it to an account. */
export async function attachScp(
  admin: IdentityAdmin,
  accountId: string,
  policyName: string,
  document: string,
  now: number,
): Promise<void> {
  checkAccountId(accountId);
  checkScp(policyName, document);
  await ensureAccount(admin, accountId, now);
  await admin.identities.putScp({ accountId, policyName, document });
}

/** Checks a service control policy (name, size, syntax) without storing it. */
export function checkScp(policyName: string, document: string): void {
  if (!POLICY_NAME.test(policyName)) {
    throw new IdentityError(`Policy name '${policyName}' must be 1 to 128 characters of letters, digits and +=,.@_-.`);
  }
  if (document.length > MAX_SCP_CHARS) {
    throw new IdentityError(`SCP ${policyName} is ${document.length} characters; the quota is ${MAX_SCP_CHARS}.`);
  }
  try {
    parsePolicy(document, { kind: 'identity', id: policyName, latin1Only: false });
  } catch (err) {
    throw new IdentityError(`SCP ${policyName}: ${(err as Error).message}`);
  }
}

/** Checks an inline identity policy (name, size, syntax) without storing it. */
export function checkIdentityPolicy(policyName: string, document: string): void {
  if (!POLICY_NAME.test(policyName)) {
    throw new IdentityError(`Policy name '${policyName}' must be 1 to 128 characters of letters, digits and +=,.@_-.`);
  }
  if (document.length > MAX_USER_POLICY_CHARS) {
    throw new IdentityError(
      `Policy ${policyName} is ${document.length} characters; the quota is ${MAX_USER_POLICY_CHARS}.`,
    );
  }
  try {
    parsePolicy(document, { kind: 'identity', id: policyName, latin1Only: false });
  } catch (err) {
    throw new IdentityError(`Policy ${policyName}: ${(err as Error).message}`);
  }
}

export function checkServiceName(name: string): void {
  if (!isServiceName(name)) {
    throw new IdentityError(
      `Service name '${name}' must be 1 to 63 lower-case letters, digits and hyphens, starting with a letter (s3, ebs, …).`,
    );
  }
}

/** The access keys of a service identity in an account. */
export async function serviceAccessKeys(
  admin: IdentityAdmin,
  accountId: string,
  name: string,
): Promise<AccessKeyRecord[]> {
  const principal = servicePrincipalOf(name);
  return (await admin.store.listAccessKeys(accountId)).filter((k) => k.principalArn === principal);
}

/** Deletes a service identity (its access keys); false if it had none. */
export async function deleteService(admin: IdentityAdmin, accountId: string, name: string): Promise<boolean> {
  const keys = await serviceAccessKeys(admin, accountId, name);
  for (const key of keys) await admin.store.deleteAccessKey(key.accessKeyId);
  return keys.length > 0;
}

/** A new unique managed policy id: `ANPA` and 17 characters, as IAM's are. */
export function newPolicyId(): string {
  return `ANPA${newUserId().slice(4)}`;
}

/**
 * Validates a customer managed policy and creates it, or — with `replace` (the identities file) —
 * replaces the document of an existing one. Without `replace`, an existing name is IAM's
 * EntityAlreadyExists.
 */
export async function createManagedPolicy(
  admin: IdentityAdmin,
  accountId: string,
  policyName: string,
  document: string,
  now: number,
  options: { replace?: boolean } = {},
): Promise<{ created: boolean }> {
  checkAccountId(accountId);
  checkIdentityPolicy(policyName, document);
  await ensureAccount(admin, accountId, now);
  const record = { accountId, policyName, policyId: newPolicyId(), document, createdAt: now };
  if (await admin.identities.insertManagedPolicy(record)) return { created: true };
  if (options.replace === true && (await admin.identities.updateManagedPolicy(accountId, policyName, document)))
    return { created: false };
  throw new IdentityError(`A policy called ${policyName} already exists. Duplicate names are not allowed.`);
}

/** Deletes a managed policy; refused (IAM's DeleteConflict) while it is attached to anything. */
export async function deleteManagedPolicy(admin: IdentityAdmin, accountId: string, policyName: string): Promise<void> {
  const outcome = await admin.identities.deleteManagedPolicy(accountId, policyName);
  if (outcome === 'attached') throw new IdentityError('Cannot delete a policy attached to entities.');
  if (outcome === 'missing') {
    throw new IdentityError(`Policy arn:aws:iam::${accountId}:policy/${policyName} was not found.`);
  }
}

/** Attaches a managed policy to a user or role of its account. */
export async function attachManagedPolicy(
  admin: IdentityAdmin,
  accountId: string,
  entityType: 'user' | 'role',
  entityName: string,
  policyName: string,
): Promise<void> {
  if (await admin.identities.attachPolicy({ accountId, policyName, entityType, entityName })) return;
  if ((await admin.identities.getManagedPolicy(accountId, policyName)) === undefined) {
    throw new IdentityError(
      `Policy arn:aws:iam::${accountId}:policy/${policyName} does not exist or is not attachable.`,
    );
  }
  throw new IdentityError(`The ${entityType} with name ${entityName} cannot be found.`);
}
