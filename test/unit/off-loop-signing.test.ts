import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes, verify } from 'node:crypto';
import { describe, it } from 'node:test';
import { type EcCurve, ecdsaSign, ecdsaVerify } from '../../src/crypto/ecdsa.js';
import { signOffLoop, verifyOffLoop } from '../../src/crypto/off-loop.js';
import { rsaSign, rsaVerify } from '../../src/crypto/rsa.js';
import { turnsDuring } from '../helpers/event-loop.js';

/**
 * The costly signatures run on libuv's thread pool (src/crypto/off-loop.ts): the event loop keeps
 * turning while they are made, what they make verifies in OpenSSL, and their failures are the
 * same as inline.
 */

describe('signatures off the event loop', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 4096 });

  it('RSA RAW: the event loop turns while the signatures are made, and they verify', async () => {
    const messages = Array.from({ length: 4 }, () => randomBytes(64));
    const { turns, value: signatures } = await turnsDuring(
      Promise.all(messages.map((m) => rsaSign(rsa.privateKey, 'pss', 'sha256', { kind: 'raw', bytes: m }))),
    );
    // Made inline, the signatures would be done before rsaSign returned: no turn at all before
    // they resolve. How many turns the pool leaves depends on what else the cores run.
    assert.ok(turns > 0, 'the event loop did not turn while the signatures were made');
    for (const [i, m] of messages.entries()) {
      const signature = signatures[i] as Buffer;
      assert.ok(verify('sha256', m, { key: rsa.publicKey, padding: 6, saltLength: 32 }, signature));
      assert.ok(rsaVerify(rsa.publicKey, 'pss', 'sha256', { kind: 'raw', bytes: m }, signature));
    }
  });

  it('RSA DIGEST: rsaSign itself is inline (no asynchronous privateEncrypt; keys/signing.ts sends it to a crypto thread)', async () => {
    const { turns } = await turnsDuring(
      rsaSign(rsa.privateKey, 'pkcs1', 'sha256', { kind: 'digest', bytes: randomBytes(32) }),
    );
    assert.equal(turns, 0);
  });

  for (const [curve, inline] of [
    ['P-256', true],
    ['P-384', false],
    ['P-521', false],
    ['secp256k1', false],
  ] as const) {
    it(`ECDSA ${curve}: signs and verifies ${inline ? 'inline' : 'on the pool'}, and refuses what it must`, async () => {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve });
      const message = randomBytes(100);
      const raw = { kind: 'raw', bytes: message } as const;
      const { turns, value: signature } = await turnsDuring(ecdsaSign(privateKey, curve as EcCurve, 'sha256', raw));
      assert.equal(turns === 0, inline, `the event loop turned ${turns} times`);
      assert.ok(verify('sha256', message, { key: publicKey, dsaEncoding: 'der' }, signature));
      assert.equal(await ecdsaVerify(publicKey, curve as EcCurve, 'sha256', raw, signature), true);
      const other = { kind: 'raw', bytes: randomBytes(100) } as const;
      assert.equal(await ecdsaVerify(publicKey, curve as EcCurve, 'sha256', other, signature), false);
      assert.equal(await ecdsaVerify(publicKey, curve as EcCurve, 'sha256', raw, Buffer.from('not DER')), false);
      assert.equal(await ecdsaVerify(publicKey, curve as EcCurve, 'sha256', raw, Buffer.alloc(0)), false);
    });
  }

  it('a failure on the pool rejects (signing with a public key) or is simply invalid (verify)', async () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    await assert.rejects(
      signOffLoop('sha384', Buffer.from('m'), { key: publicKey, dsaEncoding: 'der' }) as Promise<unknown>,
    );
    assert.equal(await verifyOffLoop('no-such-hash', Buffer.from('m'), publicKey, Buffer.alloc(8)), false);
  });
});
