import { CreateAlias } from './aliases/create-alias.js';
import { DeleteAlias } from './aliases/delete-alias.js';
import { ListAliases } from './aliases/list-aliases.js';
import { UpdateAlias } from './aliases/update-alias.js';
import { Decrypt } from './cryptographic/decrypt.js';
import { DeriveSharedSecret } from './cryptographic/derive-shared-secret.js';
import { Encrypt } from './cryptographic/encrypt.js';
import { GenerateDataKey } from './cryptographic/generate-data-key.js';
import { GenerateDataKeyPair } from './cryptographic/generate-data-key-pair.js';
import { GenerateDataKeyPairWithoutPlaintext } from './cryptographic/generate-data-key-pair-without-plaintext.js';
import { GenerateDataKeyWithoutPlaintext } from './cryptographic/generate-data-key-without-plaintext.js';
import { GenerateMac } from './cryptographic/generate-mac.js';
import { GenerateRandom } from './cryptographic/generate-random.js';
import { GetPublicKey } from './cryptographic/get-public-key.js';
import { ReEncrypt } from './cryptographic/re-encrypt.js';
import { Sign } from './cryptographic/sign.js';
import { Verify } from './cryptographic/verify.js';
import { VerifyMac } from './cryptographic/verify-mac.js';
import { CreateGrant } from './grants/create-grant.js';
import { ListGrants } from './grants/list-grants.js';
import { ListRetirableGrants } from './grants/list-retirable-grants.js';
import { RetireGrant } from './grants/retire-grant.js';
import { RevokeGrant } from './grants/revoke-grant.js';
import { DeleteImportedKeyMaterial } from './import/delete-imported-key-material.js';
import { GetParametersForImport } from './import/get-parameters-for-import.js';
import { ImportKeyMaterial } from './import/import-key-material.js';
import { CancelKeyDeletion } from './keys/cancel-key-deletion.js';
import { CreateKey } from './keys/create-key.js';
import { DescribeKey } from './keys/describe-key.js';
import { DisableKey } from './keys/disable-key.js';
import { EnableKey } from './keys/enable-key.js';
import { GetKeyLastUsage } from './keys/get-key-last-usage.js';
import { ListKeys } from './keys/list-keys.js';
import { ScheduleKeyDeletion } from './keys/schedule-key-deletion.js';
import { UpdateKeyDescription } from './keys/update-key-description.js';
import type { Operation } from './operation.js';
import { GetKeyPolicy } from './policies/get-key-policy.js';
import { ListKeyPolicies } from './policies/list-key-policies.js';
import { PutKeyPolicy } from './policies/put-key-policy.js';
import { DisableKeyRotation } from './rotation/disable-key-rotation.js';
import { EnableKeyRotation } from './rotation/enable-key-rotation.js';
import { GetKeyRotationStatus } from './rotation/get-key-rotation-status.js';
import { ListKeyRotations } from './rotation/list-key-rotations.js';
import { RotateKeyOnDemand } from './rotation/rotate-key-on-demand.js';
import { ListResourceTags } from './tags/list-resource-tags.js';
import { TagResource } from './tags/tag-resource.js';
import { UntagResource } from './tags/untag-resource.js';

/** Every operation Trent serves, listed explicitly. */
// biome-ignore lint/suspicious/noExplicitAny: each operation has its own input type
export const OPERATIONS: readonly Operation<any>[] = [
  // keys
  CreateKey,
  DescribeKey,
  ListKeys,
  EnableKey,
  DisableKey,
  UpdateKeyDescription,
  ScheduleKeyDeletion,
  CancelKeyDeletion,
  GetKeyLastUsage,
  // cryptographic
  Encrypt,
  Decrypt,
  ReEncrypt,
  GenerateDataKey,
  GenerateDataKeyWithoutPlaintext,
  GenerateRandom,
  // asymmetric, HMAC and key agreement
  GetPublicKey,
  Sign,
  Verify,
  GenerateMac,
  VerifyMac,
  DeriveSharedSecret,
  GenerateDataKeyPair,
  GenerateDataKeyPairWithoutPlaintext,
  // rotation
  EnableKeyRotation,
  DisableKeyRotation,
  GetKeyRotationStatus,
  RotateKeyOnDemand,
  ListKeyRotations,
  // imported key material
  GetParametersForImport,
  ImportKeyMaterial,
  DeleteImportedKeyMaterial,
  // aliases
  CreateAlias,
  UpdateAlias,
  DeleteAlias,
  ListAliases,
  // grants
  CreateGrant,
  ListGrants,
  ListRetirableGrants,
  RetireGrant,
  RevokeGrant,
  // key policies
  GetKeyPolicy,
  PutKeyPolicy,
  ListKeyPolicies,
  // tags
  TagResource,
  UntagResource,
  ListResourceTags,
];
