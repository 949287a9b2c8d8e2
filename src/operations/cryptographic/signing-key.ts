import { requireAlgorithm, requireKeyUsage } from '../../keys/key-usage.js';
import { signingConditions } from '../../keys/request-conditions.js';
import { checkMessage, type SigningRequest } from '../../keys/signing.js';
import type { KeyRecord } from '../../storage/records.js';
import type { RequestContext } from '../context.js';
import { finishDryRun } from './dry-run.js';

/** What Sign and Verify both take. */
export interface SigningInput {
  KeyId: string;
  Message: Buffer;
  MessageType?: string;
  GrantTokens?: string[];
  SigningAlgorithm: string;
  DryRun?: boolean;
}

/**
 * The key and the message of a Sign or Verify, checked in AWS's order: the key (state,
 * authorization), its usage, the algorithm, the message; then DryRun, once all have passed.
 */
export async function useSigningKey(
  ctx: RequestContext,
  input: SigningInput,
  operation: 'Sign' | 'Verify',
): Promise<{ key: KeyRecord; request: SigningRequest }> {
  const { key } = await ctx.useKey(input.KeyId, operation, {
    allowAlias: true,
    grantTokens: input.GrantTokens,
    conditions: signingConditions(input.SigningAlgorithm, input.MessageType),
  });
  requireKeyUsage(key, 'SIGN_VERIFY', operation);
  requireAlgorithm(key, input.SigningAlgorithm);
  const request = checkMessage(input.SigningAlgorithm, input.MessageType, input.Message);
  finishDryRun(input.DryRun);
  return { key, request };
}
