import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createDecipheriv, createPublicKey, randomBytes, verify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CreateKeyCommand,
  type CreateKeyCommandInput,
  DecryptCommand,
  DeleteImportedKeyMaterialCommand,
  DescribeKeyCommand,
  EnableKeyRotationCommand,
  EncryptCommand,
  GenerateMacCommand,
  GetParametersForImportCommand,
  ImportKeyMaterialCommand,
  type ImportKeyMaterialCommandInput,
  type KMSClient,
  ListKeyRotationsCommand,
  RotateKeyOnDemandCommand,
  SignCommand,
  type WrappingKeySpec,
} from '@aws-sdk/client-kms';
import { advanceClock } from '../../src/cli/clock-commands.js';
import { encodeEncryptionContext } from '../../src/keys/encryption-context.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { NO_MESSAGE, rejectsWith } from './sdk-assert.js';

/**
 * Imported key material (BYOK) end to end: material wrapped by the OpenSSL CLI imports through
 * @aws-sdk/client-kms, works, expires on the lifecycle clock (moved with time travel), and comes
 * back when the same material is imported again.
 */
const DAY = 86_400;
type Algorithm = 'RSAES_OAEP_SHA_1' | 'RSAES_OAEP_SHA_256' | 'RSA_AES_KEY_WRAP_SHA_1' | 'RSA_AES_KEY_WRAP_SHA_256';

