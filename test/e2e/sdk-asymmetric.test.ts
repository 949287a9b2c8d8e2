import assert from 'node:assert/strict';
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  randomBytes,
  verify,
} from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  CreateKeyCommand,
  DecryptCommand,
  DeriveSharedSecretCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EncryptCommand,
  GenerateDataKeyPairCommand,
  GenerateDataKeyPairWithoutPlaintextCommand,
  GenerateMacCommand,
  GetPublicKeyCommand,
  type KeyMetadata,
  type KeySpec,
  type KeyUsageType,
  type KMSClient,
  ReEncryptCommand,
  SignCommand,
  type SigningAlgorithmSpec,
  VerifyCommand,
  VerifyMacCommand,
} from '@aws-sdk/client-kms';
import { startServer, type TestServer } from '../helpers/server.js';
import { bytes, DRY_RUN_MESSAGE, NO_MESSAGE, rejectsWith } from './sdk-assert.js';

/**
 * Asymmetric, HMAC and key-agreement keys through @aws-sdk/client-kms against a real Trent process:
 * every key spec and usage of reference §3.1, every signing, encryption, MAC and key-agreement
 * algorithm, the DIGEST/RAW rules, data key pairs, DryRun, and the error AWS sends for each wrong
 * combination (Appendix A wording where AWS's is recorded).
 */

type Usage = KeyUsageType;
const SIGNING: Record<string, SigningAlgorithmSpec[]> = {
  RSA: [
    'RSASSA_PKCS1_V1_5_SHA_256',
    'RSASSA_PKCS1_V1_5_SHA_384',
    'RSASSA_PKCS1_V1_5_SHA_512',
    'RSASSA_PSS_SHA_256',
    'RSASSA_PSS_SHA_384',
    'RSASSA_PSS_SHA_512',
  ],
  ECC_NIST_P256: ['ECDSA_SHA_256'],
  ECC_NIST_P384: ['ECDSA_SHA_384'],
  ECC_NIST_P521: ['ECDSA_SHA_512'],
  ECC_SECG_P256K1: ['ECDSA_SHA_256'],
  ECC_NIST_EDWARDS25519: ['ED25519_SHA_512', 'ED25519_PH_SHA_512'],
  ML_DSA: ['ML_DSA_SHAKE_256'],
};
const HASH_OF = (alg: string): string => (alg.endsWith('384') ? 'sha384' : alg.endsWith('512') ? 'sha512' : 'sha256');

