import assert from 'node:assert/strict';
import { constants, createPublicKey, generateKeyPairSync, publicEncrypt, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CancelKeyDeletionCommand,
  CreateAliasCommand,
  CreateGrantCommand,
  CreateKeyCommand,
  DecryptCommand,
  DeleteAliasCommand,
  DeleteImportedKeyMaterialCommand,
  DeriveSharedSecretCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  DisableKeyRotationCommand,
  EnableKeyCommand,
  EnableKeyRotationCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateDataKeyPairCommand,
  GenerateDataKeyPairWithoutPlaintextCommand,
  GenerateDataKeyWithoutPlaintextCommand,
  GenerateMacCommand,
  GenerateRandomCommand,
  GetKeyLastUsageCommand,
  GetKeyPolicyCommand,
  GetKeyRotationStatusCommand,
  GetParametersForImportCommand,
  GetPublicKeyCommand,
  ImportKeyMaterialCommand,
  type KMSClient,
  ListAliasesCommand,
  ListGrantsCommand,
  ListKeyPoliciesCommand,
  ListKeyRotationsCommand,
  ListKeysCommand,
  ListResourceTagsCommand,
  ListRetirableGrantsCommand,
  PutKeyPolicyCommand,
  ReEncryptCommand,
  RetireGrantCommand,
  RevokeGrantCommand,
  RotateKeyOnDemandCommand,
  ScheduleKeyDeletionCommand,
  SignCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateAliasCommand,
  UpdateKeyDescriptionCommand,
  VerifyCommand,
  VerifyMacCommand,
} from '@aws-sdk/client-kms';
import { OPERATIONS } from '../../src/operations/registry.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { lookupAll } from '../helpers/trent-cli.js';

/**
 * No secret reaches the audit trail or the logs: every registered operation runs with known
 * secret bytes (plaintexts sent, data keys, random bytes and private keys returned, ciphertext
 * blobs, signatures, MACs, shared secrets, the caller's secret access key); then every file of the
 * data directory that holds the store and audit log, and everything the server logged at debug
 * level, is scanned for each of them raw, in base64 and in hex: zero hits. A registered operation
 * without a case here fails the test, so new operations cannot slip past it.
 */
type Case = (kms: KMSClient, s: State) => Promise<void>;

interface State {
  keyId: string;
  secrets: Buffer[];
  blob?: Uint8Array;
  grantId?: string;
}

const keep = (s: State, ...values: (Uint8Array | undefined)[]) => {
  for (const v of values) if (v !== undefined) s.secrets.push(Buffer.from(v));
};

