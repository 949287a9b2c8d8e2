import assert from 'node:assert/strict';
import { constants, createHash, createPublicKey, generateKeyPairSync, publicEncrypt, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CreateAliasCommand,
  CreateGrantCommand,
  type CreateGrantCommandInput,
  CreateKeyCommand,
  type CreateKeyCommandInput,
  DecryptCommand,
  DeleteAliasCommand,
  DeriveSharedSecretCommand,
  DescribeKeyCommand,
  EnableKeyRotationCommand,
  EncryptCommand,
  GenerateDataKeyPairCommand,
  GenerateDataKeyPairWithoutPlaintextCommand,
  GenerateMacCommand,
  GetParametersForImportCommand,
  GetPublicKeyCommand,
  ImportKeyMaterialCommand,
  type KMSClient,
  ListGrantsCommand,
  ListKeysCommand,
  PutKeyPolicyCommand,
  ReEncryptCommand,
  RevokeGrantCommand,
  ScheduleKeyDeletionCommand,
  SignCommand,
  UpdateAliasCommand,
  VerifyCommand,
  VerifyMacCommand,
} from '@aws-sdk/client-kms';
import { startServer, type TestServer } from '../helpers/server.js';
import { rejectsWith, uniqueAlias } from './sdk-assert.js';

/**
 * The request condition keys of each operation (reference §4.10), the grant tokens of every
 * operation that takes them, CreateGrant by a grantee whose permission comes from a grant
 * (reference §4.11), and the alias operations' second resource — end to end through
 * @aws-sdk/client-kms, each case allowed or denied with AWS's AccessDeniedException message.
 *
 * Every key here has the default key policy, which delegates to account A: the IAM policies of
 * the users in the identities file decide, each user's policy naming the condition keys under test.
 */

const A = '111122223333';
const B = '444455556666';
const user = (name: string) => `arn:aws:iam::${A}:user/${name}`;
const IAM = (...statements: object[]) => ({ Version: '2012-10-17', Statement: statements });
const allow = (action: string | string[], condition?: object, resource: string | string[] = '*') => ({
  Effect: 'Allow',
  Action: action,
  Resource: resource,
  ...(condition === undefined ? {} : { Condition: condition }),
});

/** AWS's message when no IAM policy of the caller allows the action (reference §4.10 step 7). */
const noIdentityAllows = (who: string, action: string, resource: string) =>
  `User: ${user(who)} is not authorized to perform: ${action} on resource: ${resource} because no identity-based policy allows the ${action} action`;
const explicitIdentityDeny = (who: string, action: string, resource: string) =>
  `User: ${user(who)} is not authorized to perform: ${action} on resource: ${resource} with an explicit deny in an identity-based policy`;

// kms:ValidTo is compared as a date: material may expire no later than this.
const VALID_TO_LIMIT = new Date(Date.now() + 30 * 86_400_000);

