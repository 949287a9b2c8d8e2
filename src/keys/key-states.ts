import {
  DisabledException,
  KMSInvalidStateException,
  type KmsError,
  UnsupportedOperationException,
} from '../errors.js';
import type { KeyRecord, KeyState } from '../storage/records.js';

/**
 * The key-state table (reference §4.7): which operation may run in which state, and the error
 * otherwise. One declarative table; `checkKeyState` is its only reader, and the table-driven test
 * (test/e2e/key-state-matrix.test.ts) enumerates every operation × state through the API from it.
 *
 * A rule is `true` (allowed), the footnote of the reference that names the error, or a list of
 * footnotes checked in order. Footnotes 1–5, 8, 11, 14 and 15 always fail; 6, 7, 9 and 16 are the
 * table's "?" cells — they fail only for keys of the kind they name, and otherwise let the
 * operation run:
 *   6  the key's material is imported (origin EXTERNAL);
 *   7  the key cannot rotate automatically: not a symmetric encryption key with generated
 *      material, or in a custom key store (Unavailable keys are always in one);
 *   9  the key cannot have imported material (origin ≠ EXTERNAL, or in a custom key store);
 *   16 (ours) footnote 7 as amended for RotateKeyOnDemand and ListKeyRotations: symmetric keys
 *      with imported material may rotate on demand, so only asymmetric, HMAC and custom-store
 *      keys fail.
 */
type Footnote = 1 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 11 | 14 | 15 | 16;
type Rule = true | Footnote | readonly Footnote[];
type StateRules = Record<KeyState, Rule>;

const pendingDeletion = (k: KeyRecord) =>
  new KMSInvalidStateException(
    k.keyState === 'PendingReplicaDeletion' ? `${k.arn} is pending replica deletion.` : `${k.arn} is pending deletion.`,
  );
const notSymmetric = (k: KeyRecord) => k.keySpec !== 'SYMMETRIC_DEFAULT' || k.keyState === 'Unavailable';
const originError = (k: KeyRecord) =>
  new UnsupportedOperationException(`${k.arn} origin is ${k.origin} which is not valid for this operation.`);
// AWS answers a non-symmetric key with an empty message (reference Appendix A, RotateKeyOnDemand).
const cannotRotate = (k: KeyRecord) =>
  notSymmetric(k) ? new UnsupportedOperationException('', `${k.keySpec} keys do not rotate`) : originError(k);

