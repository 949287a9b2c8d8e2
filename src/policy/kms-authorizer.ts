import { hash } from 'node:crypto';
import type { Caller } from '../auth/caller.js';
import { AccessDeniedException, MalformedPolicyDocumentException } from '../errors.js';
import { Lru } from '../lru.js';
import type { GrantRecord, GrantStore } from '../storage/grant-store.js';
import type { KeyRecord } from '../storage/records.js';
import { authorizationCacheKey, withResource } from './authorization-cache-key.js';
import { authorizeKms, type KmsAuthorization, type KmsAuthorizationInput } from './authorize-kms.js';
import { AWS_CONDITION_KEYS as AWS, KMS_CONDITION_KEYS as KMS } from './condition-keys.js';
import type { ChildGrant, GrantInput } from './grant-constraints.js';
import type { IdentityDirectory } from './identity-directory.js';
import { type GrantChange, KeyGrants, NONE } from './key-grants.js';
import { INVALID_PRINCIPALS, parsePolicy } from './parse-policy.js';
import type { CompiledPolicy } from './policy.js';
import { type PolicySet, policyFacts } from './policy-facts.js';
import { checkPolicyLockout } from './policy-lockout-check.js';
import { type ConditionValue, type Principal, requestContext } from './request-context.js';
import type { VpcEndpoint } from './vpc-endpoint.js';

/** Condition keys an operation adds to a decision (any case; undefined values are left out). */
export type Conditions = Readonly<Record<string, ConditionValue | undefined>>;

/** One authorization question: may `caller` perform `action` on `resource`? */
export interface AuthorizationRequest {
  readonly caller: Caller;
  /** `kms:Encrypt`. */
  readonly action: string;
  /** The key; undefined for operations without a key resource (decided by IAM policies only). */
  readonly key?: KeyRecord | undefined;
  /** The key ARN, an alias ARN, or `*` (CreateKey, ListKeys, …). */
  readonly resource: string;
  readonly resourceAccountId: string;
  /** Request-specific condition keys (kms:EncryptionContext:*, kms:KeySpec, aws:RequestTag/*, …). */
  readonly conditions?: Conditions | undefined;
  /** The request's encryption context, for grant constraints. */
  readonly encryptionContext?: Readonly<Record<string, string>> | undefined;
  /** CreateGrant: the grant being created (a grant that allows CreateGrant must contain it). */
  readonly childGrant?: ChildGrant | undefined;
  /**
   * Ids of the key's grants that the request's grant tokens name. A grant token makes its grant
   * count at once (reference §4.11): if one is missing from what is cached about the key's
   * grants — another node created it and its notice has not arrived — the grants are read again.
   */
  readonly grantIds?: readonly string[] | undefined;
  /** The socket's remote address (aws:SourceIp). */
  readonly sourceIp: string;
  /** The region the request was signed for (aws:RequestedRegion). */
  readonly requestedRegion?: string | undefined;
  /** The VPC endpoint the request came through: aws:SourceVpce, aws:SourceVpc and its policy. */
  readonly vpcEndpoint?: VpcEndpoint | undefined;
}

export interface NewKeyPolicy {
  readonly caller: Caller;
  readonly policy: string;
  readonly keyArn: string;
  readonly keyAccountId: string;
  readonly bypassLockoutCheck: boolean;
  readonly conditions?: Conditions | undefined;
  readonly sourceIp: string;
  /** aws:RequestedRegion, as in AuthorizationRequest. */
  readonly requestedRegion?: string | undefined;
}

/**
 * Decides whether a caller may perform a `kms:` action, and vets key policies before they are
 * saved. `KmsAuthorizer` is the implementation; tests may substitute their own.
 */
export interface Authorizer {
  /** Resolves when allowed; throws AccessDeniedException (AWS's message; the trace in `detail`) when not. */
  authorize(request: AuthorizationRequest): Promise<void>;
  /**
   * Checks a key policy about to be saved: size, syntax, principals that exist, and — unless
   * bypassed — the lockout safety check. Returns the unique ids of the principals it names, by
   * ARN, to be saved with it (KeyRecord.policyPrincipals).
   */
  checkNewKeyPolicy(input: NewKeyPolicy): Promise<Record<string, string>>;
  /** The grants of a key changed, in another process: forget what is cached about them. */
  forgetGrants(keyArn: string): void;
  /** A grant was created or retired in this process: what is cached of its key's grants follows. */
  grantChanged(keyArn: string, change: GrantChange): void;
  /**
   * A grant changed, in this process or another (the store's change feed reports both): what is
   * cached of its key's grants takes it as the store holds it now.
   */
  grantStored(keyArn: string, grantId: string): Promise<void>;
}

