import type { Caller, CallerSession } from '../auth/caller.js';
import { KMSInternalException } from '../errors.js';
import type { IdentityStore } from '../storage/identity-store.js';
import { parsePolicy } from './parse-policy.js';
import type { CompiledPolicy } from './policy.js';
import type { Principal } from './request-context.js';

/** The caller as policies see it, with its identity policies compiled. */
export interface CallerIdentity {
  readonly principal: Principal;
  readonly policies: readonly CompiledPolicy[];
  /**
   * The SCPs of the caller's account, as one organization level; empty when the account has none
   * attached (it is then in no organization, and no SCP applies).
   */
  readonly serviceControlPolicies: readonly CompiledPolicy[];
  /** A role session's session policy (AssumeRole `Policy`), which limits what it may do. */
  readonly sessionPolicy?: CompiledPolicy | undefined;
}

/**
 * Resolves callers to principals (unique id, tags) and their compiled IAM policies, with a cache
 * in front of the identity store. Every identity write bumps the store's identity version; the
 * cache compares it at most once per `refreshMs`, so a change made by `trent user …` or
 * `trent policy …` — possibly in another process — takes effect within that time, and the hot path
 * reads the database at most a few times a second.
 */
export class IdentityDirectory {
  private readonly cache = new Map<string, Promise<CallerIdentity>>();
  private version = -1;
  private checkedAt = 0;

  constructor(
    private readonly store: IdentityStore,
    private readonly refreshMs = 100,
    private readonly maxEntries = 10_000,
  ) {}

  identity(caller: Caller): Promise<CallerIdentity> {
    // Between version checks the cached promise is returned as it is: no await on the hot path.
    const now = Date.now();
    if (now - this.checkedAt < this.refreshMs) return this.cached(caller);
    return this.refresh(now).then(() => this.cached(caller));
  }

  private cached(caller: Caller): Promise<CallerIdentity> {
    // Two sessions of one role may share a session name but not their tags: key sessions by key id.
    const id = caller.session === undefined ? caller.arn : `${caller.arn}#${caller.accessKeyId}`;
    let entry = this.cache.get(id);
    if (entry === undefined) {
      entry = this.load(caller);
      if (this.cache.size >= this.maxEntries) this.cache.clear();
      this.cache.set(id, entry);
      entry.catch(() => this.cache.delete(id));
    }
    return entry;
  }

  /** The unique id of a user that exists now, for resolving key policy principals. */
  async userId(accountId: string, userName: string): Promise<string | undefined> {
    return (await this.store.getUser(accountId, userName))?.userId;
  }

  /** The unique id of a role that exists now, for resolving key policy principals. */
  async roleId(accountId: string, roleName: string): Promise<string | undefined> {
    return (await this.store.getRole(accountId, roleName))?.roleId;
  }

  /** Forgets everything (after a write in this process, so it shows at once). */
  clear(): void {
    this.cache.clear();
    this.checkedAt = 0;
  }

  /** Compares the store's identity version (identity() calls it at most once per `refreshMs`). */
  private async refresh(now: number): Promise<void> {
    this.checkedAt = now;
    const version = await this.store.identityVersion();
    if (version !== this.version) {
      this.version = version;
      this.cache.clear();
    }
  }

  private async load(caller: Caller): Promise<CallerIdentity> {
    if (caller.type === 'AWSService') {
      // A service identity calling for itself: a service principal, which only a resource-based
      // policy naming it (`"Service": "s3.amazonaws.com"`) lets in; SCPs do not apply to it.
      return {
        principal: { type: 'AWSService', accountId: caller.accountId, arn: caller.arn, userId: '' },
        policies: [],
        serviceControlPolicies: [],
      };
    }
    const serviceControlPolicies = (await this.store.listScps(caller.accountId)).map((p) =>
      compile(p.document, `scp:${p.accountId}/${p.policyName}`, caller),
    );
    if (caller.session !== undefined) return this.loadSession(caller, caller.session, serviceControlPolicies);
    if (caller.type === 'Root' || caller.userName === undefined) {
      return {
        principal: { type: 'Root', accountId: caller.accountId, arn: caller.arn, userId: caller.accountId },
        policies: [],
        serviceControlPolicies,
      };
    }
    const user = await this.store.getUser(caller.accountId, caller.userName);
    if (user === undefined) {
      // An access key whose user no longer exists (or predates users): a principal with no
      // policies and no unique id that any key policy can name.
      return {
        principal: {
          type: 'IAMUser',
          accountId: caller.accountId,
          arn: caller.arn,
          userId: '',
          userName: caller.userName,
        },
        policies: [],
        serviceControlPolicies,
      };
    }
    const policies = [
      ...(await this.store.listUserPolicies(user.accountId, user.userName)).map((p) =>
        compile(p.document, `iam:user/${user.userName}/inline/${p.policyName}`, caller),
      ),
      ...(await this.managedPolicies(user.accountId, 'user', user.userName, caller)),
    ];
    return {
      principal: {
        type: 'IAMUser',
        accountId: user.accountId,
        arn: caller.arn,
        userId: user.userId,
        userName: user.userName,
        tags: user.tags,
      },
      policies,
      serviceControlPolicies,
    };
  }

  /** The customer managed policies attached to a user or role, named by their ARNs in traces. */
  private async managedPolicies(
    accountId: string,
    entityType: 'user' | 'role',
    entityName: string,
    caller: Caller,
  ): Promise<CompiledPolicy[]> {
    return (await this.store.listAttachedPolicies(accountId, entityType, entityName)).map((p) =>
      compile(p.document, managedPolicyArn(p.accountId, p.policyName), caller),
    );
  }

  /**
   * A role session: the role's inline policies and attached managed policies, and as principal tags the role's tags with the
   * session tags over them. A session of a role that was deleted (or deleted and created again)
   * keeps its ARN but has no policies, and its unique id names no role that exists.
   */
  private async loadSession(
    caller: Caller,
    session: CallerSession,
    serviceControlPolicies: CompiledPolicy[],
  ): Promise<CallerIdentity> {
    const role = await this.store.getRole(caller.accountId, session.roleName);
    const current = role !== undefined && role.roleId === session.roleId;
    const policies = current
      ? [
          ...(await this.store.listRolePolicies(role.accountId, role.roleName)).map((p) =>
            compile(p.document, `iam:role/${role.roleName}/inline/${p.policyName}`, caller),
          ),
          ...(await this.managedPolicies(role.accountId, 'role', role.roleName, caller)),
        ]
      : [];
    return {
      principal: {
        type: 'AssumedRole',
        accountId: caller.accountId,
        arn: caller.arn,
        userId: `${session.roleId}:${session.sessionName}`,
        roleArn: session.roleArn,
        tags: { ...(current ? role.tags : {}), ...session.tags },
        tokenIssuedAt: session.createdAt,
      },
      policies,
      serviceControlPolicies,
      ...(session.policy === undefined ? {} : { sessionPolicy: compile(session.policy, 'sts:session-policy', caller) }),
    };
  }
}

/** `arn:aws:iam::<account>:policy/<name>`, the ARN of a customer managed policy. */
export function managedPolicyArn(accountId: string, policyName: string): string {
  return `arn:aws:iam::${accountId}:policy/${policyName}`;
}

function compile(document: string, id: string, caller: Caller): CompiledPolicy {
  try {
    return parsePolicy(document, { kind: 'identity', id });
  } catch (err) {
    throw new KMSInternalException(
      'An internal error occurred. Try again later.',
      `stored policy ${id} of ${caller.arn} does not parse: ${(err as Error).message}`,
    );
  }
}
