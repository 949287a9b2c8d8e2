import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  CancelKeyDeletionCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  DisableKeyRotationCommand,
  EnableKeyCommand,
  EnableKeyRotationCommand,
  EncryptCommand,
  GetKeyRotationStatusCommand,
  type KMSClient,
  ListKeyRotationsCommand,
  ReEncryptCommand,
  RotateKeyOnDemandCommand,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import { advanceClock } from '../../src/cli/clock-commands.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { trent } from '../helpers/trent-cli.js';
import { KEY_MATERIAL_ID, NO_MESSAGE, rejectsWith } from './sdk-assert.js';

/**
 * Time travel and key rotation, end to end: a real Trent process started with
 * --allow-time-travel, driven through @aws-sdk/client-kms, its lifecycle clock moved by the
 * administrator (`trent clock advance` and the same admin endpoint from code).
 */
const DAY = 86_400;

describe('time travel and key rotation', { timeout: 120_000 }, () => {
  let server: TestServer;
  let kms: KMSClient;
  const advance = (seconds: number) => advanceClock(server.url, server.credentials, seconds);
  const material = async (keyId: string) =>
    (await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.CurrentKeyMaterialId;
  const newKey = async () => {
    const created = await kms.send(new CreateKeyCommand({}));
    return created.KeyMetadata?.KeyId as string;
  };

  before(async () => {
    server = await startServer({ args: ['--allow-time-travel'] });
    kms = server.client();
  });
  after(async () => {
    await server?.destroy();
  });

  describe('the admin clock', () => {
    it('is refused by a server started without --allow-time-travel', async () => {
      const plain = await startServer();
      try {
        await assert.rejects(
          advanceClock(plain.url, plain.credentials, DAY),
          /AccessDeniedException.*allow-time-travel/,
        );
        const r = trent(['clock', 'advance', '--seconds', '60', '--endpoint', plain.url, '--data-dir', plain.dataDir]);
        assert.notEqual(r.code, 0);
        assert.match(r.stderr, /Time travel is disabled/);
      } finally {
        await plain.destroy();
      }
    });

    it('is refused to any access key but the administrator’s, and to unsigned or unknown callers', async () => {
      const created = trent(['access-key', 'create', '--data-dir', server.dataDir]);
      assert.equal(created.code, 0, created.stderr);
      const other = {
        accessKeyId: /aws_access_key_id = (\S+)/.exec(created.stdout)?.[1] as string,
        secretAccessKey: /aws_secret_access_key = (\S+)/.exec(created.stdout)?.[1] as string,
      };
      await assert.rejects(
        advanceClock(server.url, other, DAY),
        /AccessDeniedException.*not authorized to move the clock/,
      );
      await assert.rejects(
        advanceClock(server.url, { accessKeyId: 'AKIAEXAMPLEEXAMPLE00', secretAccessKey: 'x' }, DAY),
        /UnrecognizedClientException/,
      );
      const unsigned = await fetch(new URL('/trent/admin/clock', server.url), {
        method: 'POST',
        body: JSON.stringify({ advanceSeconds: DAY }),
      });
      assert.equal(unsigned.status, 400);
      assert.match(await unsigned.text(), /MissingAuthenticationToken/);
    });

    it('refuses a malformed or backward move', async () => {
      await assert.rejects(advance(-1), /ValidationException/);
      await assert.rejects(advance(1.5), /ValidationException/);
    });

    it('moves lifecycle time only: signed requests keep working, and a 7-day deletion really happens', async () => {
      const keyId = await newKey();
      await kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }));
      const r = trent([
        'clock',
        'advance',
        '--seconds',
        String(6 * DAY),
        '--endpoint',
        server.url,
        '--data-dir',
        server.dataDir,
      ]);
      assert.equal(r.code, 0, r.stderr);
      const moved = JSON.parse(r.stdout) as { now: number; offsetSeconds: number };
      assert.ok(moved.offsetSeconds >= 6 * DAY);
      assert.ok(Math.abs(moved.now - (Date.now() / 1000 + moved.offsetSeconds)) < 60);
      const described = await kms.send(new DescribeKeyCommand({ KeyId: keyId }));
      assert.equal(described.KeyMetadata?.KeyState, 'PendingDeletion');
      await advance(DAY);
      await rejectsWith(kms.send(new DescribeKeyCommand({ KeyId: keyId })), 'NotFoundException', /does not exist/);
    });
  });

  describe('rotation, as a story', () => {
    it('create → encrypt → rotate (automatic, on demand) → decrypt all → re-encrypt → disable', async () => {
      const keyId = await newKey();
      const first = await material(keyId);
      assert.match(first ?? '', KEY_MATERIAL_ID);
      const plaintext = randomBytes(40);
      const before = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: plaintext }));

      await kms.send(new EnableKeyRotationCommand({ KeyId: keyId, RotationPeriodInDays: 90 }));
      const status = await kms.send(new GetKeyRotationStatusCommand({ KeyId: keyId }));
      assert.equal(status.KeyRotationEnabled, true);
      assert.equal(status.RotationPeriodInDays, 90);
      const next = status.NextRotationDate?.getTime() ?? 0;
      assert.ok(Math.abs(next - (Date.now() + 90 * DAY * 1000)) < 120 * DAY * 1000, 'next date about 90 days out');
      assert.deepEqual((await kms.send(new ListKeyRotationsCommand({ KeyId: keyId }))).Rotations, []);

      await advance(89 * DAY);
      assert.equal(await material(keyId), first, 'not rotated before its date');
      await advance(DAY);
      const second = await material(keyId);
      assert.match(second ?? '', KEY_MATERIAL_ID);
      assert.notEqual(second, first);
      const afterAuto = await kms.send(new GetKeyRotationStatusCommand({ KeyId: keyId }));
      assert.ok((afterAuto.NextRotationDate?.getTime() ?? 0) > next + 80 * DAY * 1000, 'the schedule moved on');

      const middle = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: plaintext }));
      const onDemand = await kms.send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
      assert.equal(onDemand.KeyId, (await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.Arn);
      const third = await material(keyId);
      assert.ok(third !== first && third !== second);

      for (const blob of [before, middle]) {
        const opened = await kms.send(new DecryptCommand({ CiphertextBlob: blob.CiphertextBlob }));
        assert.deepEqual(Buffer.from(opened.Plaintext ?? []), plaintext);
      }
      const oldest = await kms.send(new DecryptCommand({ CiphertextBlob: before.CiphertextBlob }));
      assert.equal(oldest.KeyMaterialId, first);

      const moved = await kms.send(
        new ReEncryptCommand({ CiphertextBlob: before.CiphertextBlob, DestinationKeyId: keyId }),
      );
      assert.equal(moved.SourceKeyMaterialId, first);
      assert.equal(moved.DestinationKeyMaterialId, third);
      const reopened = await kms.send(new DecryptCommand({ CiphertextBlob: moved.CiphertextBlob }));
      assert.equal(reopened.KeyMaterialId, third);
      assert.deepEqual(Buffer.from(reopened.Plaintext ?? []), plaintext);

      const rotations = (await kms.send(new ListKeyRotationsCommand({ KeyId: keyId }))).Rotations ?? [];
      assert.deepEqual(
        rotations.map((r) => [r.KeyMaterialId, r.RotationType, r.KeyMaterialState]),
        [
          [second, 'AUTOMATIC', 'NON_CURRENT'],
          [third, 'ON_DEMAND', 'CURRENT'],
        ],
      );
      for (const r of rotations) assert.ok(r.RotationDate instanceof Date);
      const all = await kms.send(new ListKeyRotationsCommand({ KeyId: keyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }));
      assert.deepEqual(
        all.Rotations?.map((r) => [r.KeyMaterialId, r.RotationType, r.RotationDate]),
        [
          [first, undefined, undefined],
          [second, 'AUTOMATIC', rotations[0]?.RotationDate],
          [third, 'ON_DEMAND', rotations[1]?.RotationDate],
        ],
      );

      await kms.send(new DisableKeyCommand({ KeyId: keyId }));
      await rejectsWith(
        kms.send(new DecryptCommand({ CiphertextBlob: middle.CiphertextBlob })),
        'DisabledException',
        /is disabled\.$/,
      );
      await rejectsWith(
        kms.send(new RotateKeyOnDemandCommand({ KeyId: keyId })),
        'DisabledException',
        /is disabled\.$/,
      );
    });

    it('does not rotate disabled keys; once enabled again, an overdue key rotates at the next run', async () => {
      const keyId = await newKey();
      const first = await material(keyId);
      await kms.send(new EnableKeyRotationCommand({ KeyId: keyId, RotationPeriodInDays: 90 }));
      await kms.send(new DisableKeyCommand({ KeyId: keyId }));
      await advance(100 * DAY);
      assert.equal(await material(keyId), first);
      await kms.send(new EnableKeyCommand({ KeyId: keyId }));
      await advance(0);
      assert.notEqual(await material(keyId), first);
    });

    it('stops after DisableKeyRotation, and reports false while pending deletion until cancelled', async () => {
      const keyId = await newKey();
      const first = await material(keyId);
      await kms.send(new EnableKeyRotationCommand({ KeyId: keyId }));
      assert.equal((await kms.send(new GetKeyRotationStatusCommand({ KeyId: keyId }))).RotationPeriodInDays, 365);
      await kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 30 }));
      const pending = await kms.send(new GetKeyRotationStatusCommand({ KeyId: keyId }));
      assert.equal(pending.KeyRotationEnabled, false);
      assert.equal(pending.RotationPeriodInDays, undefined);
      await kms.send(new CancelKeyDeletionCommand({ KeyId: keyId }));
      assert.equal((await kms.send(new GetKeyRotationStatusCommand({ KeyId: keyId }))).KeyRotationEnabled, true);
      await kms.send(new EnableKeyCommand({ KeyId: keyId }));
      await kms.send(new DisableKeyRotationCommand({ KeyId: keyId }));
      const off = await kms.send(new GetKeyRotationStatusCommand({ KeyId: keyId }));
      assert.equal(off.KeyRotationEnabled, false);
      assert.equal(off.NextRotationDate, undefined);
      await advance(200 * DAY);
      await advance(200 * DAY);
      assert.equal(await material(keyId), first);
    });
  });

  describe('rotation refusals', () => {
    it('refuses periods outside 90–2560 days', async () => {
      const keyId = await newKey();
      for (const days of [89, 2561]) {
        await rejectsWith(
          kms.send(new EnableKeyRotationCommand({ KeyId: keyId, RotationPeriodInDays: days })),
          'ValidationException',
          new RegExp(`Value '${days}' at 'rotationPeriodInDays' failed to satisfy constraint`),
        );
      }
    });

    it('refuses asymmetric and HMAC keys with UnsupportedOperationException', async () => {
      for (const input of [
        { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' },
        { KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' },
      ] as const) {
        const keyId = (await kms.send(new CreateKeyCommand(input))).KeyMetadata?.KeyId as string;
        // Sent one at a time: promises made all at once and awaited in turn let a later refusal
        // arrive before anything handles it, which the test runner counts as a failure.
        for (const command of [
          new EnableKeyRotationCommand({ KeyId: keyId }),
          new DisableKeyRotationCommand({ KeyId: keyId }),
          new GetKeyRotationStatusCommand({ KeyId: keyId }),
          new RotateKeyOnDemandCommand({ KeyId: keyId }),
          new ListKeyRotationsCommand({ KeyId: keyId }),
        ]) {
          await rejectsWith(kms.send(command), 'UnsupportedOperationException', NO_MESSAGE);
        }
      }
    });

    it('allows 25 on-demand rotations per key, then LimitExceededException with AWS’s message', async () => {
      const keyId = await newKey();
      const arn = (await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.Arn;
      for (let i = 0; i < 25; i++) await kms.send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
      await rejectsWith(
        kms.send(new RotateKeyOnDemandCommand({ KeyId: keyId })),
        'LimitExceededException',
        `The on-demand rotations limit has been reached for the given keyId. No more on-demand rotations can be performed for this key: ${arn}`,
      );
      // 25 rotations, listed in pages of 10.
      const seen: string[] = [];
      let marker: string | undefined;
      do {
        const page = await kms.send(new ListKeyRotationsCommand({ KeyId: keyId, Limit: 10, Marker: marker }));
        assert.ok((page.Rotations?.length ?? 0) <= 10);
        for (const r of page.Rotations ?? []) seen.push(r.KeyMaterialId as string);
        assert.equal(page.Truncated, page.NextMarker !== undefined);
        marker = page.NextMarker;
      } while (marker !== undefined);
      assert.equal(seen.length, 25);
      assert.equal(new Set(seen).size, 25);
      assert.equal(seen.at(-1), await material(keyId));
    });

    it('answers ConflictException when automatic rotation is due within 20 minutes', async () => {
      const keyId = await newKey();
      await kms.send(new EnableKeyRotationCommand({ KeyId: keyId, RotationPeriodInDays: 90 }));
      await advance(90 * DAY - 600);
      await rejectsWith(kms.send(new RotateKeyOnDemandCommand({ KeyId: keyId })), 'ConflictException', /20 minutes/);
    });
  });
});