export const MAX_KEY_POLICY_BYTES = 32768;

export interface KmsAuthorizerLimits {
  decisions: number;
  policies: number;
  grants: number;
}

// An Lru keeps at least half its capacity. grants: twice the default key quota (100,000), so that a
// store full of keys keeps the grants of every key — for most, the one shared empty list — instead
// of querying the store per request; decisions likewise, for policies that name keys (a decision
// per key). What is not used takes no memory.
const DEFAULT_LIMITS: KmsAuthorizerLimits = { decisions: 200_000, policies: 20_000, grants: 200_000 };

/**
 * A key's grants are read whole at its first use up to this many; a key with more is cached
 * partial (KeyGrants.partial), each caller's grants read by grantee. Reading 256 grants takes
 * about half a millisecond here; 50,000 took 100–140 ms.
 */
export const GRANTS_READ_WHOLE = 256;

/** Shared by every key without grants: replaced, never changed, when a grant is added. */
const NO_GRANTS = new KeyGrants();

const NO_TRACE: KmsAuthorization['trace'] = Object.freeze({
  serviceControlPolicies: [],
  vpcEndpointPolicy: undefined,
  keyPolicy: undefined,
  identityPolicies: [],
  grants: [],
});
const MAX_TRACE_CHARS = 16_384;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]+)$/;
const USER_ARN = /^arn:aws[a-z-]*:iam::(\d{12}):user\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]+)$/;

/**
 * The AWS flow (`authorizeKms`) over Trent's data: the key's policy compiled once per key
 * revision, the caller's IAM policies from the identity directory, the caller's grants on the key,
 * and the condition keys of the request.
 *
 * Decisions are memoized by `authorizationCacheKey` — principal, action, policy fingerprints,
 * grants, and only the condition values (and the resource) some policy reads — so a request that a
 * policy evaluated before costs one string join, one hash and one map lookup, and keys with the
 * same policy share their decisions.
 */
export class KmsAuthorizer implements Authorizer {
  private readonly decisions: Lru<string, KmsAuthorization>;
  private readonly keyPolicies: Lru<string, CompiledPolicy>;
  /** Keys whose policy binds principals to unique ids: their compiled policy, by record. */
  private readonly policyOfRecord = new WeakMap<KeyRecord, CompiledPolicy>();
  /** By key ARN: the key's grants, or their pending read. */
  private readonly grants: Lru<string, KeyGrants | Promise<KeyGrants>>;
  /** Counts grant changes: what was read of the grants before a change is not cached after it. */
  #grantsVersion = 0;
  /**
   * The reads of single grants in flight (grantStored), by key ARN and grant id: a later read of
   * the same grant, or a change made here meanwhile, replaces or removes the entry, and the read
   * then changes nothing.
   */
  readonly #grantReads = new Map<string, object>();
  /** How many entries cacheNoGrants may fill the grants cache to: fewer than an Lru always keeps. */
  readonly #noGrantsLimit: number;

  constructor(
    private readonly identities: IdentityDirectory,
    private readonly grantStore: GrantStore | undefined,
    limits: KmsAuthorizerLimits = DEFAULT_LIMITS,
    /** The names (`alias/…`) of the aliases of a key, for kms:ResourceAliases; without it, never set. */
    private readonly aliasesOf?: (key: KeyRecord) => Promise<readonly string[]>,
  ) {
    this.decisions = new Lru(limits.decisions);
    this.keyPolicies = new Lru(limits.policies);
    this.grants = new Lru(limits.grants);
    this.#noGrantsLimit = Math.floor(limits.grants / 2) - 1;
  }

  async authorize(request: AuthorizationRequest): Promise<void> {
    const decision = await this.decide(request);
    if (decision.decision !== 'Allow') {
      throw new AccessDeniedException(decision.message ?? '', denialDetail(decision));
    }
  }

