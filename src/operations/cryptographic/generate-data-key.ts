import { blobOutput } from '../../wire/blob-output.js';
import { RecipientType, structure } from '../../wire/shapes.js';
import { defineOperation } from '../operation.js';
import { dataKeyMembers, type GenerateDataKeyInput, generateDataKey } from './data-key.js';
import { refuseRecipient } from './dry-run.js';

export const GenerateDataKey = defineOperation({
  name: 'GenerateDataKey',
  input: structure({ ...dataKeyMembers, Recipient: RecipientType }, ['KeyId']),
  async handle(ctx, input: GenerateDataKeyInput) {
    refuseRecipient(input.Recipient);
    const { plaintext, out } = await generateDataKey(ctx, input, 'GenerateDataKey');
    const Plaintext = blobOutput(plaintext);
    plaintext.fill(0);
    // Member by member: a spread of `out` made a new hidden class for every reply.
    return { CiphertextBlob: out.CiphertextBlob, KeyId: out.KeyId, KeyMaterialId: out.KeyMaterialId, Plaintext };
  },
});