/** Each footnote: when it applies to a key (always, unless a condition is given), and its error. */
const FOOTNOTES: Record<Footnote, { applies?: (key: KeyRecord) => boolean; error: (key: KeyRecord) => KmsError }> = {
  1: { error: (k) => new DisabledException(`${k.arn} is disabled.`) },
  3: { error: pendingDeletion },
  4: { error: (k) => new KMSInvalidStateException(`${k.arn} is not pending deletion.`) },
  5: { error: (k) => new KMSInvalidStateException(`${k.arn} is pending import.`) },
  6: { applies: (k) => k.origin === 'EXTERNAL', error: originError },
  7: { applies: (k) => notSymmetric(k) || k.origin !== 'AWS_KMS', error: cannotRotate },
  8: { error: pendingDeletion },
  9: { applies: (k) => k.origin !== 'EXTERNAL' || k.keyState === 'Unavailable', error: originError },
  11: { error: (k) => new KMSInvalidStateException(`${k.arn} is unavailable.`) },
  14: { error: (k) => new KMSInvalidStateException(`${k.arn} is creating.`) },
  15: { error: (k) => new KMSInvalidStateException(`${k.arn} is updating.`) },
  16: {
    applies: (k) => notSymmetric(k) || (k.origin !== 'AWS_KMS' && k.origin !== 'EXTERNAL'),
    error: cannotRotate,
  },
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
// Unavailable is ✓12: the call succeeds but the key stays Unavailable (enable-key.ts, disable-key.ts).
const ENABLE_DISABLE = rules({
  PendingDeletion: 3,
  PendingReplicaDeletion: 3,
  PendingImport: 5,
  Creating: 14,
  Updating: 15,
});

// Automatic rotation settings (EnableKeyRotation, DisableKeyRotation): "?7" where allowed;
// for Disabled and PendingDeletion the 1/3 errors come first (footnote 7).
const ROTATION_SETTINGS = rules({
  Enabled: 7,
  Disabled: 1,
  PendingDeletion: 3,
  PendingReplicaDeletion: 3,
  PendingImport: 6,
  Unavailable: 7,
  Creating: 14,
  Updating: 7,
});
// Import: "?9" where allowed. PendingDeletion is "✗8/9": 9 (UnsupportedOperation) for keys that
// cannot have imported material, else 8. Unavailable (custom key store) keys cannot: 9.
const IMPORT = rules({
  Enabled: 9,
  Disabled: 9,
  PendingDeletion: [9, 8],
  PendingReplicaDeletion: [9, 8],
  PendingImport: 9,
  Unavailable: 9,
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
  CreateGrant: rules({ Disabled: 1, PendingDeletion: 3, PendingReplicaDeletion: 3, PendingImport: 5, Creating: 14 }),
  Decrypt: CRYPTOGRAPHIC,
  DeriveSharedSecret: CRYPTOGRAPHIC,
  DeleteAlias: ALWAYS,
  /** ✓9 in every state but Creating/Updating; PendingImport: succeeds with no effect; the
   * reference's n/a for Unavailable is answered with 9 (custom-store keys have no imported
   * material). */
  DeleteImportedKeyMaterial: rules({
    Enabled: 9,
    Disabled: 9,
    PendingDeletion: 9,
    PendingReplicaDeletion: 9,
    PendingImport: 9,
    Unavailable: 9,
    Creating: 14,
    Updating: 15,
  }),
  DisableKeyRotation: ROTATION_SETTINGS,
  EnableKeyRotation: ROTATION_SETTINGS,
  GetKeyRotationStatus: rules({
    Enabled: 7,
    Disabled: 7,
    PendingDeletion: 7,
    PendingReplicaDeletion: 7,
    PendingImport: 6,
    Unavailable: 7,
    Creating: 7,
    Updating: 7,
  }),
  GetParametersForImport: IMPORT,
  /** Updating is ✓ in the reference table (unlike GetParametersForImport); 9 still applies. */
  ImportKeyMaterial: { ...IMPORT, Updating: 9 },
  ListKeyRotations: rules({
    Enabled: 16,
    Disabled: 16,
    PendingDeletion: 16,
    PendingReplicaDeletion: 16,
    PendingImport: 16,
    Unavailable: 16,
    Creating: 16,
    Updating: 16,
  }),
  RotateKeyOnDemand: rules({
    Enabled: 16,
    Disabled: 1,
    PendingDeletion: 3,
    PendingReplicaDeletion: 3,
    PendingImport: 5,
    Unavailable: 16,
    Creating: 14,
    Updating: 15,
  }),
  DescribeKey: ALWAYS,
  DisableKey: ENABLE_DISABLE,
  EnableKey: ENABLE_DISABLE,
  Encrypt: CRYPTOGRAPHIC,
  GenerateDataKey: CRYPTOGRAPHIC,
  GenerateDataKeyPair: CRYPTOGRAPHIC,
  GenerateDataKeyPairWithoutPlaintext: CRYPTOGRAPHIC,
  GenerateDataKeyWithoutPlaintext: CRYPTOGRAPHIC,
  GenerateMac: CRYPTOGRAPHIC,
  /** Disabled → DisabledException as the reference table says (real KMS is reported to succeed). */
  GetPublicKey: CRYPTOGRAPHIC,
  GetKeyLastUsage: ALWAYS,
  GetKeyPolicy: ALWAYS,
  ListGrants: ALWAYS,
  ListKeyPolicies: ALWAYS,
  PutKeyPolicy: ALWAYS,
  RetireGrant: ALWAYS,
  RevokeGrant: ALWAYS,
  ListAliases: ALWAYS,
  ListResourceTags: ALWAYS,
  ReEncrypt: CRYPTOGRAPHIC,
  Sign: CRYPTOGRAPHIC,
  ScheduleKeyDeletion: rules({ PendingDeletion: 3, PendingReplicaDeletion: 3, Updating: 15 }),
  TagResource: NOT_PENDING_DELETION,
  UntagResource: NOT_PENDING_DELETION,
  /** Applies to the new target; the old target may be in any state. */
  UpdateAlias: NOT_PENDING_DELETION,
  UpdateKeyDescription: NOT_PENDING_DELETION,
  Verify: CRYPTOGRAPHIC,
  VerifyMac: CRYPTOGRAPHIC,
} as const satisfies Record<string, StateRules>;

export type StateCheckedOperation = keyof typeof KEY_STATE_TABLE;

export function checkKeyState(operation: StateCheckedOperation, key: KeyRecord): void {
  const rule: Rule = KEY_STATE_TABLE[operation][key.keyState];
  if (rule === true) return;
  for (const footnote of typeof rule === 'number' ? [rule] : rule) {
    const { applies, error } = FOOTNOTES[footnote];
    if (applies === undefined || applies(key)) throw error(key);
  }
}
