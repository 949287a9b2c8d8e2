import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { open, seal } from '../../src/crypto/aes-gcm.js';
import { InvalidCiphertextException } from '../../src/errors.js';
import { BLOB_VERSION, blobHeader, decodeBlob, encodeBlob } from '../../src/keys/ciphertext-blob.js';
import { encodeEncryptionContext } from '../../src/keys/encryption-context.js';

const ARN = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const MATERIAL = 'ab'.repeat(32);

function makeBlob(plaintext: Buffer, key: Buffer, context: Record<string, string>) {
  const header = blobHeader(ARN, MATERIAL);
  const sealed = seal(key, plaintext, Buffer.concat([header, encodeEncryptionContext(context)]));
  return encodeBlob(header, sealed.iv, sealed.tag, sealed.ciphertext);
}

describe('ciphertext blob, version 1', () => {
  it('round-trips the key ARN, material id and sealed parts', () => {
    const key = randomBytes(32);
    const blob = makeBlob(Buffer.from('hello'), key, { a: 'b' });
    assert.equal(blob[0], BLOB_VERSION);
    const parsed = decodeBlob(blob);
    assert.equal(parsed.keyArn, ARN);
    assert.equal(parsed.materialId, MATERIAL);
    const aad = Buffer.concat([parsed.header, encodeEncryptionContext({ a: 'b' })]);
    assert.deepEqual(open(key, parsed, aad), Buffer.from('hello'));
  });

  it('keeps a 4096-byte plaintext under the 6144-byte blob limit', () => {
    const blob = makeBlob(Buffer.alloc(4096), randomBytes(32), {});
    assert.ok(blob.length <= 6144, `blob is ${blob.length} bytes`);
  });

  it('fails authentication when any single byte changes', () => {
    const key = randomBytes(32);
    const blob = makeBlob(Buffer.from('a secret of some length'), key, { purpose: 'test' });
    for (let i = 0; i < blob.length; i++) {
      const altered = Buffer.from(blob);
      altered[i] = (altered[i] as number) ^ 0x01;
      let opened: Buffer | undefined;
      try {
        const parsed = decodeBlob(altered);
        if (parsed.keyArn !== ARN || parsed.materialId !== MATERIAL) continue; // would name another key
        opened = open(key, parsed, Buffer.concat([parsed.header, encodeEncryptionContext({ purpose: 'test' })]));
      } catch (err) {
        assert.ok(err instanceof InvalidCiphertextException);
        continue;
      }
      assert.equal(opened, undefined, `byte ${i} altered yet the blob opened`);
    }
  });

  it('refuses truncated blobs and unknown versions', () => {
    const blob = makeBlob(Buffer.from('x'), randomBytes(32), {});
    for (const bad of [Buffer.alloc(0), blob.subarray(0, 10), Buffer.concat([Buffer.of(2), blob.subarray(1)])]) {
      assert.throws(() => decodeBlob(bad), InvalidCiphertextException);
    }
  });
});

describe('encryption context encoding', () => {
  it('is independent of pair order and equal for absent and empty', () => {
    assert.deepEqual(encodeEncryptionContext({ a: '1', b: '2' }), encodeEncryptionContext({ b: '2', a: '1' }));
    assert.deepEqual(encodeEncryptionContext(undefined), encodeEncryptionContext({}));
  });

  it('is injective where naive concatenation is not', () => {
    assert.notDeepEqual(encodeEncryptionContext({ ab: 'c' }), encodeEncryptionContext({ a: 'bc' }));
    assert.notDeepEqual(encodeEncryptionContext({ a: 'b' }), encodeEncryptionContext({ A: 'b' }));
    assert.notDeepEqual(encodeEncryptionContext({ a: '' }), encodeEncryptionContext({}));
  });

  it('sorts by UTF-8 bytes and length-prefixes each key and value', () => {
    const encoded = encodeEncryptionContext({ é: 'x', z: 'yy' });
    const expected = Buffer.concat([
      Buffer.from([0, 0, 0, 2]),
      Buffer.from([0, 0, 0, 1]),
      Buffer.from('z'),
      Buffer.from([0, 0, 0, 2]),
      Buffer.from('yy'),
      Buffer.from([0, 0, 0, 2]),
      Buffer.from('é'),
      Buffer.from([0, 0, 0, 1]),
      Buffer.from('x'),
    ]);
    assert.deepEqual(encoded, expected);
  });
});
