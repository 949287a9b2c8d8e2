import { hmacVerify } from '../../crypto/hmac.js';
import { KMSInvalidMacException } from '../../errors.js';
import { SignatureType, structure } from '../../wire/shapes.js';
import { defineOperation } from '../operation.js';
import { finishDryRun } from './dry-run.js';
import { macMembers, useMacKey } from './mac-key.js';

interface VerifyMacInput {
  Message: Buffer;
  KeyId: string;
  MacAlgorithm: string;
  Mac: Buffer;
  GrantTokens?: string[];
  DryRun?: boolean;
}

/** A mismatch is KMSInvalidMacException; success is MacValid true. */
export const VerifyMac = defineOperation({
  name: 'VerifyMac',
  input: structure({ ...macMembers, Mac: SignatureType }, ['Message', 'KeyId', 'MacAlgorithm', 'Mac']),
  async handle(ctx, input: VerifyMacInput) {
    const { key, hash, material } = await useMacKey(
      ctx,
      input.KeyId,
      input.MacAlgorithm,
      'VerifyMac',
      input.GrantTokens,
    );
    finishDryRun(input.DryRun);
    if (!hmacVerify(await material(), hash, input.Message, input.Mac)) {
      throw new KMSInvalidMacException('', 'MAC does not verify');
    }
    return { KeyId: key.arn, MacValid: true, MacAlgorithm: input.MacAlgorithm };
  },
});
