import assert from 'node:assert/strict';
import { createHash, createPrivateKey, generateKeyPairSync, randomBytes, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ed25519ph } from '@noble/curves/ed25519.js';
import { ecdsaSign, ecdsaVerify } from '../../src/crypto/ecdsa.js';
import { ed25519phSign, ed25519phVerify, ed25519Sign, ed25519Verify } from '../../src/crypto/eddsa.js';
import { mlDsaExpand, mlDsaPublicKey, mlDsaSign, mlDsaSpki, mlDsaVerify } from '../../src/crypto/ml-dsa.js';
import { oaepMaxPlaintext, rsaSign, rsaVerify } from '../../src/crypto/rsa.js';
import { KEY_SPEC_TABLE, SIGNING_ALGORITHMS } from '../../src/keys/key-specs.js';
import { PROJECT_ROOT } from '../helpers/server.js';

/**
 * The primitives of src/crypto against published vectors and against Node's own (OpenSSL) verify:
 * RFC 8032 known answers for Ed25519 and Ed25519ph, the hand-made EMSA-PSS / DigestInfo encodings
 * of the DIGEST path checked by OpenSSL, and the key-spec table against reference §3.1.
 */

interface Vector {
  name: string;
  secretKey: string;
  publicKey: string;
  message: string;
  signature: string;
}
const VECTORS = JSON.parse(readFileSync(join(PROJECT_ROOT, 'test/vectors/rfc8032/ed25519.json'), 'utf8')) as {
  ed25519: Vector[];
  ed25519ph: Vector[];
};

// PKCS #8 for an Ed25519 seed (RFC 8410 §7): the fixed prefix, then the 32-byte seed.
const ed25519Pkcs8 = (seed: string) =>
  createPrivateKey({
    key: Buffer.from(`302e020100300506032b657004220420${seed}`, 'hex'),
    format: 'der',
    type: 'pkcs8',
  });

describe('Ed25519 and Ed25519ph against RFC 8032', () => {
  it('Ed25519 signs the §7.1 vectors to the published signatures', () => {
    for (const v of VECTORS.ed25519) {
      const key = ed25519Pkcs8(v.secretKey);
      const jwk = key.export({ format: 'jwk' });
      assert.equal(Buffer.from(jwk.x as string, 'base64url').toString('hex'), v.publicKey, v.name);
      const sig = ed25519Sign(key, Buffer.from(v.message, 'hex'));
      assert.equal(sig.toString('hex'), v.signature, v.name);
      assert.ok(ed25519Verify(key, Buffer.from(v.message, 'hex'), sig));
      assert.ok(!ed25519Verify(key, Buffer.from(`${v.message}00`, 'hex'), sig));
    }
  });

  it('Ed25519ph signs the §7.3 vector to the published signature, and @noble/curves agrees', () => {
    for (const v of VECTORS.ed25519ph) {
      const key = ed25519Pkcs8(v.secretKey);
      const message = Buffer.from(v.message, 'hex');
      const sig = ed25519phSign(key, message);
      assert.equal(sig.toString('hex'), v.signature, v.name);
      assert.ok(ed25519phVerify(key, message, sig));
      assert.ok(ed25519ph.verify(sig, message, Buffer.from(v.publicKey, 'hex')));
      const flipped = Buffer.from(sig);
      flipped[0] = (flipped[0] as number) ^ 1;
      assert.ok(!ed25519phVerify(key, message, flipped));
      // Ed25519ph is not Ed25519 over the same bytes.
      assert.notEqual(ed25519Sign(key, message).toString('hex'), v.signature);
    }
  });
});

describe('RSA DIGEST path (EMSA-PSS and DigestInfo encoded here, RSA in OpenSSL)', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  for (const hash of ['sha256', 'sha384', 'sha512'] as const) {
    it(`${hash}: digest signatures verify in OpenSSL as signatures of the message, and back`, async () => {
      const message = randomBytes(200);
      const digest = createHash(hash).update(message).digest();
      for (const padding of ['pss', 'pkcs1'] as const) {
        const options = { key: publicKey, padding: padding === 'pss' ? 6 : 1, saltLength: digest.length };
        const fromDigest = await rsaSign(privateKey, padding, hash, { kind: 'digest', bytes: digest });
        assert.ok(verify(hash, message, options, fromDigest), `${padding} digest → OpenSSL`);
        const fromRaw = await rsaSign(privateKey, padding, hash, { kind: 'raw', bytes: message });
        assert.ok(
          rsaVerify(publicKey, padding, hash, { kind: 'digest', bytes: digest }, fromRaw),
          `${padding} raw → digest verify`,
        );
        assert.ok(!rsaVerify(publicKey, padding, hash, { kind: 'digest', bytes: randomBytes(digest.length) }, fromRaw));
        assert.ok(!rsaVerify(publicKey, padding, hash, { kind: 'digest', bytes: digest }, fromRaw.subarray(1)));
      }
    });
  }

  it('computes the OAEP limits of reference §4.4 from the modulus', () => {
    assert.equal(oaepMaxPlaintext(publicKey, 'sha1'), 214);
    assert.equal(oaepMaxPlaintext(publicKey, 'sha256'), 190);
  });
});

