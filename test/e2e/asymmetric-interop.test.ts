import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CreateKeyCommand,
  DecryptCommand,
  DeriveSharedSecretCommand,
  GenerateDataKeyPairCommand,
  GetPublicKeyCommand,
  type KeySpec,
  type KeyUsageType,
  type KMSClient,
  SignCommand,
  type SigningAlgorithmSpec,
} from '@aws-sdk/client-kms';
import { ed25519ph } from '@noble/curves/ed25519.js';
import { PROJECT_ROOT, startServer, type TestServer } from '../helpers/server.js';
import { bytes } from './sdk-assert.js';

/**
 * Cryptographic interop with implementations independent of Trent and of Node: the OpenSSL 3.0
 * CLI and Python's `cryptography` verify Trent's signatures from GetPublicKey's DER, OpenSSL
 * encrypts to Trent's RSA keys and derives ECDH secrets against them, OpenSSL signs with data key
 * pairs, and @noble/curves checks Ed25519ph.
 */

interface Run {
  code: number;
  stdout: Buffer;
  stderr: string;
}

function run(command: string, args: string[], input?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = execFile(command, args, { encoding: 'buffer', timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      if (err !== null && typeof err.code !== 'number') reject(err);
      else resolve({ code, stdout, stderr: stderr.toString() });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

const HASH = (alg: string): 'sha256' | 'sha384' | 'sha512' =>
  alg.endsWith('384') ? 'sha384' : alg.endsWith('512') ? 'sha512' : 'sha256';

const SIGNING_CASES: [KeySpec, SigningAlgorithmSpec][] = [
  ['RSA_2048', 'RSASSA_PSS_SHA_256'],
  ['RSA_2048', 'RSASSA_PSS_SHA_384'],
  ['RSA_2048', 'RSASSA_PSS_SHA_512'],
  ['RSA_2048', 'RSASSA_PKCS1_V1_5_SHA_256'],
  ['RSA_2048', 'RSASSA_PKCS1_V1_5_SHA_384'],
  ['RSA_2048', 'RSASSA_PKCS1_V1_5_SHA_512'],
  ['RSA_3072', 'RSASSA_PSS_SHA_384'],
  ['RSA_4096', 'RSASSA_PKCS1_V1_5_SHA_512'],
  ['ECC_NIST_P256', 'ECDSA_SHA_256'],
  ['ECC_NIST_P384', 'ECDSA_SHA_384'],
  ['ECC_NIST_P521', 'ECDSA_SHA_512'],
  ['ECC_SECG_P256K1', 'ECDSA_SHA_256'],
];

describe('interop with OpenSSL, Python cryptography and @noble/curves', { timeout: 300_000 }, () => {
  let server: TestServer;
  let kms: KMSClient;
  let dir: string;
  const keyIds = new Map<string, string>();
  let fileCount = 0;

  const file = (content: Buffer | Uint8Array): string => {
    const path = join(dir, `f${fileCount++}`);
    writeFileSync(path, content);
    return path;
  };

  async function keyFor(spec: KeySpec, usage: KeyUsageType): Promise<string> {
    const name = `${spec}/${usage}`;
    const known = keyIds.get(name);
    if (known !== undefined) return known;
    const out = await kms.send(new CreateKeyCommand({ KeySpec: spec, KeyUsage: usage }));
    const id = out.KeyMetadata?.KeyId as string;
    keyIds.set(name, id);
    return id;
  }

  async function publicDer(keyId: string): Promise<Buffer> {
    return bytes((await kms.send(new GetPublicKeyCommand({ KeyId: keyId }))).PublicKey);
  }

  async function sign(
    keyId: string,
    alg: SigningAlgorithmSpec,
    message: Buffer,
    type: 'RAW' | 'DIGEST' | 'EXTERNAL_MU',
  ) {
    const out = await kms.send(
      new SignCommand({ KeyId: keyId, Message: message, MessageType: type, SigningAlgorithm: alg }),
    );
    return bytes(out.Signature);
  }

  before(async () => {
    server = await startServer();
    kms = server.client();
    dir = mkdtempSync(join(tmpdir(), 'trent-interop-'));
  });

  after(async () => {
    kms?.destroy();
    await server?.destroy();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  describe('OpenSSL CLI', () => {
    it('verifies RSA-PSS, RSA-PKCS1 and ECDSA signatures, RAW with dgst and DIGEST with pkeyutl', async () => {
      const message = randomBytes(777);
      const msgFile = file(message);
      for (const [spec, alg] of SIGNING_CASES) {
        const keyId = await keyFor(spec, 'SIGN_VERIFY');
        const pub = file(await publicDer(keyId));
        const hash = HASH(alg);
        const digest = createHash(hash).update(message).digest();
        const pss = alg.startsWith('RSASSA_PSS');
        const rawSig = await sign(keyId, alg, message, 'RAW');
        const digestSig = await sign(keyId, alg, digest, 'DIGEST');
        const sigopts = pss ? ['-sigopt', 'rsa_padding_mode:pss', '-sigopt', 'rsa_pss_saltlen:digest'] : [];
        const pkeyopts = [
          ...(spec.startsWith('RSA') ? ['-pkeyopt', `digest:${hash}`] : []),
          ...(pss ? ['-pkeyopt', 'rsa_padding_mode:pss', '-pkeyopt', 'rsa_pss_saltlen:digest'] : []),
        ];
        for (const signature of [rawSig, digestSig]) {
          const sigFile = file(signature);
          const dgst = await run('openssl', [
            'dgst',
            `-${hash}`,
            '-verify',
            pub,
            '-keyform',
            'DER',
            ...sigopts,
            '-signature',
            sigFile,
            msgFile,
          ]);
          assert.equal(dgst.code, 0, `openssl dgst ${spec} ${alg}: ${dgst.stdout}${dgst.stderr}`);
          assert.match(dgst.stdout.toString(), /Verified OK/);
          const pkeyutl = await run('openssl', [
            'pkeyutl',
            '-verify',
            '-pubin',
            '-inkey',
            pub,
            '-keyform',
            'DER',
            '-in',
            file(digest),
            '-sigfile',
            sigFile,
            ...pkeyopts,
          ]);
          assert.equal(pkeyutl.code, 0, `openssl pkeyutl ${spec} ${alg}: ${pkeyutl.stdout}${pkeyutl.stderr}`);
        }
        // OpenSSL says no to a signature over another message: the check can fail.
        const other = await run('openssl', [
          'dgst',
          `-${hash}`,
          '-verify',
          pub,
          '-keyform',
          'DER',
          ...sigopts,
          '-signature',
          file(rawSig),
          file(randomBytes(10)),
        ]);
        assert.notEqual(other.code, 0);
      }
    });

    it('verifies Ed25519 (ED25519_SHA_512, RAW) signatures with pkeyutl -rawin', async () => {
      const keyId = await keyFor('ECC_NIST_EDWARDS25519', 'SIGN_VERIFY');
      const pub = file(await publicDer(keyId));
      for (const message of [Buffer.from('a'), randomBytes(4096)]) {
        const sig = file(await sign(keyId, 'ED25519_SHA_512', message, 'RAW'));
        const out = await run('openssl', [
          'pkeyutl',
          '-verify',
          '-pubin',
          '-inkey',
          pub,
          '-keyform',
          'DER',
          '-rawin',
          '-in',
          file(message),
          '-sigfile',
          sig,
        ]);
        assert.equal(out.code, 0, out.stderr);
        const bad = await run('openssl', [
          'pkeyutl',
          '-verify',
          '-pubin',
          '-inkey',
          pub,
          '-keyform',
          'DER',
          '-rawin',
          '-in',
          file(Buffer.from('b')),
          '-sigfile',
          sig,
        ]);
        assert.notEqual(bad.code, 0);
      }
    });

    it('encrypts with OAEP-SHA1 and OAEP-SHA256 to the public key; Trent decrypts', async () => {
      for (const spec of ['RSA_2048', 'RSA_4096'] as KeySpec[]) {
        const keyId = await keyFor(spec, 'ENCRYPT_DECRYPT');
        const pub = file(await publicDer(keyId));
        for (const [alg, md] of [
          ['RSAES_OAEP_SHA_1', 'sha1'],
          ['RSAES_OAEP_SHA_256', 'sha256'],
        ] as const) {
          const plaintext = randomBytes(100);
          const out = await run('openssl', [
            'pkeyutl',
            '-encrypt',
            '-pubin',
            '-inkey',
            pub,
            '-keyform',
            'DER',
            '-in',
            file(plaintext),
            '-pkeyopt',
            'rsa_padding_mode:oaep',
            '-pkeyopt',
            `rsa_oaep_md:${md}`,
            '-pkeyopt',
            `rsa_mgf1_md:${md}`,
          ]);
          assert.equal(out.code, 0, out.stderr);
          const dec = await kms.send(
            new DecryptCommand({ KeyId: keyId, CiphertextBlob: out.stdout, EncryptionAlgorithm: alg }),
          );
          assert.deepEqual(bytes(dec.Plaintext), plaintext, `${spec} ${alg}`);
        }
      }
    });

    it('derives the same ECDH secret from the other side (pkeyutl -derive -peerkey)', async () => {
      for (const [spec, curve] of [
        ['ECC_NIST_P256', 'P-256'],
        ['ECC_NIST_P384', 'P-384'],
        ['ECC_NIST_P521', 'P-521'],
      ] as const) {
        const keyId = await keyFor(spec, 'KEY_AGREEMENT');
        const localKey = join(dir, `local-${curve}.pem`);
        assert.equal(
          (
            await run('openssl', [
              'genpkey',
              '-algorithm',
              'EC',
              '-pkeyopt',
              `ec_paramgen_curve:${curve}`,
              '-out',
              localKey,
            ])
          ).code,
          0,
        );
        const localPub = await run('openssl', ['pkey', '-in', localKey, '-pubout', '-outform', 'DER']);
        const out = await kms.send(
          new DeriveSharedSecretCommand({ KeyId: keyId, KeyAgreementAlgorithm: 'ECDH', PublicKey: localPub.stdout }),
        );
        const derived = await run('openssl', [
          'pkeyutl',
          '-derive',
          '-inkey',
          localKey,
          '-peerkey',
          file(await publicDer(keyId)),
          '-peerform',
          'DER',
        ]);
        assert.equal(derived.code, 0, derived.stderr);
        assert.deepEqual(bytes(out.SharedSecret), derived.stdout, spec);
      }
    });

    it('signs with a data key pair private key; the signature verifies against its public key', async () => {
      const wrapping = (await kms.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId as string;
      const message = file(randomBytes(500));
      for (const spec of ['RSA_2048', 'ECC_NIST_P256', 'ECC_SECG_P256K1', 'ECC_NIST_EDWARDS25519'] as const) {
        const pair = await kms.send(new GenerateDataKeyPairCommand({ KeyId: wrapping, KeyPairSpec: spec }));
        const recovered = await kms.send(new DecryptCommand({ CiphertextBlob: pair.PrivateKeyCiphertextBlob }));
        assert.deepEqual(bytes(recovered.Plaintext), bytes(pair.PrivateKeyPlaintext));
        const priv = file(bytes(pair.PrivateKeyPlaintext));
        const pub = file(bytes(pair.PublicKey));
        const sig = join(dir, `pair-${spec}.sig`);
        if (spec === 'ECC_NIST_EDWARDS25519') {
          assert.equal(
            (
              await run('openssl', [
                'pkeyutl',
                '-sign',
                '-inkey',
                priv,
                '-keyform',
                'DER',
                '-rawin',
                '-in',
                message,
                '-out',
                sig,
              ])
            ).code,
            0,
          );
          const v = await run('openssl', [
            'pkeyutl',
            '-verify',
            '-pubin',
            '-inkey',
            pub,
            '-keyform',
            'DER',
            '-rawin',
            '-in',
            message,
            '-sigfile',
            sig,
          ]);
          assert.equal(v.code, 0, v.stderr);
        } else {
          const s = await run('openssl', ['dgst', '-sha256', '-sign', priv, '-keyform', 'DER', '-out', sig, message]);
          assert.equal(s.code, 0, s.stderr);
          const v = await run('openssl', [
            'dgst',
            '-sha256',
            '-verify',
            pub,
            '-keyform',
            'DER',
            '-signature',
            sig,
            message,
          ]);
          assert.match(v.stdout.toString(), /Verified OK/, spec);
        }
        assert.ok(readFileSync(sig).length > 0);
      }
    });
  });

  describe('Python cryptography', () => {
    it('verifies RSA, ECDSA (all curves), Ed25519 and ML-DSA signatures in RAW, DIGEST and EXTERNAL_MU modes', async () => {
      const message = randomBytes(1000);
      const cases: Record<string, string>[] = [];
      const expected: boolean[] = [];
      const add = (
        spki: Buffer,
        algorithm: string,
        messageType: string,
        msg: Buffer,
        signature: Buffer,
        valid = true,
      ) => {
        cases.push({
          spki: spki.toString('base64'),
          algorithm,
          messageType,
          message: msg.toString('base64'),
          signature: signature.toString('base64'),
        });
        expected.push(valid);
      };
      for (const [spec, alg] of SIGNING_CASES) {
        const keyId = await keyFor(spec, 'SIGN_VERIFY');
        const spki = await publicDer(keyId);
        const digest = createHash(HASH(alg)).update(message).digest();
        add(spki, alg, 'RAW', message, await sign(keyId, alg, message, 'RAW'));
        add(spki, alg, 'DIGEST', digest, await sign(keyId, alg, digest, 'DIGEST'));
        add(spki, alg, 'RAW', message, await sign(keyId, alg, digest, 'DIGEST'));
        add(spki, alg, 'RAW', randomBytes(5), await sign(keyId, alg, message, 'RAW'), false);
      }
      const edKey = await keyFor('ECC_NIST_EDWARDS25519', 'SIGN_VERIFY');
      add(
        await publicDer(edKey),
        'ED25519_SHA_512',
        'RAW',
        message,
        await sign(edKey, 'ED25519_SHA_512', message, 'RAW'),
      );
      for (const spec of ['ML_DSA_44', 'ML_DSA_65', 'ML_DSA_87'] as KeySpec[]) {
        const keyId = await keyFor(spec, 'SIGN_VERIFY');
        const spki = await publicDer(keyId);
        add(spki, 'ML_DSA_SHAKE_256', 'RAW', message, await sign(keyId, 'ML_DSA_SHAKE_256', message, 'RAW'));
        // EXTERNAL_MU: μ = SHAKE256(tr ‖ M′, 64), tr = SHAKE256(pk, 64), M′ = 0 ‖ 0 ‖ M (FIPS 204
        // Algorithms 2 and 7). A signature over μ is a plain ML-DSA signature over M.
        const rawPk = spki.subarray(22);
        const tr = createHash('shake256', { outputLength: 64 }).update(rawPk).digest();
        const mu = createHash('shake256', { outputLength: 64 })
          .update(tr)
          .update(Buffer.of(0, 0))
          .update(message)
          .digest();
        add(spki, 'ML_DSA_SHAKE_256', 'RAW', message, await sign(keyId, 'ML_DSA_SHAKE_256', mu, 'EXTERNAL_MU'));
        add(
          spki,
          'ML_DSA_SHAKE_256',
          'RAW',
          randomBytes(9),
          await sign(keyId, 'ML_DSA_SHAKE_256', mu, 'EXTERNAL_MU'),
          false,
        );
      }
      const script = join(PROJECT_ROOT, 'test/python/verify_signatures.py');
      const out = await run('python3', [script], JSON.stringify(cases));
      assert.equal(out.code, 0, out.stderr);
      const results = JSON.parse(out.stdout.toString()) as unknown[];
      assert.equal(results.length, cases.length);
      results.forEach((result, i) => {
        assert.equal(
          result,
          expected[i],
          `case ${i}: ${cases[i]?.algorithm} ${cases[i]?.messageType} → ${String(result)}`,
        );
      });
    });
  });

  describe('@noble/curves', () => {
    it('verifies ED25519_PH_SHA_512 signatures as Ed25519ph over the given 64-byte input', async () => {
      const keyId = await keyFor('ECC_NIST_EDWARDS25519', 'SIGN_VERIFY');
      const rawPublic = (await publicDer(keyId)).subarray(12);
      assert.equal(rawPublic.length, 32);
      const digest = createHash('sha512').update(randomBytes(100)).digest();
      const sig = await sign(keyId, 'ED25519_PH_SHA_512', digest, 'DIGEST');
      assert.equal(sig.length, 64);
      assert.equal(ed25519ph.verify(sig, digest, rawPublic), true);
      assert.equal(ed25519ph.verify(sig, randomBytes(64), rawPublic), false);
    });
  });
});
