import assert from 'node:assert/strict';
import {
  constants,
  createHash,
  createSecretKey,
  generateKeyPairSync,
  publicEncrypt,
  randomBytes,
  verify,
} from 'node:crypto';
import { describe, it } from 'node:test';
import { ed25519ph } from '@noble/curves/ed25519.js';
import { CryptoThreads, threadsPerProcess } from '../../src/crypto/crypto-threads.js';
import { ecdhSharedSecret } from '../../src/crypto/ecdh.js';
import { mlDsaExpand, mlDsaSpki } from '../../src/crypto/ml-dsa.js';
import { turnsDuring } from '../helpers/event-loop.js';

/**
 * CryptoThreads runs the costly primitives that have no asynchronous form on threads of their own:
 * the event loop keeps turning meanwhile, results come back as Buffers and check out in OpenSSL,
 * failures reject, and a thread that dies fails only its own tasks.
 */

describe('CryptoThreads', () => {
  const threads = new CryptoThreads(2);

  it('signs a digest with ECDSA on a thread while the event loop turns; OpenSSL verifies it', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const message = randomBytes(300);
    const digest = createHash('sha384').update(message).digest();
    const { turns, value } = await turnsDuring(
      threads.run('ecdsaSign', privateKey, 'P-384', 'sha384', { kind: 'digest', bytes: digest }),
    );
    assert.ok(turns > 0, 'the event loop did not turn');
    assert.ok(Buffer.isBuffer(value));
    assert.ok(verify('sha384', message, { key: publicKey, dsaEncoding: 'der' }, value));
    assert.equal(
      await threads.run('ecdsaVerify', publicKey, 'P-384', 'sha384', { kind: 'digest', bytes: digest }, value),
      true,
    );
    const other = createHash('sha384').update(randomBytes(3)).digest();
    assert.equal(
      await threads.run('ecdsaVerify', publicKey, 'P-384', 'sha384', { kind: 'digest', bytes: other }, value),
      false,
    );
  });

  it('RSA: DIGEST signatures and OAEP decryption', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const message = randomBytes(100);
    const digest = createHash('sha256').update(message).digest();
    const signature = await threads.run('rsaSign', privateKey, 'pkcs1', 'sha256', { kind: 'digest', bytes: digest });
    assert.ok(verify('sha256', message, publicKey, signature));
    const plaintext = randomBytes(64);
    const ciphertext = publicEncrypt(
      { key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
      plaintext,
    );
    assert.deepEqual(await threads.run('oaepDecrypt', privateKey, 'sha256', ciphertext), plaintext);
    assert.equal(await threads.run('oaepDecrypt', privateKey, 'sha256', randomBytes(256)), undefined);
  });

  it('Ed25519ph, ML-DSA and ECDH', async () => {
    const ed = generateKeyPairSync('ed25519');
    const message = randomBytes(50);
    const edSignature = await threads.run('ed25519phSign', ed.privateKey, message);
    const edPublic = Buffer.from(ed.publicKey.export({ format: 'jwk' }).x as string, 'base64url');
    assert.ok(ed25519ph.verify(edSignature, message, edPublic));
    assert.equal(await threads.run('ed25519phVerify', ed.publicKey, message, edSignature), true);

    const { secretKey, publicKey } = mlDsaExpand(65, randomBytes(32));
    const mlKey = createSecretKey(Buffer.from(secretKey));
    const mlSignature = await threads.run('mlDsaSign', 65, mlKey, { kind: 'raw', bytes: message });
    assert.equal(await threads.run('mlDsaVerify', 65, publicKey, { kind: 'raw', bytes: message }, mlSignature), true);
    assert.equal(
      await threads.run('mlDsaVerify', 65, publicKey, { kind: 'raw', bytes: randomBytes(50) }, mlSignature),
      false,
    );

    const a = generateKeyPairSync('ec', { namedCurve: 'P-521' });
    const b = generateKeyPairSync('ec', { namedCurve: 'P-521' });
    assert.deepEqual(
      await threads.run('ecdhSharedSecret', a.privateKey, b.publicKey),
      ecdhSharedSecret(b.privateKey, a.publicKey),
    );
  });

  it('loads an ML-DSA key from its seed, and its public key, as inline', async () => {
    const seed = randomBytes(32);
    const expected = mlDsaExpand(44, seed);
    const loaded = await threads.run('mlDsaLoad', 44, createSecretKey(seed));
    assert.equal(loaded.type, 'secret');
    assert.deepEqual(loaded.export(), Buffer.from(expected.secretKey));
    const spki = await threads.run('mlDsaSpkiOf', 44, loaded);
    assert.deepEqual(spki, mlDsaSpki(44, expected.publicKey));
  });

  it('a primitive that throws rejects with its message', async () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    // A public key cannot sign.
    await assert.rejects(
      threads.run('rsaSign', publicKey, 'pkcs1', 'sha256', { kind: 'digest', bytes: randomBytes(32) }),
    );
  });

  it('a thread that dies fails its outstanding tasks; the next task starts a new thread', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 4096 });
    const digest = randomBytes(32);
    const outstanding = Array.from({ length: 4 }, () =>
      threads.run('rsaSign', privateKey, 'pkcs1', 'sha256', { kind: 'digest', bytes: digest }),
    );
    const settling = Promise.allSettled(outstanding);
    await threads.terminate();
    const settled = await settling;
    assert.ok(
      settled.some((s) => s.status === 'rejected'),
      'no task was failed by the stop',
    );
    const after = await threads.run('rsaSign', privateKey, 'pkcs1', 'sha256', { kind: 'digest', bytes: digest });
    assert.equal(after.length, 512);
  });

  it('starts a thread only when the others are busy, up to its limit', async () => {
    const pool = new CryptoThreads(1);
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const sign = () => pool.run('rsaSign', privateKey, 'pkcs1', 'sha256', { kind: 'digest', bytes: randomBytes(32) });
    await sign();
    await sign();
    assert.equal(pool.threadCount, 1, 'one task at a time needs one thread');
    await Promise.all([sign(), sign(), sign()]);
    assert.equal(pool.threadCount, 1, 'the limit');
    pool.limit(3);
    await Promise.all([sign(), sign(), sign()]);
    assert.equal(pool.threadCount, 3);
    await pool.terminate();
  });

  it('gives each process of a server its share of the cores, 1 to 4 threads', () => {
    assert.equal(threadsPerProcess(2, 1), 2);
    assert.equal(threadsPerProcess(16, 1), 4);
    assert.equal(threadsPerProcess(16, 16), 1);
    assert.equal(threadsPerProcess(8, 2), 4);
    assert.equal(threadsPerProcess(6, 4), 2);
    assert.equal(threadsPerProcess(1, 4), 1);
  });
});