describe('ECDSA DIGEST path', () => {
  for (const [curve, hash] of [
    ['P-256', 'sha256'],
    ['P-384', 'sha384'],
    ['P-521', 'sha512'],
    ['secp256k1', 'sha256'],
  ] as const) {
    it(`${curve}: a signed digest verifies in OpenSSL as a signature of the message`, async () => {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve });
      const message = randomBytes(100);
      const digest = createHash(hash).update(message).digest();
      const sig = await ecdsaSign(privateKey, curve, hash, { kind: 'digest', bytes: digest });
      assert.ok(verify(hash, message, { key: publicKey, dsaEncoding: 'der' }, sig));
      // Many messages, so that r and s of every length (a leading zero byte, a short DER integer)
      // pass through the signing equation and its encoding; OpenSSL is the judge of each.
      for (let i = 0; i < 40; i++) {
        const m = randomBytes(i);
        const s = await ecdsaSign(privateKey, curve, hash, {
          kind: 'digest',
          bytes: createHash(hash).update(m).digest(),
        });
        assert.ok(verify(hash, m, { key: publicKey, dsaEncoding: 'der' }, s), `signature ${i}`);
        assert.ok(!verify(hash, randomBytes(8), { key: publicKey, dsaEncoding: 'der' }, s));
      }
      // Randomized, as AWS KMS's ECDSA signatures are: the same digest twice, two signatures.
      const again = await ecdsaSign(privateKey, curve, hash, { kind: 'digest', bytes: digest });
      assert.notDeepEqual(again, sig);
      assert.ok(verify(hash, message, { key: publicKey, dsaEncoding: 'der' }, again));
      const raw = await ecdsaSign(privateKey, curve, hash, { kind: 'raw', bytes: message });
      assert.ok(await ecdsaVerify(publicKey, curve, hash, { kind: 'digest', bytes: digest }, raw));
      assert.ok(
        !(await ecdsaVerify(publicKey, curve, hash, { kind: 'digest', bytes: randomBytes(digest.length) }, raw)),
      );
    });
  }
});

describe('ML-DSA', () => {
  it('expands a seed deterministically and signs pure and external-μ forms that verify', () => {
    const seed = randomBytes(32);
    for (const level of [44, 65, 87] as const) {
      const a = mlDsaExpand(level, seed);
      const b = mlDsaExpand(level, seed);
      assert.deepEqual(a.publicKey, b.publicKey);
      assert.deepEqual(mlDsaPublicKey(level, a.secretKey), a.publicKey);
      const message = randomBytes(50);
      const sig = mlDsaSign(level, a.secretKey, { kind: 'raw', bytes: message });
      assert.ok(mlDsaVerify(level, a.publicKey, { kind: 'raw', bytes: message }, sig));
      assert.ok(!mlDsaVerify(level, a.publicKey, { kind: 'raw', bytes: randomBytes(50) }, sig));
      const tr = createHash('shake256', { outputLength: 64 }).update(a.publicKey).digest();
      const mu = createHash('shake256', { outputLength: 64 })
        .update(tr)
        .update(Buffer.of(0, 0))
        .update(message)
        .digest();
      const muSig = mlDsaSign(level, a.secretKey, { kind: 'mu', bytes: mu });
      assert.ok(
        mlDsaVerify(level, a.publicKey, { kind: 'raw', bytes: message }, muSig),
        'μ signature = signature of M',
      );
      const spki = mlDsaSpki(level, a.publicKey);
      assert.equal(spki.length, a.publicKey.length + 22);
    }
  });
});

describe('key-spec table', () => {
  it('offers only algorithms it knows how to run, and every spec but SM2 can be generated', () => {
    for (const [spec, entry] of Object.entries(KEY_SPEC_TABLE)) {
      assert.equal(entry.generation === undefined, spec === 'SM2', spec);
      const signing = entry.usages.SIGN_VERIFY?.algorithms ?? [];
      for (const alg of signing) if (spec !== 'SM2') assert.ok(SIGNING_ALGORITHMS[alg] !== undefined, `${spec} ${alg}`);
    }
  });
});