describe('imported key material', { timeout: 180_000 }, () => {
  let server: TestServer;
  let kms: KMSClient;
  let dir: string;
  /** Lifecycle time, as the server sees it (epoch seconds). */
  let lifecycleNow = Date.now() / 1000;
  const advance = async (seconds: number) => {
    lifecycleNow = (await advanceClock(server.url, server.credentials, seconds)).now;
  };
  const file = (name: string) => join(dir, `${name}-${randomBytes(4).toString('hex')}`);

  /** Wraps `material` for the public key the way AWS documents, with the OpenSSL CLI. */
  function opensslWrap(material: Buffer, publicKey: Uint8Array, algorithm: Algorithm): Buffer {
    const pub = file('pub.der');
    writeFileSync(pub, publicKey);
    const md = algorithm.endsWith('SHA_256') ? 'sha256' : 'sha1';
    const oaep = (input: Buffer) => {
      const inFile = file('in');
      const outFile = file('out');
      writeFileSync(inFile, input);
      execFileSync('openssl', [
        'pkeyutl',
        '-encrypt',
        '-pubin',
        '-keyform',
        'DER',
        '-inkey',
        pub,
        '-pkeyopt',
        'rsa_padding_mode:oaep',
        '-pkeyopt',
        `rsa_oaep_md:${md}`,
        '-pkeyopt',
        `rsa_mgf1_md:${md}`,
        '-in',
        inFile,
        '-out',
        outFile,
      ]);
      return readFileSync(outFile);
    };
    if (algorithm.startsWith('RSAES_OAEP')) return oaep(material);
    // RSA_AES_KEY_WRAP: an ephemeral AES-256 key wraps the material (RFC 5649, id-aes256-wrap-pad)
    // and RSA-OAEP wraps the AES key; RSA part first.
    const aesKey = randomBytes(32);
    const inFile = file('material');
    const outFile = file('wrapped');
    writeFileSync(inFile, material);
    execFileSync('openssl', [
      'enc',
      '-id-aes256-wrap-pad',
      '-K',
      aesKey.toString('hex'),
      '-iv',
      'A65959A6',
      '-in',
      inFile,
      '-out',
      outFile,
    ]);
    return Buffer.concat([oaep(aesKey), readFileSync(outFile)]);
  }

  async function parameters(keyId: string, algorithm: Algorithm = 'RSAES_OAEP_SHA_256', spec = 'RSA_2048') {
    return kms.send(
      new GetParametersForImportCommand({
        KeyId: keyId,
        WrappingAlgorithm: algorithm,
        WrappingKeySpec: spec as WrappingKeySpec,
      }),
    );
  }

  /** GetParametersForImport, wrap with OpenSSL, ImportKeyMaterial. */
  async function importMaterial(
    keyId: string,
    material: Buffer,
    options: Partial<ImportKeyMaterialCommandInput> & { algorithm?: Algorithm; spec?: string } = {},
  ) {
    const { algorithm = 'RSAES_OAEP_SHA_256', spec = 'RSA_2048', ...rest } = options;
    const params = await parameters(keyId, algorithm, spec);
    return kms.send(
      new ImportKeyMaterialCommand({
        KeyId: keyId,
        ImportToken: params.ImportToken,
        EncryptedKeyMaterial: opensslWrap(material, params.PublicKey as Uint8Array, algorithm),
        ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
        ...rest,
      }),
    );
  }

  async function externalKey(input: CreateKeyCommandInput = {}) {
    const created = await kms.send(new CreateKeyCommand({ Origin: 'EXTERNAL', ...input }));
    return { keyId: created.KeyMetadata?.KeyId as string, arn: created.KeyMetadata?.Arn as string, created };
  }

  const state = async (keyId: string) =>
    (await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.KeyState;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trent-import-'));
    server = await startServer({ args: ['--allow-time-travel'] });
    kms = server.client();
  });
  after(async () => {
    await server?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a symmetric key: PendingImport → import (OpenSSL OAEP-SHA256) → use → expiry → re-import → delete', async () => {
    const { keyId, arn, created } = await externalKey();
    assert.equal(created.KeyMetadata?.KeyState, 'PendingImport');
    assert.equal(created.KeyMetadata?.Origin, 'EXTERNAL');
    await rejectsWith(
      kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') })),
      'KMSInvalidStateException',
      `${arn} is pending import.`,
    );
    const material = randomBytes(32);
    const params = await parameters(keyId);
    assert.ok(params.ParametersValidTo instanceof Date);
    assert.ok(Math.abs((params.ParametersValidTo as Date).getTime() / 1000 - (lifecycleNow + DAY)) < 120);
    const wrapped = opensslWrap(material, params.PublicKey as Uint8Array, 'RSAES_OAEP_SHA_256');
    await rejectsWith(
      kms.send(
        new ImportKeyMaterialCommand({ KeyId: keyId, ImportToken: params.ImportToken, EncryptedKeyMaterial: wrapped }),
      ),
      'ValidationException',
      'A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES',
    );
    const validTo = new Date((lifecycleNow + 10 * DAY) * 1000);
    const imported = await kms.send(
      new ImportKeyMaterialCommand({
        KeyId: keyId,
        ImportToken: params.ImportToken,
        EncryptedKeyMaterial: wrapped,
        ExpirationModel: 'KEY_MATERIAL_EXPIRES',
        ValidTo: validTo,
      }),
    );
    assert.equal(imported.KeyId, arn);
    const described = (await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata;
    assert.equal(described?.KeyState, 'Enabled');
    assert.equal(described?.ExpirationModel, 'KEY_MATERIAL_EXPIRES');
    assert.equal(Math.round((described?.ValidTo?.getTime() ?? 0) / 1000), Math.round(validTo.getTime() / 1000));
    assert.equal(described?.CurrentKeyMaterialId, imported.KeyMaterialId);

    // The blob is AES-256-GCM under exactly the imported bytes (docs/ciphertext-format.md).
    const plaintext = randomBytes(33);
    const sealed = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: plaintext }));
    const blob = Buffer.from(sealed.CiphertextBlob as Uint8Array);
    const header = blob.subarray(0, 3 + blob.readUInt16BE(1) + 32);
    const iv = blob.subarray(header.length, header.length + 12);
    const tag = blob.subarray(header.length + 12, header.length + 28);
    const decipher = createDecipheriv('aes-256-gcm', material, iv);
    decipher.setAAD(Buffer.concat([header, encodeEncryptionContext(undefined)]));
    decipher.setAuthTag(tag);
    assert.deepEqual(Buffer.concat([decipher.update(blob.subarray(header.length + 28)), decipher.final()]), plaintext);

    // ValidTo passes on the lifecycle clock: the material is deleted, the key waits for it again.
    await advance(10 * DAY + 1);
    assert.equal(await state(keyId), 'PendingImport');
    await rejectsWith(
      kms.send(new DecryptCommand({ CiphertextBlob: blob })),
      'KMSInvalidStateException',
      `${arn} is pending import.`,
    );
    // Other material is refused; the same material restores the key and its old ciphertexts.
    await rejectsWith(
      importMaterial(keyId, randomBytes(32)),
      'IncorrectKeyMaterialException',
      /not the same key material/,
    );
    const again = await importMaterial(keyId, material);
    assert.equal(again.KeyMaterialId, imported.KeyMaterialId);
    assert.equal(await state(keyId), 'Enabled');
    const reopened = await kms.send(new DecryptCommand({ CiphertextBlob: blob }));
    assert.deepEqual(Buffer.from(reopened.Plaintext ?? []), plaintext);
    const forever = (await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata;
    assert.equal(forever?.ExpirationModel, 'KEY_MATERIAL_DOES_NOT_EXPIRE');
    assert.equal(forever?.ValidTo, undefined);

    const deleted = await kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: keyId }));
    assert.equal(deleted.KeyMaterialId, imported.KeyMaterialId);
    assert.equal(await state(keyId), 'PendingImport');
    await rejectsWith(
      kms.send(new DecryptCommand({ CiphertextBlob: blob })),
      'KMSInvalidStateException',
      /pending import/,
    );
    await kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: keyId })); // no effect, no error
    await importMaterial(keyId, material, { algorithm: 'RSA_AES_KEY_WRAP_SHA_1', spec: 'RSA_3072' });
    assert.deepEqual(
      Buffer.from((await kms.send(new DecryptCommand({ CiphertextBlob: blob }))).Plaintext ?? []),
      plaintext,
    );
  });

  it('refuses bad tokens and bad ciphertexts with the import errors', async () => {
    const { keyId } = await externalKey();
    const other = await externalKey();
    const material = randomBytes(32);
    const params = await parameters(keyId);
    const wrapped = opensslWrap(material, params.PublicKey as Uint8Array, 'RSAES_OAEP_SHA_256');
    const attempt = (token: Uint8Array | undefined, encrypted: Uint8Array, id = keyId) =>
      kms.send(
        new ImportKeyMaterialCommand({
          KeyId: id,
          ImportToken: token,
          EncryptedKeyMaterial: encrypted,
          ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
        }),
      );
    await rejectsWith(attempt(params.ImportToken, wrapped, other.keyId), 'InvalidImportTokenException', /invalid/);
    await rejectsWith(attempt(randomBytes(200), wrapped), 'InvalidImportTokenException', /invalid/);
    await rejectsWith(attempt(params.ImportToken, randomBytes(256)), 'InvalidCiphertextException', NO_MESSAGE);
    const sha1 = opensslWrap(material, params.PublicKey as Uint8Array, 'RSAES_OAEP_SHA_1');
    await rejectsWith(attempt(params.ImportToken, sha1), 'InvalidCiphertextException', NO_MESSAGE);
    const short = opensslWrap(randomBytes(16), params.PublicKey as Uint8Array, 'RSAES_OAEP_SHA_256');
    await rejectsWith(
      attempt(params.ImportToken, short),
      'IncorrectKeyMaterialException',
      /key spec SYMMETRIC_DEFAULT/,
    );
    await advance(DAY + 1);
    await rejectsWith(attempt(params.ImportToken, wrapped), 'ExpiredImportTokenException', /expired/);
    assert.equal(await state(keyId), 'PendingImport');
  });

  it('refuses import to keys with generated material, and rotation settings to imported keys', async () => {
    const generated = (await kms.send(new CreateKeyCommand({}))).KeyMetadata;
    await rejectsWith(
      parameters(generated?.KeyId as string),
      'UnsupportedOperationException',
      `${generated?.Arn} origin is AWS_KMS which is not valid for this operation.`,
    );
    const { keyId, arn } = await externalKey();
    await rejectsWith(
      kms.send(new EnableKeyRotationCommand({ KeyId: keyId })),
      'UnsupportedOperationException',
      `${arn} origin is EXTERNAL which is not valid for this operation.`,
    );
    await importMaterial(keyId, randomBytes(32));
    await rejectsWith(
      kms.send(new EnableKeyRotationCommand({ KeyId: keyId })),
      'UnsupportedOperationException',
      `${arn} origin is EXTERNAL which is not valid for this operation.`,
    );
  });

  it('rotates imported symmetric material on demand: NEW_KEY_MATERIAL waits as PENDING_ROTATION', async () => {
    const { keyId, arn } = await externalKey();
    const first = await importMaterial(keyId, randomBytes(32));
    const old = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('before') }));
    await rejectsWith(
      kms.send(new RotateKeyOnDemandCommand({ KeyId: keyId })),
      'KMSInvalidStateException',
      `No available key material pending rotation for the key: ${arn}.`,
    );
    const second = await importMaterial(keyId, randomBytes(32), { ImportType: 'NEW_KEY_MATERIAL' });
    const pending = await kms.send(
      new ListKeyRotationsCommand({ KeyId: keyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }),
    );
    assert.deepEqual(
      pending.Rotations?.map((r) => [r.KeyMaterialId, r.KeyMaterialState, r.ImportState]),
      [
        [first.KeyMaterialId, 'CURRENT', 'IMPORTED'],
        [second.KeyMaterialId, 'PENDING_ROTATION', 'IMPORTED'],
      ],
    );
    await rejectsWith(
      importMaterial(keyId, randomBytes(32), { ImportType: 'NEW_KEY_MATERIAL' }),
      'KMSInvalidStateException',
      new RegExp(`because another key material \\(id: ${second.KeyMaterialId}\\) is pending rotation\\.$`),
    );
    await kms.send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
    const described = await kms.send(new DescribeKeyCommand({ KeyId: keyId }));
    assert.equal(described.KeyMetadata?.CurrentKeyMaterialId, second.KeyMaterialId);
    const rotations = await kms.send(new ListKeyRotationsCommand({ KeyId: keyId }));
    assert.deepEqual(
      rotations.Rotations?.map((r) => [r.KeyMaterialId, r.RotationType, r.KeyMaterialState]),
      [[second.KeyMaterialId, 'ON_DEMAND', 'CURRENT']],
    );
    const opened = await kms.send(new DecryptCommand({ CiphertextBlob: old.CiphertextBlob }));
    assert.equal(opened.KeyMaterialId, first.KeyMaterialId);
    const fresh = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('after') }));
    assert.equal(
      (await kms.send(new DecryptCommand({ CiphertextBlob: fresh.CiphertextBlob }))).KeyMaterialId,
      second.KeyMaterialId,
    );
  });

  it('an HMAC key: a tag computed by OpenSSL over the imported key equals GenerateMac', async () => {
    const { keyId } = await externalKey({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' });
    const material = randomBytes(32);
    await importMaterial(keyId, material, { algorithm: 'RSAES_OAEP_SHA_1' });
    const message = randomBytes(100);
    const mac = await kms.send(
      new GenerateMacCommand({ KeyId: keyId, Message: message, MacAlgorithm: 'HMAC_SHA_256' }),
    );
    const messageFile = file('message');
    writeFileSync(messageFile, message);
    const out = execFileSync('openssl', [
      'dgst',
      '-sha256',
      '-mac',
      'HMAC',
      '-macopt',
      `hexkey:${material.toString('hex')}`,
      messageFile,
    ]).toString();
    assert.equal(Buffer.from(mac.Mac ?? []).toString('hex'), /= ([0-9a-f]+)\s*$/.exec(out)?.[1]);
    // HMAC material cannot change once imported.
    await rejectsWith(
      importMaterial(keyId, randomBytes(32), { ImportType: 'NEW_KEY_MATERIAL' }),
      'IncorrectKeyMaterialException',
      /only symmetric encryption keys take new key material/,
    );
  });

  it('an RSA signing key: a PKCS #8 key from OpenSSL, wrapped with RSA_AES_KEY_WRAP_SHA_256, signs', async () => {
    const { keyId } = await externalKey({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' });
    const pem = execFileSync('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048']);
    const der = execFileSync('openssl', ['pkcs8', '-topk8', '-nocrypt', '-outform', 'DER'], { input: pem });
    await importMaterial(keyId, der, { algorithm: 'RSA_AES_KEY_WRAP_SHA_256', spec: 'RSA_4096' });
    const message = randomBytes(64);
    const signed = await kms.send(
      new SignCommand({ KeyId: keyId, Message: message, SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256' }),
    );
    assert.ok(verify('sha256', message, createPublicKey(pem), Buffer.from(signed.Signature ?? [])));
    // A key of another size is not this key's material.
    const { keyId: other } = await externalKey({ KeySpec: 'RSA_3072', KeyUsage: 'SIGN_VERIFY' });
    await rejectsWith(
      importMaterial(other, der, { algorithm: 'RSA_AES_KEY_WRAP_SHA_256' }),
      'IncorrectKeyMaterialException',
      /key spec RSA_3072/,
    );
  });
});
