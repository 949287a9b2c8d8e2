import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { BlobOutput, blobOutput } from '../../src/wire/blob-output.js';
import { replyJson } from '../../src/wire/reply.js';

/** A reply's JSON is JSON.stringify's, with blob members written from their base64 text as they are. */
describe('replyJson', () => {
  it('writes what JSON.stringify writes for outputs without blobs', () => {
    const outputs: unknown[] = [
      {},
      { KeyId: 'arn:aws:kms:us-east-1:111122223333:key/1', Truncated: false, NextMarker: undefined },
      { KeyMetadata: { Description: 'ü "quoted" \n \u2028 \ud800', CreationDate: 1.5, Tags: [{ a: 1 }, null] } },
      { '10': 'x', '9': 'y', b: [undefined, () => 1], c: () => 1, d: null, e: Number.NaN, f: -0 },
      [1, 'two'],
      'text',
      7,
      null,
    ];
    for (const output of outputs) assert.equal(replyJson(output), JSON.stringify(output));
  });

  it('writes a blob member as its base64 text, in the member order given', () => {
    const bytes = randomBytes(1025);
    const output = { CiphertextBlob: blobOutput(bytes), KeyId: 'k', EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
    const text = replyJson(output);
    assert.equal(text, JSON.stringify(output));
    assert.deepEqual(JSON.parse(text), {
      CiphertextBlob: bytes.toString('base64'),
      KeyId: 'k',
      EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
    });
  });

  it('keeps the base64 text after the bytes are zeroed, as operations zero plaintext at once', () => {
    const plaintext = Buffer.from('a data key');
    const blob = new BlobOutput(plaintext);
    plaintext.fill(0);
    assert.equal(JSON.parse(replyJson({ Plaintext: blob })).Plaintext, Buffer.from('a data key').toString('base64'));
  });
});
