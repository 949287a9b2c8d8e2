import type { KeyObject } from 'node:crypto';
import { MAC_HASHES } from '../../keys/key-specs.js';
import { requireAlgorithm, requireKeyUsage } from '../../keys/key-usage.js';
import { macConditions } from '../../keys/request-conditions.js';
import { currentMaterial } from '../../keys/signing.js';
import type { KeyRecord } from '../../storage/records.js';
import { BooleanType, enumOf, GrantTokenList, KeyIdType, MAC_ALGORITHM_NAMES, MessageType } from '../../wire/shapes.js';
import type { RequestContext } from '../context.js';

/** What GenerateMac and VerifyMac share: their members and the checks of reference §4.3. */
export const macMembers = {
  Message: MessageType,
  KeyId: KeyIdType,
  MacAlgorithm: enumOf(MAC_ALGORITHM_NAMES),
  GrantTokens: GrantTokenList,
  DryRun: BooleanType,
};

export async function useMacKey(
  ctx: RequestContext,
  keyId: string,
  algorithm: string,
  operation: 'GenerateMac' | 'VerifyMac',
  grantTokens: string[] | undefined,
): Promise<{ key: KeyRecord; hash: 'sha224' | 'sha256' | 'sha384' | 'sha512'; material: () => Promise<KeyObject> }> {
  const { key } = await ctx.useKey(keyId, operation, {
    allowAlias: true,
    grantTokens,
    conditions: macConditions(algorithm),
  });
  requireKeyUsage(key, 'GENERATE_VERIFY_MAC', operation);
  requireAlgorithm(key, algorithm);
  const hash = MAC_HASHES[algorithm] as 'sha224' | 'sha256' | 'sha384' | 'sha512';
  return { key, hash, material: () => currentMaterial(ctx.keys, key) };
}
