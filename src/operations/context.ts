import type { Caller } from '../auth/caller.js';
import type { Clock } from '../clock.js';
import { InvalidKeyUsageException } from '../errors.js';
import type { Grants } from '../keys/grants.js';
import type { KeyRepository, ResolvedKey, Scope } from '../keys/key-repository.js';
import { checkKeyState, type StateCheckedOperation } from '../keys/key-states.js';
import { keyConditions } from '../keys/request-conditions.js';
import { KMS_CONDITION_KEYS } from '../policy/condition-keys.js';
import type { ChildGrant } from '../policy/grant-constraints.js';
import type { Authorizer, Conditions } from '../policy/kms-authorizer.js';
import type { VpcEndpoint } from '../policy/vpc-endpoint.js';
import type { KeyUsageRow } from '../storage/audit-log.js';
import type { KeyRecord } from '../storage/records.js';

/**
 * Everything an operation needs, in one object built per request: who calls, where, and the
 * services below. No operation reaches for globals; tests build a context.
 */
export interface Services {
  keys: KeyRepository;
  authorizer: Authorizer;
  clock: Clock;
  limits: { keysPerAccountRegion: number };
  /** Grants on keys: storage and grant tokens. */
  grants: Grants;
  /** The audit trail's per-key last usage (GetKeyLastUsage). */
  keyUsage: KeyUsageSource;
  /** Told whenever a request is refused because its key is pending deletion. */
  deletionAlerts?: DeletionAlertSink;
}

/** The "alarm before deletion" practice: someone still uses a key that is about to go. */
export interface DeletionAlertSink {
  keyUsed(alert: { keyArn: string; operation: string; caller: string; time: number }): void;
}

export interface KeyUsageSource {
  keyLastUsage(keyArn: string): Promise<KeyUsageRow | undefined>;
  /** When usage tracking started (epoch ms). */
  trackingStart(): Promise<number>;
}

/** What an operation adds to an authorization decision on a key. */
export interface AuthorizationDetails {
  /** Request-specific condition keys (see src/keys/request-conditions.ts). */
  conditions?: Conditions;
  /** The request's encryption context, for grant constraints. */
  encryptionContext?: Readonly<Record<string, string>> | undefined;
  /** The alias the caller named the key by (kms:RequestAlias). */
  requestAlias?: string | undefined;
  /**
   * The request's GrantTokens: validated (InvalidGrantTokenException) before the decision, and
   * the grants they name on the key count at once.
   */
  grantTokens?: readonly string[] | undefined;
  /** CreateGrant: the grant being created, for a caller whose CreateGrant comes from a grant. */
  childGrant?: ChildGrant | undefined;
}

/** Facts about the HTTP request that condition keys read. */
export interface RequestOrigin {
  /** The socket's remote address, or a trusted proxy's X-Forwarded-For (aws:SourceIp). */
  sourceIp: string;
  /** The VPC endpoint a trusted proxy says the request came through (src/server/request-origin.ts). */
  vpcEndpoint?: VpcEndpoint | undefined;
}

export class RequestContext implements Scope {
  readonly accountId: string;
  /** ARNs of the keys this request used (authorized against) or created, for its audit record. */
  readonly keyArns: string[] = [];

  constructor(
    readonly requestId: string,
    readonly caller: Caller,
    readonly region: string,
    readonly services: Services,
    readonly origin: RequestOrigin = { sourceIp: '' },
  ) {
    this.accountId = caller.accountId;
  }

  /** Names a key in the request's audit record (once, in the order first named). */
  usedKey(arn: string): void {
    if (!this.keyArns.includes(arn)) this.keyArns.push(arn);
  }

  get keys(): KeyRepository {
    return this.services.keys;
  }

  get clock(): Clock {
    return this.services.clock;
  }