  /** The decision with its evaluation trace, allowed or not (`trent policy explain`). */
  async explain(request: AuthorizationRequest): Promise<KmsAuthorization> {
    return this.decide(request, true);
  }

  /** `withTrace`: an allowing decision keeps its trace (a cached one is kept without). */
  private async decide(request: AuthorizationRequest, withTrace = false): Promise<KmsAuthorization> {
    const identity = await this.identities.identity(request.caller);
    const { principal } = identity;
    const key = request.key;
    // The key's grants, then the caller's among them: for most keys without another await.
    const keyGrants = key === undefined ? undefined : await this.grantsOf(key.arn, request.grantIds);
    const grants =
      key === undefined || keyGrants === undefined
        ? undefined
        : keyGrants.partial
          ? await this.partialCallerGrants(key.arn, keyGrants, principal)
          : heldCallerGrants(keyGrants, principal);
    const vpce = request.vpcEndpoint;
    const policies: PolicySet = {
      keyPolicy: key === undefined ? undefined : this.keyPolicy(key),
      identityPolicies: identity.policies,
      serviceControlPolicies:
        identity.serviceControlPolicies.length === 0 ? undefined : [identity.serviceControlPolicies],
      vpcEndpointPolicy: vpce?.policy,
      sessionPolicy: identity.sessionPolicy,
    };
    // What the policies read decides what the request context needs: the clock keys cost a Date
    // and its ISO string a request, kms:ResourceAliases a read of the key's aliases.
    const facts = policyFacts(policies);
    const aliases =
      key !== undefined && this.aliasesOf !== undefined && facts.readsResourceAliases
        ? await this.aliasesOf(key)
        : undefined;
    const input: KmsAuthorizationInput = {
      request: requestContext({
        principal,
        action: request.action,
        resource: request.resource,
        conditions: {
          ...requestConditions(request),
          ...(vpce === undefined ? {} : { [AWS.SourceVpce]: vpce.id, [AWS.SourceVpc]: vpce.vpc }),
          ...(aliases === undefined ? {} : { [KMS.ResourceAliases]: aliases }),
          ...request.conditions,
        },
        ...(facts.readsClock ? { now: new Date() } : {}),
      }),
      resourceAccountId: request.resourceAccountId,
      keyPolicy: policies.keyPolicy,
      vpcEndpointPolicy: policies.vpcEndpointPolicy,
      identityPolicies: policies.identityPolicies,
      serviceControlPolicies: policies.serviceControlPolicies,
      sessionPolicy: policies.sessionPolicy,
      grants,
      encryptionContext: request.encryptionContext,
      childGrant: request.childGrant,
    };
    // Held as a digest: the key text runs to hundreds of characters, kept for each cached decision.
    // An allow is kept under the key; a denial, whose message names the resource, under the key
    // with the resource.
    const text = authorizationCacheKey(input, facts);
    const cacheKey = hash('sha256', text, 'base64');
    const cached = this.decisions.get(cacheKey) ?? this.decisions.get(denialKey(text, request.resource));
    if (cached !== undefined && (!withTrace || cached.decision !== 'Allow')) return cached;
    const decision = authorizeKms(input);
    // The request path needs only the verdict of an allow; its trace (an object per statement
    // evaluated) would make each of up to 100,000 cached decisions many times larger.
    if (decision.decision === 'Allow') this.decisions.set(cacheKey, { ...decision, trace: NO_TRACE });
    else this.decisions.set(denialKey(text, request.resource), decision);
    return decision;
  }

