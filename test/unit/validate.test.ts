import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SerializationException, ValidationException } from '../../src/errors.js';
import {
  EncryptionContextType,
  enumOf,
  KeyIdType,
  NumberOfBytesType,
  PlaintextType,
  structure,
  TagList,
} from '../../src/wire/shapes.js';
import { compileValidator } from '../../src/wire/validate.js';

const validate = compileValidator<Record<string, unknown>>(
  structure(
    {
      KeyId: KeyIdType,
      Plaintext: PlaintextType,
      NumberOfBytes: NumberOfBytesType,
      EncryptionContext: EncryptionContextType,
      Tags: TagList,
      KeySpec: enumOf(['AES_256', 'AES_128']),
      Flag: { type: 'boolean' },
    },
    ['KeyId'],
  ),
);

function validationMessage(input: unknown): string {
  try {
    validate(input);
  } catch (err) {
    assert.ok(err instanceof ValidationException, `expected ValidationException, got ${String(err)}`);
    return err.message;
  }
  assert.fail('no ValidationException');
}

describe('request validation', () => {
  it('returns typed input: blobs decoded, nulls and unknown members dropped', () => {
    const out = validate({ KeyId: 'k', Plaintext: Buffer.from('hi').toString('base64'), Extra: 1, Flag: null });
    assert.deepEqual(out, { KeyId: 'k', Plaintext: Buffer.from('hi') });
  });

  it('words a missing required member as AWS does', () => {
    assert.equal(
      validationMessage({}),
      "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null",
    );
  });

  it('words range violations with the value and camelCase member name', () => {
    assert.equal(
      validationMessage({ KeyId: 'k', NumberOfBytes: 0 }),
      "1 validation error detected: Value '0' at 'numberOfBytes' failed to satisfy constraint: Member must have value greater than or equal to 1",
    );
    assert.equal(
      validationMessage({ KeyId: 'k', NumberOfBytes: 1025 }),
      "1 validation error detected: Value '1025' at 'numberOfBytes' failed to satisfy constraint: Member must have value less than or equal to 1024",
    );
  });

  it('leaves sensitive values out of the message', () => {
    const big = Buffer.alloc(4097).toString('base64');
    assert.equal(
      validationMessage({ KeyId: 'k', Plaintext: big }),
      "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096",
    );
  });

  it('names list members by 1-based index', () => {
    const value = 'v'.repeat(257);
    assert.equal(
      validationMessage({ KeyId: 'k', Tags: [{ TagKey: 'a', TagValue: value }] }),
      `1 validation error detected: Value '${value}' at 'tags.1.member.tagValue' failed to satisfy constraint: Member must have length less than or equal to 256`,
    );
  });

  it('lists the enum set', () => {
    assert.equal(
      validationMessage({ KeyId: 'k', KeySpec: 'AES_512' }),
      "1 validation error detected: Value 'AES_512' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [AES_256, AES_128]",
    );
  });

  it('collects every violation into one message', () => {
    assert.match(
      validationMessage({ NumberOfBytes: 0 }),
      /^2 validation errors detected: Value null at 'keyId'.*; Value '0' at 'numberOfBytes'/,
    );
  });

  it('throws SerializationException for wrong JSON types before any constraint', () => {
    for (const input of [
      { KeyId: 5 },
      { KeyId: 'k', NumberOfBytes: '5' },
      { KeyId: 'k', NumberOfBytes: 1.5 },
      { KeyId: 'k', EncryptionContext: ['a'] },
      { KeyId: 'k', EncryptionContext: { a: 1 } },
      { KeyId: 'k', Tags: {} },
      { KeyId: 'k', Flag: 'true' },
      { NumberOfBytes: 'x' },
      [],
      'text',
      null,
    ]) {
      assert.throws(() => validate(input), SerializationException, JSON.stringify(input));
    }
  });

  it('accepts only canonical padded base64 for blobs', () => {
    for (const bad of ['abc', 'ab=c', '****', 'aGk', 'aGk=\n', 'aG k=', ' aGk=', 'aGk==', '-_-_', 'aGk=aGk=']) {
      assert.throws(() => validate({ KeyId: 'k', Plaintext: bad }), SerializationException, bad);
    }
    assert.deepEqual(validate({ KeyId: 'k', Plaintext: 'aGk=' }).Plaintext, Buffer.from('hi'));
    const large = Buffer.from(Array.from({ length: 4096 }, (_, i) => i % 251));
    assert.deepEqual(validate({ KeyId: 'k', Plaintext: large.toString('base64') }).Plaintext, large);
    // Padded, but with low bits set in the last character that no encoder writes: the pattern
    // accepts it, as before, and the bits are dropped.
    assert.deepEqual(validate({ KeyId: 'k', Plaintext: 'aGl=' }).Plaintext, Buffer.from('hi'));
  });
});
