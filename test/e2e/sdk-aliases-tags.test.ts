import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  type AliasListEntry,
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DeleteAliasCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EncryptCommand,
  type KeyMetadata,
  type KMSClient,
  ListAliasesCommand,
  ListResourceTagsCommand,
  ScheduleKeyDeletionCommand,
  type Tag,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateAliasCommand,
} from '@aws-sdk/client-kms';
import { REGION, startServer, type TestServer } from '../helpers/server.js';
import { bytes, rejectsWith, uniqueAlias } from './sdk-assert.js';

/**
 * Aliases and tags through @aws-sdk/client-kms against a real Trent process: naming keys,
 * moving and removing names, listing and paging, the naming rules and quotas; tagging with AWS's
 * upsert semantics, reserved prefixes and the 50-tag limit.
 */

const ACCOUNT = '111122223333';
const ALIAS_PREFIX_MESSAGE =
  'Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html';

describe('aliases and tags through the AWS SDK', { timeout: 120_000 }, () => {
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

  async function createKey(): Promise<KeyMetadata> {
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({}));
    assert.ok(KeyMetadata?.KeyId !== undefined && KeyMetadata.Arn !== undefined);
    return KeyMetadata;
  }

  const aliasArn = (name: string) => `arn:aws:kms:${REGION}:${ACCOUNT}:${name}`;
  const keyArn = (keyId: string) => `arn:aws:kms:${REGION}:${ACCOUNT}:key/${keyId}`;

  /** Every page of a listing, following NextMarker, checking the paging members as it goes. */
  async function allAliases(keyId?: string, limit?: number): Promise<AliasListEntry[]> {
    const entries: AliasListEntry[] = [];
    let marker: string | undefined;
    for (;;) {
      const page = await kms.send(new ListAliasesCommand({ KeyId: keyId, Limit: limit, Marker: marker }));
      entries.push(...(page.Aliases ?? []));
      if (page.Truncated !== true) {
        assert.equal(page.Truncated, false);
        assert.equal(page.NextMarker, undefined);
        return entries;
      }
      if (limit !== undefined) assert.equal(page.Aliases?.length, limit, 'a truncated page is full');
      assert.ok(page.NextMarker !== undefined);
      marker = page.NextMarker;
    }
  }

  async function targetOf(alias: string): Promise<string | undefined> {
    const { KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId: alias }));
    return KeyMetadata?.KeyId;
  }

  async function tagsOf(keyId: string): Promise<Tag[]> {
    const { Tags, Truncated } = await kms.send(new ListResourceTagsCommand({ KeyId: keyId }));
    assert.equal(Truncated, false);
    return [...(Tags ?? [])].sort((a, b) => ((a.TagKey ?? '') < (b.TagKey ?? '') ? -1 : 1));
  }

  describe('aliases', () => {
    it('CreateAlias names a key for DescribeKey and Encrypt, and ListAliases shows it', async () => {
      const key = await createKey();
      const alias = uniqueAlias('named');
      const before = Date.now();
      await kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: key.KeyId }));

      assert.equal(await targetOf(alias), key.KeyId);
      assert.equal(await targetOf(aliasArn(alias)), key.KeyId);
      const out = await kms.send(new EncryptCommand({ KeyId: alias, Plaintext: Buffer.from('named') }));
      assert.equal(out.KeyId, key.Arn);

      const entry = (await allAliases()).find((a) => a.AliasName === alias);
      assert.ok(entry !== undefined, `${alias} is not listed`);
      assert.equal(entry.AliasArn, aliasArn(alias));
      assert.equal(entry.TargetKeyId, key.KeyId, 'TargetKeyId is the bare key id');
      assert.ok(entry.CreationDate instanceof Date && entry.LastUpdatedDate instanceof Date);
      assert.ok(Math.abs(entry.CreationDate.getTime() - before) < 5000);
      assert.deepEqual(entry.LastUpdatedDate, entry.CreationDate);
    });

    it('CreateAlias takes a key ARN as target, and alias names are per region', async () => {
      const key = await createKey();
      const alias = uniqueAlias('by-arn');
      await kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: key.Arn }));
      assert.equal(await targetOf(alias), key.KeyId);

      // The same name is free in another region, and names another key there.
      const west = server.client({ region: 'us-west-2' });
      try {
        const { KeyMetadata } = await west.send(new CreateKeyCommand({}));
        await west.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: KeyMetadata?.KeyId }));
        const described = await west.send(new DescribeKeyCommand({ KeyId: alias }));
        assert.equal(described.KeyMetadata?.KeyId, KeyMetadata?.KeyId);
        assert.equal(await targetOf(alias), key.KeyId);
      } finally {
        west.destroy();
      }
    });

    it('UpdateAlias moves the name to another key; ciphertexts made through it still decrypt', async () => {
      const first = await createKey();
      const second = await createKey();
      const alias = uniqueAlias('moving');
      await kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: first.KeyId }));
      const old = await kms.send(new EncryptCommand({ KeyId: alias, Plaintext: Buffer.from('before the move') }));
      const created = (await allAliases(first.KeyId)).find((a) => a.AliasName === alias);

      await kms.send(new UpdateAliasCommand({ AliasName: alias, TargetKeyId: second.Arn }));
      assert.equal(await targetOf(alias), second.KeyId);
      const fresh = await kms.send(new EncryptCommand({ KeyId: alias, Plaintext: Buffer.from('after the move') }));
      assert.equal(fresh.KeyId, second.Arn);

      const dec = await kms.send(new DecryptCommand({ CiphertextBlob: old.CiphertextBlob }));
      assert.equal(dec.KeyId, first.Arn);
      assert.deepEqual(bytes(dec.Plaintext), Buffer.from('before the move'));

      assert.deepEqual(await allAliases(first.KeyId), []);
      const moved = (await allAliases(second.KeyId)).find((a) => a.AliasName === alias);
      assert.ok(moved !== undefined && created !== undefined);
      assert.equal(moved.TargetKeyId, second.KeyId);
      assert.deepEqual(moved.CreationDate, created.CreationDate);
      assert.ok((moved.LastUpdatedDate?.getTime() ?? 0) >= (created.CreationDate?.getTime() ?? Infinity));
    });

    it('UpdateAlias answers NotFoundException for an unknown alias or target', async () => {
      const key = await createKey();
      const missing = uniqueAlias('missing');
      await rejectsWith(
        kms.send(new UpdateAliasCommand({ AliasName: missing, TargetKeyId: key.KeyId })),
        'NotFoundException',
        `Alias ${aliasArn(missing)} is not found.`,
      );
      const alias = uniqueAlias('stays');
      await kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: key.KeyId }));
      const unknown = randomUUID();
      await rejectsWith(
        kms.send(new UpdateAliasCommand({ AliasName: alias, TargetKeyId: unknown })),
        'NotFoundException',
        `Key '${keyArn(unknown)}' does not exist`,
      );
      assert.equal(await targetOf(alias), key.KeyId);
    });

    it('DeleteAlias removes the name and leaves the key', async () => {
      const key = await createKey();
      const alias = uniqueAlias('doomed');
      await kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: key.KeyId }));
      await kms.send(new DeleteAliasCommand({ AliasName: alias }));

      await rejectsWith(
        kms.send(new DescribeKeyCommand({ KeyId: alias })),
        'NotFoundException',
        `Alias ${aliasArn(alias)} is not found.`,
      );
      assert.equal((await kms.send(new DescribeKeyCommand({ KeyId: key.KeyId }))).KeyMetadata?.KeyState, 'Enabled');
      assert.ok(!(await allAliases()).some((a) => a.AliasName === alias));
      await rejectsWith(
        kms.send(new DeleteAliasCommand({ AliasName: alias })),
        'NotFoundException',
        `Alias ${aliasArn(alias)} is not found.`,
      );
      // The name is free again.
      await kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: key.KeyId }));
      assert.equal(await targetOf(alias), key.KeyId);
    });

    it('ListAliases filters by KeyId and pages with Limit and Marker', async () => {
      const key = await createKey();
      const other = await createKey();
      const mine = Array.from({ length: 5 }, (_, i) => uniqueAlias(`page${i}`));
      for (const name of mine) await kms.send(new CreateAliasCommand({ AliasName: name, TargetKeyId: key.KeyId }));
      await kms.send(new CreateAliasCommand({ AliasName: uniqueAlias('elsewhere'), TargetKeyId: other.KeyId }));

      const byId = await allAliases(key.KeyId);
      assert.deepEqual(byId.map((a) => a.AliasName).sort(), [...mine].sort());
      assert.ok(byId.every((a) => a.TargetKeyId === key.KeyId));
      assert.deepEqual(await allAliases(key.Arn), byId);

      const paged = await allAliases(key.KeyId, 2);
      assert.deepEqual(paged, byId);

      const everything = await allAliases();
      assert.deepEqual(await allAliases(undefined, 3), everything);
      assert.equal(new Set(everything.map((a) => a.AliasName)).size, everything.length);
      for (const name of mine) assert.ok(everything.some((a) => a.AliasName === name));
    });

    it('ListAliases refuses a bad Marker, a marker of another listing, and an unknown KeyId', async () => {
      const key = await createKey();
      for (let i = 0; i < 3; i++) {
        await kms.send(new CreateAliasCommand({ AliasName: uniqueAlias('marker'), TargetKeyId: key.KeyId }));
      }
      await rejectsWith(
        kms.send(new ListAliasesCommand({ Marker: 'garbage' })),
        'InvalidMarkerException',
        'The marker is not valid for this request.',
      );
      const filtered = await kms.send(new ListAliasesCommand({ KeyId: key.KeyId, Limit: 1 }));
      assert.equal(filtered.Truncated, true);
      await rejectsWith(
        kms.send(new ListAliasesCommand({ Marker: filtered.NextMarker })),
        'InvalidMarkerException',
        'The marker is not valid for this request.',
      );
      const rest = await kms.send(new ListAliasesCommand({ KeyId: key.KeyId, Marker: filtered.NextMarker }));
      assert.equal(rest.Aliases?.length, 2);

      const unknown = randomUUID();
      await rejectsWith(
        kms.send(new ListAliasesCommand({ KeyId: unknown })),
        'NotFoundException',
        `Key '${keyArn(unknown)}' does not exist`,
      );
      await rejectsWith(
        kms.send(new ListAliasesCommand({ Limit: 0 })),
        'ValidationException',
        "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: " +
          'Member must have value greater than or equal to 1',
      );
    });

    it('refuses a duplicate name with AlreadyExistsException and keeps the first target', async () => {
      const first = await createKey();
      const second = await createKey();
      const alias = uniqueAlias('taken');
      await kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: first.KeyId }));
      for (const target of [second.KeyId, first.KeyId]) {
        await rejectsWith(
          kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: target })),
          'AlreadyExistsException',
          `An alias with the name ${aliasArn(alias)} already exists`,
        );
      }
      assert.equal(await targetOf(alias), first.KeyId);
    });

    it('refuses names without alias/, reserved alias/aws/ names, empty names and bad characters', async () => {
      const key = await createKey();
      const before = await allAliases();

      for (const name of ['no-prefix', 'Alias/upper', 'aliasx/name']) {
        await rejectsWith(
          kms.send(new CreateAliasCommand({ AliasName: name, TargetKeyId: key.KeyId })),
          'ValidationException',
          ALIAS_PREFIX_MESSAGE,
        );
      }
      await rejectsWith(
        kms.send(new UpdateAliasCommand({ AliasName: 'no-prefix', TargetKeyId: key.KeyId })),
        'ValidationException',
        ALIAS_PREFIX_MESSAGE,
      );
      await rejectsWith(
        kms.send(new DeleteAliasCommand({ AliasName: 'no-prefix' })),
        'ValidationException',
        ALIAS_PREFIX_MESSAGE,
      );

      for (const name of ['alias/aws/ebs', 'alias/aws/my-own']) {
        await rejectsWith(
          kms.send(new CreateAliasCommand({ AliasName: name, TargetKeyId: key.KeyId })),
          'InvalidAliasNameException',
          `Alias name ${name} is not valid: names beginning with alias/aws/ are reserved for AWS managed keys.`,
        );
      }
      await rejectsWith(
        kms.send(new CreateAliasCommand({ AliasName: 'alias/', TargetKeyId: key.KeyId })),
        'InvalidAliasNameException',
        'Alias name alias/ is not valid: it has no name after "alias/".',
      );
      await rejectsWith(
        kms.send(new CreateAliasCommand({ AliasName: 'alias/has space', TargetKeyId: key.KeyId })),
        'ValidationException',
        "1 validation error detected: Value 'alias/has space' at 'aliasName' failed to satisfy constraint: " +
          'Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$',
      );
      const long = `alias/${'a'.repeat(251)}`;
      await rejectsWith(
        kms.send(new CreateAliasCommand({ AliasName: long, TargetKeyId: key.KeyId })),
        'ValidationException',
        `1 validation error detected: Value '${long}' at 'aliasName' failed to satisfy constraint: ` +
          'Member must have length less than or equal to 256',
      );
      const longest = `alias/${'a'.repeat(250)}`;
      await kms.send(new CreateAliasCommand({ AliasName: longest, TargetKeyId: key.KeyId }));

      const afterwards = await allAliases();
      assert.deepEqual(
        afterwards.map((a) => a.AliasName).filter((n) => n !== longest),
        before.map((a) => a.AliasName),
      );
    });

    it('allows 50 aliases per key, then LimitExceededException', async () => {
      const key = await createKey();
      const names = Array.from({ length: 50 }, (_, i) => uniqueAlias(`fifty${i}`));
      for (const name of names) await kms.send(new CreateAliasCommand({ AliasName: name, TargetKeyId: key.KeyId }));
      assert.equal((await allAliases(key.KeyId)).length, 50);

      const oneMore = uniqueAlias('fifty-first');
      const limit = `The key ${key.Arn} already has 50 aliases.`;
      await rejectsWith(
        kms.send(new CreateAliasCommand({ AliasName: oneMore, TargetKeyId: key.KeyId })),
        'LimitExceededException',
        limit,
      );
      // Moving a 51st name onto the full key is refused the same way.
      const other = await createKey();
      await kms.send(new CreateAliasCommand({ AliasName: oneMore, TargetKeyId: other.KeyId }));
      await rejectsWith(
        kms.send(new UpdateAliasCommand({ AliasName: oneMore, TargetKeyId: key.KeyId })),
        'LimitExceededException',
        limit,
      );
      assert.equal(await targetOf(oneMore), other.KeyId);
      assert.equal((await allAliases(key.KeyId)).length, 50);
      // Pointing one of its own names at it again is no new alias.
      await kms.send(new UpdateAliasCommand({ AliasName: names[0] ?? '', TargetKeyId: key.KeyId }));

      await kms.send(new DeleteAliasCommand({ AliasName: names[0] ?? '' }));
      await kms.send(new UpdateAliasCommand({ AliasName: oneMore, TargetKeyId: key.KeyId }));
      assert.equal((await allAliases(key.KeyId)).length, 50);
    });

    it('a key pending deletion keeps its aliases but takes no new ones', async () => {
      const doomed = await createKey();
      const healthy = await createKey();
      const kept = uniqueAlias('kept');
      const moved = uniqueAlias('moved');
      const removed = uniqueAlias('removed');
      for (const name of [kept, moved, removed]) {
        await kms.send(new CreateAliasCommand({ AliasName: name, TargetKeyId: doomed.KeyId }));
      }
      await kms.send(new ScheduleKeyDeletionCommand({ KeyId: doomed.KeyId, PendingWindowInDays: 7 }));
      const pending = `${doomed.Arn} is pending deletion.`;

      await rejectsWith(
        kms.send(new CreateAliasCommand({ AliasName: uniqueAlias('late'), TargetKeyId: doomed.KeyId })),
        'KMSInvalidStateException',
        pending,
      );
      const healthyAlias = uniqueAlias('healthy');
      await kms.send(new CreateAliasCommand({ AliasName: healthyAlias, TargetKeyId: healthy.KeyId }));
      await rejectsWith(
        kms.send(new UpdateAliasCommand({ AliasName: healthyAlias, TargetKeyId: doomed.KeyId })),
        'KMSInvalidStateException',
        pending,
      );
      assert.equal(await targetOf(healthyAlias), healthy.KeyId);

      // The alias still names the key: DescribeKey works, cryptography is refused.
      const described = await kms.send(new DescribeKeyCommand({ KeyId: kept }));
      assert.equal(described.KeyMetadata?.KeyState, 'PendingDeletion');
      await rejectsWith(
        kms.send(new EncryptCommand({ KeyId: kept, Plaintext: Buffer.from('x') })),
        'KMSInvalidStateException',
        pending,
      );
      assert.deepEqual((await allAliases(doomed.KeyId)).map((a) => a.AliasName).sort(), [kept, moved, removed].sort());

      // An alias may leave a doomed key, and may be deleted.
      await kms.send(new UpdateAliasCommand({ AliasName: moved, TargetKeyId: healthy.KeyId }));
      assert.equal(await targetOf(moved), healthy.KeyId);
      await kms.send(new DeleteAliasCommand({ AliasName: removed }));
      assert.deepEqual(
        (await allAliases(doomed.KeyId)).map((a) => a.AliasName),
        [kept],
      );
    });
  });

  describe('tags', () => {
    it('TagResource adds, ListResourceTags lists and UntagResource removes', async () => {
      const key = await createKey();
      assert.deepEqual(await tagsOf(key.KeyId ?? ''), []);
      await kms.send(
        new TagResourceCommand({
          KeyId: key.KeyId,
          Tags: [
            { TagKey: 'project', TagValue: 'apollo' },
            { TagKey: 'Project', TagValue: 'case matters' },
            { TagKey: 'empty', TagValue: '' },
          ],
        }),
      );
      await kms.send(new TagResourceCommand({ KeyId: key.Arn, Tags: [{ TagKey: 'cost-center', TagValue: '42' }] }));
      assert.deepEqual(await tagsOf(key.Arn ?? ''), [
        { TagKey: 'Project', TagValue: 'case matters' },
        { TagKey: 'cost-center', TagValue: '42' },
        { TagKey: 'empty', TagValue: '' },
        { TagKey: 'project', TagValue: 'apollo' },
      ]);

      await kms.send(new UntagResourceCommand({ KeyId: key.Arn, TagKeys: ['project', 'empty'] }));
      assert.deepEqual(await tagsOf(key.KeyId ?? ''), [
        { TagKey: 'Project', TagValue: 'case matters' },
        { TagKey: 'cost-center', TagValue: '42' },
      ]);
    });

    it('TagResource replaces the value of a tag key the key already has', async () => {
      const key = await createKey();
      await kms.send(new TagResourceCommand({ KeyId: key.KeyId, Tags: [{ TagKey: 'env', TagValue: 'test' }] }));
      await kms.send(
        new TagResourceCommand({
          KeyId: key.KeyId,
          Tags: [
            { TagKey: 'env', TagValue: 'prod' },
            { TagKey: 'owner', TagValue: 'ops' },
          ],
        }),
      );
      assert.deepEqual(await tagsOf(key.KeyId ?? ''), [
        { TagKey: 'env', TagValue: 'prod' },
        { TagKey: 'owner', TagValue: 'ops' },
      ]);
    });

    it('UntagResource ignores tag keys the key does not have', async () => {
      const key = await createKey();
      await kms.send(new TagResourceCommand({ KeyId: key.KeyId, Tags: [{ TagKey: 'keep', TagValue: 'me' }] }));
      await kms.send(new UntagResourceCommand({ KeyId: key.KeyId, TagKeys: ['never-there', 'KEEP'] }));
      assert.deepEqual(await tagsOf(key.KeyId ?? ''), [{ TagKey: 'keep', TagValue: 'me' }]);
    });

    it('refuses the reserved aws: prefix and duplicate keys with TagException, changing nothing', async () => {
      const key = await createKey();
      await kms.send(new TagResourceCommand({ KeyId: key.KeyId, Tags: [{ TagKey: 'a', TagValue: '1' }] }));
      await rejectsWith(
        kms.send(
          new TagResourceCommand({
            KeyId: key.KeyId,
            Tags: [
              { TagKey: 'b', TagValue: '2' },
              { TagKey: 'aws:createdBy', TagValue: 'me' },
            ],
          }),
        ),
        'TagException',
        'Tags beginning with aws: are reserved',
      );
      await rejectsWith(
        kms.send(new UntagResourceCommand({ KeyId: key.KeyId, TagKeys: ['a', 'aws:createdBy'] })),
        'TagException',
        'Tags beginning with aws: are reserved',
      );
      await rejectsWith(
        kms.send(
          new TagResourceCommand({
            KeyId: key.KeyId,
            Tags: [
              { TagKey: 'c', TagValue: '1' },
              { TagKey: 'c', TagValue: '2' },
            ],
          }),
        ),
        'TagException',
        'Duplicate tag keys',
      );
      assert.deepEqual(await tagsOf(key.KeyId ?? ''), [{ TagKey: 'a', TagValue: '1' }]);
    });

    it('allows 50 tags per key; a 51st is TagException, an upsert is not', async () => {
      const key = await createKey();
      const fifty = Array.from({ length: 50 }, (_, i) => ({ TagKey: `k${String(i).padStart(2, '0')}`, TagValue: 'v' }));
      await rejectsWith(
        kms.send(new TagResourceCommand({ KeyId: key.KeyId, Tags: [...fifty, { TagKey: 'k50', TagValue: 'v' }] })),
        'TagException',
        'Too many tags',
      );
      assert.deepEqual(await tagsOf(key.KeyId ?? ''), []);

      await kms.send(new TagResourceCommand({ KeyId: key.KeyId, Tags: fifty.slice(0, 30) }));
      await kms.send(new TagResourceCommand({ KeyId: key.KeyId, Tags: fifty.slice(30) }));
      assert.equal((await tagsOf(key.KeyId ?? '')).length, 50);

      await rejectsWith(
        kms.send(new TagResourceCommand({ KeyId: key.KeyId, Tags: [{ TagKey: 'one-more', TagValue: 'v' }] })),
        'TagException',
        'Too many tags',
      );
      await kms.send(new TagResourceCommand({ KeyId: key.KeyId, Tags: [{ TagKey: 'k00', TagValue: 'new value' }] }));
      const tags = await tagsOf(key.KeyId ?? '');
      assert.equal(tags.length, 50);
      assert.deepEqual(tags[0], { TagKey: 'k00', TagValue: 'new value' });

      await kms.send(new UntagResourceCommand({ KeyId: key.KeyId, TagKeys: ['k49'] }));
      await kms.send(new TagResourceCommand({ KeyId: key.KeyId, Tags: [{ TagKey: 'one-more', TagValue: 'v' }] }));
      assert.equal((await tagsOf(key.KeyId ?? '')).length, 50);
    });

    it('refuses tag keys and values over the model lengths', async () => {
      const key = await createKey();
      const longKey = 'k'.repeat(129);
      const longValue = 'v'.repeat(257);
      await rejectsWith(
        kms.send(new TagResourceCommand({ KeyId: key.KeyId, Tags: [{ TagKey: longKey, TagValue: 'v' }] })),
        'ValidationException',
        `1 validation error detected: Value '${longKey}' at 'tags.1.member.tagKey' failed to satisfy constraint: ` +
          'Member must have length less than or equal to 128',
      );
      await rejectsWith(
        kms.send(
          new TagResourceCommand({
            KeyId: key.KeyId,
            Tags: [
              { TagKey: 'ok', TagValue: 'v' },
              { TagKey: 'long', TagValue: longValue },
            ],
          }),
        ),
        'ValidationException',
        `1 validation error detected: Value '${longValue}' at 'tags.2.member.tagValue' failed to satisfy constraint: ` +
          'Member must have length less than or equal to 256',
      );
      await rejectsWith(
        kms.send(new TagResourceCommand({ KeyId: key.KeyId, Tags: [{ TagKey: '', TagValue: 'v' }] })),
        'ValidationException',
        "1 validation error detected: Value '' at 'tags.1.member.tagKey' failed to satisfy constraint: " +
          'Member must have length greater than or equal to 1',
      );
      await kms.send(
        new TagResourceCommand({ KeyId: key.KeyId, Tags: [{ TagKey: 'k'.repeat(128), TagValue: 'v'.repeat(256) }] }),
      );
      assert.deepEqual(await tagsOf(key.KeyId ?? ''), [{ TagKey: 'k'.repeat(128), TagValue: 'v'.repeat(256) }]);
    });

    it('ListResourceTags pages with Limit and Marker', async () => {
      const key = await createKey();
      const tags = Array.from({ length: 7 }, (_, i) => ({ TagKey: `t${i}`, TagValue: `${i}` }));
      await kms.send(new TagResourceCommand({ KeyId: key.KeyId, Tags: tags }));

      const seen: Tag[] = [];
      let marker: string | undefined;
      let pages = 0;
      for (;;) {
        const page = await kms.send(new ListResourceTagsCommand({ KeyId: key.KeyId, Limit: 3, Marker: marker }));
        pages++;
        seen.push(...(page.Tags ?? []));
        if (page.Truncated !== true) {
          assert.equal(page.NextMarker, undefined);
          break;
        }
        assert.equal(page.Tags?.length, 3);
        marker = page.NextMarker;
      }
      assert.equal(pages, 3);
      assert.deepEqual(seen, await tagsOf(key.KeyId ?? ''));

      await rejectsWith(
        kms.send(new ListResourceTagsCommand({ KeyId: key.KeyId, Marker: 'bogus' })),
        'InvalidMarkerException',
        'The marker is not valid for this request.',
      );
      // A marker from one key's tags is no marker for another key's.
      const other = await createKey();
      await kms.send(new TagResourceCommand({ KeyId: other.KeyId, Tags: tags }));
      const first = await kms.send(new ListResourceTagsCommand({ KeyId: key.KeyId, Limit: 1 }));
      await rejectsWith(
        kms.send(new ListResourceTagsCommand({ KeyId: other.KeyId, Marker: first.NextMarker })),
        'InvalidMarkerException',
        'The marker is not valid for this request.',
      );
    });

    it('tags a disabled key, but not one pending deletion, whose tags stay readable', async () => {
      const key = await createKey();
      await kms.send(new DisableKeyCommand({ KeyId: key.KeyId }));
      await kms.send(new TagResourceCommand({ KeyId: key.KeyId, Tags: [{ TagKey: 'state', TagValue: 'disabled' }] }));

      await kms.send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId, PendingWindowInDays: 7 }));
      const pending = `${key.Arn} is pending deletion.`;
      await rejectsWith(
        kms.send(new TagResourceCommand({ KeyId: key.KeyId, Tags: [{ TagKey: 'state', TagValue: 'doomed' }] })),
        'KMSInvalidStateException',
        pending,
      );
      await rejectsWith(
        kms.send(new UntagResourceCommand({ KeyId: key.KeyId, TagKeys: ['state'] })),
        'KMSInvalidStateException',
        pending,
      );
      assert.deepEqual(await tagsOf(key.KeyId ?? ''), [{ TagKey: 'state', TagValue: 'disabled' }]);
    });

    it('answers NotFoundException for the tags of a key that does not exist', async () => {
      const unknown = randomUUID();
      const message = `Key '${keyArn(unknown)}' does not exist`;
      await rejectsWith(kms.send(new ListResourceTagsCommand({ KeyId: unknown })), 'NotFoundException', message);
      await rejectsWith(
        kms.send(new TagResourceCommand({ KeyId: keyArn(unknown), Tags: [{ TagKey: 'a', TagValue: 'b' }] })),
        'NotFoundException',
        message,
      );
      await rejectsWith(
        kms.send(new UntagResourceCommand({ KeyId: unknown, TagKeys: ['a'] })),
        'NotFoundException',
        message,
      );
    });
  });
});
