import { DisabledException, KMSInvalidStateException, type KmsError } from '../errors.js';
import type { KeyRecord, KeyState } from '../storage/records.js';

/**
 * The key-state table (reference §4.7): which operation may run in which state, and the error
 * otherwise. One declarative table; `checkKeyState` is its only reader.
 *
 * A rule is `true` (allowed) or the footnote of the reference that names the error.
 */
type Footnote = 1 | 3 | 4 | 5 | 11 | 14 | 15;
type Rule = true | Footnote;
type StateRules = Record<KeyState, Rule>;

const ERRORS: Record<Footnote, (key: KeyRecord) => KmsError> = {
  1: (k) => new DisabledException(`${k.arn} is disabled.`),
  3: (k) =>
    new KMSInvalidStateException(
      k.keyState === 'PendingReplicaDeletion'
        ? `${k.arn} is pending replica deletion.`
        : `${k.arn} is pending deletion.`,
    ),
  4: (k) => new KMSInvalidStateException(`${k.arn} is not pending deletion.`),
  5: (k) => new KMSInvalidStateException(`${k.arn} is pending import.`),
  11: (k) => new KMSInvalidStateException(`${k.arn} is unavailable.`),
  14: (k) => new KMSInvalidStateException(`${k.arn} is creating.`),
  15: (k) => new KMSInvalidStateException(`${k.arn} is updating.`),
};

const rules = (r: Partial<StateRules>): StateRules => ({
  Enabled: true,
  Disabled: true,
  PendingDeletion: true,
  PendingReplicaDeletion: true,
  PendingImport: true,
  Unavailable: true,
  Creating: true,
  Updating: true,
  ...r,
});

// For the "2/3" cells of the AWS table (DisabledException or KMSInvalidStateException while
// pending deletion) we answer 3, as the reference recommends.
const CRYPTOGRAPHIC = rules({
  Disabled: 1,
  PendingDeletion: 3,
  PendingReplicaDeletion: 3,
  PendingImport: 5,
  Unavailable: 11,
  Creating: 14,
});
const ALWAYS = rules({});
const NOT_PENDING_DELETION = rules({ PendingDeletion: 3, PendingReplicaDeletion: 3 });
const ENABLE_DISABLE = rules({
  PendingDeletion: 3,
  PendingReplicaDeletion: 3,
  PendingImport: 5,
  Creating: 14,
  Updating: 15,
});

export const KEY_STATE_TABLE = {
  CancelKeyDeletion: rules({
    Enabled: 4,
    Disabled: 4,
    PendingImport: 4,
    Unavailable: 4,
    Creating: 4,
    Updating: 4,
  }),
  CreateAlias: NOT_PENDING_DELETION,
  Decrypt: CRYPTOGRAPHIC,
  DeleteAlias: ALWAYS,
  DescribeKey: ALWAYS,
  DisableKey: ENABLE_DISABLE,
  EnableKey: ENABLE_DISABLE,
  Encrypt: CRYPTOGRAPHIC,
  GenerateDataKey: CRYPTOGRAPHIC,
  GenerateDataKeyWithoutPlaintext: CRYPTOGRAPHIC,
  ListAliases: ALWAYS,
  ListResourceTags: ALWAYS,
  ReEncrypt: CRYPTOGRAPHIC,
  ScheduleKeyDeletion: rules({ PendingDeletion: 3, PendingReplicaDeletion: 3, Updating: 15 }),
  TagResource: NOT_PENDING_DELETION,
  UntagResource: NOT_PENDING_DELETION,
  /** Applies to the new target; the old target may be in any state. */
  UpdateAlias: NOT_PENDING_DELETION,
  UpdateKeyDescription: NOT_PENDING_DELETION,
} as const satisfies Record<string, StateRules>;

export type StateCheckedOperation = keyof typeof KEY_STATE_TABLE;

export function checkKeyState(operation: StateCheckedOperation, key: KeyRecord): void {
  const rule = KEY_STATE_TABLE[operation][key.keyState];
  if (rule !== true) throw ERRORS[rule](key);
}
