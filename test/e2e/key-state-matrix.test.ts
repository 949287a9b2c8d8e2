import assert from 'node:assert/strict';
import { constants, generateKeyPairSync, publicEncrypt, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CancelKeyDeletionCommand,
  CreateAliasCommand,
  CreateGrantCommand,
  CreateKeyCommand,
  type CreateKeyCommandInput,
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
  ListResourceTagsCommand,
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
import { checkKeyState, KEY_STATE_TABLE, type StateCheckedOperation } from '../../src/keys/key-states.js';
import { OPERATIONS } from '../../src/operations/registry.js';
import { openStore } from '../../src/storage/open-store.js';
import { KEY_STATES, type KeyRecord, type KeyState } from '../../src/storage/records.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { NO_MESSAGE, uniqueAlias } from './sdk-assert.js';

/**
 * The whole key-state matrix through the API: every registered operation that takes a key, in
 * every key state, against a real Trent process, each cell's expected outcome read from the one
 * declarative table (src/keys/key-states.ts, KEY_STATE_TABLE via checkKeyState).
 *
 * Enabled, Disabled, PendingDeletion and PendingImport are reached through the API. No feature
 * produces PendingReplicaDeletion (multi-Region), Unavailable (custom key stores), Creating or
 * Updating yet: for those, keys are made Enabled, the server is stopped, the state is written
 * through the project's own store module, and a new server reads it from the store.
 *
 * A refused cell must answer the table's error code and message exactly; an allowed cell must
 * succeed, or fail with the one non-state error the cell names.
 */

/** What each cell needs of its key: which kind of key the operation works on. */
type Kind = 'symmetric' | 'external' | 'hmac' | 'signing' | 'agreement';

const API_STATES = ['Enabled', 'Disabled', 'PendingDeletion', 'PendingImport'] as const;
const STORE_STATES = ['PendingReplicaDeletion', 'Unavailable', 'Creating', 'Updating'] as const;

/** Operations with no key to be in a state. */
const KEYLESS = ['CreateKey', 'ListKeys', 'GenerateRandom', 'ListRetirableGrants'];

interface Fixture {
  kind: Kind;
  state: KeyState;
  keyId: string;
  arn: string;
  keySpec: string;
  origin: 'AWS_KMS' | 'EXTERNAL';
  /** Made while the key was Enabled, for the cells that need a real one. */
  ciphertext?: Uint8Array;
  signature?: Uint8Array;
  mac?: Uint8Array;
  /** Imported material, wrapped for an import token that stays valid through the test. */
  importToken?: Uint8Array;
  wrappedMaterial?: Uint8Array;
  /** An alias (for DeleteAlias) and two grants (for RevokeGrant, RetireGrant) made while Enabled. */
  alias?: string;
  grants?: { revoke: string; retire: string };
}

interface Tools {
  kms: KMSClient;
  /** An Enabled key that aliases point at before UpdateAlias moves them. */
  helperKeyId: string;
  /** A P-256 public key (DER SPKI) to agree with. */
  peerPublicKey: Buffer;
  root: string;
}

interface Cell {
  kinds: readonly Kind[];
  call(f: Fixture, t: Tools): Promise<unknown>;
  /**
   * For calls that change the key's state: the state a successful call leaves the key in
   * (reference §4.7). Each state then gets a key of its own for the operation.
   */
  leaves?(f: Fixture): KeyState;
  /** For an allowed cell that fails for another reason: that error, as `Code: message`. */
  otherwise?(f: Fixture): string | undefined;
}

const ROTATION_KINDS = ['symmetric', 'external', 'hmac'] as const;
const IMPORT_KINDS = ['symmetric', 'external'] as const;
const SYMMETRIC = ['symmetric'] as const;
const PLAINTEXT = Buffer.from('key-state matrix');
const sign = { SigningAlgorithm: 'ECDSA_SHA_256', MessageType: 'RAW' } as const;
const mac = { MacAlgorithm: 'HMAC_SHA_256' } as const;
// Any bytes do for cells refused before the blob is read.
const filler = (bytes: Uint8Array | undefined) => bytes ?? randomBytes(64);

const CELLS: Record<StateCheckedOperation, Cell> = {
  // --- keys ---
  DescribeKey: { kinds: SYMMETRIC, call: (f, t) => t.kms.send(new DescribeKeyCommand({ KeyId: f.keyId })) },
  // Footnote 12: an Unavailable key stays so until its custom key store reconnects.
  EnableKey: {
    kinds: SYMMETRIC,
    leaves: (f) => (f.state === 'Unavailable' ? 'Unavailable' : 'Enabled'),
    call: (f, t) => t.kms.send(new EnableKeyCommand({ KeyId: f.keyId })),
  },
  DisableKey: {
    kinds: SYMMETRIC,
    leaves: (f) => (f.state === 'Unavailable' ? 'Unavailable' : 'Disabled'),
    call: (f, t) => t.kms.send(new DisableKeyCommand({ KeyId: f.keyId })),
  },
  UpdateKeyDescription: {
    kinds: SYMMETRIC,
    call: (f, t) => t.kms.send(new UpdateKeyDescriptionCommand({ KeyId: f.keyId, Description: `in ${f.state}` })),
  },
  ScheduleKeyDeletion: {
    kinds: SYMMETRIC,
    leaves: () => 'PendingDeletion',
    call: (f, t) => t.kms.send(new ScheduleKeyDeletionCommand({ KeyId: f.keyId, PendingWindowInDays: 7 })),
  },
  CancelKeyDeletion: {
    kinds: SYMMETRIC,
    leaves: () => 'Disabled',
    call: (f, t) => t.kms.send(new CancelKeyDeletionCommand({ KeyId: f.keyId })),
  },
  GetKeyLastUsage: { kinds: SYMMETRIC, call: (f, t) => t.kms.send(new GetKeyLastUsageCommand({ KeyId: f.keyId })) },
  // --- cryptographic ---
  Encrypt: {
    kinds: SYMMETRIC,
    call: (f, t) => t.kms.send(new EncryptCommand({ KeyId: f.keyId, Plaintext: PLAINTEXT })),
  },
  Decrypt: {
    kinds: SYMMETRIC,
    call: (f, t) => t.kms.send(new DecryptCommand({ KeyId: f.keyId, CiphertextBlob: f.ciphertext })),
  },
  ReEncrypt: {
    kinds: SYMMETRIC,
    call: (f, t) =>
      t.kms.send(
        new ReEncryptCommand({ CiphertextBlob: f.ciphertext, SourceKeyId: f.keyId, DestinationKeyId: f.keyId }),
      ),
  },
  GenerateDataKey: {
    kinds: SYMMETRIC,
    call: (f, t) => t.kms.send(new GenerateDataKeyCommand({ KeyId: f.keyId, KeySpec: 'AES_256' })),
  },
  GenerateDataKeyWithoutPlaintext: {
    kinds: SYMMETRIC,
    call: (f, t) => t.kms.send(new GenerateDataKeyWithoutPlaintextCommand({ KeyId: f.keyId, KeySpec: 'AES_256' })),
  },
  GenerateDataKeyPair: {
    kinds: SYMMETRIC,
    call: (f, t) => t.kms.send(new GenerateDataKeyPairCommand({ KeyId: f.keyId, KeyPairSpec: 'ECC_NIST_P256' })),
  },
  GenerateDataKeyPairWithoutPlaintext: {
    kinds: SYMMETRIC,
    call: (f, t) =>
      t.kms.send(new GenerateDataKeyPairWithoutPlaintextCommand({ KeyId: f.keyId, KeyPairSpec: 'ECC_NIST_P256' })),
  },
  GetPublicKey: { kinds: ['signing'], call: (f, t) => t.kms.send(new GetPublicKeyCommand({ KeyId: f.keyId })) },
  Sign: {
    kinds: ['signing'],
    call: (f, t) => t.kms.send(new SignCommand({ KeyId: f.keyId, Message: PLAINTEXT, ...sign })),
  },
  Verify: {
    kinds: ['signing'],
    call: (f, t) =>
      t.kms.send(new VerifyCommand({ KeyId: f.keyId, Message: PLAINTEXT, Signature: filler(f.signature), ...sign })),
  },
  GenerateMac: {
    kinds: ['hmac'],
    call: (f, t) => t.kms.send(new GenerateMacCommand({ KeyId: f.keyId, Message: PLAINTEXT, ...mac })),
  },
  VerifyMac: {
    kinds: ['hmac'],
    call: (f, t) =>
      t.kms.send(new VerifyMacCommand({ KeyId: f.keyId, Message: PLAINTEXT, Mac: filler(f.mac), ...mac })),
  },
  DeriveSharedSecret: {
    kinds: ['agreement'],
    call: (f, t) =>
      t.kms.send(
        new DeriveSharedSecretCommand({ KeyId: f.keyId, KeyAgreementAlgorithm: 'ECDH', PublicKey: t.peerPublicKey }),
      ),
  },
  // --- rotation: tried on the kinds the "?" cells tell apart ---
  EnableKeyRotation: {
    kinds: ROTATION_KINDS,
    call: (f, t) => t.kms.send(new EnableKeyRotationCommand({ KeyId: f.keyId })),
  },
  DisableKeyRotation: {
    kinds: ROTATION_KINDS,
    call: (f, t) => t.kms.send(new DisableKeyRotationCommand({ KeyId: f.keyId })),
  },
  GetKeyRotationStatus: {
    kinds: ROTATION_KINDS,
    call: (f, t) => t.kms.send(new GetKeyRotationStatusCommand({ KeyId: f.keyId })),
  },
  ListKeyRotations: {
    kinds: ROTATION_KINDS,
    call: (f, t) => t.kms.send(new ListKeyRotationsCommand({ KeyId: f.keyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' })),
  },
  RotateKeyOnDemand: {
    kinds: ROTATION_KINDS,
    call: (f, t) => t.kms.send(new RotateKeyOnDemandCommand({ KeyId: f.keyId })),
    // Imported material rotates only to material imported as new, and these keys have none.
    otherwise: (f) =>
      f.origin === 'EXTERNAL'
        ? `KMSInvalidStateException: No available key material pending rotation for the key: ${f.arn}.`
        : undefined,
  },
  // --- imported key material ---
  GetParametersForImport: {
    kinds: IMPORT_KINDS,
    call: (f, t) =>
      t.kms.send(
        new GetParametersForImportCommand({
          KeyId: f.keyId,
          WrappingAlgorithm: 'RSAES_OAEP_SHA_256',
          WrappingKeySpec: 'RSA_2048',
        }),
      ),
  },
  ImportKeyMaterial: {
    kinds: IMPORT_KINDS,
    // Only a key waiting for its material changes state; a re-import elsewhere renews it.
    leaves: (f) => (f.state === 'PendingImport' ? 'Enabled' : f.state),
    call: (f, t) =>
      t.kms.send(
        new ImportKeyMaterialCommand({
          KeyId: f.keyId,
          ImportToken: filler(f.importToken),
          EncryptedKeyMaterial: filler(f.wrappedMaterial),
          ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
        }),
      ),
  },
  DeleteImportedKeyMaterial: {
    kinds: IMPORT_KINDS,
    // A key pending deletion stays so.
    leaves: (f) => (f.state === 'PendingDeletion' || f.state === 'PendingReplicaDeletion' ? f.state : 'PendingImport'),
    call: (f, t) => t.kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: f.keyId })),
  },
  // --- aliases ---
  CreateAlias: {
    kinds: SYMMETRIC,
    call: (f, t) => t.kms.send(new CreateAliasCommand({ AliasName: uniqueAlias('matrix'), TargetKeyId: f.keyId })),
  },
  UpdateAlias: {
    kinds: SYMMETRIC,
    async call(f, t) {
      const AliasName = uniqueAlias('matrix-moved');
      await t.kms.send(new CreateAliasCommand({ AliasName, TargetKeyId: t.helperKeyId }));
      return t.kms.send(new UpdateAliasCommand({ AliasName, TargetKeyId: f.keyId }));
    },
  },
  DeleteAlias: { kinds: SYMMETRIC, call: (f, t) => t.kms.send(new DeleteAliasCommand({ AliasName: f.alias })) },
  ListAliases: { kinds: SYMMETRIC, call: (f, t) => t.kms.send(new ListAliasesCommand({ KeyId: f.keyId })) },
  // --- grants ---
  CreateGrant: {
    kinds: SYMMETRIC,
    call: (f, t) =>
      t.kms.send(new CreateGrantCommand({ KeyId: f.keyId, GranteePrincipal: t.root, Operations: ['Decrypt'] })),
  },
  ListGrants: { kinds: SYMMETRIC, call: (f, t) => t.kms.send(new ListGrantsCommand({ KeyId: f.keyId })) },
  RevokeGrant: {
    kinds: SYMMETRIC,
    call: (f, t) => t.kms.send(new RevokeGrantCommand({ KeyId: f.keyId, GrantId: f.grants?.revoke })),
  },
  RetireGrant: {
    kinds: SYMMETRIC,
    call: (f, t) => t.kms.send(new RetireGrantCommand({ KeyId: f.arn, GrantId: f.grants?.retire })),
  },
  // --- key policies ---
  GetKeyPolicy: { kinds: SYMMETRIC, call: (f, t) => t.kms.send(new GetKeyPolicyCommand({ KeyId: f.keyId })) },
  ListKeyPolicies: { kinds: SYMMETRIC, call: (f, t) => t.kms.send(new ListKeyPoliciesCommand({ KeyId: f.keyId })) },
  PutKeyPolicy: {
    kinds: SYMMETRIC,
    async call(f, t) {
      const { Policy } = await t.kms.send(new GetKeyPolicyCommand({ KeyId: f.keyId }));
      return t.kms.send(new PutKeyPolicyCommand({ KeyId: f.keyId, Policy }));
    },
  },
  // --- tags ---
  TagResource: {
    kinds: SYMMETRIC,
    call: (f, t) => t.kms.send(new TagResourceCommand({ KeyId: f.keyId, Tags: [{ TagKey: 'k', TagValue: 'v' }] })),
  },
  UntagResource: {
    kinds: SYMMETRIC,
    call: (f, t) => t.kms.send(new UntagResourceCommand({ KeyId: f.keyId, TagKeys: ['k'] })),
  },
  ListResourceTags: { kinds: SYMMETRIC, call: (f, t) => t.kms.send(new ListResourceTagsCommand({ KeyId: f.keyId })) },
};

/** The table's verdict for a key of this kind in this state: 'ok' or `Code: message`. */
function expected(operation: StateCheckedOperation, f: Fixture): string {
  const key = { arn: f.arn, keyState: f.state, keySpec: f.keySpec, origin: f.origin } as KeyRecord;
  try {
    checkKeyState(operation, key);
  } catch (err) {
    const { code, message } = err as { code: string; message: string };
    // The SDK shows an empty message as NO_MESSAGE.
    return `${code}: ${message === '' ? NO_MESSAGE : message}`;
  }
  return CELLS[operation].otherwise?.(f) ?? 'ok';
}

/** What the server answered, in the same form; a state error must also be a client error. */
async function outcome(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return 'ok';
  } catch (err) {
    const e = err as { name?: string; message?: string; $fault?: string; $metadata?: { httpStatusCode?: number } };
    const status =
      e.$metadata?.httpStatusCode === 400 && e.$fault === 'client' ? '' : ` (HTTP ${e.$metadata?.httpStatusCode})`;
    return `${e.name}: ${e.message}${status}`;
  }
}

