import type { Principal } from './request-context.js';

/**
 * The Principal / NotPrincipal element of a resource-based policy, compiled.
 *
 * How an entry matches the request's principal (IAM User Guide, "AWS JSON policy elements:
 * Principal"):
 * - `"*"` or `{"AWS": "*"}`: everyone — `any`;
 * - an account (`"111122223333"` or `arn:aws:iam::111122223333:root`): every principal of that
 *   account — `account`; in a key policy this delegates to the account's IAM policies;
 * - an IAM user ARN: that user; an IAM role ARN: the role and every session of it; an assumed-role
 *   session ARN: that session; a federated-user ARN: that federated user — `principal`;
 * - `{"Service": "ec2.amazonaws.com"}`: that service principal — `principal`;
 * - `Federated` and `CanonicalUser` entries are accepted but match no principal Trent has.
 */
export type PrincipalMatch = 'any' | 'account' | 'principal';

export type PrincipalEntry =
  | { kind: 'any' }
  | { kind: 'account'; accountId: string }
  | {
      kind: 'arn';
      arn: string;
      arnKind: 'user' | 'role' | 'assumed-role' | 'federated-user';
      /**
       * The unique id (`AIDA…`) the ARN named when the policy was saved. When set, only the
       * principal with that id matches: a user deleted and created again under the same name is
       * a different principal (IAM User Guide, "Unique identifiers").
       */
      uniqueId?: string;
    }
  | { kind: 'service'; name: string }
  | { kind: 'unsupported'; type: string; value: string };

const ACCOUNT = /^\d{12}$/;
const ROOT_ARN = /^arn:aws[a-z-]*:iam::(\d{12}):root$/;
const IAM_ARN = /^arn:aws[a-z-]*:iam::\d{12}:(user|role)\/[\w+=,.@/-]+$/;
const STS_ARN = /^arn:aws[a-z-]*:sts::\d{12}:(assumed-role\/[\w+=,.@-]+\/[\w+=,.@-]+|federated-user\/[\w+=,.@-]+)$/;
const SERVICE = /^[a-z0-9][a-z0-9.-]*\.amazonaws\.com(\.cn)?$|^[a-z0-9][a-z0-9.-]*$/;

/** Reads one `"AWS"` value; undefined when it is not a valid principal. */
export function awsPrincipalEntry(value: string): PrincipalEntry | undefined {
  if (value === '*') return { kind: 'any' };
  if (ACCOUNT.test(value)) return { kind: 'account', accountId: value };
  const root = ROOT_ARN.exec(value);
  if (root !== null) return { kind: 'account', accountId: root[1] as string };
  const iam = IAM_ARN.exec(value);
  if (iam !== null) return { kind: 'arn', arn: value, arnKind: iam[1] === 'user' ? 'user' : 'role' };
  const sts = STS_ARN.exec(value);
  if (sts !== null) {
    return {
      kind: 'arn',
      arn: value,
      arnKind: (sts[1] as string).startsWith('assumed') ? 'assumed-role' : 'federated-user',
    };
  }
  return undefined;
}

export function servicePrincipalEntry(value: string): PrincipalEntry | undefined {
  if (value === '*') return { kind: 'any' };
  return SERVICE.test(value) ? { kind: 'service', name: value } : undefined;
}

export function matchPrincipalEntry(entry: PrincipalEntry, principal: Principal): PrincipalMatch | undefined {
  switch (entry.kind) {
    case 'any':
      return 'any';
    case 'account':
      return principal.type !== 'AWSService' && principal.accountId === entry.accountId ? 'account' : undefined;
    case 'arn':
      if (principal.type === 'AWSService') return undefined;
      if (principal.arn === entry.arn) {
        return entry.uniqueId === undefined || entry.uniqueId === principal.userId ? 'principal' : undefined;
      }
      if (entry.arnKind === 'role' && principal.type === 'AssumedRole' && principal.roleArn === entry.arn) {
        // A session's userId is `<role id>:<session name>`: a role deleted and created again is another role.
        return entry.uniqueId === undefined || principal.userId.startsWith(`${entry.uniqueId}:`)
          ? 'principal'
          : undefined;
      }
      return undefined;
    case 'service':
      return principal.type === 'AWSService' && principal.arn === entry.name ? 'principal' : undefined;
    case 'unsupported':
      return undefined;
  }
}

/** The strongest match among the entries: `principal` over `any` over `account`. */
export function matchPrincipal(entries: readonly PrincipalEntry[], principal: Principal): PrincipalMatch | undefined {
  let best: PrincipalMatch | undefined;
  for (const e of entries) {
    const m = matchPrincipalEntry(e, principal);
    if (m === 'principal') return m;
    if (m === 'any' || (m === 'account' && best === undefined)) best = m;
  }
  return best;
}
