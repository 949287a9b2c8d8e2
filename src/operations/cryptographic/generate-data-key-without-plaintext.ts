import { structure } from '../../wire/shapes.js';
import { defineOperation } from '../operation.js';
import { dataKeyMembers, type GenerateDataKeyInput, generateDataKey } from './data-key.js';

export const GenerateDataKeyWithoutPlaintext = defineOperation({
  name: 'GenerateDataKeyWithoutPlaintext',
  input: structure(dataKeyMembers, ['KeyId']),
  async handle(ctx, input: GenerateDataKeyInput) {
    const { plaintext, out } = await generateDataKey(ctx, input, 'GenerateDataKeyWithoutPlaintext');
    plaintext.fill(0);
    return out;
  },
});