describe('the key-state matrix, every operation × every state', { timeout: 300_000 }, () => {
  let dataDir: string;
  let server: TestServer;
  let tools: Tools;
  /** Shared keys by state and kind; mutating operations get their own, by operation too. */
  const shared = new Map<string, Fixture>();
  const own = new Map<string, Fixture>();
  const slot = (state: KeyState, kind: Kind, operation?: string) => `${state}/${kind}/${operation ?? ''}`;

  const createKey = async (input: CreateKeyCommandInput) => {
    const meta = (await tools.kms.send(new CreateKeyCommand(input))).KeyMetadata;
    assert.ok(meta?.KeyId !== undefined && meta.Arn !== undefined);
    return { keyId: meta.KeyId, arn: meta.Arn };
  };

  const KIND_SPECS: Record<Kind, CreateKeyCommandInput> = {
    symmetric: {},
    external: { Origin: 'EXTERNAL' },
    hmac: { KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' },
    signing: { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' },
    agreement: { KeySpec: 'ECC_NIST_P256', KeyUsage: 'KEY_AGREEMENT' },
  };

  /**
   * A key of `kind` headed for `state`. A PendingImport key has imported origin: a symmetric one
   * gets material, a ciphertext, an alias and grants first, then loses the material; the others
   * never had any. Every other key is prepared while Enabled, then moved by the API (or left
   * for the store).
   */
  async function makeFixture(kind: Kind, state: KeyState): Promise<Fixture> {
    const pendingImport = state === 'PendingImport';
    const input = pendingImport ? { ...KIND_SPECS[kind], Origin: 'EXTERNAL' as const } : KIND_SPECS[kind];
    const { keyId, arn } = await createKey(input);
    const f: Fixture = {
      kind,
      state,
      keyId,
      arn,
      keySpec: input.KeySpec ?? 'SYMMETRIC_DEFAULT',
      origin: input.Origin === 'EXTERNAL' ? 'EXTERNAL' : 'AWS_KMS',
    };
    const symmetric = kind === 'symmetric' || kind === 'external';
    if (pendingImport && !symmetric) return f;
    const kms = tools.kms;
    if (f.origin === 'EXTERNAL') await importFresh(f);
    if (symmetric) {
      f.ciphertext = (await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: PLAINTEXT }))).CiphertextBlob;
    }
    if (kind === 'signing') {
      f.signature = (await kms.send(new SignCommand({ KeyId: keyId, Message: PLAINTEXT, ...sign }))).Signature;
    }
    if (kind === 'hmac') {
      f.mac = (await kms.send(new GenerateMacCommand({ KeyId: keyId, Message: PLAINTEXT, ...mac }))).Mac;
    }
    // Aliases and grants are tried on symmetric keys only.
    if (symmetric) await aliasAndGrants(f);
    if (state === 'Disabled') await kms.send(new DisableKeyCommand({ KeyId: keyId }));
    if (state === 'PendingDeletion') {
      await kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }));
    }
    if (pendingImport) await kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: keyId }));
    return f;
  }

  async function aliasAndGrants(f: Fixture): Promise<void> {
    const { kms } = tools;
    const keyId = f.keyId;
    f.alias = uniqueAlias('matrix-doomed');
    await kms.send(new CreateAliasCommand({ AliasName: f.alias, TargetKeyId: keyId }));
    const grant = async (extra: { RetiringPrincipal?: string }) =>
      (
        await kms.send(
          new CreateGrantCommand({ KeyId: keyId, GranteePrincipal: tools.root, Operations: ['Decrypt'], ...extra }),
        )
      ).GrantId as string;
    f.grants = { revoke: await grant({}), retire: await grant({ RetiringPrincipal: tools.root }) };
  }

  /** Imports fresh symmetric material, and keeps its wrapped form and token for re-imports. */
  async function importFresh(f: Fixture): Promise<void> {
    const params = await tools.kms.send(
      new GetParametersForImportCommand({
        KeyId: f.keyId,
        WrappingAlgorithm: 'RSAES_OAEP_SHA_256',
        WrappingKeySpec: 'RSA_2048',
      }),
    );
    assert.ok(params.PublicKey !== undefined && params.ImportToken !== undefined);
    const publicKey = { key: Buffer.from(params.PublicKey), format: 'der', type: 'spki' } as const;
    f.importToken = params.ImportToken;
    f.wrappedMaterial = publicEncrypt(
      { ...publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
      randomBytes(32),
    );
    await tools.kms.send(
      new ImportKeyMaterialCommand({
        KeyId: f.keyId,
        ImportToken: f.importToken,
        EncryptedKeyMaterial: f.wrappedMaterial,
        ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE',
      }),
    );
  }

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'trent-matrix-'));
    server = await startServer({ dataDir });
    const peer = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' });
    tools = { kms: server.client(), helperKeyId: '', peerPublicKey: peer, root: '' };
    const helper = await createKey({});
    tools.helperKeyId = helper.keyId;
    tools.root = `arn:aws:iam::${helper.arn.split(':')[4]}:root`;

    const mutating = (Object.keys(CELLS) as StateCheckedOperation[]).filter((op) => CELLS[op].leaves !== undefined);
    const wanted: Array<{ state: KeyState; kind: Kind; operation?: string }> = [];
    for (const state of KEY_STATES) {
      for (const kind of Object.keys(KIND_SPECS) as Kind[]) wanted.push({ state, kind });
      for (const operation of mutating) {
        for (const kind of CELLS[operation].kinds) wanted.push({ state, kind, operation });
      }
    }
    const made = await Promise.all(wanted.map((w) => makeFixture(w.kind, w.state)));
    wanted.forEach((w, i) => {
      (w.operation === undefined ? shared : own).set(slot(w.state, w.kind, w.operation), made[i] as Fixture);
    });

    // The states no feature produces: written through the store while no server runs, read back
    // by the next one.
    await server.stop();
    const store = await openStore(undefined, dataDir);
    try {
      for (const f of [...shared.values(), ...own.values()]) {
        if (!(STORE_STATES as readonly string[]).includes(f.state)) continue;
        const key = await store.getKey(f.arn);
        assert.ok(key !== undefined, f.arn);
        const next: KeyRecord = { ...key, keyState: f.state, revision: key.revision + 1 };
        if (f.state === 'PendingReplicaDeletion') next.pendingWindowInDays = 7;
        assert.equal(await store.updateKey(next), true);
      }
    } finally {
      await store.close();
    }
    server = await startServer({ dataDir });
    tools = { ...tools, kms: server.client() };
  });

  after(async () => {
    await server?.stop();
    if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
  });

  it('covers every registered operation: the table lists each one that takes a key', () => {
    const registered = OPERATIONS.map((o) => o.name).sort();
    const inTable = Object.keys(KEY_STATE_TABLE);
    assert.deepEqual([...inTable, ...KEYLESS].sort(), registered);
    assert.deepEqual(Object.keys(CELLS).sort(), [...inTable].sort());
  });

  it('has every key in the state the matrix needs, as the server reads it from the store', async () => {
    const wrong: string[] = [];
    for (const f of [...shared.values(), ...own.values()]) {
      const meta = (await tools.kms.send(new DescribeKeyCommand({ KeyId: f.keyId }))).KeyMetadata;
      if (meta?.KeyState !== f.state || meta.Origin !== f.origin)
        wrong.push(`${f.arn}: ${meta?.KeyState} ${meta?.Origin}`);
    }
    assert.deepEqual(wrong, []);
    assert.deepEqual([...API_STATES, ...STORE_STATES].sort(), [...KEY_STATES].sort());
  });

  for (const operation of Object.keys(CELLS) as StateCheckedOperation[]) {
    it(`${operation} in every state`, async () => {
      const { kinds, leaves, call } = CELLS[operation];
      const cells = KEY_STATES.flatMap((state) =>
        kinds.map((kind) => {
          const f = leaves === undefined ? shared.get(slot(state, kind)) : own.get(slot(state, kind, operation));
          assert.ok(f !== undefined, `${state}/${kind}`);
          return f;
        }),
      );
      // For calls that change the state, the state afterwards too: unchanged when refused.
      const stateAfter = async (f: Fixture) =>
        leaves === undefined
          ? ''
          : ` → ${(await tools.kms.send(new DescribeKeyCommand({ KeyId: f.keyId }))).KeyMetadata?.KeyState}`;
      const actual = await Promise.all(
        cells.map(async (f) => {
          const answer = await outcome(call(f, tools));
          return [`${f.state} ${f.kind}`, `${answer}${await stateAfter(f)}`];
        }),
      );
      const wanted = cells.map((f) => {
        const answer = expected(operation, f);
        const after = leaves === undefined ? '' : ` → ${answer === 'ok' ? leaves(f) : f.state}`;
        return [`${f.state} ${f.kind}`, `${answer}${after}`];
      });
      assert.deepEqual(Object.fromEntries(actual), Object.fromEntries(wanted));
    });
  }
});
