import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { type MlDsaLevel, mlDsaExpand, mlDsaPublicKey, mlDsaSign, mlDsaVerify } from '../../src/crypto/ml-dsa.js';
import { PROJECT_ROOT } from '../helpers/server.js';

/**
 * ML-DSA (FIPS 204) known answers from Wycheproof (test/vectors/wycheproof/README.md says which
 * files, commits and cases), run through src/crypto/ml-dsa.ts: key generation from the 32-byte seed
 * Trent stores, deterministic signing (rnd = 0³², §3.4) of RAW messages and of external μ, and
 * verification that accepts the published signatures and rejects the published invalid ones.
 */

interface SignCase {
  tcId: number;
  comment: string;
  msg: string;
  ctx?: string;
  mu: string;
  sig: string;
}
interface VerifyCase {
  tcId: number;
  comment: string;
  msg: string;
  sig: string;
  result: 'valid' | 'invalid';
}
interface VectorFile {
  algorithm: string;
  privateSeed: string;
  publicKey: string;
  privateKey?: string;
  sign: SignCase[];
  verify?: VerifyCase[];
}

const LEVELS = [44, 65, 87] as const satisfies readonly MlDsaLevel[];
const DETERMINISTIC = new Uint8Array(32);
const hex = (s: string) => Buffer.from(s, 'hex');
const load = (level: MlDsaLevel) =>
  JSON.parse(readFileSync(join(PROJECT_ROOT, `test/vectors/wycheproof/mldsa_${level}.json`), 'utf8')) as VectorFile;

// μ = H(tr ‖ M′), tr = H(pk, 64), M′ = 0 ‖ |ctx| ‖ ctx ‖ M (FIPS 204 Algorithm 2 step 10, Algorithm 7 step 6).
function mu(publicKey: string, ctx: string, msg: string): string {
  const tr = createHash('shake256', { outputLength: 64 }).update(hex(publicKey)).digest();
  const prefix = Buffer.of(0, ctx.length / 2);
  return createHash('shake256', { outputLength: 64 })
    .update(tr)
    .update(prefix)
    .update(hex(ctx))
    .update(hex(msg))
    .digest('hex');
}

for (const level of LEVELS) {
  const v = load(level);
  const { secretKey, publicKey } = mlDsaExpand(level, hex(v.privateSeed));
  // RAW in Trent is the pure form with an empty context: only those cases sign and verify as RAW.
  const rawCases = v.sign.filter((t) => (t.ctx ?? '') === '');

  describe(`${v.algorithm} against Wycheproof`, () => {
    it('derives the published key pair from the 32-byte seed', () => {
      assert.equal(Buffer.from(publicKey).toString('hex'), v.publicKey);
      if (v.privateKey !== undefined) assert.equal(Buffer.from(secretKey).toString('hex'), v.privateKey);
      assert.equal(Buffer.from(mlDsaPublicKey(level, secretKey)).toString('hex'), v.publicKey);
    });

    it('signs RAW messages (empty context) to the published deterministic signatures', () => {
      assert.ok(rawCases.length > 0);
      for (const t of rawCases) {
        const sig = mlDsaSign(level, secretKey, { kind: 'raw', bytes: hex(t.msg) }, DETERMINISTIC);
        assert.equal(sig.toString('hex'), t.sig, `tcId ${t.tcId}`);
      }
    });

    it('signs the published μ (EXTERNAL_MU) to the published signatures, with and without context', () => {
      for (const t of v.sign) {
        assert.equal(mu(v.publicKey, t.ctx ?? '', t.msg), t.mu, `tcId ${t.tcId}: μ`);
        const sig = mlDsaSign(level, secretKey, { kind: 'mu', bytes: hex(t.mu) }, DETERMINISTIC);
        assert.equal(sig.toString('hex'), t.sig, `tcId ${t.tcId}`);
      }
    });

    it('verifies the published signatures as RAW and as μ, and binds them to the context', () => {
      for (const t of v.sign) {
        const sig = hex(t.sig);
        assert.ok(mlDsaVerify(level, publicKey, { kind: 'mu', bytes: hex(t.mu) }, sig), `tcId ${t.tcId}: μ`);
        // RAW verifies over M′ with an empty context, so a signature made under "Context" must fail.
        const raw = mlDsaVerify(level, publicKey, { kind: 'raw', bytes: hex(t.msg) }, sig);
        assert.equal(raw, (t.ctx ?? '') === '', `tcId ${t.tcId}: RAW`);
      }
    });

    it('rejects the published invalid signatures and a bit flip of each valid one', () => {
      for (const t of v.verify ?? []) {
        const valid = t.result === 'valid';
        const sig = hex(t.sig);
        assert.equal(mlDsaVerify(level, publicKey, { kind: 'raw', bytes: hex(t.msg) }, sig), valid, `tcId ${t.tcId}`);
        const m = hex(mu(v.publicKey, '', t.msg));
        assert.equal(mlDsaVerify(level, publicKey, { kind: 'mu', bytes: m }, sig), valid, `tcId ${t.tcId}: μ`);
      }
      for (const t of v.sign) {
        const sig = hex(t.sig);
        sig[sig.length >> 1] = (sig[sig.length >> 1] as number) ^ 0x01;
        assert.ok(!mlDsaVerify(level, publicKey, { kind: 'mu', bytes: hex(t.mu) }, sig), `tcId ${t.tcId}`);
      }
    });

    it('signs hedged by default: fresh randomness, a different signature that still verifies', () => {
      const t = rawCases[0]!;
      const input = { kind: 'raw', bytes: hex(t.msg) } as const;
      const hedged = mlDsaSign(level, secretKey, input);
      assert.notEqual(hedged.toString('hex'), t.sig);
      assert.ok(mlDsaVerify(level, publicKey, input, hedged));
    });
  });
}