const CASES: Record<string, Case> = {
  CreateKey: async () => {},
  DescribeKey: async (kms, s) => void (await kms.send(new DescribeKeyCommand({ KeyId: s.keyId }))),
  ListKeys: async (kms) => void (await kms.send(new ListKeysCommand({}))),
  UpdateKeyDescription: async (kms, s) =>
    void (await kms.send(new UpdateKeyDescriptionCommand({ KeyId: s.keyId, Description: 'scan' }))),
  Encrypt: async (kms, s) => {
    const plaintext = randomBytes(48);
    keep(s, plaintext);
    const out = await kms.send(
      new EncryptCommand({ KeyId: s.keyId, Plaintext: plaintext, EncryptionContext: { k: 'v' } }),
    );
    s.blob = out.CiphertextBlob;
    keep(s, out.CiphertextBlob);
  },
  Decrypt: async (kms, s) => {
    const out = await kms.send(new DecryptCommand({ CiphertextBlob: s.blob, EncryptionContext: { k: 'v' } }));
    keep(s, out.Plaintext);
    // A failing decrypt of a known blob must not record it either.
    const bogus = randomBytes(200);
    keep(s, bogus);
    await assert.rejects(kms.send(new DecryptCommand({ CiphertextBlob: bogus })));
  },
  ReEncrypt: async (kms, s) => {
    const out = await kms.send(
      new ReEncryptCommand({ CiphertextBlob: s.blob, SourceEncryptionContext: { k: 'v' }, DestinationKeyId: s.keyId }),
    );
    keep(s, out.CiphertextBlob);
  },
  GenerateDataKey: async (kms, s) => {
    const out = await kms.send(new GenerateDataKeyCommand({ KeyId: s.keyId, KeySpec: 'AES_256' }));
    keep(s, out.Plaintext, out.CiphertextBlob);
  },
  GenerateDataKeyWithoutPlaintext: async (kms, s) => {
    const out = await kms.send(new GenerateDataKeyWithoutPlaintextCommand({ KeyId: s.keyId, NumberOfBytes: 64 }));
    keep(s, out.CiphertextBlob);
  },
  GenerateRandom: async (kms, s) => {
    const out = await kms.send(new GenerateRandomCommand({ NumberOfBytes: 64 }));
    keep(s, out.Plaintext);
  },
  CreateAlias: async (kms, s) =>
    void (await kms.send(new CreateAliasCommand({ AliasName: 'alias/scan', TargetKeyId: s.keyId }))),
  UpdateAlias: async (kms, s) =>
    void (await kms.send(new UpdateAliasCommand({ AliasName: 'alias/scan', TargetKeyId: s.keyId }))),
  ListAliases: async (kms) => void (await kms.send(new ListAliasesCommand({}))),
  DeleteAlias: async (kms) => void (await kms.send(new DeleteAliasCommand({ AliasName: 'alias/scan' }))),
  TagResource: async (kms, s) =>
    void (await kms.send(new TagResourceCommand({ KeyId: s.keyId, Tags: [{ TagKey: 'a', TagValue: 'b' }] }))),
  ListResourceTags: async (kms, s) => void (await kms.send(new ListResourceTagsCommand({ KeyId: s.keyId }))),
  UntagResource: async (kms, s) => void (await kms.send(new UntagResourceCommand({ KeyId: s.keyId, TagKeys: ['a'] }))),
  GetKeyLastUsage: async (kms, s) => void (await kms.send(new GetKeyLastUsageCommand({ KeyId: s.keyId }))),
  CreateGrant: async (kms, s) => {
    const grantee = 'arn:aws:iam::111122223333:user/scan';
    const { GrantId } = await kms.send(
      new CreateGrantCommand({
        KeyId: s.keyId,
        GranteePrincipal: grantee,
        Operations: ['Encrypt'],
        RetiringPrincipal: grantee,
      }),
    );
    s.grantId = GrantId;
  },
  ListGrants: async (kms, s) => void (await kms.send(new ListGrantsCommand({ KeyId: s.keyId }))),
  ListRetirableGrants: async (kms) =>
    void (await kms.send(new ListRetirableGrantsCommand({ RetiringPrincipal: 'arn:aws:iam::111122223333:user/scan' }))),
  RevokeGrant: async (kms, s) => void (await kms.send(new RevokeGrantCommand({ KeyId: s.keyId, GrantId: s.grantId }))),
  RetireGrant: async (kms, s) => {
    const { GrantToken } = await kms.send(
      new CreateGrantCommand({
        KeyId: s.keyId,
        GranteePrincipal: 'arn:aws:iam::111122223333:root',
        Operations: ['Decrypt'],
      }),
    );
    await kms.send(new RetireGrantCommand({ GrantToken }));
  },
  DisableKey: async (kms, s) => void (await kms.send(new DisableKeyCommand({ KeyId: s.keyId }))),
  EnableKey: async (kms, s) => void (await kms.send(new EnableKeyCommand({ KeyId: s.keyId }))),
  ScheduleKeyDeletion: async (kms) => {
    const k = await kms.send(new CreateKeyCommand({}));
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: k.KeyMetadata?.KeyId, PendingWindowInDays: 7 }));
    await kms.send(new CancelKeyDeletionCommand({ KeyId: k.KeyMetadata?.KeyId }));
  },
  CancelKeyDeletion: async () => {},
  // Operations other issues register; their cases run once they are.
  Sign: async (kms, s) => {
    const k = await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }));
    const message = randomBytes(40);
    keep(s, message);
    const sig = await kms.send(
      new SignCommand({ KeyId: k.KeyMetadata?.KeyId, Message: message, SigningAlgorithm: 'ECDSA_SHA_256' }),
    );
    keep(s, sig.Signature);
    await kms.send(
      new VerifyCommand({
        KeyId: k.KeyMetadata?.KeyId,
        Message: message,
        Signature: sig.Signature,
        SigningAlgorithm: 'ECDSA_SHA_256',
      }),
    );
    await kms.send(new GetPublicKeyCommand({ KeyId: k.KeyMetadata?.KeyId }));
  },
  Verify: async () => {},
  GetPublicKey: async () => {},
  GenerateMac: async (kms, s) => {
    const k = await kms.send(new CreateKeyCommand({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' }));
    const message = randomBytes(40);
    keep(s, message);
    const mac = await kms.send(
      new GenerateMacCommand({ KeyId: k.KeyMetadata?.KeyId, Message: message, MacAlgorithm: 'HMAC_SHA_256' }),
    );
    keep(s, mac.Mac);
    await kms.send(
      new VerifyMacCommand({
        KeyId: k.KeyMetadata?.KeyId,
        Message: message,
        Mac: mac.Mac,
        MacAlgorithm: 'HMAC_SHA_256',
      }),
    );
  },
  VerifyMac: async () => {},
  EnableKeyRotation: async (kms, s) =>
    void (await kms.send(new EnableKeyRotationCommand({ KeyId: s.keyId, RotationPeriodInDays: 90 }))),
  GetKeyRotationStatus: async (kms, s) => void (await kms.send(new GetKeyRotationStatusCommand({ KeyId: s.keyId }))),
  RotateKeyOnDemand: async (kms, s) => void (await kms.send(new RotateKeyOnDemandCommand({ KeyId: s.keyId }))),
  ListKeyRotations: async (kms, s) => void (await kms.send(new ListKeyRotationsCommand({ KeyId: s.keyId }))),
  DisableKeyRotation: async (kms, s) => void (await kms.send(new DisableKeyRotationCommand({ KeyId: s.keyId }))),
  GetParametersForImport: async (kms, s) => {
    const k = await kms.send(new CreateKeyCommand({ Origin: 'EXTERNAL' }));
    const keyId = k.KeyMetadata?.KeyId;
    const params = await kms.send(
      new GetParametersForImportCommand({
        KeyId: keyId,
        WrappingAlgorithm: 'RSAES_OAEP_SHA_256',
        WrappingKeySpec: 'RSA_2048',
      }),
    );
    const material = randomBytes(32);
    const wrapped = publicEncrypt(
      {
        key: createPublicKey({ key: Buffer.from(params.PublicKey ?? []), format: 'der', type: 'spki' }),
        padding: constants.RSA_PKCS1_OAEP_PADDING,
        oaepHash: 'sha256',
      },
      material,
    );
    keep(s, material, wrapped, params.ImportToken);
    await kms.send(
      new ImportKeyMaterialCommand({
        KeyId: keyId,
        ImportToken: params.ImportToken,
        EncryptedKeyMaterial: wrapped,
        ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
      }),
    );
    await kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: keyId }));
  },
  ImportKeyMaterial: async () => {},
  DeleteImportedKeyMaterial: async () => {},
  GetKeyPolicy: async (kms, s) => void (await kms.send(new GetKeyPolicyCommand({ KeyId: s.keyId }))),
  ListKeyPolicies: async (kms, s) => void (await kms.send(new ListKeyPoliciesCommand({ KeyId: s.keyId }))),
  PutKeyPolicy: async (kms, s) => {
    const { Policy } = await kms.send(new GetKeyPolicyCommand({ KeyId: s.keyId }));
    await kms.send(new PutKeyPolicyCommand({ KeyId: s.keyId, Policy }));
  },
  GenerateDataKeyPair: async (kms, s) => {
    const out = await kms.send(new GenerateDataKeyPairCommand({ KeyId: s.keyId, KeyPairSpec: 'ECC_NIST_P256' }));
    keep(s, out.PrivateKeyPlaintext, out.PrivateKeyCiphertextBlob);
  },
  GenerateDataKeyPairWithoutPlaintext: async (kms, s) => {
    const out = await kms.send(
      new GenerateDataKeyPairWithoutPlaintextCommand({ KeyId: s.keyId, KeyPairSpec: 'ECC_NIST_P256' }),
    );
    keep(s, out.PrivateKeyCiphertextBlob);
  },
  DeriveSharedSecret: async (kms, s) => {
    const k = await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'KEY_AGREEMENT' }));
    const peer = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' });
    const out = await kms.send(
      new DeriveSharedSecretCommand({ KeyId: k.KeyMetadata?.KeyId, KeyAgreementAlgorithm: 'ECDH', PublicKey: peer }),
    );
    keep(s, out.SharedSecret);
  },
};

