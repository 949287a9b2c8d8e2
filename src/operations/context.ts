import type { Caller } from '../auth/caller.js';
import type { Clock } from '../clock.js';
import { InvalidKeyUsageException } from '../errors.js';
import type { KeyRepository, ResolvedKey, Scope } from '../keys/key-repository.js';
import { checkKeyState, type StateCheckedOperation } from '../keys/key-states.js';
import type { Authorizer } from '../policy/authorizer.js';
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
}

export class RequestContext implements Scope {
  readonly accountId: string;

  constructor(
    readonly requestId: string,
    readonly caller: Caller,
    readonly region: string,
    readonly services: Services,
  ) {
    this.accountId = caller.accountId;
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
    options: { allowAlias?: boolean; action?: string } = {},
  ): Promise<ResolvedKey> {
    const resolved = await this.keys.resolve(this, identifier, options.allowAlias ?? false);
    this.authorize(options.action ?? `kms:${operation}`, resolved.key);
    checkKeyState(operation, resolved.key);
    return resolved;
  }

  /**
   * `useKey`, then a compare-and-set update of the key. The state is checked again on the freshest
   * record, so a concurrent change between the two reads cannot slip past the table.
   */
  async changeKey(
    identifier: string,
    operation: StateCheckedOperation,
    change: (key: KeyRecord) => KeyRecord,
  ): Promise<KeyRecord> {
    const { key } = await this.useKey(identifier, operation);
    return this.keys.update(key.arn, (current) => {
      checkKeyState(operation, current);
      return change(current);
    });
  }

  authorize(action: string, key: KeyRecord): void {
    this.services.authorizer.authorize(this.caller, action, key);
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
