import assert from 'node:assert/strict';
import { constants, createPublicKey, publicEncrypt, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CreateKeyCommand,
  DecryptCommand,
  DeleteImportedKeyMaterialCommand,
  DescribeKeyCommand,
  EnableKeyRotationCommand,
  EncryptCommand,
  GetParametersForImportCommand,
  ImportKeyMaterialCommand,
  type ImportKeyMaterialCommandInput,
  type KMSClient,
  ListKeyRotationsCommand,
  RotateKeyOnDemandCommand,
} from '@aws-sdk/client-kms';
import { advanceClock } from '../../src/cli/clock-commands.js';
import { openStore } from '../../src/storage/open-store.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { rejectsWith } from './sdk-assert.js';

/**
 * Imported key material that is deleted (DeleteImportedKeyMaterial) or expires (ValidTo passed on
 * the lifecycle clock) is gone from the SQLite files — database, -wal and -shm — while the server
 * still runs: neither its wrapped form nor the plaintext material is left in any file of the data
 * directory. The scan must first find the wrapped bytes, or its later silence would prove nothing.
 */
const DAY = 86_400;

/** Files in `dir` holding any 16-byte window of `secret` (so a split across pages still shows). */
function filesHolding(dir: string, secret: Buffer): string[] {
  const windows: Buffer[] = [];
  for (let at = 0; at + 16 <= secret.length; at += 16) windows.push(secret.subarray(at, at + 16));
  return readdirSync(dir, { recursive: true })
    .map(String)
    .filter((name) => {
      let bytes: Buffer;
      try {
        bytes = readFileSync(join(dir, name));
      } catch {
        return false; // a directory, or a file SQLite removed meanwhile
      }
      return windows.some((w) => bytes.includes(w));
    });
}

describe('imported key material is shredded from the SQLite files', { timeout: 120_000 }, () => {
  let server: TestServer;
  let kms: KMSClient;
  let lifecycleNow = Date.now() / 1000;

  before(async () => {
    server = await startServer({ args: ['--allow-time-travel'] });
    kms = server.client();
  });
  after(async () => {
    await server?.destroy();
  });

  /** An EXTERNAL symmetric key with `material` imported, a ciphertext under it, its wrapped row. */
  async function importedKey(material: Buffer, expiry: Partial<ImportKeyMaterialCommandInput>) {
    const arn = (await kms.send(new CreateKeyCommand({ Origin: 'EXTERNAL' }))).KeyMetadata?.Arn as string;
    const params = await kms.send(
      new GetParametersForImportCommand({
        KeyId: arn,
        WrappingAlgorithm: 'RSAES_OAEP_SHA_256',
        WrappingKeySpec: 'RSA_2048',
      }),
    );
    const wrappedForImport = publicEncrypt(
      {
        key: createPublicKey({ key: Buffer.from(params.PublicKey as Uint8Array), format: 'der', type: 'spki' }),
        padding: constants.RSA_PKCS1_OAEP_PADDING,
        oaepHash: 'sha256',
      },
      material,
    );
    const imported = await kms.send(
      new ImportKeyMaterialCommand({
        KeyId: arn,
        ImportToken: params.ImportToken,
        EncryptedKeyMaterial: wrappedForImport,
        ...expiry,
      }),
    );
    const blob = (await kms.send(new EncryptCommand({ KeyId: arn, Plaintext: Buffer.from('shred me') })))
      .CiphertextBlob;
    // The material as the store keeps it, wrapped under the root key: read through the project's
    // store module from a second connection, closed again before anything is deleted.
    const store = await openStore(undefined, server.dataDir);
    let stored: Buffer;
    try {
      const rows = await store.getBackingKeys(arn);
      assert.deepEqual(
        rows.map((r) => r.materialId),
        [imported.KeyMaterialId],
      );
      stored = Buffer.from((rows[0] as { wrapped: Buffer }).wrapped);
    } finally {
      await store.close();
    }
    assert.ok(stored.length >= 32);
    assert.deepEqual(filesHolding(server.dataDir, material), [], 'plaintext material on disk');
    assert.notDeepEqual(filesHolding(server.dataDir, stored), [], 'the scan does not find the wrapped material');
    return { arn, blob, stored };
  }

  const state = async (arn: string) => (await kms.send(new DescribeKeyCommand({ KeyId: arn }))).KeyMetadata?.KeyState;

  it('DeleteImportedKeyMaterial: the wrapped and plaintext material leave every file at once', async () => {
    const material = randomBytes(32);
    const { arn, blob, stored } = await importedKey(material, { ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' });

    await kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: arn }));
    assert.equal(await state(arn), 'PendingImport');
    assert.deepEqual(filesHolding(server.dataDir, stored), []);
    assert.deepEqual(filesHolding(server.dataDir, material), []);
    await rejectsWith(
      kms.send(new DecryptCommand({ CiphertextBlob: blob })),
      'KMSInvalidStateException',
      `${arn} is pending import.`,
    );
  });

  it('expiry: once ValidTo passes on the lifecycle clock, the material is gone from every file', async () => {
    const material = randomBytes(32);
    const { arn, blob, stored } = await importedKey(material, {
      ExpirationModel: 'KEY_MATERIAL_EXPIRES',
      ValidTo: new Date((lifecycleNow + 2 * DAY) * 1000),
    });

    // Not yet: a day later the material is still there and works.
    lifecycleNow = (await advanceClock(server.url, server.credentials, DAY)).now;
    assert.equal(await state(arn), 'Enabled');
    assert.notDeepEqual(filesHolding(server.dataDir, stored), []);
    await kms.send(new DecryptCommand({ CiphertextBlob: blob }));

    // The schedulers run before the clock endpoint answers.
    lifecycleNow = (await advanceClock(server.url, server.credentials, DAY + 60)).now;
    assert.equal(await state(arn), 'PendingImport');
    assert.deepEqual(filesHolding(server.dataDir, stored), []);
    assert.deepEqual(filesHolding(server.dataDir, material), []);
    await rejectsWith(
      kms.send(new DecryptCommand({ CiphertextBlob: blob })),
      'KMSInvalidStateException',
      `${arn} is pending import.`,
    );
  });
});

