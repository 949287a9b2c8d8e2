import type { Caller } from '../auth/caller.js';
import { roleArnOf, roleSessionCaller } from '../auth/sessions.js';
import { KeyRepository } from '../keys/key-repository.js';
import { encryptionConditions, keyConditions } from '../keys/request-conditions.js';
import { KMS_CONDITION_KEYS as KMS } from '../policy/condition-keys.js';
import { IdentityDirectory } from '../policy/identity-directory.js';
import { decisionTrace, KmsAuthorizer } from '../policy/kms-authorizer.js';
import type { AccessStore } from '../storage/open-access-store.js';
import type { Store } from '../storage/store.js';
import { IdentityError } from './identity-admin.js';

/**
 * `trent policy explain` and `trent policy who-can`: the request-path authorizer run over the
 * store, for a principal named by ARN instead of a signed request. A role ARN stands for a session
 * of that role (named `explain` unless an assumed-role ARN names the session); session tags are
 * not known, so a role session has the role's tags only.
 */
export interface ExplainQuestion {
  principal: string;
  action: string;
  /** Key id, key ARN, alias name or alias ARN. */
  key: string;
  accountId: string;
  region: string;
  context?: Record<string, string> | undefined;
  sourceIp?: string | undefined;
  algorithm?: string | undefined;
}

export interface Explanation {
  principal: string;
  action: string;
  resource: string;
  decision: string;
  rule: string;
  /** The AccessDeniedException message a caller would get. */
  message: string | undefined;
  grantId: string | undefined;
  trace: object;
}

export interface ExplainSources {
  store: Store;
  access: AccessStore;
  rootKey: Buffer;
}

function resolveKey(sources: ExplainSources, q: { key: string; accountId: string; region: string }) {
  return new KeyRepository(sources.store, sources.rootKey).resolve(
    { accountId: q.accountId, region: q.region },
    q.key,
    true,
  );
}

const ROOT = /^arn:aws:iam::(\d{12}):root$/;
const USER = /^arn:aws:iam::(\d{12}):user\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]+)$/;
const ROLE = /^arn:aws:iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]+)$/;
const SESSION = /^arn:aws:sts::(\d{12}):assumed-role\/([\w+=,.@-]+)\/([\w+=,.@-]+)$/;

export async function callerFromArn(access: AccessStore, arn: string): Promise<Caller> {
  const accessKeyId = 'EXPLAIN';
  let m = ROOT.exec(arn);
  if (m !== null) return { accountId: m[1] as string, arn, type: 'Root', accessKeyId };
  m = USER.exec(arn);
  if (m !== null) {
    const [, accountId, userName] = m as unknown as [string, string, string];
    return { accountId, arn: `arn:aws:iam::${accountId}:user/${userName}`, type: 'IAMUser', accessKeyId, userName };
  }
  m = ROLE.exec(arn) ?? SESSION.exec(arn);
  if (m === null) throw new IdentityError(`'${arn}' is not an account root, user, role or assumed-role ARN.`);
  const [, accountId, roleName, sessionName = 'explain'] = m as unknown as [string, string, string, string?];
  const role = await access.getRole(accountId, roleName);
  if (role === undefined) throw new IdentityError(`No role ${roleName} in account ${accountId}.`);
  return roleSessionCaller(role, sessionName, `${accessKeyId}-${roleName}-${sessionName}`, 0);
}

export async function explain(sources: ExplainSources, q: ExplainQuestion): Promise<Explanation> {
  const authorizer = new KmsAuthorizer(new IdentityDirectory(sources.access, 0), sources.access);
  const { key, aliasName } = await resolveKey(sources, q);
  const caller = await callerFromArn(sources.access, q.principal);
  const action = q.action.includes(':') ? q.action : `kms:${q.action}`;
  const decision = await authorizer.explain({
    caller,
    action,
    key,
    resource: key.arn,
    resourceAccountId: key.accountId,
    conditions: {
      ...keyConditions(key),
      ...encryptionConditions(q.context, q.algorithm),
      ...(aliasName === undefined ? {} : { [KMS.RequestAlias]: aliasName }),
    },
    encryptionContext: q.context,
    sourceIp: q.sourceIp ?? '127.0.0.1',
    requestedRegion: q.region,
  });
  return {
    principal: caller.arn,
    action,
    resource: key.arn,
    decision: decision.decision,
    rule: decision.rule,
    message: decision.message,
    grantId: decision.grantId,
    trace: decisionTrace(decision),
  };
}

/**
 * Every principal Trent knows that may perform the action on the key: account roots (of accounts
 * that have identities, keys' owners, and accounts key policies and grants name), IAM users, and
 * roles (as a session with the role's tags).
 */
export async function whoCan(
  sources: ExplainSources,
  q: Omit<ExplainQuestion, 'principal'>,
): Promise<{ principal: string; rule: string; grantId?: string | undefined }[]> {
  const { key } = await resolveKey(sources, q);
  const users = await sources.access.listUsers();
  const roles = await sources.access.listRoles();
  const accounts = new Set<string>([key.accountId]);
  for (const x of [...users, ...roles, ...(await sources.store.listAccessKeys())]) accounts.add(x.accountId);
  for (const m of key.policy.matchAll(/arn:aws:iam::(\d{12}):|"(\d{12})"/g)) accounts.add((m[1] ?? m[2]) as string);
  const grantees = (await sources.access.listGrants(key.arn, { limit: 1_000_000 })).map((g) => g.granteePrincipal);
  for (const g of grantees) {
    const m = /^arn:aws:(?:iam|sts)::(\d{12}):/.exec(g);
    if (m !== null) accounts.add(m[1] as string);
  }
  const candidates = [
    ...[...accounts].sort().map((a) => `arn:aws:iam::${a}:root`),
    ...users.map((u) => `arn:aws:iam::${u.accountId}:user/${u.userName}`),
    ...roles.map((r) => roleArnOf(r.accountId, r.roleName)),
  ];
  const allowed: { principal: string; rule: string; grantId?: string | undefined }[] = [];
  for (const principal of candidates) {
    const e = await explain(sources, { ...q, principal });
    if (e.decision === 'Allow') {
      const shown = ROLE.test(principal) ? principal : e.principal;
      allowed.push({ principal: shown, rule: e.rule, ...(e.grantId === undefined ? {} : { grantId: e.grantId }) });
    }
  }
  return allowed;
}