  async checkNewKeyPolicy(input: NewKeyPolicy): Promise<Record<string, string>> {
    const parsed = parsePolicy(input.policy, { kind: 'resource', id: 'key-policy', maxBytes: MAX_KEY_POLICY_BYTES });
    const principalIds: Record<string, string> = {};
    for (const statement of parsed.statements) {
      for (const entry of statement.principal?.entries ?? []) {
        if (entry.kind !== 'arn') continue;
        if (entry.arnKind === 'role') {
          const m = ROLE_ARN.exec(entry.arn);
          const roleId = m === null ? undefined : await this.identities.roleId(m[1] as string, m[2] as string);
          if (roleId === undefined)
            throw new MalformedPolicyDocumentException(INVALID_PRINCIPALS, `no role ${entry.arn}`);
          principalIds[entry.arn] = roleId;
          continue;
        }
        if (entry.arnKind !== 'user') continue;
        const m = USER_ARN.exec(entry.arn);
        const userId = m === null ? undefined : await this.identities.userId(m[1] as string, m[2] as string);
        if (userId === undefined)
          throw new MalformedPolicyDocumentException(INVALID_PRINCIPALS, `no user ${entry.arn}`);
        principalIds[entry.arn] = userId;
      }
    }
    if (!input.bypassLockoutCheck) {
      const identity = await this.identities.identity(input.caller);
      const newPolicy =
        Object.keys(principalIds).length === 0
          ? parsed
          : parsePolicy(input.policy, { kind: 'resource', id: 'key-policy', principalIds });
      checkPolicyLockout({
        newPolicy,
        request: requestContext({
          principal: identity.principal,
          action: 'kms:PutKeyPolicy',
          resource: input.keyArn,
          conditions: {
            ...requestConditions({
              caller: input.caller,
              sourceIp: input.sourceIp,
              requestedRegion: input.requestedRegion,
              resourceAccountId: input.keyAccountId,
            }),
            ...input.conditions,
          },
          now: new Date(),
        }),
        keyArn: input.keyArn,
        keyAccountId: input.keyAccountId,
        identityPolicies: identity.policies,
      });
    }
    return principalIds;
  }

  forgetGrants(keyArn: string): void {
    this.#grantsVersion++;
    this.grants.delete(keyArn);
  }

  grantChanged(keyArn: string, change: GrantChange): void {
    this.#grantsVersion++;
    this.#grantReads.delete(`${keyArn} ${'added' in change ? change.added.grantId : change.removed}`);
    const cached = this.grants.get(keyArn);
    // A read in flight may have been answered before the change: it is dropped, not completed.
    if (cached === undefined || cached instanceof Promise) {
      this.grants.delete(keyArn);
    } else if ('added' in change) {
      if (cached === NO_GRANTS) this.grants.set(keyArn, new KeyGrants([change.added]));
      else cached.add(change.added);
    } else {
      cached.remove(change.removed);
    }
  }

