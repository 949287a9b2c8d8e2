import { blobOutput } from '../../wire/blob-output.js';
import { RecipientType, structure } from '../../wire/shapes.js';
import { defineOperation } from '../operation.js';
import { dataKeyPairMembers, type GenerateDataKeyPairInput, generateDataKeyPair } from './data-key-pair.js';
import { refuseRecipient } from './dry-run.js';

export const GenerateDataKeyPair = defineOperation({
  name: 'GenerateDataKeyPair',
  input: structure({ ...dataKeyPairMembers, Recipient: RecipientType }, ['KeyId', 'KeyPairSpec']),
  async handle(ctx, input: GenerateDataKeyPairInput) {
    refuseRecipient(input.Recipient);
    const { privateKey, out } = await generateDataKeyPair(ctx, input, 'GenerateDataKeyPair');
    const PrivateKeyPlaintext = blobOutput(privateKey);
    privateKey.fill(0);
    return { ...out, PrivateKeyPlaintext };
  },
});
