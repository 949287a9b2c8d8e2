import { randomBytes } from 'node:crypto';
import { CustomKeyStoreNotFoundException, ValidationException } from '../../errors.js';
import { blobOutput } from '../../wire/blob-output.js';
import { NumberOfBytesType, RecipientType, structure } from '../../wire/shapes.js';
import { defineOperation } from '../operation.js';
import { refuseRecipient } from './dry-run.js';

interface GenerateRandomInput {
  NumberOfBytes?: number;
  CustomKeyStoreId?: string;
  Recipient?: unknown;
}

export const GenerateRandom = defineOperation({
  name: 'GenerateRandom',
  input: structure({
    NumberOfBytes: NumberOfBytesType,
    CustomKeyStoreId: { type: 'string', min: 1, max: 64 },
    Recipient: RecipientType,
  }),
  async handle(ctx, input: GenerateRandomInput) {
    await ctx.authorizeAccount('kms:GenerateRandom');
    // The model marks NumberOfBytes optional but AWS has no default (Appendix A).
    if (input.NumberOfBytes === undefined) throw new ValidationException('NumberOfBytes is required.');
    if (input.CustomKeyStoreId !== undefined) {
      throw new CustomKeyStoreNotFoundException(`Custom key store ${input.CustomKeyStoreId} does not exist.`);
    }
    refuseRecipient(input.Recipient);
    return { Plaintext: blobOutput(randomBytes(input.NumberOfBytes)) };
  },
});
