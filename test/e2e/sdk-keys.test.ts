import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  CancelKeyDeletionCommand,
  CreateAliasCommand,
  CreateKeyCommand,
  type CreateKeyCommandInput,
  DescribeKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  type KeyMetadata,
  type KMSClient,
  ListAliasesCommand,
  ListKeysCommand,
  ListResourceTagsCommand,
  ScheduleKeyDeletionCommand,
  UpdateKeyDescriptionCommand,
} from '@aws-sdk/client-kms';
import { REGION, startServer, type TestServer } from '../helpers/server.js';
import { KEY_ID, KEY_MATERIAL_ID, rejectsWith, uniqueAlias } from './sdk-assert.js';

/**
 * Key management through @aws-sdk/client-kms against a real Trent process: CreateKey and its
 * refusals, the four ways to name a key, ListKeys paging, and the lifecycle
 * Enabled ⇄ Disabled → PendingDeletion → (cancel) Disabled.
 */

const ACCOUNT = '111122223333';
const DAY_MS = 86_400_000;

describe('keys through the AWS SDK', { timeout: 120_000 }, () => {
  let server: TestServer;
  let kms: KMSClient;

  before(async () => {
    server = await startServer();
    kms = server.client();
  });

  after(async () => {
    kms?.destroy();
    await server?.destroy();
  });

  async function createKey(input: CreateKeyCommandInput = {}): Promise<KeyMetadata> {
    const { KeyMetadata } = await kms.send(new CreateKeyCommand(input));
    assert.ok(KeyMetadata !== undefined);
    return KeyMetadata;
  }

  async function describeKey(keyId: string): Promise<KeyMetadata> {
    const { KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId: keyId }));
    assert.ok(KeyMetadata !== undefined);
    return KeyMetadata;
  }

  async function allKeyIds(): Promise<string[]> {
    const { Keys, Truncated } = await kms.send(new ListKeysCommand({ Limit: 1000 }));
    assert.equal(Truncated, false);
    return (Keys ?? []).map((k) => k.KeyId ?? '');
  }

  const arnOf = (keyId: string, region = REGION) => `arn:aws:kms:${region}:${ACCOUNT}:key/${keyId}`;

  describe('CreateKey', () => {
    it('creates a symmetric encryption key with the metadata AWS returns', async () => {
      const before = Date.now();
      const meta = await createKey();
      const afterCall = Date.now();

      assert.match(meta.KeyId ?? '', KEY_ID);
      assert.equal(meta.Arn, arnOf(meta.KeyId ?? ''));
      assert.equal(meta.AWSAccountId, ACCOUNT);
      assert.ok(meta.CreationDate instanceof Date);
      const created = meta.CreationDate.getTime();
      assert.ok(created >= before - 1000 && created <= afterCall + 1000, `CreationDate ${meta.CreationDate}`);
      assert.equal(meta.Enabled, true);
      assert.equal(meta.Description, '');
      assert.equal(meta.KeyUsage, 'ENCRYPT_DECRYPT');
      assert.equal(meta.KeyState, 'Enabled');
      assert.equal(meta.Origin, 'AWS_KMS');
      assert.equal(meta.KeyManager, 'CUSTOMER');
      assert.equal(meta.KeySpec, 'SYMMETRIC_DEFAULT');
      assert.equal(meta.CustomerMasterKeySpec, 'SYMMETRIC_DEFAULT');
      assert.deepEqual(meta.EncryptionAlgorithms, ['SYMMETRIC_DEFAULT']);
      assert.equal(meta.MultiRegion, false);
      assert.match(meta.CurrentKeyMaterialId ?? '', KEY_MATERIAL_ID);
      // Members that have no value for this key are left out, not sent as null.
      assert.equal(meta.DeletionDate, undefined);
      assert.equal(meta.SigningAlgorithms, undefined);
      assert.equal(meta.MacAlgorithms, undefined);
      assert.equal(meta.MultiRegionConfiguration, undefined);
      assert.equal(meta.PendingDeletionWindowInDays, undefined);

      assert.ok((await allKeyIds()).includes(meta.KeyId ?? ''));
    });

    it('gives every key its own id and its own key material', async () => {
      const a = await createKey();
      const b = await createKey();
      assert.notEqual(a.KeyId, b.KeyId);
      assert.notEqual(a.CurrentKeyMaterialId, b.CurrentKeyMaterialId);
    });

    it('keeps a Description, Tags and a Policy given at creation', async () => {
      const policy = JSON.stringify({
        Version: '2012-10-17',
        Id: 'key-policy',
        Statement: [
          {
            Sid: 'Enable IAM User Permissions',
            Effect: 'Allow',
            Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
            Action: 'kms:*',
            Resource: '*',
          },
        ],
      });
      const meta = await createKey({
        Description: 'payroll data keys',
        Tags: [
          { TagKey: 'team', TagValue: 'payroll' },
          { TagKey: 'empty', TagValue: '' },
        ],
        Policy: policy,
        KeyUsage: 'ENCRYPT_DECRYPT',
        KeySpec: 'SYMMETRIC_DEFAULT',
      });
      assert.equal(meta.Description, 'payroll data keys');
      assert.equal((await describeKey(meta.KeyId ?? '')).Description, 'payroll data keys');
      const { Tags } = await kms.send(new ListResourceTagsCommand({ KeyId: meta.KeyId }));
      assert.deepEqual(
        [...(Tags ?? [])].sort((x, y) => (x.TagKey ?? '').localeCompare(y.TagKey ?? '')),
        [
          { TagKey: 'empty', TagValue: '' },
          { TagKey: 'team', TagValue: 'payroll' },
        ],
      );
    });

    it('accepts the deprecated CustomerMasterKeySpec as a synonym of KeySpec', async () => {
      const meta = await createKey({ CustomerMasterKeySpec: 'SYMMETRIC_DEFAULT' });
      assert.equal(meta.KeySpec, 'SYMMETRIC_DEFAULT');
      assert.equal(meta.CustomerMasterKeySpec, 'SYMMETRIC_DEFAULT');
    });

    /** A refused CreateKey answers as AWS does and leaves no key behind. */
    async function refused(input: CreateKeyCommandInput, name: string, message: string | RegExp) {
      const keysBefore = await allKeyIds();
      await rejectsWith(kms.send(new CreateKeyCommand(input)), name, message);
      assert.deepEqual(await allKeyIds(), keysBefore, `CreateKey(${JSON.stringify(input)}) left a key behind`);
    }

    it('refuses a KeyUsage the KeySpec cannot have', async () => {
      await refused(
        { KeyUsage: 'SIGN_VERIFY' },
        'ValidationException',
        'KeyUsage SIGN_VERIFY is not compatible with KeySpec SYMMETRIC_DEFAULT',
      );
      await refused(
        { KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'GENERATE_VERIFY_MAC' },
        'ValidationException',
        'KeyUsage GENERATE_VERIFY_MAC is not compatible with KeySpec SYMMETRIC_DEFAULT',
      );
      await refused(
        { KeySpec: 'SYMMETRIC_DEFAULT', CustomerMasterKeySpec: 'RSA_2048' },
        'ValidationException',
        'You cannot specify KeySpec and CustomerMasterKeySpec with different values.',
      );
    });

    it('refuses an HMAC or asymmetric KeySpec without an explicit KeyUsage', async () => {
      for (const spec of ['HMAC_256', 'RSA_2048', 'ECC_NIST_P256'] as const) {
        await refused(
          { KeySpec: spec },
          'ValidationException',
          'You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys.',
        );
      }
    });

    it('refuses values outside the model: enums and lengths', async () => {
      await refused(
        { KeyUsage: 'RANDOM' as never },
        'ValidationException',
        enumMessage('RANDOM', 'keyUsage', ['SIGN_VERIFY', 'ENCRYPT_DECRYPT', 'GENERATE_VERIFY_MAC', 'KEY_AGREEMENT']),
      );
      await refused(
        { KeySpec: 'HMAC_random' as never },
        'ValidationException',
        enumMessage('HMAC_random', 'keySpec', ['SYMMETRIC_DEFAULT', 'RSA_2048', 'HMAC_256', 'ECC_NIST_P256']),
      );
      const longDescription = 'd'.repeat(8193);
      await refused(
        { Description: longDescription },
        'ValidationException',
        `1 validation error detected: Value '${longDescription}' at 'description' failed to satisfy constraint: ` +
          'Member must have length less than or equal to 8192',
      );
    });

    it('refuses a policy that is not a policy document', async () => {
      await refused(
        { Policy: 'this is not JSON' },
        'MalformedPolicyDocumentException',
        /^The policy is not valid JSON/,
      );
      await refused(
        { Policy: JSON.stringify({ Version: '2012-10-17', Statement: [] }) },
        'MalformedPolicyDocumentException',
        'The policy must contain at least one Statement.',
      );
    });

    it('refuses reserved, duplicate, too long and too many tags', async () => {
      await refused(
        { Tags: [{ TagKey: 'aws:owner', TagValue: 'x' }] },
        'TagException',
        'Tags beginning with aws: are reserved',
      );
      await refused(
        {
          Tags: [
            { TagKey: 'k', TagValue: '1' },
            { TagKey: 'k', TagValue: '2' },
          ],
        },
        'TagException',
        'Duplicate tag keys',
      );
      const longKey = 'a'.repeat(129);
      await refused(
        { Tags: [{ TagKey: longKey, TagValue: 'v' }] },
        'ValidationException',
        `1 validation error detected: Value '${longKey}' at 'tags.1.member.tagKey' failed to satisfy constraint: ` +
          'Member must have length less than or equal to 128',
      );
      const tooMany = Array.from({ length: 51 }, (_, i) => ({ TagKey: `t${i}`, TagValue: 'v' }));
      await refused({ Tags: tooMany }, 'TagException', 'Too many tags');
    });

    it('accepts exactly 50 tags', async () => {
      const fifty = Array.from({ length: 50 }, (_, i) => ({ TagKey: `t${i}`, TagValue: `v${i}` }));
      const meta = await createKey({ Tags: fifty });
      const { Tags } = await kms.send(new ListResourceTagsCommand({ KeyId: meta.KeyId }));
      assert.equal(Tags?.length, 50);
    });
  });

  describe('DescribeKey', () => {
    it('finds a key by key id, key ARN, alias name and alias ARN', async () => {
      const meta = await createKey({ Description: 'four names' });
      const alias = uniqueAlias('describe');
      await kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: meta.KeyId }));
      const aliasArn = `arn:aws:kms:${REGION}:${ACCOUNT}:${alias}`;

      for (const name of [meta.KeyId ?? '', meta.Arn ?? '', alias, aliasArn]) {
        assert.deepEqual(await describeKey(name), meta, `DescribeKey(${name})`);
      }
    });

    it('answers NotFoundException in AWS words for unknown, foreign-region and malformed ids', async () => {
      const unknown = randomUUID();
      await rejectsWith(
        kms.send(new DescribeKeyCommand({ KeyId: unknown })),
        'NotFoundException',
        `Key '${arnOf(unknown)}' does not exist`,
      );
      await rejectsWith(
        kms.send(new DescribeKeyCommand({ KeyId: arnOf(unknown) })),
        'NotFoundException',
        `Key '${arnOf(unknown)}' does not exist`,
      );

      // A key that exists, but in another region: by id it is unknown here, by ARN the ARN is.
      const west = server.client({ region: 'us-west-2' });
      try {
        const { KeyMetadata } = await west.send(new CreateKeyCommand({}));
        const westId = KeyMetadata?.KeyId ?? '';
        assert.equal(KeyMetadata?.Arn, arnOf(westId, 'us-west-2'));
        await rejectsWith(
          kms.send(new DescribeKeyCommand({ KeyId: westId })),
          'NotFoundException',
          `Key '${arnOf(westId)}' does not exist`,
        );
        await rejectsWith(
          kms.send(new DescribeKeyCommand({ KeyId: arnOf(westId, 'us-west-2') })),
          'NotFoundException',
          'Invalid arn us-west-2',
        );
        assert.ok(!(await allKeyIds()).includes(westId), 'a us-west-2 key is listed in us-east-1');
      } finally {
        west.destroy();
      }

      for (const bad of ['fake-key-id', '134f2428cec14b25a1ae9048164dba47', 'mrk-fake-key-id']) {
        await rejectsWith(
          kms.send(new DescribeKeyCommand({ KeyId: bad })),
          'NotFoundException',
          `Invalid keyId '${bad}'`,
        );
      }

      const missingAlias = uniqueAlias('missing');
      await rejectsWith(
        kms.send(new DescribeKeyCommand({ KeyId: missingAlias })),
        'NotFoundException',
        `Alias arn:aws:kms:${REGION}:${ACCOUNT}:${missingAlias} is not found.`,
      );
      await rejectsWith(
        kms.send(new DescribeKeyCommand({} as never)),
        'ValidationException',
        "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null",
      );
    });
  });

  describe('ListKeys', () => {
    it('pages through every key with Limit and Marker', async () => {
      for (let i = 0; i < 5; i++) await createKey();
      const all = await allKeyIds();
      assert.ok(all.length >= 5);

      const paged: string[] = [];
      let marker: string | undefined;
      let pages = 0;
      for (;;) {
        const page = await kms.send(new ListKeysCommand({ Limit: 2, Marker: marker }));
        pages++;
        assert.ok((page.Keys ?? []).length <= 2);
        for (const k of page.Keys ?? []) {
          assert.equal(k.KeyArn, arnOf(k.KeyId ?? ''));
          paged.push(k.KeyId ?? '');
        }
        if (page.Truncated !== true) {
          assert.equal(page.Truncated, false);
          assert.equal(page.NextMarker, undefined);
          break;
        }
        assert.equal(page.Keys?.length, 2, 'a truncated page is full');
        assert.ok(typeof page.NextMarker === 'string' && page.NextMarker.length > 0);
        marker = page.NextMarker;
      }
      assert.deepEqual(paged, all);
      assert.equal(pages, Math.ceil(all.length / 2));
      assert.equal(new Set(paged).size, paged.length, 'a key was listed twice');

      const one = await kms.send(new ListKeysCommand({ Limit: 1 }));
      assert.equal(one.Keys?.length, 1);
      assert.equal(one.Truncated, true);
    });

    it('refuses a bad Marker with InvalidMarkerException, and a Limit out of range', async () => {
      for (const marker of ['not-a-marker', 'x', '%%%']) {
        await rejectsWith(
          kms.send(new ListKeysCommand({ Marker: marker })),
          'InvalidMarkerException',
          'The marker is not valid for this request.',
        );
      }
      // A marker from another listing is no marker for this one.
      const alias = uniqueAlias('marker');
      const key = await createKey();
      await kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: key.KeyId }));
      await kms.send(new CreateAliasCommand({ AliasName: `${alias}-2`, TargetKeyId: key.KeyId }));
      const aliases = await kms.send(new ListAliasesCommand({ Limit: 1 }));
      assert.equal(aliases.Truncated, true);
      await rejectsWith(
        kms.send(new ListKeysCommand({ Marker: aliases.NextMarker })),
        'InvalidMarkerException',
        'The marker is not valid for this request.',
      );

      await rejectsWith(
        kms.send(new ListKeysCommand({ Limit: 0 })),
        'ValidationException',
        "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1",
      );
      await rejectsWith(
        kms.send(new ListKeysCommand({ Limit: 1001 })),
        'ValidationException',
        "1 validation error detected: Value '1001' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 1000",
      );
    });
  });

  describe('lifecycle', () => {
    it('disables and enables a key, idempotently', async () => {
      const { KeyId, Arn } = await createKey();
      await kms.send(new DisableKeyCommand({ KeyId }));
      let meta = await describeKey(KeyId ?? '');
      assert.equal(meta.KeyState, 'Disabled');
      assert.equal(meta.Enabled, false);

      await kms.send(new DisableKeyCommand({ KeyId: Arn })); // by ARN, and again
      assert.equal((await describeKey(KeyId ?? '')).KeyState, 'Disabled');

      await kms.send(new EnableKeyCommand({ KeyId: Arn }));
      meta = await describeKey(KeyId ?? '');
      assert.equal(meta.KeyState, 'Enabled');
      assert.equal(meta.Enabled, true);
      await kms.send(new EnableKeyCommand({ KeyId }));
      assert.equal((await describeKey(KeyId ?? '')).KeyState, 'Enabled');
    });

    it('takes only a key id or key ARN for key management, not an alias', async () => {
      const { KeyId } = await createKey();
      const alias = uniqueAlias('manage');
      await kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: KeyId }));
      await rejectsWith(
        kms.send(new DisableKeyCommand({ KeyId: alias })),
        'NotFoundException',
        `Invalid keyId '${alias}'`,
      );
      assert.equal((await describeKey(KeyId ?? '')).KeyState, 'Enabled');
    });

    it('updates the description, in any state but pending deletion', async () => {
      const { KeyId } = await createKey({ Description: 'old' });
      await kms.send(new UpdateKeyDescriptionCommand({ KeyId, Description: 'new words' }));
      assert.equal((await describeKey(KeyId ?? '')).Description, 'new words');

      await kms.send(new DisableKeyCommand({ KeyId }));
      await kms.send(new UpdateKeyDescriptionCommand({ KeyId, Description: '' }));
      assert.equal((await describeKey(KeyId ?? '')).Description, '');

      const { KeyId: arn } = await kms.send(new ScheduleKeyDeletionCommand({ KeyId, PendingWindowInDays: 7 }));
      await rejectsWith(
        kms.send(new UpdateKeyDescriptionCommand({ KeyId, Description: 'too late' })),
        'KMSInvalidStateException',
        `${arn} is pending deletion.`,
      );
      assert.equal((await describeKey(KeyId ?? '')).Description, '');
    });

    it('schedules deletion 7 to 30 days ahead, 30 by default', async () => {
      for (const days of [7, 30, undefined]) {
        const { KeyId, Arn } = await createKey();
        const before = Date.now();
        const out = await kms.send(new ScheduleKeyDeletionCommand({ KeyId, PendingWindowInDays: days }));
        const afterCall = Date.now();
        const window = days ?? 30;
        assert.equal(out.KeyId, Arn);
        assert.equal(out.KeyState, 'PendingDeletion');
        assert.equal(out.PendingWindowInDays, window);
        assert.ok(out.DeletionDate instanceof Date);
        const due = out.DeletionDate.getTime();
        assert.ok(
          due >= before + window * DAY_MS - 1000 && due <= afterCall + window * DAY_MS + 1000,
          `DeletionDate ${out.DeletionDate.toISOString()} is not ${window} days ahead`,
        );

        const meta = await describeKey(KeyId ?? '');
        assert.equal(meta.KeyState, 'PendingDeletion');
        assert.equal(meta.Enabled, false);
        assert.deepEqual(meta.DeletionDate, out.DeletionDate);
        // Only PendingReplicaDeletion shows the window in KeyMetadata (reference §2.4).
        assert.equal(meta.PendingDeletionWindowInDays, undefined);
      }
    });

    it('refuses a waiting period outside 7-30 days and leaves the key as it was', async () => {
      const { KeyId } = await createKey();
      for (const days of [6, 31, 1, 365]) {
        await rejectsWith(
          kms.send(new ScheduleKeyDeletionCommand({ KeyId, PendingWindowInDays: days })),
          'ValidationException',
          `PendingWindowInDays should be between 7 and 30, but it is ${days}`,
        );
      }
      await rejectsWith(
        kms.send(new ScheduleKeyDeletionCommand({ KeyId, PendingWindowInDays: 0 })),
        'ValidationException',
        "1 validation error detected: Value '0' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value greater than or equal to 1",
      );
      await rejectsWith(
        kms.send(new ScheduleKeyDeletionCommand({ KeyId, PendingWindowInDays: 366 })),
        'ValidationException',
        "1 validation error detected: Value '366' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value less than or equal to 365",
      );
      const meta = await describeKey(KeyId ?? '');
      assert.equal(meta.KeyState, 'Enabled');
      assert.equal(meta.DeletionDate, undefined);
    });

    it('cancels a deletion, leaving the key Disabled, and refuses what a pending key cannot do', async () => {
      const { KeyId, Arn } = await createKey();
      await rejectsWith(
        kms.send(new CancelKeyDeletionCommand({ KeyId })),
        'KMSInvalidStateException',
        `${Arn} is not pending deletion.`,
      );

      await kms.send(new ScheduleKeyDeletionCommand({ KeyId, PendingWindowInDays: 7 }));
      await rejectsWith(
        kms.send(new ScheduleKeyDeletionCommand({ KeyId, PendingWindowInDays: 8 })),
        'KMSInvalidStateException',
        `${Arn} is pending deletion.`,
      );
      for (const command of [new EnableKeyCommand({ KeyId }), new DisableKeyCommand({ KeyId })]) {
        await rejectsWith(kms.send(command), 'KMSInvalidStateException', `${Arn} is pending deletion.`);
      }
      // DescribeKey and ListKeys still see it.
      assert.equal((await describeKey(Arn ?? '')).KeyState, 'PendingDeletion');
      assert.ok((await allKeyIds()).includes(KeyId ?? ''));

      const out = await kms.send(new CancelKeyDeletionCommand({ KeyId: Arn }));
      assert.equal(out.KeyId, Arn);
      const meta = await describeKey(KeyId ?? '');
      assert.equal(meta.KeyState, 'Disabled');
      assert.equal(meta.Enabled, false);
      assert.equal(meta.DeletionDate, undefined);

      await kms.send(new EnableKeyCommand({ KeyId }));
      assert.equal((await describeKey(KeyId ?? '')).KeyState, 'Enabled');
    });

    it('answers NotFoundException for lifecycle calls on a key that does not exist', async () => {
      const unknown = randomUUID();
      const message = `Key '${arnOf(unknown)}' does not exist`;
      await rejectsWith(kms.send(new EnableKeyCommand({ KeyId: unknown })), 'NotFoundException', message);
      await rejectsWith(kms.send(new DisableKeyCommand({ KeyId: unknown })), 'NotFoundException', message);
      await rejectsWith(
        kms.send(new ScheduleKeyDeletionCommand({ KeyId: arnOf(unknown) })),
        'NotFoundException',
        message,
      );
      await rejectsWith(kms.send(new CancelKeyDeletionCommand({ KeyId: unknown })), 'NotFoundException', message);
      await rejectsWith(
        kms.send(new UpdateKeyDescriptionCommand({ KeyId: unknown, Description: 'x' })),
        'NotFoundException',
        message,
      );
    });
  });
});