// Expected DescribeKey/GetPublicKey algorithm lists (reference §3.1).
function expectedLists(spec: string, usage: Usage): Record<string, string[]> {
  if (usage === 'ENCRYPT_DECRYPT') return { EncryptionAlgorithms: ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'] };
  if (usage === 'KEY_AGREEMENT') return { KeyAgreementAlgorithms: ['ECDH'] };
  if (usage === 'GENERATE_VERIFY_MAC') return { MacAlgorithms: [`HMAC_SHA_${spec.slice(5)}`] };
  const family = spec.startsWith('RSA') ? 'RSA' : spec.startsWith('ML_DSA') ? 'ML_DSA' : spec;
  return { SigningAlgorithms: SIGNING[family] as string[] };
}

const SPECS_AND_USAGES: [KeySpec, Usage][] = [
  ['RSA_2048', 'SIGN_VERIFY'],
  ['RSA_3072', 'SIGN_VERIFY'],
  ['RSA_4096', 'SIGN_VERIFY'],
  ['RSA_2048', 'ENCRYPT_DECRYPT'],
  ['RSA_3072', 'ENCRYPT_DECRYPT'],
  ['RSA_4096', 'ENCRYPT_DECRYPT'],
  ['ECC_NIST_P256', 'SIGN_VERIFY'],
  ['ECC_NIST_P384', 'SIGN_VERIFY'],
  ['ECC_NIST_P521', 'SIGN_VERIFY'],
  ['ECC_SECG_P256K1', 'SIGN_VERIFY'],
  ['ECC_NIST_P256', 'KEY_AGREEMENT'],
  ['ECC_NIST_P384', 'KEY_AGREEMENT'],
  ['ECC_NIST_P521', 'KEY_AGREEMENT'],
  ['ECC_NIST_EDWARDS25519', 'SIGN_VERIFY'],
  ['HMAC_224', 'GENERATE_VERIFY_MAC'],
  ['HMAC_256', 'GENERATE_VERIFY_MAC'],
  ['HMAC_384', 'GENERATE_VERIFY_MAC'],
  ['HMAC_512', 'GENERATE_VERIFY_MAC'],
  ['ML_DSA_44', 'SIGN_VERIFY'],
  ['ML_DSA_65', 'SIGN_VERIFY'],
  ['ML_DSA_87', 'SIGN_VERIFY'],
];

describe('asymmetric, HMAC and key-agreement keys through the AWS SDK', { timeout: 300_000 }, () => {
  let server: TestServer;
  let kms: KMSClient;
  const keys = new Map<string, KeyMetadata>();
  let symmetric: KeyMetadata;

  const key = (spec: string, usage: Usage): KeyMetadata => {
    const k = keys.get(`${spec}/${usage}`);
    assert.ok(k !== undefined, `no ${spec}/${usage} key`);
    return k;
  };
  const id = (spec: string, usage: Usage): string => key(spec, usage).KeyId as string;

  before(async () => {
    server = await startServer();
    kms = server.client();
    await Promise.all(
      SPECS_AND_USAGES.map(async ([spec, usage]) => {
        const out = await kms.send(new CreateKeyCommand({ KeySpec: spec, KeyUsage: usage }));
        assert.ok(out.KeyMetadata !== undefined);
        keys.set(`${spec}/${usage}`, out.KeyMetadata);
      }),
    );
    symmetric = (await kms.send(new CreateKeyCommand({}))).KeyMetadata as KeyMetadata;
  });

  after(async () => {
    kms?.destroy();
    await server?.destroy();
  });

  async function publicKey(spec: string, usage: Usage): Promise<Buffer> {
    return bytes((await kms.send(new GetPublicKeyCommand({ KeyId: id(spec, usage) }))).PublicKey);
  }

  describe('CreateKey, DescribeKey and GetPublicKey', () => {
    it('report the spec, usage and the one algorithm list of reference §3.1 for every spec', async () => {
      for (const [spec, usage] of SPECS_AND_USAGES) {
        const created = key(spec, usage);
        const { KeyMetadata: described } = await kms.send(new DescribeKeyCommand({ KeyId: created.KeyId }));
        for (const meta of [created, described]) {
          assert.ok(meta !== undefined);
          assert.equal(meta.KeySpec, spec);
          assert.equal(meta.KeyUsage, usage);
          assert.equal(meta.KeyState, 'Enabled');
          // ML-DSA and Ed25519 have no CustomerMasterKeySpec value (reference §3 notes).
          const legacy = !spec.startsWith('ML_DSA') && spec !== 'ECC_NIST_EDWARDS25519';
          assert.equal(meta.CustomerMasterKeySpec, legacy ? spec : undefined, spec);
          assert.equal(meta.CurrentKeyMaterialId, undefined, `${spec} reports no KeyMaterialId`);
          const lists = {
            EncryptionAlgorithms: meta.EncryptionAlgorithms,
            SigningAlgorithms: meta.SigningAlgorithms,
            MacAlgorithms: meta.MacAlgorithms,
            KeyAgreementAlgorithms: meta.KeyAgreementAlgorithms,
          };
          const expected = expectedLists(spec, usage);
          for (const [name, value] of Object.entries(lists)) {
            assert.deepEqual(value, expected[name], `${spec}/${usage} ${name}`);
          }
        }
      }
    });

    it('GetPublicKey returns a DER SubjectPublicKeyInfo of the right type, and the same lists', async () => {
      const details: Record<string, (k: ReturnType<typeof createPublicKey>) => void> = {
        RSA_2048: (k) => assert.equal(k.asymmetricKeyDetails?.modulusLength, 2048),
        RSA_3072: (k) => assert.equal(k.asymmetricKeyDetails?.modulusLength, 3072),
        RSA_4096: (k) => assert.equal(k.asymmetricKeyDetails?.modulusLength, 4096),
        ECC_NIST_P256: (k) => assert.equal(k.asymmetricKeyDetails?.namedCurve, 'prime256v1'),
        ECC_NIST_P384: (k) => assert.equal(k.asymmetricKeyDetails?.namedCurve, 'secp384r1'),
        ECC_NIST_P521: (k) => assert.equal(k.asymmetricKeyDetails?.namedCurve, 'secp521r1'),
        ECC_SECG_P256K1: (k) => assert.equal(k.asymmetricKeyDetails?.namedCurve, 'secp256k1'),
        ECC_NIST_EDWARDS25519: (k) => assert.equal(k.asymmetricKeyType, 'ed25519'),
      };
      // id-ml-dsa-44/65/87 (2.16.840.1.101.3.4.3.17-19) and the raw key sizes of FIPS 204 Table 2.
      const mlDsa: Record<string, [number, number]> = {
        ML_DSA_44: [0x11, 1312],
        ML_DSA_65: [0x12, 1952],
        ML_DSA_87: [0x13, 2592],
      };
      for (const [spec, usage] of SPECS_AND_USAGES) {
        if (spec.startsWith('HMAC')) continue;
        const out = await kms.send(new GetPublicKeyCommand({ KeyId: id(spec, usage) }));
        assert.equal(out.KeyId, key(spec, usage).Arn);
        assert.equal(out.KeySpec, spec);
        assert.equal(out.KeyUsage, usage);
        const expected = expectedLists(spec, usage);
        assert.deepEqual(out.SigningAlgorithms, expected.SigningAlgorithms);
        assert.deepEqual(out.EncryptionAlgorithms, expected.EncryptionAlgorithms);
        assert.deepEqual(out.KeyAgreementAlgorithms, expected.KeyAgreementAlgorithms);
        const der = bytes(out.PublicKey);
        const ml = mlDsa[spec];
        if (ml !== undefined) {
          const oid = Buffer.from([0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03, ml[0]]);
          assert.ok(der.includes(oid), `${spec} SPKI names id-ml-dsa`);
          assert.equal(der.length, ml[1] + 22, `${spec} SPKI length`);
          continue;
        }
        const check = details[spec];
        assert.ok(check !== undefined);
        check(createPublicKey({ key: der, format: 'der', type: 'spki' }));
      }
    });

    it('GetPublicKey refuses symmetric and HMAC keys with UnsupportedOperationException', async () => {
      for (const k of [symmetric, key('HMAC_256', 'GENERATE_VERIFY_MAC')]) {
        await rejectsWith(
          kms.send(new GetPublicKeyCommand({ KeyId: k.KeyId })),
          'UnsupportedOperationException',
          `${k.Arn} key spec is ${k.KeySpec} which is not valid for GetPublicKey.`,
        );
      }
    });

    it('refuses wrong spec/usage combinations with the ValidationException AWS sends', async () => {
      const bad: [KeySpec, Usage][] = [
        ['RSA_2048', 'KEY_AGREEMENT'],
        ['ECC_NIST_P256', 'ENCRYPT_DECRYPT'],
        ['ECC_SECG_P256K1', 'KEY_AGREEMENT'],
        ['ECC_NIST_EDWARDS25519', 'KEY_AGREEMENT'],
        ['HMAC_256', 'SIGN_VERIFY'],
        ['ML_DSA_65', 'ENCRYPT_DECRYPT'],
        ['SYMMETRIC_DEFAULT', 'SIGN_VERIFY'],
        ['RSA_4096', 'GENERATE_VERIFY_MAC'],
      ];
      for (const [spec, usage] of bad) {
        await rejectsWith(
          kms.send(new CreateKeyCommand({ KeySpec: spec, KeyUsage: usage })),
          'ValidationException',
          `KeyUsage ${usage} is not compatible with KeySpec ${spec}`,
        );
      }
      for (const spec of ['HMAC_256', 'RSA_2048', 'ML_DSA_44'] as KeySpec[]) {
        await rejectsWith(
          kms.send(new CreateKeyCommand({ KeySpec: spec })),
          'ValidationException',
          'You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys.',
        );
      }
    });

    it('answers SM2 (China Regions only in AWS) with UnsupportedOperationException', async () => {
      for (const usage of ['SIGN_VERIFY', 'ENCRYPT_DECRYPT', 'KEY_AGREEMENT'] as Usage[]) {
        await rejectsWith(
          kms.send(new CreateKeyCommand({ KeySpec: 'SM2', KeyUsage: usage })),
          'UnsupportedOperationException',
          'KeySpec SM2 is not supported in this Region.',
        );
      }
    });
  });

  describe('Sign and Verify', () => {
    const message = randomBytes(300);
    const cases = (): [string, SigningAlgorithmSpec][] =>
      SPECS_AND_USAGES.filter(([, u]) => u === 'SIGN_VERIFY').flatMap(([spec]) =>
        (expectedLists(spec, 'SIGN_VERIFY').SigningAlgorithms ?? []).map((a): [string, SigningAlgorithmSpec] => [
          spec,
          a as SigningAlgorithmSpec,
        ]),
      );

    it('sign RAW messages with every algorithm; Verify accepts them and Node verifies them', async () => {
      for (const [spec, alg] of cases()) {
        if (alg === 'ED25519_PH_SHA_512') continue; // DIGEST only
        const signed = await kms.send(
          new SignCommand({ KeyId: id(spec, 'SIGN_VERIFY'), Message: message, SigningAlgorithm: alg }),
        );
        assert.equal(signed.KeyId, key(spec, 'SIGN_VERIFY').Arn);
        assert.equal(signed.SigningAlgorithm, alg);
        const signature = bytes(signed.Signature);
        const verified = await kms.send(
          new VerifyCommand({
            KeyId: id(spec, 'SIGN_VERIFY'),
            Message: message,
            Signature: signature,
            SigningAlgorithm: alg,
          }),
        );
        assert.equal(verified.SignatureValid, true, `${spec} ${alg}`);
        if (spec.startsWith('ML_DSA')) continue; // verified independently in the interop test
        const pub = createPublicKey({ key: await publicKey(spec, 'SIGN_VERIFY'), format: 'der', type: 'spki' });
        const options = alg.startsWith('RSASSA_PSS')
          ? { key: pub, padding: 6, saltLength: Number(HASH_OF(alg).slice(3)) / 8 }
          : { key: pub, dsaEncoding: 'der' as const };
        const hash = spec === 'ECC_NIST_EDWARDS25519' ? null : HASH_OF(alg);
        assert.ok(verify(hash, message, options, signature), `Node verifies ${spec} ${alg}`);
      }
    });

    it('hash a RAW message once: a RAW signature verifies as DIGEST of the message, and back', async () => {
      for (const [spec, alg] of cases()) {
        if (alg.startsWith('ED25519') || alg.startsWith('ML_DSA')) continue;
        const digest = createHash(HASH_OF(alg)).update(message).digest();
        const keyId = id(spec, 'SIGN_VERIFY');
        const raw = bytes(
          (await kms.send(new SignCommand({ KeyId: keyId, Message: message, SigningAlgorithm: alg }))).Signature,
        );
        const dig = bytes(
          (
            await kms.send(
              new SignCommand({ KeyId: keyId, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: alg }),
            )
          ).Signature,
        );
        for (const [signature, label] of [
          [raw, 'RAW-signed'],
          [dig, 'DIGEST-signed'],
        ] as const) {
          const asDigest = await kms.send(
            new VerifyCommand({
              KeyId: keyId,
              Message: digest,
              MessageType: 'DIGEST',
              Signature: signature,
              SigningAlgorithm: alg,
            }),
          );
          const asRaw = await kms.send(
            new VerifyCommand({ KeyId: keyId, Message: message, Signature: signature, SigningAlgorithm: alg }),
          );
          assert.ok(asDigest.SignatureValid && asRaw.SignatureValid, `${spec} ${alg} ${label}`);
        }
        // Signing the digest as RAW hashes it twice: that signature does not verify as the message.
        const twice = bytes(
          (await kms.send(new SignCommand({ KeyId: keyId, Message: digest, SigningAlgorithm: alg }))).Signature,
        );
        await rejectsWith(
          kms.send(new VerifyCommand({ KeyId: keyId, Message: message, Signature: twice, SigningAlgorithm: alg })),
          'KMSInvalidSignatureException',
          NO_MESSAGE,
        );
      }
    });

    it('answer a wrong signature or message with KMSInvalidSignatureException, never SignatureValid false', async () => {
      for (const [spec, alg] of cases()) {
        const keyId = id(spec, 'SIGN_VERIFY');
        const type = alg === 'ED25519_PH_SHA_512' ? 'DIGEST' : 'RAW';
        const msg = type === 'DIGEST' ? randomBytes(64) : message;
        const signature = bytes(
          (await kms.send(new SignCommand({ KeyId: keyId, Message: msg, MessageType: type, SigningAlgorithm: alg })))
            .Signature,
        );
        const flipped = Buffer.from(signature);
        flipped[flipped.length >> 1] = (flipped[flipped.length >> 1] as number) ^ 0x01;
        const otherMessage = Buffer.from(msg);
        otherMessage[0] = (otherMessage[0] as number) ^ 0x80;
        for (const [m, s] of [
          [msg, flipped],
          [otherMessage, signature],
          [msg, signature.subarray(1)],
        ] as const) {
          await rejectsWith(
            kms.send(
              new VerifyCommand({ KeyId: keyId, Message: m, MessageType: type, Signature: s, SigningAlgorithm: alg }),
            ),
            'KMSInvalidSignatureException',
            NO_MESSAGE,
          );
        }
      }
    });

    it('check the DIGEST length against the algorithm, with AWS message', async () => {
      for (const [spec, alg] of cases()) {
        if (alg === 'ED25519_SHA_512' || alg === 'ML_DSA_SHAKE_256') continue;
        const right = alg.endsWith('384') ? 48 : alg.endsWith('512') ? 64 : 32;
        for (const length of [right - 1, right + 1, 20]) {
          await rejectsWith(
            kms.send(
              new SignCommand({
                KeyId: id(spec, 'SIGN_VERIFY'),
                Message: randomBytes(length),
                MessageType: 'DIGEST',
                SigningAlgorithm: alg,
              }),
            ),
            'ValidationException',
            `Digest is invalid length for algorithm ${alg}.`,
          );
        }
      }
    });

    it('hold Ed25519 to its message types: ED25519_SHA_512 RAW only, ED25519_PH_SHA_512 DIGEST only', async () => {
      const keyId = id('ECC_NIST_EDWARDS25519', 'SIGN_VERIFY');
      await rejectsWith(
        kms.send(
          new SignCommand({
            KeyId: keyId,
            Message: randomBytes(64),
            MessageType: 'DIGEST',
            SigningAlgorithm: 'ED25519_SHA_512',
          }),
        ),
        'ValidationException',
        'MessageType DIGEST is not supported for algorithm ED25519_SHA_512. Use RAW.',
      );
      await rejectsWith(
        kms.send(new SignCommand({ KeyId: keyId, Message: randomBytes(64), SigningAlgorithm: 'ED25519_PH_SHA_512' })),
        'ValidationException',
        'MessageType RAW is not supported for algorithm ED25519_PH_SHA_512. Use DIGEST.',
      );
    });

    it('sign ML-DSA EXTERNAL_MU (exactly 64 bytes) and refuse DIGEST for ML-DSA', async () => {
      for (const spec of ['ML_DSA_44', 'ML_DSA_65', 'ML_DSA_87']) {
        const keyId = id(spec, 'SIGN_VERIFY');
        const mu = randomBytes(64);
        const sig = bytes(
          (
            await kms.send(
              new SignCommand({
                KeyId: keyId,
                Message: mu,
                MessageType: 'EXTERNAL_MU',
                SigningAlgorithm: 'ML_DSA_SHAKE_256',
              }),
            )
          ).Signature,
        );
        assert.equal(sig.length, { ML_DSA_44: 2420, ML_DSA_65: 3309, ML_DSA_87: 4627 }[spec]);
        const out = await kms.send(
          new VerifyCommand({
            KeyId: keyId,
            Message: mu,
            MessageType: 'EXTERNAL_MU',
            Signature: sig,
            SigningAlgorithm: 'ML_DSA_SHAKE_256',
          }),
        );
        assert.equal(out.SignatureValid, true);
        await rejectsWith(
          kms.send(
            new SignCommand({
              KeyId: keyId,
              Message: randomBytes(63),
              MessageType: 'EXTERNAL_MU',
              SigningAlgorithm: 'ML_DSA_SHAKE_256',
            }),
          ),
          'ValidationException',
          'Digest is invalid length for algorithm ML_DSA_SHAKE_256.',
        );
        await rejectsWith(
          kms.send(
            new SignCommand({
              KeyId: keyId,
              Message: randomBytes(64),
              MessageType: 'DIGEST',
              SigningAlgorithm: 'ML_DSA_SHAKE_256',
            }),
          ),
          'ValidationException',
          'MessageType DIGEST is not supported for algorithm ML_DSA_SHAKE_256. Use RAW or EXTERNAL_MU.',
        );
      }
      // EXTERNAL_MU belongs to ML-DSA only.
      await rejectsWith(
        kms.send(
          new SignCommand({
            KeyId: id('ECC_NIST_P256', 'SIGN_VERIFY'),
            Message: randomBytes(64),
            MessageType: 'EXTERNAL_MU',
            SigningAlgorithm: 'ECDSA_SHA_256',
          }),
        ),
        'ValidationException',
        'MessageType EXTERNAL_MU is not supported for algorithm ECDSA_SHA_256. Use RAW or DIGEST.',
      );
    });

    it('refuse an algorithm the key does not offer, and keys whose usage is not SIGN_VERIFY', async () => {
      await rejectsWith(
        kms.send(
          new SignCommand({
            KeyId: id('ECC_NIST_P256', 'SIGN_VERIFY'),
            Message: message,
            SigningAlgorithm: 'ECDSA_SHA_384',
          }),
        ),
        'InvalidKeyUsageException',
        'Algorithm ECDSA_SHA_384 is incompatible with key spec ECC_NIST_P256.',
      );
      await rejectsWith(
        kms.send(
          new SignCommand({
            KeyId: id('RSA_2048', 'SIGN_VERIFY'),
            Message: message,
            SigningAlgorithm: 'ECDSA_SHA_256',
          }),
        ),
        'InvalidKeyUsageException',
        'Algorithm ECDSA_SHA_256 is incompatible with key spec RSA_2048.',
      );
      const hmacKey = key('HMAC_256', 'GENERATE_VERIFY_MAC');
      await rejectsWith(
        kms.send(new SignCommand({ KeyId: hmacKey.KeyId, Message: message, SigningAlgorithm: 'ECDSA_SHA_256' })),
        'InvalidKeyUsageException',
        `${hmacKey.Arn} key usage is GENERATE_VERIFY_MAC which is not valid for Sign.`,
      );
      const rsaEnc = key('RSA_2048', 'ENCRYPT_DECRYPT');
      await rejectsWith(
        kms.send(
          new VerifyCommand({
            KeyId: rsaEnc.KeyId,
            Message: message,
            Signature: randomBytes(256),
            SigningAlgorithm: 'RSASSA_PSS_SHA_256',
          }),
        ),
        'InvalidKeyUsageException',
        `${rsaEnc.Arn} key usage is ENCRYPT_DECRYPT which is not valid for Verify.`,
      );
      await rejectsWith(
        kms.send(new SignCommand({ KeyId: symmetric.KeyId, Message: message, SigningAlgorithm: 'RSASSA_PSS_SHA_256' })),
        'InvalidKeyUsageException',
        `${symmetric.Arn} key usage is ENCRYPT_DECRYPT which is not valid for Sign.`,
      );
      await rejectsWith(
        kms.send(
          new SignCommand({
            KeyId: id('RSA_2048', 'SIGN_VERIFY'),
            Message: Buffer.alloc(4097),
            SigningAlgorithm: 'RSASSA_PSS_SHA_256',
          }),
        ),
        'ValidationException',
        "1 validation error detected: Value at 'message' failed to satisfy constraint: Member must have length less than or equal to 4096",
      );
    });
  });

  describe('Encrypt, Decrypt and ReEncrypt with RSA keys', () => {
    const LIMITS: Record<string, Record<string, number>> = {
      RSA_2048: { RSAES_OAEP_SHA_1: 214, RSAES_OAEP_SHA_256: 190 },
      RSA_3072: { RSAES_OAEP_SHA_1: 342, RSAES_OAEP_SHA_256: 318 },
      RSA_4096: { RSAES_OAEP_SHA_1: 470, RSAES_OAEP_SHA_256: 446 },
    };

    it('round-trip the largest plaintext per spec and algorithm, and refuse one byte more (Appendix A)', async () => {
      for (const [spec, limits] of Object.entries(LIMITS)) {
        const keyId = id(spec, 'ENCRYPT_DECRYPT');
        for (const [alg, max] of Object.entries(limits)) {
          const algorithm = alg as 'RSAES_OAEP_SHA_1' | 'RSAES_OAEP_SHA_256';
          const plaintext = randomBytes(max);
          const enc = await kms.send(
            new EncryptCommand({ KeyId: keyId, Plaintext: plaintext, EncryptionAlgorithm: algorithm }),
          );
          assert.equal(enc.EncryptionAlgorithm, alg);
          assert.equal(enc.KeyId, key(spec, 'ENCRYPT_DECRYPT').Arn);
          assert.equal(bytes(enc.CiphertextBlob).length, Number(spec.slice(4)) / 8);
          const dec = await kms.send(
            new DecryptCommand({ KeyId: keyId, CiphertextBlob: enc.CiphertextBlob, EncryptionAlgorithm: algorithm }),
          );
          assert.deepEqual(bytes(dec.Plaintext), plaintext);
          assert.equal(dec.EncryptionAlgorithm, alg);
          assert.equal(dec.KeyMaterialId, undefined);
          await rejectsWith(
            kms.send(
              new EncryptCommand({ KeyId: keyId, Plaintext: randomBytes(max + 1), EncryptionAlgorithm: algorithm }),
            ),
            'ValidationException',
            `Algorithm ${alg} and key spec ${spec} cannot encrypt data larger than ${max} bytes.`,
          );
        }
      }
    });

    it('refuse SYMMETRIC_DEFAULT (or no algorithm), an encryption context, and a tampered ciphertext', async () => {
      const k = key('RSA_2048', 'ENCRYPT_DECRYPT');
      for (const EncryptionAlgorithm of [undefined, 'SYMMETRIC_DEFAULT'] as const) {
        await rejectsWith(
          kms.send(new EncryptCommand({ KeyId: k.KeyId, Plaintext: randomBytes(10), EncryptionAlgorithm })),
          'InvalidKeyUsageException',
          'Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048.',
        );
      }
      await rejectsWith(
        kms.send(
          new EncryptCommand({
            KeyId: k.KeyId,
            Plaintext: randomBytes(10),
            EncryptionAlgorithm: 'RSAES_OAEP_SHA_256',
            EncryptionContext: { a: 'b' },
          }),
        ),
        'ValidationException',
        'EncryptionContext is not supported with asymmetric KMS keys.',
      );
      const enc = await kms.send(
        new EncryptCommand({ KeyId: k.KeyId, Plaintext: randomBytes(10), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }),
      );
      const tampered = bytes(enc.CiphertextBlob);
      tampered[5] = (tampered[5] as number) ^ 1;
      await rejectsWith(
        kms.send(
          new DecryptCommand({ KeyId: k.KeyId, CiphertextBlob: tampered, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }),
        ),
        'InvalidCiphertextException',
        NO_MESSAGE,
      );
      // The right ciphertext under the other OAEP hash does not decrypt either.
      await rejectsWith(
        kms.send(
          new DecryptCommand({
            KeyId: k.KeyId,
            CiphertextBlob: enc.CiphertextBlob,
            EncryptionAlgorithm: 'RSAES_OAEP_SHA_1',
          }),
        ),
        'InvalidCiphertextException',
        NO_MESSAGE,
      );
      const signing = key('RSA_2048', 'SIGN_VERIFY');
      await rejectsWith(
        kms.send(
          new EncryptCommand({
            KeyId: signing.KeyId,
            Plaintext: randomBytes(10),
            EncryptionAlgorithm: 'RSAES_OAEP_SHA_256',
          }),
        ),
        'InvalidKeyUsageException',
        `${signing.Arn} key usage is SIGN_VERIFY which is not valid for Encrypt.`,
      );
    });

    it('ReEncrypt moves a ciphertext from RSA to symmetric and back', async () => {
      const rsa = key('RSA_3072', 'ENCRYPT_DECRYPT');
      const plaintext = randomBytes(100);
      const enc = await kms.send(
        new EncryptCommand({ KeyId: rsa.KeyId, Plaintext: plaintext, EncryptionAlgorithm: 'RSAES_OAEP_SHA_1' }),
      );
      const toSym = await kms.send(
        new ReEncryptCommand({
          CiphertextBlob: enc.CiphertextBlob,
          SourceKeyId: rsa.KeyId,
          SourceEncryptionAlgorithm: 'RSAES_OAEP_SHA_1',
          DestinationKeyId: symmetric.KeyId,
          DestinationEncryptionContext: { purpose: 'test' },
        }),
      );
      assert.equal(toSym.SourceKeyId, rsa.Arn);
      assert.equal(toSym.SourceEncryptionAlgorithm, 'RSAES_OAEP_SHA_1');
      assert.equal(toSym.SourceKeyMaterialId, undefined);
      assert.equal(toSym.DestinationKeyMaterialId, symmetric.CurrentKeyMaterialId);
      const back = await kms.send(
        new ReEncryptCommand({
          CiphertextBlob: toSym.CiphertextBlob,
          SourceEncryptionContext: { purpose: 'test' },
          DestinationKeyId: rsa.KeyId,
          DestinationEncryptionAlgorithm: 'RSAES_OAEP_SHA_256',
        }),
      );
      assert.equal(back.DestinationEncryptionAlgorithm, 'RSAES_OAEP_SHA_256');
      const dec = await kms.send(
        new DecryptCommand({
          KeyId: rsa.KeyId,
          CiphertextBlob: back.CiphertextBlob,
          EncryptionAlgorithm: 'RSAES_OAEP_SHA_256',
        }),
      );
      assert.deepEqual(bytes(dec.Plaintext), plaintext);
    });
  });

  describe('GenerateMac and VerifyMac', () => {
    it('make tags of the hash length that VerifyMac accepts, for every HMAC spec', async () => {
      for (const bits of [224, 256, 384, 512]) {
        const k = key(`HMAC_${bits}`, 'GENERATE_VERIFY_MAC');
        const alg = `HMAC_SHA_${bits}` as 'HMAC_SHA_256';
        const message = randomBytes(1000);
        const out = await kms.send(new GenerateMacCommand({ KeyId: k.KeyId, Message: message, MacAlgorithm: alg }));
        assert.equal(out.KeyId, k.Arn);
        assert.equal(out.MacAlgorithm, alg);
        const mac = bytes(out.Mac);
        assert.equal(mac.length, bits / 8);
        // Deterministic: the same message gives the same tag.
        const again = await kms.send(new GenerateMacCommand({ KeyId: k.KeyId, Message: message, MacAlgorithm: alg }));
        assert.deepEqual(bytes(again.Mac), mac);
        const ok = await kms.send(
          new VerifyMacCommand({ KeyId: k.KeyId, Message: message, Mac: mac, MacAlgorithm: alg }),
        );
        assert.equal(ok.MacValid, true);
        const tampered = Buffer.from(mac);
        tampered[0] = (tampered[0] as number) ^ 1;
        for (const [m, t] of [
          [message, tampered],
          [Buffer.concat([message, Buffer.of(0)]), mac],
          [message, mac.subarray(0, mac.length - 1)],
        ] as const) {
          await rejectsWith(
            kms.send(new VerifyMacCommand({ KeyId: k.KeyId, Message: m, Mac: t, MacAlgorithm: alg })),
            'KMSInvalidMacException',
            NO_MESSAGE,
          );
        }
      }
      // Another key of the same spec makes another tag.
      const a = key('HMAC_256', 'GENERATE_VERIFY_MAC');
      const b = (await kms.send(new CreateKeyCommand({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' })))
        .KeyMetadata;
      const m = Buffer.from('same message');
      const ta = await kms.send(new GenerateMacCommand({ KeyId: a.KeyId, Message: m, MacAlgorithm: 'HMAC_SHA_256' }));
      const tb = await kms.send(new GenerateMacCommand({ KeyId: b?.KeyId, Message: m, MacAlgorithm: 'HMAC_SHA_256' }));
      assert.notDeepEqual(bytes(ta.Mac), bytes(tb.Mac));
    });

    it('refuse an algorithm of another spec and keys of other usages (Appendix A)', async () => {
      const k224 = key('HMAC_224', 'GENERATE_VERIFY_MAC');
      await rejectsWith(
        kms.send(
          new GenerateMacCommand({ KeyId: k224.KeyId, Message: Buffer.from('x'), MacAlgorithm: 'HMAC_SHA_256' }),
        ),
        'InvalidKeyUsageException',
        'Algorithm HMAC_SHA_256 is incompatible with key spec HMAC_224.',
      );
      const k256 = key('HMAC_256', 'GENERATE_VERIFY_MAC');
      await rejectsWith(
        kms.send(
          new VerifyMacCommand({
            KeyId: k256.KeyId,
            Message: Buffer.from('x'),
            Mac: randomBytes(64),
            MacAlgorithm: 'HMAC_SHA_512',
          }),
        ),
        'InvalidKeyUsageException',
        'Algorithm HMAC_SHA_512 is incompatible with key spec HMAC_256.',
      );
      await rejectsWith(
        kms.send(
          new GenerateMacCommand({ KeyId: symmetric.KeyId, Message: Buffer.from('x'), MacAlgorithm: 'HMAC_SHA_256' }),
        ),
        'InvalidKeyUsageException',
        `${symmetric.Arn} key usage is ENCRYPT_DECRYPT which is not valid for GenerateMac.`,
      );
      await rejectsWith(
        kms.send(new EncryptCommand({ KeyId: k256.KeyId, Plaintext: Buffer.from('x') })),
        'InvalidKeyUsageException',
        `${k256.Arn} key usage is GENERATE_VERIFY_MAC which is not valid for Encrypt.`,
      );
    });
  });

  describe('DeriveSharedSecret', () => {
    it('equals the secret the other side derives from the KMS public key, on every NIST curve', async () => {
      const curves = {
        ECC_NIST_P256: ['prime256v1', 32],
        ECC_NIST_P384: ['secp384r1', 48],
        ECC_NIST_P521: ['secp521r1', 66],
      } as const;
      for (const [spec, [curve, size]] of Object.entries(curves)) {
        const k = key(spec, 'KEY_AGREEMENT');
        const local = generateKeyPairSync('ec', { namedCurve: curve });
        const out = await kms.send(
          new DeriveSharedSecretCommand({
            KeyId: k.KeyId,
            KeyAgreementAlgorithm: 'ECDH',
            PublicKey: local.publicKey.export({ format: 'der', type: 'spki' }),
          }),
        );
        assert.equal(out.KeyId, k.Arn);
        assert.equal(out.KeyAgreementAlgorithm, 'ECDH');
        assert.equal(out.KeyOrigin, 'AWS_KMS');
        const kmsPublic = createPublicKey({ key: await publicKey(spec, 'KEY_AGREEMENT'), format: 'der', type: 'spki' });
        const expected = diffieHellman({ privateKey: local.privateKey, publicKey: kmsPublic });
        assert.equal(expected.length, size);
        assert.deepEqual(bytes(out.SharedSecret), expected);
      }
    });

    it('refuses a peer key on another curve or not DER SPKI, and keys of other usages (Appendix A)', async () => {
      const k = key('ECC_NIST_P256', 'KEY_AGREEMENT');
      const other = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey.export({
        format: 'der',
        type: 'spki',
      });
      for (const PublicKey of [other, randomBytes(91)]) {
        await rejectsWith(
          kms.send(new DeriveSharedSecretCommand({ KeyId: k.KeyId, KeyAgreementAlgorithm: 'ECDH', PublicKey })),
          'ValidationException',
          NO_MESSAGE,
        );
      }
      const peer = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({
        format: 'der',
        type: 'spki',
      });
      for (const [spec, usage] of [
        ['ECC_NIST_P256', 'SIGN_VERIFY'],
        ['RSA_2048', 'ENCRYPT_DECRYPT'],
      ] as const) {
        const wrong = key(spec, usage);
        await rejectsWith(
          kms.send(
            new DeriveSharedSecretCommand({ KeyId: wrong.KeyId, KeyAgreementAlgorithm: 'ECDH', PublicKey: peer }),
          ),
          'InvalidKeyUsageException',
          `${wrong.Arn} key usage is ${usage} which is not valid for DeriveSharedSecret.`,
        );
      }
      await rejectsWith(
        kms.send(
          new DeriveSharedSecretCommand({
            KeyId: k.KeyId,
            KeyAgreementAlgorithm: 'INVALID' as 'ECDH',
            PublicKey: peer,
          }),
        ),
        'ValidationException',
        "1 validation error detected: Value 'INVALID' at 'keyAgreementAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [ECDH]",
      );
    });
  });

  describe('GenerateDataKeyPair and GenerateDataKeyPairWithoutPlaintext', () => {
    const PAIR_TYPES = {
      RSA_2048: ['rsa', 'sign'],
      RSA_3072: ['rsa', 'sign'],
      RSA_4096: ['rsa', 'sign'],
      ECC_NIST_P256: ['ec', 'sign'],
      ECC_NIST_P384: ['ec', 'sign'],
      ECC_NIST_P521: ['ec', 'sign'],
      ECC_SECG_P256K1: ['ec', 'sign'],
      ECC_NIST_EDWARDS25519: ['ed25519', 'sign'],
    } as const;

    it('return a PKCS #8 private key that Decrypt recovers from its blob and that matches the SPKI', async () => {
      const context = { app: 'pairs' };
      for (const [spec, [type]] of Object.entries(PAIR_TYPES)) {
        const out = await kms.send(
          new GenerateDataKeyPairCommand({
            KeyId: symmetric.KeyId,
            KeyPairSpec: spec as 'RSA_2048',
            EncryptionContext: context,
          }),
        );
        assert.equal(out.KeyId, symmetric.Arn);
        assert.equal(out.KeyPairSpec, spec);
        assert.equal(out.KeyMaterialId, symmetric.CurrentKeyMaterialId);
        const privateDer = bytes(out.PrivateKeyPlaintext);
        const pub = createPublicKey({ key: bytes(out.PublicKey), format: 'der', type: 'spki' });
        assert.equal(pub.asymmetricKeyType, type);
        const derived = createPublicKey(createPrivateKey({ key: privateDer, format: 'der', type: 'pkcs8' }));
        assert.deepEqual(derived.export({ format: 'der', type: 'spki' }), bytes(out.PublicKey));
        const dec = await kms.send(
          new DecryptCommand({ CiphertextBlob: out.PrivateKeyCiphertextBlob, EncryptionContext: context }),
        );
        assert.deepEqual(bytes(dec.Plaintext), privateDer);
        await rejectsWith(
          kms.send(new DecryptCommand({ CiphertextBlob: out.PrivateKeyCiphertextBlob })),
          'InvalidCiphertextException',
          NO_MESSAGE,
        );
      }
      const without = await kms.send(
        new GenerateDataKeyPairWithoutPlaintextCommand({ KeyId: symmetric.KeyId, KeyPairSpec: 'ECC_NIST_P256' }),
      );
      assert.equal((without as { PrivateKeyPlaintext?: unknown }).PrivateKeyPlaintext, undefined);
      const recovered = await kms.send(new DecryptCommand({ CiphertextBlob: without.PrivateKeyCiphertextBlob }));
      const derived = createPublicKey(
        createPrivateKey({ key: bytes(recovered.Plaintext), format: 'der', type: 'pkcs8' }),
      );
      assert.deepEqual(derived.export({ format: 'der', type: 'spki' }), bytes(without.PublicKey));
    });

    it('refuse SM2 pairs, asymmetric or HMAC wrapping keys', async () => {
      await rejectsWith(
        kms.send(new GenerateDataKeyPairCommand({ KeyId: symmetric.KeyId, KeyPairSpec: 'SM2' })),
        'UnsupportedOperationException',
        'KeyPairSpec SM2 is not supported in this Region.',
      );
      const rsa = key('RSA_2048', 'ENCRYPT_DECRYPT');
      await rejectsWith(
        kms.send(new GenerateDataKeyPairWithoutPlaintextCommand({ KeyId: rsa.KeyId, KeyPairSpec: 'ECC_NIST_P256' })),
        'InvalidKeyUsageException',
        `${rsa.Arn} key spec is RSA_2048 which is not valid for GenerateDataKeyPairWithoutPlaintext.`,
      );
      const hmacKey = key('HMAC_512', 'GENERATE_VERIFY_MAC');
      await rejectsWith(
        kms.send(new GenerateDataKeyPairCommand({ KeyId: hmacKey.KeyId, KeyPairSpec: 'ECC_NIST_P256' })),
        'InvalidKeyUsageException',
        `${hmacKey.Arn} key usage is GENERATE_VERIFY_MAC which is not valid for GenerateDataKeyPair.`,
      );
    });
  });

  describe('DryRun and key states', () => {
    it('answers DryRunOperationException on every operation that takes DryRun, when the call would succeed', async () => {
      const ec = key('ECC_NIST_P256', 'SIGN_VERIFY');
      const mac = key('HMAC_256', 'GENERATE_VERIFY_MAC');
      const agree = key('ECC_NIST_P256', 'KEY_AGREEMENT');
      const rsa = key('RSA_2048', 'ENCRYPT_DECRYPT');
      const peer = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({
        format: 'der',
        type: 'spki',
      });
      const sig = bytes(
        (
          await kms.send(
            new SignCommand({ KeyId: ec.KeyId, Message: Buffer.from('m'), SigningAlgorithm: 'ECDSA_SHA_256' }),
          )
        ).Signature,
      );
      const tag = bytes(
        (
          await kms.send(
            new GenerateMacCommand({ KeyId: mac.KeyId, Message: Buffer.from('m'), MacAlgorithm: 'HMAC_SHA_256' }),
          )
        ).Mac,
      );
      const ct = (
        await kms.send(
          new EncryptCommand({
            KeyId: rsa.KeyId,
            Plaintext: Buffer.from('m'),
            EncryptionAlgorithm: 'RSAES_OAEP_SHA_256',
          }),
        )
      ).CiphertextBlob;
      const calls = [
        new SignCommand({
          KeyId: ec.KeyId,
          Message: Buffer.from('m'),
          SigningAlgorithm: 'ECDSA_SHA_256',
          DryRun: true,
        }),
        new VerifyCommand({
          KeyId: ec.KeyId,
          Message: Buffer.from('m'),
          Signature: sig,
          SigningAlgorithm: 'ECDSA_SHA_256',
          DryRun: true,
        }),
        new GenerateMacCommand({
          KeyId: mac.KeyId,
          Message: Buffer.from('m'),
          MacAlgorithm: 'HMAC_SHA_256',
          DryRun: true,
        }),
        new VerifyMacCommand({
          KeyId: mac.KeyId,
          Message: Buffer.from('m'),
          Mac: tag,
          MacAlgorithm: 'HMAC_SHA_256',
          DryRun: true,
        }),
        new DeriveSharedSecretCommand({
          KeyId: agree.KeyId,
          KeyAgreementAlgorithm: 'ECDH',
          PublicKey: peer,
          DryRun: true,
        }),
        new GenerateDataKeyPairCommand({ KeyId: symmetric.KeyId, KeyPairSpec: 'RSA_2048', DryRun: true }),
        new GenerateDataKeyPairWithoutPlaintextCommand({
          KeyId: symmetric.KeyId,
          KeyPairSpec: 'ECC_NIST_P384',
          DryRun: true,
        }),
        new EncryptCommand({
          KeyId: rsa.KeyId,
          Plaintext: Buffer.from('m'),
          EncryptionAlgorithm: 'RSAES_OAEP_SHA_256',
          DryRun: true,
        }),
        new DecryptCommand({
          KeyId: rsa.KeyId,
          CiphertextBlob: ct,
          EncryptionAlgorithm: 'RSAES_OAEP_SHA_256',
          DryRun: true,
        }),
        new DecryptCommand({
          KeyId: rsa.KeyId,
          EncryptionAlgorithm: 'RSAES_OAEP_SHA_256',
          DryRun: true,
          DryRunModifiers: ['IGNORE_CIPHERTEXT'],
        }),
      ];
      for (const call of calls) {
        // biome-ignore lint/suspicious/noExplicitAny: one loop over differently typed commands
        await rejectsWith(kms.send(call as any), 'DryRunOperationException', DRY_RUN_MESSAGE);
      }
      // A DryRun that would fail answers the real error: here a wrong MAC algorithm.
      await rejectsWith(
        kms.send(
          new GenerateMacCommand({
            KeyId: mac.KeyId,
            Message: Buffer.from('m'),
            MacAlgorithm: 'HMAC_SHA_512',
            DryRun: true,
          }),
        ),
        'InvalidKeyUsageException',
        'Algorithm HMAC_SHA_512 is incompatible with key spec HMAC_256.',
      );
    });

    it('refuses every new operation on a disabled key with DisabledException', async () => {
      const signing = (await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })))
        .KeyMetadata as KeyMetadata;
      const mac = (await kms.send(new CreateKeyCommand({ KeySpec: 'HMAC_384', KeyUsage: 'GENERATE_VERIFY_MAC' })))
        .KeyMetadata as KeyMetadata;
      const agree = (await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P384', KeyUsage: 'KEY_AGREEMENT' })))
        .KeyMetadata as KeyMetadata;
      const wrapping = (await kms.send(new CreateKeyCommand({}))).KeyMetadata as KeyMetadata;
      for (const k of [signing, mac, agree, wrapping]) await kms.send(new DisableKeyCommand({ KeyId: k.KeyId }));
      const peer = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey.export({
        format: 'der',
        type: 'spki',
      });
      const calls: [unknown, string][] = [
        [new GetPublicKeyCommand({ KeyId: signing.KeyId }), signing.Arn as string],
        [
          new SignCommand({ KeyId: signing.KeyId, Message: Buffer.from('m'), SigningAlgorithm: 'ECDSA_SHA_256' }),
          signing.Arn as string,
        ],
        [
          new VerifyCommand({
            KeyId: signing.KeyId,
            Message: Buffer.from('m'),
            Signature: randomBytes(70),
            SigningAlgorithm: 'ECDSA_SHA_256',
          }),
          signing.Arn as string,
        ],
        [
          new GenerateMacCommand({ KeyId: mac.KeyId, Message: Buffer.from('m'), MacAlgorithm: 'HMAC_SHA_384' }),
          mac.Arn as string,
        ],
        [
          new VerifyMacCommand({
            KeyId: mac.KeyId,
            Message: Buffer.from('m'),
            Mac: randomBytes(48),
            MacAlgorithm: 'HMAC_SHA_384',
          }),
          mac.Arn as string,
        ],
        [
          new DeriveSharedSecretCommand({ KeyId: agree.KeyId, KeyAgreementAlgorithm: 'ECDH', PublicKey: peer }),
          agree.Arn as string,
        ],
        [
          new GenerateDataKeyPairCommand({ KeyId: wrapping.KeyId, KeyPairSpec: 'ECC_NIST_P256' }),
          wrapping.Arn as string,
        ],
        [
          new GenerateDataKeyPairWithoutPlaintextCommand({ KeyId: wrapping.KeyId, KeyPairSpec: 'ECC_NIST_P256' }),
          wrapping.Arn as string,
        ],
      ];
      for (const [call, arn] of calls) {
        // biome-ignore lint/suspicious/noExplicitAny: one loop over differently typed commands
        await rejectsWith(kms.send(call as any), 'DisabledException', `${arn} is disabled.`);
      }
    });
  });
});
