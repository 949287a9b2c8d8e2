import { structure } from '../../wire/shapes.js';
import { defineOperation } from '../operation.js';
import { dataKeyPairMembers, type GenerateDataKeyPairInput, generateDataKeyPair } from './data-key-pair.js';

export const GenerateDataKeyPairWithoutPlaintext = defineOperation({
  name: 'GenerateDataKeyPairWithoutPlaintext',
  input: structure(dataKeyPairMembers, ['KeyId', 'KeyPairSpec']),
  async handle(ctx, input: GenerateDataKeyPairInput) {
    const { privateKey, out } = await generateDataKeyPair(ctx, input, 'GenerateDataKeyPairWithoutPlaintext');
    privateKey.fill(0);
    return out;
  },
});
