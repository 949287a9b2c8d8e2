import { CreateAlias } from './aliases/create-alias.js';
import { DeleteAlias } from './aliases/delete-alias.js';
import { ListAliases } from './aliases/list-aliases.js';
import { UpdateAlias } from './aliases/update-alias.js';
import { Decrypt } from './cryptographic/decrypt.js';
import { Encrypt } from './cryptographic/encrypt.js';
import { GenerateDataKey } from './cryptographic/generate-data-key.js';
import { GenerateDataKeyWithoutPlaintext } from './cryptographic/generate-data-key-without-plaintext.js';
import { GenerateRandom } from './cryptographic/generate-random.js';
import { ReEncrypt } from './cryptographic/re-encrypt.js';
import { CancelKeyDeletion } from './keys/cancel-key-deletion.js';
import { CreateKey } from './keys/create-key.js';
import { DescribeKey } from './keys/describe-key.js';
import { DisableKey } from './keys/disable-key.js';
import { EnableKey } from './keys/enable-key.js';
import { ListKeys } from './keys/list-keys.js';
import { ScheduleKeyDeletion } from './keys/schedule-key-deletion.js';
import { UpdateKeyDescription } from './keys/update-key-description.js';
import type { Operation } from './operation.js';
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
  // cryptographic
  Encrypt,
  Decrypt,
  ReEncrypt,
  GenerateDataKey,
  GenerateDataKeyWithoutPlaintext,
  GenerateRandom,
  // aliases
  CreateAlias,
  UpdateAlias,
  DeleteAlias,
  ListAliases,
  // tags
  TagResource,
  UntagResource,
  ListResourceTags,
];