/** The users and the IAM policy each one has. */
const USERS: Record<string, object | undefined> = {
  signer: IAM(
    allow(['kms:Sign', 'kms:Verify'], {
      StringEquals: { 'kms:SigningAlgorithm': 'ECDSA_SHA_256', 'kms:MessageType': 'RAW' },
    }),
  ),
  macer: IAM(allow(['kms:GenerateMac', 'kms:VerifyMac'], { StringEquals: { 'kms:MacAlgorithm': 'HMAC_SHA_256' } })),
  pairer: IAM(
    allow(['kms:GenerateDataKeyPair', 'kms:GenerateDataKeyPairWithoutPlaintext'], {
      StringEquals: {
        'kms:DataKeyPairSpec': 'ECC_NIST_P256',
        'kms:EncryptionContext:app': 'web',
        'kms:EncryptionAlgorithm': 'SYMMETRIC_DEFAULT',
      },
    }),
  ),
  agreer: IAM(allow('kms:DeriveSharedSecret', { StringEquals: { 'kms:KeyAgreementAlgorithm': 'ECDH' } })),
  noagree: IAM(allow('kms:*'), {
    Effect: 'Deny',
    Action: 'kms:DeriveSharedSecret',
    Resource: '*',
    Condition: { StringEquals: { 'kms:KeyAgreementAlgorithm': 'ECDH' } },
  }),
  rsauser: IAM(
    allow(['kms:Encrypt', 'kms:Decrypt'], { StringEquals: { 'kms:EncryptionAlgorithm': 'RSAES_OAEP_SHA_256' } }),
  ),
  samekey: IAM(
    allow('kms:Encrypt'),
    allow(['kms:ReEncryptFrom', 'kms:ReEncryptTo'], { Bool: { 'kms:ReEncryptOnSameKey': 'true' } }),
  ),
  otherkey: IAM(
    allow('kms:Encrypt'),
    allow(['kms:ReEncryptFrom', 'kms:ReEncryptTo'], { Bool: { 'kms:ReEncryptOnSameKey': 'false' } }),
  ),
  granter: IAM(
    allow('kms:CreateGrant', {
      'ForAllValues:StringEquals': { 'kms:GrantOperations': ['Encrypt', 'Decrypt'] },
      StringEquals: {
        'kms:GranteePrincipal': user('bob'),
        'kms:GrantConstraintType': 'EncryptionContextSubset',
        'kms:EncryptionContext:app': 'web',
      },
      StringEqualsIfExists: { 'kms:RetiringPrincipal': user('granter') },
      Bool: { 'kms:GrantIsForAWSResource': 'false' },
    }),
    allow(['kms:ListGrants', 'kms:RevokeGrant'], { Bool: { 'kms:GrantIsForAWSResource': 'false' } }),
  ),
  importer: IAM(
    allow('kms:GetParametersForImport', {
      StringEquals: { 'kms:WrappingAlgorithm': 'RSAES_OAEP_SHA_256', 'kms:WrappingKeySpec': 'RSA_2048' },
    }),
    allow('kms:ImportKeyMaterial', {
      StringEquals: { 'kms:ExpirationModel': 'KEY_MATERIAL_EXPIRES' },
      DateLessThan: { 'kms:ValidTo': VALID_TO_LIMIT.toISOString() },
    }),
  ),
  rotator: IAM(allow('kms:EnableKeyRotation', { NumericLessThanEquals: { 'kms:RotationPeriodInDays': '180' } })),
  deleter: IAM(
    allow('kms:ScheduleKeyDeletion', {
      NumericGreaterThanEquals: { 'kms:ScheduleKeyDeletionPendingWindowInDays': '14' },
    }),
  ),
  lockout: IAM(
    allow(['kms:CreateKey', 'kms:PutKeyPolicy'], { Bool: { 'kms:BypassPolicyLockoutSafetyCheck': 'false' } }),
  ),
  calleraccount: IAM(allow(['kms:Encrypt', 'kms:ListKeys'], { StringEquals: { 'kms:CallerAccount': A } })),
  otheraccount: IAM(allow(['kms:Encrypt', 'kms:ListKeys'], { StringEquals: { 'kms:CallerAccount': B } })),
  aliaser: IAM(
    allow(['kms:CreateAlias', 'kms:UpdateAlias', 'kms:DeleteAlias'], undefined, `arn:aws:kms:*:${A}:alias/team-*`),
    allow(
      ['kms:CreateAlias', 'kms:UpdateAlias', 'kms:DeleteAlias'],
      { StringEquals: { 'aws:ResourceTag/team': 'a' } },
      `arn:aws:kms:*:${A}:key/*`,
    ),
  ),
  // The usual region guard: everything, but only in us-east-1.
  regional: IAM(allow('kms:*'), {
    Effect: 'Deny',
    Action: 'kms:*',
    Resource: '*',
    Condition: { StringNotEquals: { 'aws:RequestedRegion': 'us-east-1' } },
  }),
  // A data perimeter: only the keys of the caller's own account.
  perimeter: IAM(allow('kms:*'), {
    Effect: 'Deny',
    Action: 'kms:*',
    Resource: '*',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: an IAM policy variable, not a template.
    Condition: { StringNotEquals: { 'aws:ResourceAccount': '${aws:PrincipalAccount}' } },
  }),
  bob: undefined,
  carol: undefined,
  dave: undefined,
};

function accessKey(name: string) {
  const id = `AKIACOND${name.toUpperCase().slice(0, 12).padEnd(12, '0')}`;
  return { accessKeyId: id, secretAccessKey: `secret-${id}-0123456789abcdef` };
}

/** The directories identitiesFile made, removed once every test of the file has run. */
const identityDirs: string[] = [];
after(() => {
  for (const dir of identityDirs) rmSync(dir, { recursive: true, force: true });
});

function identitiesFile(): string {
  const users = Object.fromEntries(
    Object.entries(USERS).map(([name, doc]) => [
      name,
      { ...(doc === undefined ? {} : { policies: { main: doc } }), accessKeys: [accessKey(name)] },
    ]),
  );
  const dir = mkdtempSync(join(tmpdir(), 'trent-conditions-'));
  identityDirs.push(dir);
  const file = join(dir, 'identities.json');
  writeFileSync(file, JSON.stringify({ accounts: { [A]: { users } } }, null, 2));
  return file;
}

const denied = (call: Promise<unknown>, who: string, action: string, resource: string) =>
  rejectsWith(call, 'AccessDeniedException', noIdentityAllows(who, action, resource));