describe('secrets never reach the audit trail or the logs', () => {
  let server: TestServer;
  const state: State = { keyId: '', secrets: [] };

  before(async () => {
    server = await startServer({ args: ['--log-level', 'debug'] });
    state.secrets.push(Buffer.from(server.credentials.secretAccessKey));
  });

  after(async () => {
    await server.destroy();
  });

  it('has a case for every registered operation', () => {
    assert.deepEqual(
      OPERATIONS.map((op) => op.name).filter((name) => CASES[name] === undefined),
      [],
    );
  });

  it('finds none of the secrets, raw, base64 or hex, after every operation ran', async () => {
    const kms = server.client();
    state.keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId ?? '';
    const ran: string[] = [];
    const registered = new Set(OPERATIONS.map((op) => op.name));
    for (const [name, run] of Object.entries(CASES)) {
      if (!registered.has(name)) continue;
      await run(kms, state);
      ran.push(name);
    }
    await server.stop();
    const events = new Set(lookupAll(server.dataDir).map((r) => r.eventName));
    for (const name of ran) assert.ok(events.has(name), `${name} left no record`);

    const haystacks: [string, Buffer][] = readdirSync(server.dataDir)
      .filter((f) => f.startsWith('trent.db'))
      .map((f) => [f, readFileSync(join(server.dataDir, f))]);
    assert.ok(haystacks.length >= 1);
    haystacks.push(['server output', Buffer.from(server.output())]);
    // The scan must see what it looks for: a record's own request id is there.
    assert.ok(haystacks.some(([, h]) => h.includes(String(lookupAll(server.dataDir)[0]?.requestID))));

    assert.ok(state.secrets.length >= 10, `only ${state.secrets.length} secrets collected`);
    const hits: string[] = [];
    for (const secret of state.secrets) {
      const forms: [string, Buffer][] = [
        ['raw', secret],
        ['base64', Buffer.from(secret.toString('base64'))],
        ['hex', Buffer.from(secret.toString('hex'))],
      ];
      for (const [form, needle] of forms) {
        for (const [where, haystack] of haystacks) {
          if (haystack.includes(needle)) hits.push(`${form} ${secret.toString('hex').slice(0, 16)}… in ${where}`);
        }
      }
    }
    assert.deepEqual(hits, []);
  });
});
