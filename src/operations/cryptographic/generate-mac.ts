import { hmac } from '../../crypto/hmac.js';
import { blobOutput } from '../../wire/blob-output.js';
import { structure } from '../../wire/shapes.js';
import { defineOperation } from '../operation.js';
import { finishDryRun } from './dry-run.js';
import { macMembers, useMacKey } from './mac-key.js';

interface GenerateMacInput {
  Message: Buffer;
  KeyId: string;
  MacAlgorithm: string;
  GrantTokens?: string[];
  DryRun?: boolean;
}

/** HMAC (RFC 2104) of the message under an HMAC KMS key; the algorithm must match the spec. */
export const GenerateMac = defineOperation({
  name: 'GenerateMac',
  input: structure(macMembers, ['Message', 'KeyId', 'MacAlgorithm']),
  async handle(ctx, input: GenerateMacInput) {
    const { key, hash, material } = await useMacKey(
      ctx,
      input.KeyId,
      input.MacAlgorithm,
      'GenerateMac',
      input.GrantTokens,
    );
    finishDryRun(input.DryRun);
    const mac = hmac(await material(), hash, input.Message);
    return { Mac: blobOutput(mac), MacAlgorithm: input.MacAlgorithm, KeyId: key.arn };
  },
});