/**
 * ListKeyRotations reports each version of a key's material with the fields of the current AWS
 * model (RotationsListEntry): KeyId, KeyMaterialId, KeyMaterialState, RotationDate and
 * RotationType for completed rotations, and — for keys with imported material only —
 * KeyMaterialDescription, ImportState, ExpirationModel and ValidTo.
 */
describe('ListKeyRotations entries across the material lifecycle', { timeout: 120_000 }, () => {
  let server: TestServer;
  let kms: KMSClient;
  let lifecycleNow = Date.now() / 1000;
  const advance = async (seconds: number) => {
    lifecycleNow = (await advanceClock(server.url, server.credentials, seconds)).now;
  };
  const list = async (KeyId: string, IncludeKeyMaterial?: 'ALL_KEY_MATERIAL') =>
    (await kms.send(new ListKeyRotationsCommand({ KeyId, ...(IncludeKeyMaterial ? { IncludeKeyMaterial } : {}) })))
      .Rotations;
  const currentMaterial = async (keyId: string) =>
    (await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.CurrentKeyMaterialId as string;
  /** The rotation date is the lifecycle clock's: the second it happened, give or take a minute. */
  const aroundNow = (date: Date | undefined) => {
    assert.ok(date instanceof Date, 'no RotationDate');
    assert.ok(Math.abs(date.getTime() / 1000 - lifecycleNow) < 60, `${date.toISOString()} is not now`);
    return 'now';
  };
  const withDates = <T extends { RotationDate?: Date }>(entries: T[] | undefined) =>
    entries?.map((e) => (e.RotationDate === undefined ? e : { ...e, RotationDate: aroundNow(e.RotationDate) }));

  before(async () => {
    server = await startServer({ args: ['--allow-time-travel'] });
    kms = server.client();
  });
  after(async () => {
    await server?.destroy();
  });

  async function importInto(keyId: string, material: Buffer, input: Partial<ImportKeyMaterialCommandInput>) {
    const params = await kms.send(
      new GetParametersForImportCommand({
        KeyId: keyId,
        WrappingAlgorithm: 'RSAES_OAEP_SHA_1',
        WrappingKeySpec: 'RSA_3072',
      }),
    );
    const key = createPublicKey({ key: Buffer.from(params.PublicKey as Uint8Array), format: 'der', type: 'spki' });
    const wrapped = publicEncrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, material);
    const imported = await kms.send(
      new ImportKeyMaterialCommand({
        KeyId: keyId,
        ImportToken: params.ImportToken,
        EncryptedKeyMaterial: wrapped,
        ...input,
      }),
    );
    return imported.KeyMaterialId as string;
  }

  it('imported material: description, import state, expiration, pending rotation, on-demand rotation, expiry', async () => {
    const keyId = (await kms.send(new CreateKeyCommand({ Origin: 'EXTERNAL' }))).KeyMetadata?.KeyId as string;
    const validTo = new Date(Math.floor(lifecycleNow + 30 * DAY) * 1000);
    const first = await importInto(keyId, randomBytes(32), {
      ExpirationModel: 'KEY_MATERIAL_EXPIRES',
      ValidTo: validTo,
      KeyMaterialDescription: 'first material',
    });
    assert.deepEqual(await list(keyId), [], 'no rotation has happened');
    const firstEntry = {
      KeyId: keyId,
      KeyMaterialId: first,
      KeyMaterialState: 'CURRENT',
      ImportState: 'IMPORTED',
      ExpirationModel: 'KEY_MATERIAL_EXPIRES',
      ValidTo: validTo,
      KeyMaterialDescription: 'first material',
    };
    assert.deepEqual(await list(keyId, 'ALL_KEY_MATERIAL'), [firstEntry]);

    const second = await importInto(keyId, randomBytes(32), {
      ImportType: 'NEW_KEY_MATERIAL',
      ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
      KeyMaterialDescription: 'second material',
    });
    const secondEntry = {
      KeyId: keyId,
      KeyMaterialId: second,
      KeyMaterialState: 'PENDING_ROTATION',
      ImportState: 'IMPORTED',
      ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
      KeyMaterialDescription: 'second material',
    };
    assert.deepEqual(await list(keyId, 'ALL_KEY_MATERIAL'), [firstEntry, secondEntry]);

    await kms.send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
    const rotated = { ...secondEntry, KeyMaterialState: 'CURRENT', RotationDate: 'now', RotationType: 'ON_DEMAND' };
    assert.deepEqual(withDates(await list(keyId)), [rotated]);
    assert.deepEqual(withDates(await list(keyId, 'ALL_KEY_MATERIAL')), [
      { ...firstEntry, KeyMaterialState: 'NON_CURRENT' },
      rotated,
    ]);

    // The first material expires; the key keeps working on the second, so stays Enabled.
    await advance(31 * DAY);
    const { ExpirationModel: _e, ValidTo: _v, ...expired } = firstEntry;
    const entries = await list(keyId, 'ALL_KEY_MATERIAL');
    assert.deepEqual(entries?.[0], { ...expired, KeyMaterialState: 'NON_CURRENT', ImportState: 'PENDING_IMPORT' });
    assert.equal((await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.KeyState, 'Enabled');
  });

  it('generated material: automatic and on-demand rotations, no import fields', async () => {
    const meta = (await kms.send(new CreateKeyCommand({}))).KeyMetadata;
    const keyId = meta?.KeyId as string;
    const initial = meta?.CurrentKeyMaterialId as string;
    await kms.send(new EnableKeyRotationCommand({ KeyId: keyId, RotationPeriodInDays: 90 }));
    await advance(90 * DAY + 60);
    const automatic = await currentMaterial(keyId);
    assert.notEqual(automatic, initial);
    const automaticEntry = {
      KeyId: keyId,
      KeyMaterialId: automatic,
      KeyMaterialState: 'NON_CURRENT',
      RotationDate: 'now',
      RotationType: 'AUTOMATIC',
    };
    await kms.send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
    const onDemand = await currentMaterial(keyId);
    const onDemandEntry = {
      KeyId: keyId,
      KeyMaterialId: onDemand,
      KeyMaterialState: 'CURRENT',
      RotationDate: 'now',
      RotationType: 'ON_DEMAND',
    };
    assert.deepEqual(withDates(await list(keyId)), [automaticEntry, onDemandEntry]);
    assert.deepEqual(withDates(await list(keyId, 'ALL_KEY_MATERIAL')), [
      { KeyId: keyId, KeyMaterialId: initial, KeyMaterialState: 'NON_CURRENT' },
      automaticEntry,
      onDemandEntry,
    ]);
  });
});