describe('the key quota through the AWS SDK', { timeout: 120_000 }, () => {
  let server: TestServer;
  let kms: KMSClient;
  const QUOTA = 3;

  before(async () => {
    server = await startServer({ env: { TRENT_KEY_QUOTA: String(QUOTA) } });
    kms = server.client();
  });

  after(async () => {
    kms?.destroy();
    await server?.destroy();
  });

  it('refuses a key past the quota of its account and Region, counting keys pending deletion', async () => {
    const { Keys = [] } = await kms.send(new ListKeysCommand({}));
    const created: string[] = [];
    for (let i = Keys.length; i < QUOTA; i++) {
      const { KeyMetadata } = await kms.send(new CreateKeyCommand({}));
      assert.ok(KeyMetadata?.KeyId !== undefined);
      created.push(KeyMetadata.KeyId);
    }
    const message = `The request would exceed the quota of ${QUOTA} KMS keys in this account and Region.`;
    await rejectsWith(kms.send(new CreateKeyCommand({})), 'LimitExceededException', message);
    // A key pending deletion still counts, as in AWS.
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: created[0], PendingWindowInDays: 7 }));
    await rejectsWith(kms.send(new CreateKeyCommand({})), 'LimitExceededException', message);
    // Another Region of the account has a quota of its own.
    const elsewhere = server.client({ region: 'eu-west-1' });
    try {
      const { KeyMetadata } = await elsewhere.send(new CreateKeyCommand({}));
      assert.match(KeyMetadata?.Arn ?? '', /^arn:aws:kms:eu-west-1:/);
    } finally {
      elsewhere.destroy();
    }
    const { Keys: after = [] } = await kms.send(new ListKeysCommand({}));
    assert.equal(after.length, QUOTA);
  });
});

/**
 * AWS's enum violation message. AWS prints the allowed values in no fixed order (Appendix A shows
 * a hash-set order), so the values are checked as a set.
 */
function enumMessage(value: string, member: string, values: string[]): RegExp {
  const each = values.map((v) => `(?=[^\\]]*\\b${v}\\b)`).join('');
  return new RegExp(
    `^1 validation error detected: Value '${value}' at '${member}' failed to satisfy constraint: ` +
      `Member must satisfy enum value set: \\[${each}[A-Z0-9_, ]+\\]$`,
  );
}