describe('access control: the condition keys each operation sets', { timeout: 300_000 }, () => {
  let server: TestServer;
  let admin: KMSClient;
  const clients = new Map<string, KMSClient>();
  const as = (name: string) => clients.get(name) as KMSClient;
  const keys: Record<string, string> = {};
  const createKey = async (name: string, input: CreateKeyCommandInput = {}) => {
    const out = await admin.send(new CreateKeyCommand(input));
    keys[name] = out.KeyMetadata?.Arn as string;
  };

  before(async () => {
    server = await startServer({ args: ['--identities', identitiesFile()] });
    admin = server.client();
    for (const name of Object.keys(USERS)) clients.set(name, server.client({ credentials: accessKey(name) }));
    await createKey('sym');
    await createKey('sym2');
    await createKey('ecc', { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
    await createKey('hmac256', { KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' });
    await createKey('hmac384', { KeySpec: 'HMAC_384', KeyUsage: 'GENERATE_VERIFY_MAC' });
    await createKey('agree', { KeySpec: 'ECC_NIST_P256', KeyUsage: 'KEY_AGREEMENT' });
    await createKey('rsa', { KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' });
    await createKey('external', { Origin: 'EXTERNAL' });
    await createKey('teamA', { Tags: [{ TagKey: 'team', TagValue: 'a' }] });
    await createKey('teamA2', { Tags: [{ TagKey: 'team', TagValue: 'a' }] });
    await createKey('teamB', { Tags: [{ TagKey: 'team', TagValue: 'b' }] });
  });

  after(async () => {
    for (const c of clients.values()) c.destroy();
    admin?.destroy();
    await server?.destroy();
  });

  it('Sign and Verify: kms:SigningAlgorithm and kms:MessageType (RAW when omitted)', async () => {
    const signer = as('signer');
    const message = Buffer.from('the message');
    const sign = (SigningAlgorithm: 'ECDSA_SHA_256' | 'ECDSA_SHA_384', MessageType?: 'RAW' | 'DIGEST', m = message) =>
      signer.send(new SignCommand({ KeyId: keys.ecc, Message: m, SigningAlgorithm, MessageType }));
    const signed = await sign('ECDSA_SHA_256', 'RAW');
    await sign('ECDSA_SHA_256');
    const digest = createHash('sha256').update(message).digest();
    await denied(sign('ECDSA_SHA_256', 'DIGEST', digest), 'signer', 'kms:Sign', keys.ecc as string);
    await denied(sign('ECDSA_SHA_384', 'RAW'), 'signer', 'kms:Sign', keys.ecc as string);
    const verify = (MessageType: 'RAW' | 'DIGEST', m: Buffer) =>
      signer.send(
        new VerifyCommand({
          KeyId: keys.ecc,
          Message: m,
          MessageType,
          Signature: signed.Signature,
          SigningAlgorithm: 'ECDSA_SHA_256',
        }),
      );
    assert.equal((await verify('RAW', message)).SignatureValid, true);
    await denied(verify('DIGEST', digest), 'signer', 'kms:Verify', keys.ecc as string);
  });

  it('GenerateMac and VerifyMac: kms:MacAlgorithm', async () => {
    const macer = as('macer');
    const Message = Buffer.from('m');
    const out = await macer.send(
      new GenerateMacCommand({ KeyId: keys.hmac256, Message, MacAlgorithm: 'HMAC_SHA_256' }),
    );
    await macer.send(
      new VerifyMacCommand({ KeyId: keys.hmac256, Message, MacAlgorithm: 'HMAC_SHA_256', Mac: out.Mac }),
    );
    await denied(
      macer.send(new GenerateMacCommand({ KeyId: keys.hmac384, Message, MacAlgorithm: 'HMAC_SHA_384' })),
      'macer',
      'kms:GenerateMac',
      keys.hmac384 as string,
    );
    await denied(
      macer.send(new VerifyMacCommand({ KeyId: keys.hmac384, Message, MacAlgorithm: 'HMAC_SHA_384', Mac: out.Mac })),
      'macer',
      'kms:VerifyMac',
      keys.hmac384 as string,
    );
  });

  it('GenerateDataKeyPair(WithoutPlaintext): kms:DataKeyPairSpec, kms:EncryptionContext:*, kms:EncryptionAlgorithm', async () => {
    const pairer = as('pairer');
    const web = { app: 'web' };
    const pair = (KeyPairSpec: 'ECC_NIST_P256' | 'RSA_2048', EncryptionContext?: Record<string, string>) =>
      pairer.send(new GenerateDataKeyPairCommand({ KeyId: keys.sym, KeyPairSpec, EncryptionContext }));
    const bare = (KeyPairSpec: 'ECC_NIST_P256' | 'RSA_2048', EncryptionContext?: Record<string, string>) =>
      pairer.send(new GenerateDataKeyPairWithoutPlaintextCommand({ KeyId: keys.sym, KeyPairSpec, EncryptionContext }));
    assert.ok((await pair('ECC_NIST_P256', web)).PrivateKeyPlaintext);
    assert.ok((await bare('ECC_NIST_P256', web)).PrivateKeyCiphertextBlob);
    const sym = keys.sym as string;
    await denied(pair('RSA_2048', web), 'pairer', 'kms:GenerateDataKeyPair', sym);
    await denied(pair('ECC_NIST_P256'), 'pairer', 'kms:GenerateDataKeyPair', sym);
    await denied(pair('ECC_NIST_P256', { app: 'api' }), 'pairer', 'kms:GenerateDataKeyPair', sym);
    await denied(bare('RSA_2048', web), 'pairer', 'kms:GenerateDataKeyPairWithoutPlaintext', sym);
    await denied(bare('ECC_NIST_P256'), 'pairer', 'kms:GenerateDataKeyPairWithoutPlaintext', sym);
  });

  it('DeriveSharedSecret: kms:KeyAgreementAlgorithm, in an allow and in an explicit deny', async () => {
    const peer = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' });
    const derive = (who: string) =>
      as(who).send(
        new DeriveSharedSecretCommand({ KeyId: keys.agree, KeyAgreementAlgorithm: 'ECDH', PublicKey: peer }),
      );
    assert.equal((await derive('agreer')).KeyAgreementAlgorithm, 'ECDH');
    await rejectsWith(
      derive('noagree'),
      'AccessDeniedException',
      explicitIdentityDeny('noagree', 'kms:DeriveSharedSecret', keys.agree as string),
    );
    // The same user may use the key otherwise: the deny is the condition key's doing.
    await as('noagree').send(new GetPublicKeyCommand({ KeyId: keys.agree }));
  });

  it('asymmetric Encrypt and Decrypt: kms:EncryptionAlgorithm', async () => {
    const rsauser = as('rsauser');
    const rsa = keys.rsa as string;
    const encrypt = (EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' | 'RSAES_OAEP_SHA_1') =>
      rsauser.send(new EncryptCommand({ KeyId: rsa, Plaintext: Buffer.from('p'), EncryptionAlgorithm }));
    const { CiphertextBlob } = await encrypt('RSAES_OAEP_SHA_256');
    await denied(encrypt('RSAES_OAEP_SHA_1'), 'rsauser', 'kms:Encrypt', rsa);
    const decrypt = (EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' | 'RSAES_OAEP_SHA_1') =>
      rsauser.send(new DecryptCommand({ KeyId: rsa, CiphertextBlob, EncryptionAlgorithm }));
    assert.equal(Buffer.from((await decrypt('RSAES_OAEP_SHA_256')).Plaintext ?? []).toString(), 'p');
    await denied(decrypt('RSAES_OAEP_SHA_1'), 'rsauser', 'kms:Decrypt', rsa);
  });

  it('ReEncrypt: kms:ReEncryptOnSameKey on both sides', async () => {
    const sym = keys.sym as string;
    const reEncrypt = async (who: string, DestinationKeyId: string) => {
      const { CiphertextBlob } = await as(who).send(new EncryptCommand({ KeyId: sym, Plaintext: Buffer.from('p') }));
      return as(who).send(new ReEncryptCommand({ CiphertextBlob, DestinationKeyId }));
    };
    assert.equal((await reEncrypt('samekey', sym)).KeyId, sym);
    await denied(reEncrypt('samekey', keys.sym2 as string), 'samekey', 'kms:ReEncryptFrom', sym);
    assert.equal((await reEncrypt('otherkey', keys.sym2 as string)).KeyId, keys.sym2);
    await denied(reEncrypt('otherkey', sym), 'otherkey', 'kms:ReEncryptFrom', sym);
    // Named by SourceKeyId (through an alias) the source is the same key all the same.
    const alias = uniqueAlias('reencrypt');
    await admin.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: sym }));
    const { CiphertextBlob } = await as('samekey').send(
      new EncryptCommand({ KeyId: sym, Plaintext: Buffer.from('p') }),
    );
    await as('samekey').send(new ReEncryptCommand({ CiphertextBlob, SourceKeyId: alias, DestinationKeyId: alias }));
  });

  it('CreateGrant: kms:GrantOperations, kms:GranteePrincipal, kms:RetiringPrincipal, kms:GrantConstraintType, kms:EncryptionContext:*, kms:GrantIsForAWSResource', async () => {
    const granter = as('granter');
    const KeyId = keys.sym as string;
    const base: CreateGrantCommandInput = {
      KeyId,
      GranteePrincipal: user('bob'),
      Operations: ['Encrypt', 'Decrypt'],
      Constraints: { EncryptionContextSubset: { app: 'web' } },
    };
    const create = (input: Partial<CreateGrantCommandInput>) =>
      granter.send(new CreateGrantCommand({ ...base, ...input }));
    const { GrantId } = await create({});
    await create({ RetiringPrincipal: user('granter'), Operations: ['Decrypt'] });
    const refused: Partial<CreateGrantCommandInput>[] = [
      { Operations: ['Encrypt', 'GenerateDataKey'] },
      { GranteePrincipal: user('carol') },
      { RetiringPrincipal: user('bob') },
      { Constraints: { EncryptionContextEquals: { app: 'web' } } },
      { Constraints: { EncryptionContextSubset: { app: 'api' } } },
      { Constraints: undefined },
    ];
    for (const input of refused) await denied(create(input), 'granter', 'kms:CreateGrant', KeyId);
    // kms:GrantIsForAWSResource is false on ListGrants and RevokeGrant too.
    const listed = await granter.send(new ListGrantsCommand({ KeyId, GrantId }));
    assert.equal(listed.Grants?.[0]?.GrantId, GrantId);
    await granter.send(new RevokeGrantCommand({ KeyId, GrantId }));
  });

  it('GetParametersForImport and ImportKeyMaterial: kms:WrappingAlgorithm, kms:WrappingKeySpec, kms:ExpirationModel, kms:ValidTo', async () => {
    const importer = as('importer');
    const KeyId = keys.external as string;
    await denied(
      importer.send(
        new GetParametersForImportCommand({
          KeyId,
          WrappingAlgorithm: 'RSAES_OAEP_SHA_256',
          WrappingKeySpec: 'RSA_4096',
        }),
      ),
      'importer',
      'kms:GetParametersForImport',
      KeyId,
    );
    await denied(
      importer.send(
        new GetParametersForImportCommand({
          KeyId,
          WrappingAlgorithm: 'RSAES_OAEP_SHA_1',
          WrappingKeySpec: 'RSA_2048',
        }),
      ),
      'importer',
      'kms:GetParametersForImport',
      KeyId,
    );
    const params = await importer.send(
      new GetParametersForImportCommand({
        KeyId,
        WrappingAlgorithm: 'RSAES_OAEP_SHA_256',
        WrappingKeySpec: 'RSA_2048',
      }),
    );
    const EncryptedKeyMaterial = publicEncrypt(
      {
        key: createPublicKey({ key: Buffer.from(params.PublicKey ?? []), format: 'der', type: 'spki' }),
        padding: constants.RSA_PKCS1_OAEP_PADDING,
        oaepHash: 'sha256',
      },
      randomBytes(32),
    );
    const importWith = (input: {
      ExpirationModel: 'KEY_MATERIAL_EXPIRES' | 'KEY_MATERIAL_DOES_NOT_EXPIRE';
      ValidTo?: Date;
    }) =>
      importer.send(
        new ImportKeyMaterialCommand({ KeyId, ImportToken: params.ImportToken, EncryptedKeyMaterial, ...input }),
      );
    const days = (n: number) => new Date(Date.now() + n * 86_400_000);
    await denied(
      importWith({ ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' }),
      'importer',
      'kms:ImportKeyMaterial',
      KeyId,
    );
    await denied(
      importWith({ ExpirationModel: 'KEY_MATERIAL_EXPIRES', ValidTo: days(60) }),
      'importer',
      'kms:ImportKeyMaterial',
      KeyId,
    );
    await importWith({ ExpirationModel: 'KEY_MATERIAL_EXPIRES', ValidTo: days(10) });
    const described = await admin.send(new DescribeKeyCommand({ KeyId }));
    assert.equal(described.KeyMetadata?.KeyState, 'Enabled');
  });

  it('EnableKeyRotation: kms:RotationPeriodInDays (365 when omitted)', async () => {
    const rotator = as('rotator');
    const KeyId = keys.sym2 as string;
    await rotator.send(new EnableKeyRotationCommand({ KeyId, RotationPeriodInDays: 90 }));
    await rotator.send(new EnableKeyRotationCommand({ KeyId, RotationPeriodInDays: 180 }));
    await denied(
      rotator.send(new EnableKeyRotationCommand({ KeyId, RotationPeriodInDays: 181 })),
      'rotator',
      'kms:EnableKeyRotation',
      KeyId,
    );
    await denied(rotator.send(new EnableKeyRotationCommand({ KeyId })), 'rotator', 'kms:EnableKeyRotation', KeyId);
  });

  it('ScheduleKeyDeletion: kms:ScheduleKeyDeletionPendingWindowInDays (30 when omitted)', async () => {
    const deleter = as('deleter');
    const a = (await admin.send(new CreateKeyCommand({}))).KeyMetadata?.Arn as string;
    const b = (await admin.send(new CreateKeyCommand({}))).KeyMetadata?.Arn as string;
    await denied(
      deleter.send(new ScheduleKeyDeletionCommand({ KeyId: a, PendingWindowInDays: 7 })),
      'deleter',
      'kms:ScheduleKeyDeletion',
      a,
    );
    await deleter.send(new ScheduleKeyDeletionCommand({ KeyId: a, PendingWindowInDays: 14 }));
    await deleter.send(new ScheduleKeyDeletionCommand({ KeyId: b }));
  });

  it('CreateKey and PutKeyPolicy: kms:BypassPolicyLockoutSafetyCheck', async () => {
    const lockout = as('lockout');
    const created = await lockout.send(new CreateKeyCommand({}));
    const KeyId = created.KeyMetadata?.Arn as string;
    await rejectsWith(
      lockout.send(new CreateKeyCommand({ BypassPolicyLockoutSafetyCheck: true })),
      'AccessDeniedException',
      noIdentityAllows('lockout', 'kms:CreateKey', '*'),
    );
    const Policy = JSON.stringify(
      IAM({ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${A}:root` }, Action: 'kms:*', Resource: '*' }),
    );
    await lockout.send(new PutKeyPolicyCommand({ KeyId, Policy }));
    await denied(
      lockout.send(new PutKeyPolicyCommand({ KeyId, Policy, BypassPolicyLockoutSafetyCheck: true })),
      'lockout',
      'kms:PutKeyPolicy',
      KeyId,
    );
  });

  it('aws:RequestedRegion: the region the request was signed for', async () => {
    const encrypt = (kms: KMSClient, keyId: string) =>
      kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('p') }));
    await encrypt(as('regional'), keys.sym as string);
    await as('regional').send(new ListKeysCommand({}));
    const westAdmin = server.client({ region: 'eu-west-1' });
    const west = server.client({ region: 'eu-west-1', credentials: accessKey('regional') });
    try {
      const westKey = (await westAdmin.send(new CreateKeyCommand({}))).KeyMetadata?.Arn as string;
      await rejectsWith(
        encrypt(west, westKey),
        'AccessDeniedException',
        explicitIdentityDeny('regional', 'kms:Encrypt', westKey),
      );
      await rejectsWith(
        west.send(new ListKeysCommand({})),
        'AccessDeniedException',
        explicitIdentityDeny('regional', 'kms:ListKeys', '*'),
      );
    } finally {
      west.destroy();
      westAdmin.destroy();
    }
  });

  it("aws:ResourceAccount: the key's account, or the caller's for an operation without a key", async () => {
    await as('perimeter').send(new EncryptCommand({ KeyId: keys.sym, Plaintext: Buffer.from('p') }));
    await as('perimeter').send(new ListKeysCommand({}));
  });

  it('kms:CallerAccount, on a key and on an operation without one', async () => {
    const encrypt = (who: string) => as(who).send(new EncryptCommand({ KeyId: keys.sym, Plaintext: Buffer.from('p') }));
    await encrypt('calleraccount');
    await as('calleraccount').send(new ListKeysCommand({}));
    await denied(encrypt('otheraccount'), 'otheraccount', 'kms:Encrypt', keys.sym as string);
    await rejectsWith(
      as('otheraccount').send(new ListKeysCommand({})),
      'AccessDeniedException',
      noIdentityAllows('otheraccount', 'kms:ListKeys', '*'),
    );
  });
});

describe('access control: alias operations need the alias and the key', { timeout: 120_000 }, () => {
  let server: TestServer;
  let admin: KMSClient;
  let aliaser: KMSClient;
  const keys: Record<string, string> = {};
  const aliasArn = (name: string) => `arn:aws:kms:us-east-1:${A}:${name}`;

  before(async () => {
    server = await startServer({ args: ['--identities', identitiesFile()] });
    admin = server.client();
    aliaser = server.client({ credentials: accessKey('aliaser') });
    for (const [name, team] of [
      ['teamA', 'a'],
      ['teamA2', 'a'],
      ['teamB', 'b'],
    ] as const) {
      const out = await admin.send(new CreateKeyCommand({ Tags: [{ TagKey: 'team', TagValue: team }] }));
      keys[name] = out.KeyMetadata?.Arn as string;
    }
  });

  after(async () => {
    aliaser?.destroy();
    admin?.destroy();
    await server?.destroy();
  });

  it('CreateAlias: kms:CreateAlias on the alias (IAM) and on the key', async () => {
    const name = uniqueAlias('team');
    await aliaser.send(new CreateAliasCommand({ AliasName: name, TargetKeyId: keys.teamA }));
    const other = uniqueAlias('other');
    await denied(
      aliaser.send(new CreateAliasCommand({ AliasName: other, TargetKeyId: keys.teamA })),
      'aliaser',
      'kms:CreateAlias',
      aliasArn(other),
    );
    await denied(
      aliaser.send(new CreateAliasCommand({ AliasName: uniqueAlias('team'), TargetKeyId: keys.teamB })),
      'aliaser',
      'kms:CreateAlias',
      keys.teamB as string,
    );
  });

  it('UpdateAlias: kms:UpdateAlias on the alias, the old key and the new key', async () => {
    const name = uniqueAlias('team');
    await admin.send(new CreateAliasCommand({ AliasName: name, TargetKeyId: keys.teamA }));
    await denied(
      aliaser.send(new UpdateAliasCommand({ AliasName: name, TargetKeyId: keys.teamB })),
      'aliaser',
      'kms:UpdateAlias',
      keys.teamB as string,
    );
    await aliaser.send(new UpdateAliasCommand({ AliasName: name, TargetKeyId: keys.teamA2 }));
    const onB = uniqueAlias('team');
    await admin.send(new CreateAliasCommand({ AliasName: onB, TargetKeyId: keys.teamB }));
    await denied(
      aliaser.send(new UpdateAliasCommand({ AliasName: onB, TargetKeyId: keys.teamA })),
      'aliaser',
      'kms:UpdateAlias',
      keys.teamB as string,
    );
    const other = uniqueAlias('other');
    await admin.send(new CreateAliasCommand({ AliasName: other, TargetKeyId: keys.teamA }));
    await denied(
      aliaser.send(new UpdateAliasCommand({ AliasName: other, TargetKeyId: keys.teamA2 })),
      'aliaser',
      'kms:UpdateAlias',
      aliasArn(other),
    );
  });

  it('DeleteAlias: kms:DeleteAlias on the alias and on its key', async () => {
    const onA = uniqueAlias('team');
    const onB = uniqueAlias('team');
    const other = uniqueAlias('other');
    await admin.send(new CreateAliasCommand({ AliasName: onA, TargetKeyId: keys.teamA }));
    await admin.send(new CreateAliasCommand({ AliasName: onB, TargetKeyId: keys.teamB }));
    await admin.send(new CreateAliasCommand({ AliasName: other, TargetKeyId: keys.teamA }));
    await denied(
      aliaser.send(new DeleteAliasCommand({ AliasName: other })),
      'aliaser',
      'kms:DeleteAlias',
      aliasArn(other),
    );
    await denied(
      aliaser.send(new DeleteAliasCommand({ AliasName: onB })),
      'aliaser',
      'kms:DeleteAlias',
      keys.teamB as string,
    );
    await aliaser.send(new DeleteAliasCommand({ AliasName: onA }));
    // The root user needs no IAM policy for the alias.
    await admin.send(new DeleteAliasCommand({ AliasName: other }));
  });
});

describe('access control: grant tokens, and grants created from a grant', { timeout: 120_000 }, () => {
  let server: TestServer;
  let admin: KMSClient;
  let bob: KMSClient;
  let carol: KMSClient;
  const keys: Record<string, string> = {};

  before(async () => {
    server = await startServer({ args: ['--identities', identitiesFile()] });
    admin = server.client();
    bob = server.client({ credentials: accessKey('bob') });
    carol = server.client({ credentials: accessKey('carol') });
    const make = async (name: string, input: CreateKeyCommandInput = {}) => {
      keys[name] = (await admin.send(new CreateKeyCommand(input))).KeyMetadata?.Arn as string;
    };
    await make('sym');
    await make('ecc', { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
    await make('hmac', { KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' });
    await make('agree', { KeySpec: 'ECC_NIST_P256', KeyUsage: 'KEY_AGREEMENT' });
  });

  after(async () => {
    for (const c of [admin, bob, carol]) c?.destroy();
    await server?.destroy();
  });

  it('every operation with a GrantTokens member refuses a token that is not one of ours', async () => {
    const GrantTokens = ['not-a-token'];
    const Message = Buffer.from('m');
    const peer = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' });
    const calls: [string, () => Promise<unknown>][] = [
      ['DescribeKey', () => admin.send(new DescribeKeyCommand({ KeyId: keys.sym, GrantTokens }))],
      ['GetPublicKey', () => admin.send(new GetPublicKeyCommand({ KeyId: keys.ecc, GrantTokens }))],
      [
        'Sign',
        () => admin.send(new SignCommand({ KeyId: keys.ecc, Message, SigningAlgorithm: 'ECDSA_SHA_256', GrantTokens })),
      ],
      [
        'Verify',
        () =>
          admin.send(
            new VerifyCommand({
              KeyId: keys.ecc,
              Message,
              Signature: Buffer.alloc(64, 1),
              SigningAlgorithm: 'ECDSA_SHA_256',
              GrantTokens,
            }),
          ),
      ],
      [
        'GenerateMac',
        () =>
          admin.send(new GenerateMacCommand({ KeyId: keys.hmac, Message, MacAlgorithm: 'HMAC_SHA_256', GrantTokens })),
      ],
      [
        'VerifyMac',
        () =>
          admin.send(
            new VerifyMacCommand({
              KeyId: keys.hmac,
              Message,
              MacAlgorithm: 'HMAC_SHA_256',
              Mac: Buffer.alloc(32),
              GrantTokens,
            }),
          ),
      ],
      [
        'GenerateDataKeyPair',
        () =>
          admin.send(new GenerateDataKeyPairCommand({ KeyId: keys.sym, KeyPairSpec: 'ECC_NIST_P256', GrantTokens })),
      ],
      [
        'GenerateDataKeyPairWithoutPlaintext',
        () =>
          admin.send(
            new GenerateDataKeyPairWithoutPlaintextCommand({
              KeyId: keys.sym,
              KeyPairSpec: 'ECC_NIST_P256',
              GrantTokens,
            }),
          ),
      ],
      [
        'DeriveSharedSecret',
        () =>
          admin.send(
            new DeriveSharedSecretCommand({
              KeyId: keys.agree,
              KeyAgreementAlgorithm: 'ECDH',
              PublicKey: peer,
              GrantTokens,
            }),
          ),
      ],
      [
        'CreateGrant',
        () =>
          admin.send(
            new CreateGrantCommand({
              KeyId: keys.sym,
              GranteePrincipal: user('bob'),
              Operations: ['Encrypt'],
              GrantTokens,
            }),
          ),
      ],
    ];
    for (const [op, call] of calls) {
      await rejectsWith(call(), 'InvalidGrantTokenException', 'The grant token is not valid.').catch((err: Error) => {
        throw new Error(`${op}: ${err.message}`);
      });
    }
  });

  it('a grant on an asymmetric key allows Sign, Verify, GetPublicKey and DescribeKey, with its token', async () => {
    const KeyId = keys.ecc as string;
    const Message = Buffer.from('m');
    await denied(bob.send(new GetPublicKeyCommand({ KeyId })), 'bob', 'kms:GetPublicKey', KeyId);
    const { GrantToken } = await admin.send(
      new CreateGrantCommand({
        KeyId,
        GranteePrincipal: user('bob'),
        Operations: ['Sign', 'Verify', 'GetPublicKey', 'DescribeKey'],
      }),
    );
    const GrantTokens = [GrantToken as string];
    const signed = await bob.send(new SignCommand({ KeyId, Message, SigningAlgorithm: 'ECDSA_SHA_256', GrantTokens }));
    const verified = await bob.send(
      new VerifyCommand({
        KeyId,
        Message,
        Signature: signed.Signature,
        SigningAlgorithm: 'ECDSA_SHA_256',
        GrantTokens,
      }),
    );
    assert.equal(verified.SignatureValid, true);
    await bob.send(new GetPublicKeyCommand({ KeyId, GrantTokens }));
    await bob.send(new DescribeKeyCommand({ KeyId, GrantTokens }));
  });

  it('a grant that includes CreateGrant: child grants within its operations and at least as strict constraints', async () => {
    const KeyId = keys.sym as string;
    await admin.send(
      new CreateGrantCommand({
        KeyId,
        GranteePrincipal: user('bob'),
        Operations: ['CreateGrant', 'Encrypt', 'Decrypt'],
        Constraints: { EncryptionContextSubset: { Dept: 'IT' } },
      }),
    );
    const child = (input: Partial<CreateGrantCommandInput>) =>
      bob.send(
        new CreateGrantCommand({
          KeyId,
          GranteePrincipal: user('carol'),
          Operations: ['Encrypt'],
          Constraints: { EncryptionContextSubset: { Dept: 'IT' } },
          ...input,
        }),
      );
    const within: Partial<CreateGrantCommandInput>[] = [
      {},
      { Operations: ['Encrypt', 'Decrypt', 'CreateGrant'] },
      { Constraints: { EncryptionContextSubset: { Dept: 'IT', team: 'x' } } },
      { Constraints: { EncryptionContextEquals: { Dept: 'IT' } } },
      { Constraints: { EncryptionContextEquals: { dept: 'IT', env: 'prod' } } },
    ];
    for (const input of within) await child(input);
    const beyond: Partial<CreateGrantCommandInput>[] = [
      { Operations: ['Encrypt', 'GenerateDataKey'] },
      { Operations: ['ReEncryptFrom'] },
      { Operations: ['RetireGrant'] },
      { Constraints: undefined },
      { Constraints: { EncryptionContextSubset: { team: 'x' } } },
      { Constraints: { EncryptionContextSubset: { Dept: 'HR' } } },
      { Constraints: { EncryptionContextEquals: { env: 'prod' } } },
    ];
    for (const input of beyond) await denied(child(input), 'bob', 'kms:CreateGrant', KeyId);

    // A child grant works for its grantee, with its token, within its own constraint.
    const { GrantToken } = await child({
      GranteePrincipal: user('dave'),
      Constraints: { EncryptionContextEquals: { Dept: 'IT', env: 'dev' } },
    });
    const dave = server.client({ credentials: accessKey('dave') });
    const encrypt = (EncryptionContext: Record<string, string>) =>
      dave.send(
        new EncryptCommand({
          KeyId,
          Plaintext: Buffer.from('p'),
          EncryptionContext,
          GrantTokens: [GrantToken as string],
        }),
      );
    await encrypt({ Dept: 'IT', env: 'dev' });
    await denied(encrypt({ Dept: 'IT' }), 'dave', 'kms:Encrypt', KeyId);
    dave.destroy();

    // Beyond the grant, an IAM allow still lets a principal create any grant: the root user here.
    await admin.send(
      new CreateGrantCommand({ KeyId, GranteePrincipal: user('carol'), Operations: ['GenerateDataKey'] }),
    );
  });
});

describe('access control: a grant token works at once on another node', { timeout: 120_000 }, () => {
  let a: TestServer;
  let b: TestServer;

  before(async () => {
    a = await startServer({ args: ['--identities', identitiesFile()] });
    b = await startServer({ dataDir: a.dataDir });
  });

  after(async () => {
    await b?.stop();
    await a?.destroy();
  });

  it('node b re-reads the key’s grants when a token names one it has not seen yet', async () => {
    const adminA = a.client();
    const bobB = b.client({ credentials: accessKey('bob') });
    try {
      for (let round = 0; round < 5; round++) {
        const KeyId = (await adminA.send(new CreateKeyCommand({}))).KeyMetadata?.Arn as string;
        const encrypt = (GrantTokens?: string[]) =>
          bobB.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from('p'), GrantTokens }));
        // b decides, and caches that bob holds no grant on the key.
        await denied(encrypt(), 'bob', 'kms:Encrypt', KeyId);
        const { GrantToken } = await adminA.send(
          new CreateGrantCommand({ KeyId, GranteePrincipal: user('bob'), Operations: ['Encrypt'] }),
        );
        await encrypt([GrantToken as string]);
      }
    } finally {
      adminA.destroy();
      bobB.destroy();
    }
  });
});
