import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  CancelKeyDeletionCommand,
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateDataKeyWithoutPlaintextCommand,
  GenerateRandomCommand,
  type KeyMetadata,
  type KMSClient,
  ReEncryptCommand,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import { REGION, startServer, type TestServer } from '../helpers/server.js';
import { bytes, DRY_RUN_MESSAGE, KEY_MATERIAL_ID, NO_MESSAGE, rejectsWith, uniqueAlias } from './sdk-assert.js';

/**
 * Symmetric cryptography through @aws-sdk/client-kms against a real Trent process: Encrypt,
 * Decrypt, ReEncrypt, GenerateDataKey(WithoutPlaintext), GenerateRandom — their results, the
 * encryption context, tampered ciphertexts, DryRun, and what disabled or doomed keys answer.
 */

const ACCOUNT = '111122223333';

// AWS's answer for a ciphertext whose key the caller cannot see (reference §1.3.3).
const INACCESSIBLE =
  'The ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not allowed to access.';
const INCORRECT_KEY = 'The key ID in the request does not identify a CMK that can perform this operation.';
const KEY_ARN =
  /^arn:aws:kms:[a-z0-9-]*:\d{12}:key\/(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$/;

describe('cryptography through the AWS SDK', { timeout: 120_000 }, () => {
  let server: TestServer;
  let kms: KMSClient;
  let keyA: KeyMetadata;
  let keyB: KeyMetadata;

  before(async () => {
    server = await startServer();
    kms = server.client();
    keyA = await createKey();
    keyB = await createKey();
  });

  after(async () => {
    kms?.destroy();
    await server?.destroy();
  });

  async function createKey(): Promise<KeyMetadata> {
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({}));
    assert.ok(KeyMetadata?.KeyId !== undefined && KeyMetadata.Arn !== undefined);
    return KeyMetadata;
  }

  async function encrypt(keyId: string, plaintext: Buffer, context?: Record<string, string>): Promise<Buffer> {
    const out = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: plaintext, EncryptionContext: context }));
    return bytes(out.CiphertextBlob);
  }

  async function decrypt(blob: Buffer, context?: Record<string, string>, keyId?: string): Promise<Buffer> {
    const out = await kms.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: context, KeyId: keyId }));
    return bytes(out.Plaintext);
  }

  describe('Encrypt and Decrypt', () => {
    it('work with the key named by id, ARN, alias or alias ARN, and Decrypt needs no KeyId', async () => {
      const alias = uniqueAlias('crypto');
      await kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: keyA.KeyId }));
      const names = [keyA.KeyId, keyA.Arn, alias, `arn:aws:kms:${REGION}:${ACCOUNT}:${alias}`] as string[];
      for (const name of names) {
        const plaintext = randomBytes(48);
        const out = await kms.send(new EncryptCommand({ KeyId: name, Plaintext: plaintext }));
        assert.equal(out.KeyId, keyA.Arn, `Encrypt(${name}) names the key by ARN`);
        assert.equal(out.EncryptionAlgorithm, 'SYMMETRIC_DEFAULT');
        const blob = bytes(out.CiphertextBlob);
        assert.ok(!blob.includes(plaintext), 'the plaintext shows in the ciphertext');

        for (const keyId of [undefined, ...names]) {
          const dec = await kms.send(new DecryptCommand({ CiphertextBlob: blob, KeyId: keyId }));
          assert.deepEqual(bytes(dec.Plaintext), plaintext);
          assert.equal(dec.KeyId, keyA.Arn);
          assert.equal(dec.EncryptionAlgorithm, 'SYMMETRIC_DEFAULT');
          assert.equal(dec.KeyMaterialId, keyA.CurrentKeyMaterialId);
        }
      }
    });

    it('round-trip every byte value from 1 to 4096 bytes, under the 6144-byte blob limit', async () => {
      const everyByte = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      for (const plaintext of [Buffer.of(0), everyByte, randomBytes(4096)]) {
        const blob = await encrypt(keyA.KeyId ?? '', plaintext);
        assert.ok(blob.length <= 6144, `a ${plaintext.length}-byte plaintext gave a ${blob.length}-byte blob`);
        assert.deepEqual(await decrypt(blob), plaintext);
      }
      // A fresh IV every time: the same plaintext never gives the same blob.
      const p = randomBytes(16);
      assert.notDeepEqual(await encrypt(keyA.KeyId ?? '', p), await encrypt(keyA.KeyId ?? '', p));
    });

    it('refuse a plaintext over 4096 bytes, or empty, with the ValidationException AWS sends', async () => {
      await rejectsWith(
        kms.send(new EncryptCommand({ KeyId: keyA.KeyId, Plaintext: randomBytes(4097) })),
        'ValidationException',
        "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: " +
          'Member must have length less than or equal to 4096',
      );
      await rejectsWith(
        kms.send(new EncryptCommand({ KeyId: keyA.KeyId, Plaintext: Buffer.alloc(0) })),
        'ValidationException',
        "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: " +
          'Member must have length greater than or equal to 1',
      );
    });

    it('refuse an encryption algorithm the key does not have', async () => {
      await rejectsWith(
        kms.send(
          new EncryptCommand({
            KeyId: keyA.KeyId,
            Plaintext: Buffer.from('x'),
            EncryptionAlgorithm: 'RSAES_OAEP_SHA_256',
          }),
        ),
        'InvalidKeyUsageException',
        'Algorithm RSAES_OAEP_SHA_256 is incompatible with key spec SYMMETRIC_DEFAULT.',
      );
      const blob = await encrypt(keyA.KeyId ?? '', Buffer.from('x'));
      await rejectsWith(
        kms.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionAlgorithm: 'RSAES_OAEP_SHA_1' })),
        'InvalidKeyUsageException',
        'Algorithm RSAES_OAEP_SHA_1 is incompatible with key spec SYMMETRIC_DEFAULT.',
      );
      const dec = await kms.send(
        new DecryptCommand({ CiphertextBlob: blob, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' }),
      );
      assert.deepEqual(bytes(dec.Plaintext), Buffer.from('x'));
    });

    it('answer NotFoundException for an Encrypt under a key that does not exist', async () => {
      const unknown = randomUUID();
      await rejectsWith(
        kms.send(new EncryptCommand({ KeyId: unknown, Plaintext: Buffer.from('x') })),
        'NotFoundException',
        `Key 'arn:aws:kms:${REGION}:${ACCOUNT}:key/${unknown}' does not exist`,
      );
      const alias = uniqueAlias('nothing');
      await rejectsWith(
        kms.send(new EncryptCommand({ KeyId: alias, Plaintext: Buffer.from('x') })),
        'NotFoundException',
        `Alias arn:aws:kms:${REGION}:${ACCOUNT}:${alias} is not found.`,
      );
    });
  });

  describe('encryption context', () => {
    const context = { purpose: 'invoice', tenant: 'ACME', 'aws-crypto-public-key': 'A5x+/=', ключ: 'значение' };

    it('must be presented exactly, in any order', async () => {
      const plaintext = randomBytes(32);
      const blob = await encrypt(keyA.KeyId ?? '', plaintext, context);
      assert.deepEqual(await decrypt(blob, context), plaintext);
      // JSON keeps member order, so this reaches the server in another order.
      const reversed = Object.fromEntries(Object.entries(context).reverse());
      assert.notDeepEqual(Object.keys(reversed), Object.keys(context));
      assert.deepEqual(await decrypt(blob, reversed), plaintext);
    });

    it('that differs in any way gives InvalidCiphertextException with no message', async () => {
      const blob = await encrypt(keyA.KeyId ?? '', randomBytes(32), context);
      const wrong: Array<Record<string, string> | undefined> = [
        undefined,
        {},
        { ...context, purpose: 'receipt' },
        { ...context, tenant: 'acme' }, // values are case-sensitive
        { ...context, extra: '' },
        Object.fromEntries(Object.entries(context).slice(1)),
        Object.fromEntries(Object.entries(context).map(([k, v]) => [k === 'purpose' ? 'Purpose' : k, v])),
        { purposeinvoice: '', tenant: 'ACME', 'aws-crypto-public-key': 'A5x+/=', ключ: 'значение' },
      ];
      for (const presented of wrong) {
        await rejectsWith(
          kms.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: presented })),
          'InvalidCiphertextException',
          NO_MESSAGE,
        );
      }
      const blobWithout = await encrypt(keyA.KeyId ?? '', randomBytes(32));
      await rejectsWith(
        kms.send(new DecryptCommand({ CiphertextBlob: blobWithout, EncryptionContext: { a: 'b' } })),
        'InvalidCiphertextException',
        NO_MESSAGE,
      );
    });

    it('treats {} the same as no context, both ways', async () => {
      const plaintext = randomBytes(32);
      const withEmpty = await encrypt(keyA.KeyId ?? '', plaintext, {});
      const without = await encrypt(keyA.KeyId ?? '', plaintext);
      assert.deepEqual(await decrypt(withEmpty), plaintext);
      assert.deepEqual(await decrypt(withEmpty, {}), plaintext);
      assert.deepEqual(await decrypt(without), plaintext);
      assert.deepEqual(await decrypt(without, {}), plaintext);
    });
  });

  describe('damaged ciphertexts', () => {
    it('answer InvalidCiphertextException for a change of any byte: header, IV, tag or body', async () => {
      // The blob layout is documented in docs/ciphertext-format.md: version, ARN length, ARN,
      // material id, IV, tag, ciphertext.
      const plaintext = randomBytes(40);
      const context = { bound: 'yes' };
      const blob = await encrypt(keyA.KeyId ?? '', plaintext, context);
      const arnLength = blob.readUInt16BE(1);
      assert.equal(blob.toString('utf8', 3, 3 + arnLength), keyA.Arn);
      const regions = {
        header: [0, 3 + arnLength + 32],
        iv: [3 + arnLength + 32, 3 + arnLength + 44],
        tag: [3 + arnLength + 44, 3 + arnLength + 60],
        body: [3 + arnLength + 60, blob.length],
      } as const;
      assert.equal(blob.length - regions.body[0], plaintext.length);

      const answers: Record<string, number> = {};
      for (const [region, [from, to]] of Object.entries(regions)) {
        for (let i = from; i < to; i++) {
          for (const flip of [0x01, 0x80]) {
            const damaged = Buffer.from(blob);
            damaged[i] = (damaged[i] as number) ^ flip;
            // A change inside the key id can name another, well-formed key ARN. No such key
            // exists, and AWS answers that case as for any key the caller cannot see.
            const named = namedArn(damaged);
            const other = named !== undefined && named !== keyA.Arn && KEY_ARN.test(named);
            const call = kms.send(new DecryptCommand({ CiphertextBlob: damaged, EncryptionContext: context }));
            if (other) {
              await rejectsWith(call, 'AccessDeniedException', INACCESSIBLE);
            } else {
              await rejectsWith(call, 'InvalidCiphertextException', NO_MESSAGE).catch((err: Error) => {
                throw new Error(`byte ${i} (${region}) ^ 0x${flip.toString(16)}: ${err.message}`);
              });
            }
            const tally = `${region}:${other ? 'AccessDenied' : 'InvalidCiphertext'}`;
            answers[tally] = (answers[tally] ?? 0) + 1;
          }
        }
      }
      // Every region was exercised, and the IV, tag and body never named another key.
      for (const region of ['header', 'iv', 'tag', 'body']) {
        assert.ok((answers[`${region}:InvalidCiphertext`] ?? 0) > 0, `no InvalidCiphertext for ${region}`);
      }
      assert.equal(answers['iv:AccessDenied'] ?? 0, 0);
      assert.equal(answers['tag:AccessDenied'] ?? 0, 0);
      assert.equal(answers['body:AccessDenied'] ?? 0, 0);

      // After all that, the original still decrypts.
      assert.deepEqual(await decrypt(blob, context), plaintext);
    });

    it('answer InvalidCiphertextException for garbage, truncation, extension and unknown versions', async () => {
      const blob = await encrypt(keyA.KeyId ?? '', randomBytes(24));
      const damaged = [
        randomBytes(100),
        Buffer.from('hello'),
        blob.subarray(0, 1),
        blob.subarray(0, 3),
        blob.subarray(0, 60),
        blob.subarray(0, blob.length - 1),
        Buffer.concat([blob, Buffer.of(0)]),
        Buffer.concat([Buffer.of(0x02), blob.subarray(1)]),
        Buffer.concat([Buffer.of(0x00), blob.subarray(1)]),
        Buffer.concat([blob.subarray(0, 1), Buffer.of(0, 0), blob.subarray(3)]),
        Buffer.concat([blob.subarray(0, 1), Buffer.of(0xff, 0xff), blob.subarray(3)]),
      ];
      for (const bad of damaged) {
        await rejectsWith(
          kms.send(new DecryptCommand({ CiphertextBlob: bad })),
          'InvalidCiphertextException',
          NO_MESSAGE,
        );
      }
      await rejectsWith(
        kms.send(new DecryptCommand({ CiphertextBlob: Buffer.alloc(0) })),
        'ValidationException',
        "1 validation error detected: Value at 'ciphertextBlob' failed to satisfy constraint: " +
          'Member must have length greater than or equal to 1',
      );
      await rejectsWith(
        kms.send(new DecryptCommand({ CiphertextBlob: randomBytes(6145) })),
        'ValidationException',
        "1 validation error detected: Value at 'ciphertextBlob' failed to satisfy constraint: " +
          'Member must have length less than or equal to 6144',
      );
    });

    it('answer IncorrectKeyException when Decrypt names a key other than the one that encrypted', async () => {
      const blob = await encrypt(keyA.KeyId ?? '', Buffer.from('for A'));
      const aliasB = uniqueAlias('other');
      await kms.send(new CreateAliasCommand({ AliasName: aliasB, TargetKeyId: keyB.KeyId }));
      for (const wrong of [keyB.KeyId, keyB.Arn, aliasB]) {
        await rejectsWith(
          kms.send(new DecryptCommand({ CiphertextBlob: blob, KeyId: wrong })),
          'IncorrectKeyException',
          INCORRECT_KEY,
        );
      }
      const unknown = randomUUID();
      await rejectsWith(
        kms.send(new DecryptCommand({ CiphertextBlob: blob, KeyId: unknown })),
        'NotFoundException',
        `Key 'arn:aws:kms:${REGION}:${ACCOUNT}:key/${unknown}' does not exist`,
      );
    });

    it('answer AccessDeniedException for a ciphertext of a key in another region', async () => {
      const west = server.client({ region: 'us-west-2' });
      try {
        const { KeyMetadata } = await west.send(new CreateKeyCommand({}));
        const out = await west.send(new EncryptCommand({ KeyId: KeyMetadata?.KeyId, Plaintext: Buffer.from('west') }));
        const blob = bytes(out.CiphertextBlob);
        await rejectsWith(
          kms.send(new DecryptCommand({ CiphertextBlob: blob })),
          'AccessDeniedException',
          INACCESSIBLE,
        );
        const dec = await west.send(new DecryptCommand({ CiphertextBlob: blob }));
        assert.deepEqual(bytes(dec.Plaintext), Buffer.from('west'));
      } finally {
        west.destroy();
      }
    });
  });

  describe('ReEncrypt', () => {
    it('moves a ciphertext from one key to another, changing the context, without showing the plaintext', async () => {
      const plaintext = randomBytes(64);
      const source = await encrypt(keyA.KeyId ?? '', plaintext, { stage: 'one' });
      const out = await kms.send(
        new ReEncryptCommand({
          CiphertextBlob: source,
          SourceEncryptionContext: { stage: 'one' },
          DestinationKeyId: keyB.KeyId,
          DestinationEncryptionContext: { stage: 'two' },
        }),
      );
      assert.equal(out.SourceKeyId, keyA.Arn);
      assert.equal(out.KeyId, keyB.Arn);
      assert.equal(out.SourceEncryptionAlgorithm, 'SYMMETRIC_DEFAULT');
      assert.equal(out.DestinationEncryptionAlgorithm, 'SYMMETRIC_DEFAULT');
      assert.equal(out.SourceKeyMaterialId, keyA.CurrentKeyMaterialId);
      assert.equal(out.DestinationKeyMaterialId, keyB.CurrentKeyMaterialId);
      assert.equal((out as { Plaintext?: unknown }).Plaintext, undefined);

      const moved = bytes(out.CiphertextBlob);
      const dec = await kms.send(new DecryptCommand({ CiphertextBlob: moved, EncryptionContext: { stage: 'two' } }));
      assert.equal(dec.KeyId, keyB.Arn);
      assert.deepEqual(bytes(dec.Plaintext), plaintext);
      await rejectsWith(
        kms.send(new DecryptCommand({ CiphertextBlob: moved, EncryptionContext: { stage: 'one' } })),
        'InvalidCiphertextException',
        NO_MESSAGE,
      );
      await rejectsWith(
        kms.send(new DecryptCommand({ CiphertextBlob: moved, KeyId: keyA.KeyId, EncryptionContext: { stage: 'two' } })),
        'IncorrectKeyException',
        INCORRECT_KEY,
      );
    });

    it('re-encrypts under the same key into a new blob', async () => {
      const plaintext = randomBytes(20);
      const source = await encrypt(keyA.KeyId ?? '', plaintext);
      const out = await kms.send(
        new ReEncryptCommand({ CiphertextBlob: source, SourceKeyId: keyA.Arn, DestinationKeyId: keyA.KeyId }),
      );
      assert.equal(out.SourceKeyId, keyA.Arn);
      assert.equal(out.KeyId, keyA.Arn);
      const again = bytes(out.CiphertextBlob);
      assert.notDeepEqual(again, source);
      assert.deepEqual(await decrypt(again), plaintext);
      assert.deepEqual(await decrypt(source), plaintext);
    });

    it('refuses a wrong source key, a wrong source context and a damaged blob', async () => {
      const source = await encrypt(keyA.KeyId ?? '', randomBytes(20), { k: 'v' });
      await rejectsWith(
        kms.send(
          new ReEncryptCommand({
            CiphertextBlob: source,
            SourceKeyId: keyB.KeyId,
            SourceEncryptionContext: { k: 'v' },
            DestinationKeyId: keyB.KeyId,
          }),
        ),
        'IncorrectKeyException',
        INCORRECT_KEY,
      );
      await rejectsWith(
        kms.send(
          new ReEncryptCommand({
            CiphertextBlob: source,
            SourceEncryptionContext: { k: 'w' },
            DestinationKeyId: keyB.KeyId,
          }),
        ),
        'InvalidCiphertextException',
        NO_MESSAGE,
      );
      const damaged = Buffer.from(source);
      damaged[damaged.length - 1] = (damaged[damaged.length - 1] as number) ^ 0x01;
      await rejectsWith(
        kms.send(
          new ReEncryptCommand({
            CiphertextBlob: damaged,
            SourceEncryptionContext: { k: 'v' },
            DestinationKeyId: keyB.KeyId,
          }),
        ),
        'InvalidCiphertextException',
        NO_MESSAGE,
      );
      const unknown = randomUUID();
      await rejectsWith(
        kms.send(
          new ReEncryptCommand({
            CiphertextBlob: source,
            SourceEncryptionContext: { k: 'v' },
            DestinationKeyId: unknown,
          }),
        ),
        'NotFoundException',
        `Key 'arn:aws:kms:${REGION}:${ACCOUNT}:key/${unknown}' does not exist`,
      );
    });
  });

  describe('data keys', () => {
    it('GenerateDataKey gives a data key of the asked size and its ciphertext', async () => {
      const cases = [
        { input: { KeySpec: 'AES_128' as const }, size: 16 },
        { input: { KeySpec: 'AES_256' as const }, size: 32 },
        { input: { NumberOfBytes: 1 }, size: 1 },
        { input: { NumberOfBytes: 64 }, size: 64 },
        { input: { NumberOfBytes: 1024 }, size: 1024 },
      ];
      for (const { input, size } of cases) {
        const out = await kms.send(new GenerateDataKeyCommand({ KeyId: keyA.KeyId, ...input }));
        const dataKey = bytes(out.Plaintext);
        assert.equal(dataKey.length, size, JSON.stringify(input));
        assert.equal(out.KeyId, keyA.Arn);
        assert.equal(out.KeyMaterialId, keyA.CurrentKeyMaterialId);
        assert.deepEqual(await decrypt(bytes(out.CiphertextBlob)), dataKey);
      }
      const one = await kms.send(new GenerateDataKeyCommand({ KeyId: keyA.KeyId, KeySpec: 'AES_256' }));
      const two = await kms.send(new GenerateDataKeyCommand({ KeyId: keyA.KeyId, KeySpec: 'AES_256' }));
      assert.notDeepEqual(bytes(one.Plaintext), bytes(two.Plaintext));
    });

    it('GenerateDataKey binds the encryption context to the data key ciphertext', async () => {
      const context = { bucket: 'reports', object: '2024/q1.csv' };
      const out = await kms.send(
        new GenerateDataKeyCommand({ KeyId: keyB.Arn, KeySpec: 'AES_256', EncryptionContext: context }),
      );
      const blob = bytes(out.CiphertextBlob);
      assert.deepEqual(await decrypt(blob, context), bytes(out.Plaintext));
      await rejectsWith(
        kms.send(new DecryptCommand({ CiphertextBlob: blob })),
        'InvalidCiphertextException',
        NO_MESSAGE,
      );
    });

    it('GenerateDataKeyWithoutPlaintext returns only the ciphertext of a data key of the right size', async () => {
      const cases = [
        { input: { KeySpec: 'AES_128' as const }, size: 16 },
        { input: { KeySpec: 'AES_256' as const }, size: 32 },
        { input: { NumberOfBytes: 100 }, size: 100 },
      ];
      for (const { input, size } of cases) {
        const out = await kms.send(
          new GenerateDataKeyWithoutPlaintextCommand({
            KeyId: keyA.Arn,
            EncryptionContext: { n: String(size) },
            ...input,
          }),
        );
        assert.equal((out as { Plaintext?: unknown }).Plaintext, undefined);
        assert.equal(out.KeyId, keyA.Arn);
        assert.equal(out.KeyMaterialId, keyA.CurrentKeyMaterialId);
        const dec = await kms.send(
          new DecryptCommand({ CiphertextBlob: bytes(out.CiphertextBlob), EncryptionContext: { n: String(size) } }),
        );
        assert.equal(bytes(dec.Plaintext).length, size);
        assert.equal(dec.KeyMaterialId, keyA.CurrentKeyMaterialId);
      }
    });

    it('need exactly one of KeySpec and NumberOfBytes, within range', async () => {
      for (const Command of [GenerateDataKeyCommand, GenerateDataKeyWithoutPlaintextCommand]) {
        await rejectsWith(
          kms.send(new Command({ KeyId: keyA.KeyId })),
          'ValidationException',
          'Please specify either number of bytes or key spec.',
        );
        await rejectsWith(
          kms.send(new Command({ KeyId: keyA.KeyId, KeySpec: 'AES_256', NumberOfBytes: 32 })),
          'ValidationException',
          'Please specify either number of bytes or key spec.',
        );
        await rejectsWith(
          kms.send(new Command({ KeyId: keyA.KeyId, NumberOfBytes: 0 })),
          'ValidationException',
          "1 validation error detected: Value '0' at 'numberOfBytes' failed to satisfy constraint: " +
            'Member must have value greater than or equal to 1',
        );
        await rejectsWith(
          kms.send(new Command({ KeyId: keyA.KeyId, NumberOfBytes: 1025 })),
          'ValidationException',
          "1 validation error detected: Value '1025' at 'numberOfBytes' failed to satisfy constraint: " +
            'Member must have value less than or equal to 1024',
        );
        await rejectsWith(
          kms.send(new Command({ KeyId: keyA.KeyId, KeySpec: 'AES_512' as never })),
          'ValidationException',
          "1 validation error detected: Value 'AES_512' at 'keySpec' failed to satisfy constraint: " +
            'Member must satisfy enum value set: [AES_256, AES_128]',
        );
      }
    });
  });

  describe('GenerateRandom', () => {
    it('returns 1 to 1024 random bytes', async () => {
      for (const n of [1, 32, 1024]) {
        const out = await kms.send(new GenerateRandomCommand({ NumberOfBytes: n }));
        assert.equal(bytes(out.Plaintext).length, n);
      }
      const a = await kms.send(new GenerateRandomCommand({ NumberOfBytes: 32 }));
      const b = await kms.send(new GenerateRandomCommand({ NumberOfBytes: 32 }));
      assert.notDeepEqual(bytes(a.Plaintext), bytes(b.Plaintext));
    });

    it('refuses a missing or out-of-range NumberOfBytes with the messages AWS sends', async () => {
      await rejectsWith(kms.send(new GenerateRandomCommand({})), 'ValidationException', 'NumberOfBytes is required.');
      await rejectsWith(
        kms.send(new GenerateRandomCommand({ NumberOfBytes: 0 })),
        'ValidationException',
        "1 validation error detected: Value '0' at 'numberOfBytes' failed to satisfy constraint: " +
          'Member must have value greater than or equal to 1',
      );
      await rejectsWith(
        kms.send(new GenerateRandomCommand({ NumberOfBytes: 1025 })),
        'ValidationException',
        "1 validation error detected: Value '1025' at 'numberOfBytes' failed to satisfy constraint: " +
          'Member must have value less than or equal to 1024',
      );
    });
  });

  describe('DryRun', () => {
    /** Every operation that takes DryRun, on `key` (and a ciphertext under it). */
    function dryRuns(key: KeyMetadata, blob: Buffer) {
      return {
        Encrypt: new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('x'), DryRun: true }),
        Decrypt: new DecryptCommand({ CiphertextBlob: blob, DryRun: true }),
        'Decrypt IGNORE_CIPHERTEXT': new DecryptCommand({
          KeyId: key.Arn,
          DryRun: true,
          DryRunModifiers: ['IGNORE_CIPHERTEXT'],
        }),
        ReEncrypt: new ReEncryptCommand({ CiphertextBlob: blob, DestinationKeyId: key.KeyId, DryRun: true }),
        'ReEncrypt IGNORE_CIPHERTEXT': new ReEncryptCommand({
          SourceKeyId: key.KeyId,
          DestinationKeyId: key.KeyId,
          DryRun: true,
          DryRunModifiers: ['IGNORE_CIPHERTEXT'],
        }),
        GenerateDataKey: new GenerateDataKeyCommand({ KeyId: key.KeyId, KeySpec: 'AES_256', DryRun: true }),
        GenerateDataKeyWithoutPlaintext: new GenerateDataKeyWithoutPlaintextCommand({
          KeyId: key.KeyId,
          NumberOfBytes: 8,
          DryRun: true,
        }),
      };
    }

    it('answers DryRunOperationException (HTTP 400) on every operation that takes DryRun', async () => {
      const blob = await encrypt(keyA.KeyId ?? '', Buffer.from('dry'));
      for (const [name, command] of Object.entries(dryRuns(keyA, blob))) {
        await rejectsWith(kms.send(command as never), 'DryRunOperationException', DRY_RUN_MESSAGE).catch(
          (err: Error) => {
            throw new Error(`${name}: ${err.message}`);
          },
        );
      }
      // DryRun false is an ordinary call.
      const out = await kms.send(new DecryptCommand({ CiphertextBlob: blob, DryRun: false }));
      assert.deepEqual(bytes(out.Plaintext), Buffer.from('dry'));
    });

    it('still runs every check: a DryRun that would fail answers the real error', async () => {
      const blob = await encrypt(keyA.KeyId ?? '', Buffer.from('dry'), { a: '1' });
      await rejectsWith(
        kms.send(new GenerateDataKeyCommand({ KeyId: keyA.KeyId, DryRun: true })),
        'ValidationException',
        'Please specify either number of bytes or key spec.',
      );
      await rejectsWith(
        kms.send(new DecryptCommand({ CiphertextBlob: blob, KeyId: keyB.KeyId, DryRun: true })),
        'IncorrectKeyException',
        INCORRECT_KEY,
      );
      await rejectsWith(
        kms.send(new DecryptCommand({ CiphertextBlob: randomBytes(80), DryRun: true })),
        'InvalidCiphertextException',
        NO_MESSAGE,
      );
      const unknown = randomUUID();
      await rejectsWith(
        kms.send(new EncryptCommand({ KeyId: unknown, Plaintext: Buffer.from('x'), DryRun: true })),
        'NotFoundException',
        `Key 'arn:aws:kms:${REGION}:${ACCOUNT}:key/${unknown}' does not exist`,
      );
    });

    it('on a disabled key answers DisabledException, not DryRunOperationException', async () => {
      const key = await createKey();
      const blob = await encrypt(key.KeyId ?? '', Buffer.from('dry'));
      await kms.send(new DisableKeyCommand({ KeyId: key.KeyId }));
      for (const [name, command] of Object.entries(dryRuns(key, blob))) {
        await rejectsWith(kms.send(command as never), 'DisabledException', `${key.Arn} is disabled.`).catch(
          (err: Error) => {
            throw new Error(`${name}: ${err.message}`);
          },
        );
      }
      // A disabled destination fails a ReEncrypt DryRun from a healthy source too.
      const fromA = await encrypt(keyA.KeyId ?? '', Buffer.from('dry'));
      await rejectsWith(
        kms.send(new ReEncryptCommand({ CiphertextBlob: fromA, DestinationKeyId: key.KeyId, DryRun: true })),
        'DisabledException',
        `${key.Arn} is disabled.`,
      );
    });
  });

  describe('key states', () => {
    /** Every cryptographic operation on `key`, with `blob` a ciphertext under it. */
    function operations(key: KeyMetadata, blob: Buffer) {
      return {
        Encrypt: new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('x') }),
        Decrypt: new DecryptCommand({ CiphertextBlob: blob }),
        'Decrypt with KeyId': new DecryptCommand({ CiphertextBlob: blob, KeyId: key.Arn }),
        'ReEncrypt from': new ReEncryptCommand({ CiphertextBlob: blob, DestinationKeyId: keyA.KeyId }),
        GenerateDataKey: new GenerateDataKeyCommand({ KeyId: key.KeyId, KeySpec: 'AES_128' }),
        GenerateDataKeyWithoutPlaintext: new GenerateDataKeyWithoutPlaintextCommand({
          KeyId: key.KeyId,
          NumberOfBytes: 8,
        }),
      };
    }

    async function expectAll(key: KeyMetadata, blob: Buffer, name: string, message: string): Promise<void> {
      for (const [operation, command] of Object.entries(operations(key, blob))) {
        await rejectsWith(kms.send(command as never), name, message).catch((err: Error) => {
          throw new Error(`${operation}: ${err.message}`);
        });
      }
      const fromA = await encrypt(keyA.KeyId ?? '', Buffer.from('x'));
      await rejectsWith(
        kms.send(new ReEncryptCommand({ CiphertextBlob: fromA, DestinationKeyId: key.Arn })),
        name,
        message,
      );
    }

    it('a disabled key refuses every cryptographic operation with DisabledException, until enabled', async () => {
      const key = await createKey();
      const alias = uniqueAlias('disabled');
      await kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: key.KeyId }));
      const plaintext = randomBytes(32);
      const blob = await encrypt(alias, plaintext);

      await kms.send(new DisableKeyCommand({ KeyId: key.KeyId }));
      await expectAll(key, blob, 'DisabledException', `${key.Arn} is disabled.`);
      await rejectsWith(
        kms.send(new EncryptCommand({ KeyId: alias, Plaintext: plaintext })),
        'DisabledException',
        `${key.Arn} is disabled.`,
      );

      await kms.send(new EnableKeyCommand({ KeyId: key.KeyId }));
      assert.deepEqual(await decrypt(blob), plaintext);
      assert.deepEqual(await decrypt(await encrypt(alias, plaintext)), plaintext);
    });

    it('a key pending deletion refuses with KMSInvalidStateException; cancelled it is Disabled', async () => {
      const key = await createKey();
      const plaintext = randomBytes(32);
      const blob = await encrypt(key.KeyId ?? '', plaintext);

      await kms.send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId, PendingWindowInDays: 7 }));
      await expectAll(key, blob, 'KMSInvalidStateException', `${key.Arn} is pending deletion.`);

      await kms.send(new CancelKeyDeletionCommand({ KeyId: key.KeyId }));
      await expectAll(key, blob, 'DisabledException', `${key.Arn} is disabled.`);

      await kms.send(new EnableKeyCommand({ KeyId: key.KeyId }));
      assert.deepEqual(await decrypt(blob), plaintext);
    });
  });

  describe('KeyMaterialId', () => {
    it('is 64 hex characters in every response and equals DescribeKey CurrentKeyMaterialId', async () => {
      const key = await createKey();
      const { KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId: key.KeyId }));
      const current = KeyMetadata?.CurrentKeyMaterialId ?? '';
      assert.match(current, KEY_MATERIAL_ID);
      assert.equal(current, key.CurrentKeyMaterialId);
      assert.notEqual(current, keyA.CurrentKeyMaterialId);

      const gdk = await kms.send(new GenerateDataKeyCommand({ KeyId: key.KeyId, KeySpec: 'AES_256' }));
      const gdkwp = await kms.send(
        new GenerateDataKeyWithoutPlaintextCommand({ KeyId: key.KeyId, KeySpec: 'AES_256' }),
      );
      const dec = await kms.send(new DecryptCommand({ CiphertextBlob: gdk.CiphertextBlob }));
      const reFrom = await kms.send(
        new ReEncryptCommand({ CiphertextBlob: gdkwp.CiphertextBlob, DestinationKeyId: keyA.KeyId }),
      );
      const reTo = await kms.send(
        new ReEncryptCommand({ CiphertextBlob: reFrom.CiphertextBlob, DestinationKeyId: key.KeyId }),
      );
      const seen = {
        'GenerateDataKey.KeyMaterialId': gdk.KeyMaterialId,
        'GenerateDataKeyWithoutPlaintext.KeyMaterialId': gdkwp.KeyMaterialId,
        'Decrypt.KeyMaterialId': dec.KeyMaterialId,
        'ReEncrypt.SourceKeyMaterialId': reFrom.SourceKeyMaterialId,
        'ReEncrypt.DestinationKeyMaterialId': reTo.DestinationKeyMaterialId,
      };
      for (const [where, id] of Object.entries(seen)) {
        assert.match(id ?? '', KEY_MATERIAL_ID, where);
        assert.equal(id, current, where);
      }
      assert.equal(reFrom.DestinationKeyMaterialId, keyA.CurrentKeyMaterialId);
      assert.equal(reTo.SourceKeyMaterialId, keyA.CurrentKeyMaterialId);
    });
  });
});

/** The key ARN a (possibly damaged) blob names, read per docs/ciphertext-format.md. */
function namedArn(blob: Buffer): string | undefined {
  if (blob.length < 3) return undefined;
  const length = blob.readUInt16BE(1);
  if (blob.length < 3 + length + 32 + 12 + 16) return undefined;
  return blob.toString('utf8', 3, 3 + length);
}