  async grantStored(keyArn: string, grantId: string): Promise<void> {
    const cached = this.grants.get(keyArn);
    if (cached === undefined) return;
    if (cached instanceof Promise || this.grantStore === undefined) {
      this.forgetGrants(keyArn);
      return;
    }
    const id = `${keyArn} ${grantId}`;
    const read = {};
    this.#grantReads.set(id, read);
    let grant: GrantRecord | undefined;
    let failed = false;
    try {
      grant = await this.grantStore.getGrant(keyArn, grantId);
    } catch {
      failed = true;
    }
    // A later read of this grant, or a change of it made here meanwhile, is at least as new.
    if (this.#grantReads.get(id) !== read) return;
    this.#grantReads.delete(id);
    if (failed || this.grants.get(keyArn) !== cached) this.forgetGrants(keyArn);
    else this.grantChanged(keyArn, grant === undefined ? { removed: grantId } : { added: grant });
  }

  /**
   * The key's policy, compiled once per distinct policy: keys with the same text and the same bound
   * principals (every key with its account's default policy) share one compiled policy, so a store
   * of many keys does not parse the same document again for each. A record whose policy is not
   * found by its text alone (replaced, never changed, when its key changes) remembers its compiled
   * policy.
   */
  private keyPolicy(key: KeyRecord): CompiledPolicy {
    const principals = key.policyPrincipals;
    // Most keys: the text alone names the compiled policy, found with one map lookup and no entry
    // per record (parsed records share their policy text, and with it the text's hash, which V8
    // computes over at most 16,383 characters: a longer text is remembered by record).
    const byText = principals === undefined && key.policy.length < 16_384;
    let policy = byText ? this.keyPolicies.get(key.policy) : this.policyOfRecord.get(key);
    if (policy !== undefined) return policy;
    const id = principals === undefined ? key.policy : `${key.policy}\n${JSON.stringify(principals)}`;
    policy = this.keyPolicies.get(id);
    if (policy === undefined) {
      policy = parsePolicy(key.policy, {
        kind: 'resource',
        id: 'key-policy',
        ...(principals === undefined ? {} : { principalIds: principals }),
      });
      this.keyPolicies.set(id, policy);
    }
    if (!byText) this.policyOfRecord.set(key, policy);
    return policy;
  }

  /** To be read before the store is asked which keys have grants (cacheNoGrants). */
  get grantsVersion(): number {
    return this.#grantsVersion;
  }

  /**
   * Caches that these keys have no grants, as the store said after `version` was read, so that
   * their first use does not ask it (the server does this for every key at start, beside the key
   * cache's preload). Nothing is cached if some key's grants changed since — its change might be
   * missing from what the store said — and a key already cached keeps its entry. Never so many that
   * the cache would drop an entry for them. Returns how many were cached.
   */
  cacheNoGrants(keyArns: Iterable<string>, version: number): number {
    if (version !== this.#grantsVersion) return 0;
    let cached = 0;
    for (const keyArn of keyArns) {
      if (this.grants.size >= this.#noGrantsLimit) break;
      if (this.grants.get(keyArn) !== undefined) continue;
      this.grants.set(keyArn, NO_GRANTS);
      cached++;
    }
    return cached;
  }

  private async grantsOf(keyArn: string, required: readonly string[] | undefined): Promise<KeyGrants> {
    const store = this.grantStore;
    if (store === undefined) return NO_GRANTS;
    let entry = this.grants.get(keyArn);
    if (entry !== undefined && required !== undefined && required.length > 0) {
      const cached = await entry;
      const missing = required.filter((id) => !cached.has(id));
      if (missing.length > 0) {
        // A grant token may name a grant made on another node, whose notice has not arrived yet.
        await Promise.all(missing.map((id) => this.grantStored(keyArn, id)));
        entry = this.grants.get(keyArn);
      }
    }
    if (entry === undefined) {
      const read = store
        .listGrants(keyArn, { limit: GRANTS_READ_WHOLE + 1 })
        .then((grants) =>
          grants.length === 0
            ? NO_GRANTS
            : grants.length > GRANTS_READ_WHOLE
              ? KeyGrants.partial()
              : new KeyGrants(grants),
        );
      entry = read;
      this.grants.set(keyArn, read);
      // Once read, the list replaces its promise (most keys: the one shared empty list), unless
      // the entry was forgotten or replaced meanwhile.
      read.then(
        (grants) => {
          if (this.grants.get(keyArn) === read) this.grants.set(keyArn, grants);
        },
        () => {
          if (this.grants.get(keyArn) === read) this.grants.delete(keyArn);
        },
      );
    }
    return entry;
  }

  /** The grants that may apply to `principal` on a key cached partial: each grantee's read once. */
  private async partialCallerGrants(
    keyArn: string,
    grants: KeyGrants,
    principal: Principal,
  ): Promise<GrantInput[] | undefined> {
    const { named, account } = granteesOf(principal);
    const of = (grantee: string) => this.granteeGrants(keyArn, grants, grantee);
    const [namedGrants, accountGrants] = await Promise.all([
      Promise.all(named.map(of)),
      account === undefined ? NONE : of(account),
    ]);
    return grantInputs(namedGrants, accountGrants);
  }

  /** A grantee's grants on a key cached partial: held, or read from the store and then held. */
  private async granteeGrants(keyArn: string, grants: KeyGrants, grantee: string): Promise<readonly GrantRecord[]> {
    if (grants.loaded(grantee)) return grants.of(grantee);
    const store = this.grantStore as GrantStore;
    const changes = grants.changes;
    const read = await store.listGrants(keyArn, { limit: 1_000_000 }, grantee);
    grants.load(grantee, read, changes);
    return read;
  }
}

/** The grantees whose grants apply to `principal`: it and its role (for a role session), and its account. */
function granteesOf(principal: Principal): { named: string[]; account: string | undefined } {
  const account = `arn:aws:iam::${principal.accountId}:root`;
  const { arn, roleArn } = principal;
  return {
    named: roleArn === undefined || roleArn === arn ? [arn] : [arn, roleArn],
    account: account === arn || account === roleArn ? undefined : account,
  };
}

/** The grants that may apply to `principal` on a key whose grants are all held. */
function heldCallerGrants(grants: KeyGrants, principal: Principal): GrantInput[] | undefined {
  if (grants.size === 0) return undefined;
  const { named, account } = granteesOf(principal);
  return grantInputs(
    named.map((p) => grants.of(p)),
    account === undefined ? NONE : grants.of(account),
  );
}

/**
 * The keys about the request itself, on every decision (KMS and AssumeRole): where it came from
 * (aws:SourceIp), where it went (aws:RequestedRegion: the region it was signed for), whose resource
 * it is about (aws:ResourceAccount), over what (aws:SecureTransport: Trent serves plain HTTP), and
 * how it reached Trent (`callerConditions`).
 */
export function requestConditions(request: {
  caller: Caller;
  sourceIp: string;
  requestedRegion?: string | undefined;
  resourceAccountId: string;
}): Conditions {
  return {
    [AWS.SourceIp]: request.sourceIp,
    [AWS.RequestedRegion]: request.requestedRegion,
    [AWS.ResourceAccount]: request.resourceAccountId,
    [AWS.SecureTransport]: 'false',
    ...callerConditions(request.caller),
  };
}

const DIRECT: Conditions = { [AWS.ViaAWSService]: 'false' };

/**
 * The condition keys of how the request reached Trent: through a service identity acting for the
 * caller (kms:ViaService, aws:CalledVia, aws:CalledViaFirst/Last, aws:ViaAWSService `true`), or
 * directly (aws:ViaAWSService `false`), as IAM sets them for forward access sessions.
 */
export function callerConditions(caller: Caller): Conditions {
  const via = caller.invokedBy;
  if (via === undefined) return DIRECT;
  return {
    [KMS.ViaService]: via.viaService,
    [AWS.CalledVia]: [via.principal],
    'aws:CalledViaFirst': via.principal,
    'aws:CalledViaLast': via.principal,
    [AWS.ViaAWSService]: 'true',
  };
}

function denialKey(text: string, resource: string): string {
  return hash('sha256', withResource(text, resource), 'base64');
}

/**
 * The caller's grants, in grant id order: those naming it or its role (for a role session), and
 * those naming its account.
 */
function grantInputs(
  named: readonly (readonly GrantRecord[])[],
  ofAccount: readonly GrantRecord[],
): GrantInput[] | undefined {
  const picked: [GrantRecord, boolean][] = [];
  for (const list of named) for (const g of list) picked.push([g, false]);
  for (const g of ofAccount) picked.push([g, true]);
  if (picked.length === 0) return undefined;
  if (picked.length > 1) picked.sort(([a], [b]) => (a.grantId < b.grantId ? -1 : a.grantId > b.grantId ? 1 : 0));
  const out: GrantInput[] = [];
  for (const [g, isAccount] of picked) {
    out.push({
      grantId: g.grantId,
      operations: g.operations,
      granteeIsAccount: isAccount,
      constraints:
        g.constraints === undefined
          ? undefined
          : {
              encryptionContextEquals: g.constraints.EncryptionContextEquals,
              encryptionContextSubset: g.constraints.EncryptionContextSubset,
            },
    });
  }
  return out;
}

/**
 * The private detail of a denial, for logs and audit: the rule that decided and, per policy, the
 * statements that applied or the first element that did not match.
 */
function denialDetail(decision: KmsAuthorization): string {
  const text = JSON.stringify(decisionTrace(decision));
  return text.length > MAX_TRACE_CHARS ? `${text.slice(0, MAX_TRACE_CHARS)}…` : text;
}

/** The rule that decided and, per policy, the statements that applied or the first element that did not match. */
export function decisionTrace(decision: KmsAuthorization): object {
  const { trace } = decision;
  const policies = [
    ...trace.serviceControlPolicies.flat(),
    ...(trace.vpcEndpointPolicy === undefined ? [] : [trace.vpcEndpointPolicy]),
    ...(trace.keyPolicy === undefined ? [] : [trace.keyPolicy]),
    ...trace.identityPolicies,
    ...(trace.sessionPolicy === undefined ? [] : [trace.sessionPolicy]),
  ].map((p) => ({
    policy: p.policy,
    decision: p.decision,
    statements: p.statements.map((s) => ({
      statement: s.sid ?? s.statement,
      effect: s.effect,
      applies: s.applies,
      failed: s.failed,
      conditions: s.conditions.length === 0 ? undefined : s.conditions.filter((c) => !c.result),
    })),
  }));
  return { rule: decision.rule, policies, grants: trace.grants };
}