  /**
   * The common first steps of an operation on a key, in AWS's order: resolve the identifier
   * (NotFound), authorize the action (AccessDenied), check the key state.
   */
  async useKey(
    identifier: string,
    operation: StateCheckedOperation,
    options: AuthorizationDetails & { allowAlias?: boolean; action?: string } = {},
  ): Promise<ResolvedKey> {
    const resolved = await this.keys.resolve(this, identifier, options.allowAlias ?? false);
    // Member by member, not `{ ...options, requestAlias }`: that spread gave the details object a
    // hidden class of its own on every request, and each read of it missed V8's caches.
    const details = {
      conditions: options.conditions,
      encryptionContext: options.encryptionContext,
      requestAlias: resolved.aliasName,
      grantTokens: options.grantTokens,
      childGrant: options.childGrant,
    } satisfies Record<keyof AuthorizationDetails, unknown>;
    await this.authorize(options.action ?? `kms:${operation}`, resolved.key, details);
    this.checkKeyState(operation, resolved.key);
    return resolved;
  }

  /** The key-state table's verdict; a refusal because the key is pending deletion raises an alert. */
  checkKeyState(operation: StateCheckedOperation, key: KeyRecord): void {
    try {
      checkKeyState(operation, key);
    } catch (err) {
      if (key.keyState === 'PendingDeletion' || key.keyState === 'PendingReplicaDeletion') {
        this.services.deletionAlerts?.keyUsed({
          keyArn: key.arn,
          operation,
          caller: this.caller.arn,
          time: this.clock.now(),
        });
      }
      throw err;
    }
  }

  /**
   * `useKey`, then a compare-and-set update of the key. The state is checked again on the freshest
   * record, so a concurrent change between the two reads cannot slip past the table.
   */
  async changeKey(
    identifier: string,
    operation: StateCheckedOperation,
    change: (key: KeyRecord) => KeyRecord,
    details: AuthorizationDetails = {},
  ): Promise<KeyRecord> {
    const { key } = await this.useKey(identifier, operation, details);
    return this.keys.update(key.arn, (current) => {
      this.checkKeyState(operation, current);
      return change(current);
    });
  }

  /**
   * Authorizes an action on a key: its policy, the caller's grants and IAM policies (AccessDenied),
   * after validating the grant tokens (InvalidGrantToken).
   */
  async authorize(action: string, key: KeyRecord, details: AuthorizationDetails = {}): Promise<void> {
    const grantIds = this.services.grants.checkGrantTokens(details.grantTokens, key.arn);
    this.usedKey(key.arn);
    const base = keyConditions(key);
    // Not `{ ...base, … }`: once optimized, a literal that opens with a spread gets a new hidden
    // class on every call (docs/performance-log.md, "Hidden classes on the hot path").
    const conditions =
      details.conditions === undefined && details.requestAlias === undefined
        ? base
        : { [KMS_CONDITION_KEYS.RequestAlias]: details.requestAlias, ...base, ...details.conditions };
    await this.services.authorizer.authorize({
      caller: this.caller,
      action,
      key,
      resource: key.arn,
      resourceAccountId: key.accountId,
      conditions,
      encryptionContext: details.encryptionContext,
      childGrant: details.childGrant,
      grantIds,
      sourceIp: this.origin.sourceIp,
      requestedRegion: this.region,
      vpcEndpoint: this.origin.vpcEndpoint,
    });
  }

  /**
   * Authorizes an action with no key resource (CreateKey, ListKeys, ListAliases, GenerateRandom,
   * …), which IAM policies alone decide; `resource` is `*` or an alias ARN.
   */
  async authorizeAccount(action: string, conditions?: Conditions, resource = '*'): Promise<void> {
    await this.services.authorizer.authorize({
      caller: this.caller,
      action,
      resource,
      resourceAccountId: this.accountId,
      conditions,
      sourceIp: this.origin.sourceIp,
      requestedRegion: this.region,
      vpcEndpoint: this.origin.vpcEndpoint,
    });
  }
}

/** The key must be a symmetric encryption key (reference §4.3). */
export function requireSymmetricEncryption(key: KeyRecord, operation: string): void {
  if (key.keyUsage !== 'ENCRYPT_DECRYPT') {
    throw new InvalidKeyUsageException(`${key.arn} key usage is ${key.keyUsage} which is not valid for ${operation}.`);
  }
  if (key.keySpec !== 'SYMMETRIC_DEFAULT') {
    throw new InvalidKeyUsageException(`${key.arn} key spec is ${key.keySpec} which is not valid for ${operation}.`);
  }
}
