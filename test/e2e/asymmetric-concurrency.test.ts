import assert from 'node:assert/strict';
import { constants, createHash, createPublicKey, publicEncrypt, randomBytes, verify } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  CreateKeyCommand,
  DecryptCommand,
  GetPublicKeyCommand,
  type KMSClient,
  SignCommand,
  VerifyCommand,
} from '@aws-sdk/client-kms';
import { ml_dsa44 } from '@noble/post-quantum/ml-dsa.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { bytes } from './sdk-assert.js';

/**
 * Many costly asymmetric calls at once, of every kind that leaves the event loop (libuv's pool:
 * RSA RAW signatures; the crypto threads: ECDSA over a digest, ML-DSA, RSA OAEP decryption), each
 * with its own input: every answer is the answer to its own request, checked outside Trent
 * (OpenSSL for RSA and ECDSA, the plaintext itself for Decrypt) and by Verify.
 */
describe('costly asymmetric calls, many at once', { timeout: 120_000 }, () => {
  let server: TestServer;
  let kms: KMSClient;
  const keys: Record<string, string> = {};
  const publicKeys: Record<string, Buffer> = {};

  before(async () => {
    server = await startServer();
    kms = server.client();
    for (const [name, KeySpec, KeyUsage] of [
      ['p384', 'ECC_NIST_P384', 'SIGN_VERIFY'],
      ['rsaSign', 'RSA_2048', 'SIGN_VERIFY'],
      ['mlDsa', 'ML_DSA_44', 'SIGN_VERIFY'],
      ['rsaEncrypt', 'RSA_2048', 'ENCRYPT_DECRYPT'],
    ] as const) {
      const out = await kms.send(new CreateKeyCommand({ KeySpec, KeyUsage }));
      const keyId = out.KeyMetadata?.KeyId as string;
      keys[name] = keyId;
      publicKeys[name] = bytes((await kms.send(new GetPublicKeyCommand({ KeyId: keyId }))).PublicKey);
    }
  });

  after(async () => {
    kms?.destroy();
    await server?.destroy();
  });

  it('answers each call with its own result', async () => {
    const spki = (name: string) => createPublicKey({ key: publicKeys[name] as Buffer, format: 'der', type: 'spki' });
    const sign = async (keyId: string, algorithm: string, message: Buffer, type: 'RAW' | 'DIGEST') => {
      const out = await kms.send(
        new SignCommand({
          KeyId: keyId,
          Message: message,
          MessageType: type,
          SigningAlgorithm: algorithm as never,
        }),
      );
      const signature = bytes(out.Signature);
      const checked = await kms.send(
        new VerifyCommand({
          KeyId: keyId,
          Message: message,
          MessageType: type,
          Signature: signature,
          SigningAlgorithm: algorithm as never,
        }),
      );
      assert.equal(checked.SignatureValid, true);
      return signature;
    };
    const calls: Promise<void>[] = [];
    for (let i = 0; i < 12; i++) {
      const message = randomBytes(40 + i);
      calls.push(
        (async () => {
          const digest = createHash('sha384').update(message).digest();
          const signature = await sign(keys.p384 as string, 'ECDSA_SHA_384', digest, 'DIGEST');
          assert.ok(verify('sha384', message, { key: spki('p384'), dsaEncoding: 'der' }, signature), `P-384 #${i}`);
        })(),
        (async () => {
          const signature = await sign(keys.rsaSign as string, 'RSASSA_PSS_SHA_256', message, 'RAW');
          const key = { key: spki('rsaSign'), padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 };
          assert.ok(verify('sha256', message, key, signature), `RSA #${i}`);
        })(),
        (async () => {
          const signature = await sign(keys.mlDsa as string, 'ML_DSA_SHAKE_256', message, 'RAW');
          // The raw public key is the SPKI's last 1,312 bytes (FIPS 204, ML-DSA-44).
          const raw = (publicKeys.mlDsa as Buffer).subarray(-1312);
          assert.ok(ml_dsa44.verify(signature, message, raw), `ML-DSA #${i}`);
        })(),
        (async () => {
          const ciphertext = publicEncrypt(
            { key: spki('rsaEncrypt'), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
            message,
          );
          const out = await kms.send(
            new DecryptCommand({
              KeyId: keys.rsaEncrypt,
              CiphertextBlob: ciphertext,
              EncryptionAlgorithm: 'RSAES_OAEP_SHA_256',
            }),
          );
          assert.deepEqual(bytes(out.Plaintext), message, `Decrypt #${i}`);
        })(),
      );
    }
    await Promise.all(calls);
  });
});
