import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GetKeyLastUsageCommand,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import Database from 'better-sqlite3';
import { startServer, type TestServer } from '../helpers/server.js';
import { lookupAll, trent } from '../helpers/trent-cli.js';

/**
 * The audit trail end to end, through @aws-sdk/client-kms against a real server: one record per
 * call in CloudTrail's shape (failures and refused authentication included), requestID equal to
 * the x-amzn-RequestId the client saw, durable before the reply (SIGKILL right after it loses
 * nothing), GetKeyLastUsage answered from the same records, and fail-closed when the audit store
 * cannot be written, with /health saying so.
 */
interface Call {
  name: string;
  requestId: string;
  errorCode?: string;
}

async function call<T extends { $metadata: { requestId?: string } }>(
  calls: Call[],
  name: string,
  fn: () => Promise<T>,
): Promise<T | undefined> {
  try {
    const out = await fn();
    calls.push({ name, requestId: out.$metadata.requestId ?? '' });
    return out;
  } catch (err) {
    const e = err as { name: string; $metadata?: { requestId?: string } };
    calls.push({ name, requestId: e.$metadata?.requestId ?? '', errorCode: e.name });
    return undefined;
  }
}

describe('audit records', () => {
  let server: TestServer;
  const calls: Call[] = [];
  let keyArn = '';
  let keyId = '';

  before(async () => {
    server = await startServer();
    const kms = server.client();
    const created = await call(calls, 'CreateKey', () =>
      kms.send(new CreateKeyCommand({ Description: 'audited', Tags: [{ TagKey: 'team', TagValue: 'blue' }] })),
    );
    keyArn = created?.KeyMetadata?.Arn ?? '';
    keyId = created?.KeyMetadata?.KeyId ?? '';
    const enc = await call(calls, 'Encrypt', () =>
      kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: randomBytes(32), EncryptionContext: { dept: 'eng' } })),
    );
    await call(calls, 'Decrypt', () =>
      kms.send(
        new DecryptCommand({
          CiphertextBlob: enc?.CiphertextBlob,
          EncryptionContext: { dept: 'eng' },
        }),
      ),
    );
    await call(calls, 'GenerateDataKey', () =>
      kms.send(new GenerateDataKeyCommand({ KeyId: keyArn, KeySpec: 'AES_256' })),
    );
    await call(calls, 'CreateAlias', () =>
      kms.send(new CreateAliasCommand({ AliasName: 'alias/audited', TargetKeyId: keyId })),
    );
    await call(calls, 'DescribeKey', () => kms.send(new DescribeKeyCommand({ KeyId: 'alias/audited' })));
    // Failures: not found, validation, then a disabled key.
    await call(calls, 'DescribeKey', () => kms.send(new DescribeKeyCommand({ KeyId: 'alias/none' })));
    await call(calls, 'GenerateDataKey', () =>
      kms.send(new GenerateDataKeyCommand({ KeyId: keyId, NumberOfBytes: 5000 })),
    );
    const other = await kms.send(new CreateKeyCommand({}));
    calls.push({ name: 'CreateKey', requestId: other.$metadata.requestId ?? '' });
    await call(calls, 'DisableKey', () => kms.send(new DisableKeyCommand({ KeyId: other.KeyMetadata?.KeyId })));
    await call(calls, 'Encrypt', () =>
      kms.send(new EncryptCommand({ KeyId: other.KeyMetadata?.KeyId, Plaintext: Buffer.from('x') })),
    );
    await call(calls, 'ScheduleKeyDeletion', () =>
      kms.send(new ScheduleKeyDeletionCommand({ KeyId: other.KeyMetadata?.KeyId, PendingWindowInDays: 7 })),
    );
    // Refused before authentication: a wrong secret, then an unknown operation with no signature.
    const stranger = server.client({
      credentials: { accessKeyId: server.credentials.accessKeyId, secretAccessKey: 'wrong' },
    });
    await call(calls, 'DescribeKey', () => stranger.send(new DescribeKeyCommand({ KeyId: keyId })));
    const raw = await fetch(server.url, {
      method: 'POST',
      headers: { 'X-Amz-Target': 'TrentService.NoSuchOperation', 'Content-Type': 'application/x-amz-json-1.1' },
      body: '{}',
    });
    calls.push({
      name: 'NoSuchOperation',
      requestId: raw.headers.get('x-amzn-requestid') ?? '',
      errorCode: 'UnknownOperationException',
    });
  });

  after(async () => {
    await server.destroy();
  });

  it('writes exactly one record per call, whose requestID is the one the client saw', () => {
    const records = lookupAll(server.dataDir);
    assert.equal(records.length, calls.length);
    const byRequest = new Map(records.map((r) => [r.requestID, r]));
    assert.equal(byRequest.size, calls.length, 'requestIDs are unique');
    for (const c of calls) {
      assert.match(c.requestId, /^[0-9a-f-]{36}$/);
      const r = byRequest.get(c.requestId);
      assert.ok(r, `no record for ${c.name} ${c.requestId}`);
      assert.equal(r.eventName, c.name);
      assert.equal(r.errorCode, c.errorCode === 'AccessDeniedException' ? 'AccessDenied' : c.errorCode);
    }
    // Newest first.
    assert.equal(records[0]?.eventName, 'NoSuchOperation');
  });

  it("gives each record CloudTrail's fields", () => {
    const records = lookupAll(server.dataDir);
    const eventIds = new Set<unknown>();
    for (const r of records) {
      assert.equal(r.eventVersion, '1.11');
      assert.equal(r.eventSource, 'kms.amazonaws.com');
      assert.equal(r.eventType, 'AwsApiCall');
      assert.equal(r.managementEvent, true);
      assert.equal(r.eventCategory, 'Management');
      assert.equal(r.recipientAccountId, '111122223333');
      assert.equal(r.awsRegion, 'us-east-1');
      assert.equal(r.sourceIPAddress, '127.0.0.1');
      assert.match(String(r.eventTime), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      assert.match(String(r.userAgent), /aws-sdk-js|node/);
      assert.ok(Object.hasOwn(r, 'requestParameters') && Object.hasOwn(r, 'responseElements'));
      eventIds.add(r.eventID);
    }
    assert.equal(eventIds.size, records.length);

    const find = (name: string, ok = true) =>
      records.find((r) => r.eventName === name && (r.errorCode === undefined) === ok)!;
    const admin = server.credentials.accessKeyId;
    const encrypt = find('Encrypt');
    assert.deepEqual(encrypt.userIdentity, {
      type: 'Root',
      principalId: '111122223333',
      arn: 'arn:aws:iam::111122223333:root',
      accountId: '111122223333',
      accessKeyId: admin,
    });
    assert.deepEqual(encrypt.requestParameters, { keyId, encryptionContext: { dept: 'eng' } });
    assert.equal(encrypt.responseElements, null);
    assert.equal(encrypt.readOnly, true);
    assert.deepEqual(encrypt.resources, [{ accountId: '111122223333', type: 'AWS::KMS::Key', ARN: keyArn }]);

    const decrypt = find('Decrypt');
    assert.deepEqual(decrypt.requestParameters, {
      encryptionAlgorithm: 'SYMMETRIC_DEFAULT',
      encryptionContext: { dept: 'eng' },
    });
    assert.deepEqual(decrypt.resources, encrypt.resources);

    assert.deepEqual(find('GenerateDataKey').requestParameters, { keyId: keyArn, keySpec: 'AES_256' });

    const create = records.filter((r) => r.eventName === 'CreateKey').at(-1)!;
    assert.equal(create.readOnly, false);
    assert.deepEqual(create.requestParameters, {
      description: 'audited',
      tags: [{ tagKey: 'team', tagValue: 'blue' }],
    });
    const meta = (create.responseElements as { keyMetadata: Record<string, unknown> }).keyMetadata;
    assert.equal(meta.arn, keyArn);
    assert.equal(meta.aWSAccountId, '111122223333');
    assert.match(String(meta.creationDate), /^[A-Z][a-z]{2} \d{1,2}, \d{4}, \d{1,2}:\d\d:\d\d [AP]M$/);

    const schedule = find('ScheduleKeyDeletion');
    const re = schedule.responseElements as Record<string, unknown>;
    assert.equal(re.keyState, 'PendingDeletion');
    assert.equal(re.pendingWindowInDays, 7);
    assert.match(String(re.deletionDate), / [AP]M$/);

    const validation = find('GenerateDataKey', false);
    assert.equal(validation.errorCode, 'ValidationException');
    assert.equal(validation.requestParameters, null, 'an input that failed validation is not recorded');
    const disabled = find('Encrypt', false);
    assert.equal(disabled.errorCode, 'DisabledException');
    assert.match(String(disabled.errorMessage), /is disabled/);
    assert.equal((disabled.resources as unknown[]).length, 1);

    const badSignature = records.find((r) => r.errorCode === 'InvalidSignatureException')!;
    assert.deepEqual(badSignature.userIdentity, { type: 'Unknown', accessKeyId: admin });
    assert.equal(badSignature.requestParameters, null);
    const unknown = find('NoSuchOperation', false);
    assert.deepEqual(unknown.userIdentity, { type: 'Unknown' });
    assert.equal(unknown.errorCode, 'UnknownOperationException');
  });

  it('filters lookups by key, event name, error code, read-only and principal, and pages', () => {
    assert.ok(
      lookupAll(server.dataDir, ['--key-arn', keyArn]).every((r) => JSON.stringify(r.resources).includes(keyArn)),
    );
    assert.deepEqual(
      lookupAll(server.dataDir, ['--key-arn', keyArn]).map((r) => r.eventName),
      ['DescribeKey', 'CreateAlias', 'GenerateDataKey', 'Decrypt', 'Encrypt', 'CreateKey'],
    );
    assert.equal(lookupAll(server.dataDir, ['--event-name', 'Encrypt']).length, 2);
    assert.equal(lookupAll(server.dataDir, ['--error-code', 'DisabledException']).length, 1);
    assert.equal(lookupAll(server.dataDir, ['--read-only', 'false']).length, 5);
    assert.equal(
      lookupAll(server.dataDir, ['--principal', 'arn:aws:iam::111122223333:root']).length,
      calls.length - 2,
      'every authenticated call',
    );
    const first = JSON.parse(trent(['audit', 'lookup', '--data-dir', server.dataDir, '--limit', '3']).stdout);
    assert.equal(first.Records.length, 3);
    const second = JSON.parse(
      trent(['audit', 'lookup', '--data-dir', server.dataDir, '--limit', '3', '--next-token', first.NextToken]).stdout,
    );
    assert.notEqual(second.Records[0].eventID, first.Records[2].eventID);
    assert.equal(
      lookupAll(server.dataDir, ['--from', '2000-01-01T00:00:00Z', '--to', '2000-01-02T00:00:00Z']).length,
      0,
    );
  });

  it('answers GetKeyLastUsage from the records: the last successful cryptographic use', async () => {
    const kms = server.client();
    const enc = await kms.send(new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from('last use') }));
    const usage = await kms.send(new GetKeyLastUsageCommand({ KeyId: keyId }));
    assert.equal(usage.KeyId, keyArn);
    assert.equal(usage.KeyLastUsage?.Operation, 'Encrypt');
    assert.equal(usage.KeyLastUsage?.KmsRequestId, enc.$metadata.requestId);
    const record = lookupAll(server.dataDir, ['--event-name', 'Encrypt']).find(
      (r) => r.requestID === enc.$metadata.requestId,
    );
    assert.equal(usage.KeyLastUsage?.CloudTrailEventId, record?.eventID);
    assert.ok(usage.KeyLastUsage?.Timestamp instanceof Date);
    assert.ok(usage.KeyCreationDate instanceof Date && usage.TrackingStartDate instanceof Date);
    assert.ok(usage.TrackingStartDate.getTime() >= usage.KeyCreationDate.getTime());
    // A failed use does not count; an unused key has no last usage; aliases are refused.
    const fresh = await kms.send(new CreateKeyCommand({}));
    const none = await kms.send(new GetKeyLastUsageCommand({ KeyId: fresh.KeyMetadata?.Arn }));
    assert.equal(none.KeyLastUsage?.Operation, undefined);
    await assert.rejects(kms.send(new GetKeyLastUsageCommand({ KeyId: 'alias/audited' })), {
      name: 'NotFoundException',
    });
  });
});

describe('audit durability and failure', () => {
  for (const commit of ['loop', 'thread']) {
    const args = ['--audit-commit', commit];

    it(`has the record on disk before the reply: SIGKILL right after it loses nothing (commit on the ${commit})`, async () => {
      const server = await startServer({ args });
      try {
        const kms = server.client();
        const key = await kms.send(new CreateKeyCommand({}));
        const enc = await kms.send(new EncryptCommand({ KeyId: key.KeyMetadata?.KeyId, Plaintext: Buffer.from('x') }));
        await server.kill();
        const records = lookupAll(server.dataDir);
        assert.equal(records[0]?.requestID, enc.$metadata.requestId);
        assert.equal(records.length, 2);
        assert.equal(/committed on a thread of their own/.test(server.output()), commit === 'thread');
        // The restarted server continues the same chain.
        const again = await startServer({ dataDir: server.dataDir, args });
        try {
          await again.client().send(new DescribeKeyCommand({ KeyId: key.KeyMetadata?.KeyId }));
        } finally {
          await again.stop();
        }
        assert.equal(lookupAll(server.dataDir).length, 3);
        const verify = trent(['audit', 'verify', '--data-dir', server.dataDir]);
        assert.equal(verify.code, 0, verify.stdout + verify.stderr);
      } finally {
        await server.destroy();
      }
    });

    it(`every concurrent call's record is on disk before its reply, in one chain (commit on the ${commit})`, async () => {
      const server = await startServer({ args });
      try {
        const kms = server.client();
        const key = await kms.send(new CreateKeyCommand({}));
        const replies = await Promise.all(
          Array.from({ length: 64 }, (_, i) =>
            kms.send(new EncryptCommand({ KeyId: key.KeyMetadata?.KeyId, Plaintext: Buffer.from(`call ${i}`) })),
          ),
        );
        await server.kill();
        const recorded = new Set(lookupAll(server.dataDir, ['--event-name', 'Encrypt']).map((r) => r.requestID));
        for (const reply of replies) assert.ok(recorded.has(reply.$metadata.requestId), reply.$metadata.requestId);
        const verify = trent(['audit', 'verify', '--data-dir', server.dataDir]);
        assert.equal(verify.code, 0, verify.stdout + verify.stderr);
      } finally {
        await server.destroy();
      }
    });

    it(`fails closed with KMSInternalException when records cannot be written, and /health says so (commit on the ${commit})`, async () => {
      const server = await startServer({ args });
      try {
        const kms = server.client();
        const key = await kms.send(new CreateKeyCommand({}));
        assert.equal((await fetch(`${server.url}/health`)).status, 200);
        const db = new Database(`${server.dataDir}/trent.db`);
        try {
          db.exec(
            "CREATE TRIGGER audit_read_only BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'audit table is read-only'); END",
          );
          // Several at once, so that with the thread some batches hold more than one record.
          const refused = await Promise.allSettled(
            Array.from({ length: 8 }, () =>
              kms.send(new EncryptCommand({ KeyId: key.KeyMetadata?.KeyId, Plaintext: Buffer.from('x') })),
            ),
          );
          for (const r of refused) {
            assert.equal(r.status, 'rejected');
            assert.equal((r as PromiseRejectedResult).reason.name, 'KMSInternalException');
          }
          const health = await fetch(`${server.url}/health`);
          assert.equal(health.status, 503);
          const body = (await health.json()) as { status: string; audit: string };
          assert.equal(body.status, 'degraded');
          assert.match(body.audit, /read-only/);
          db.exec('DROP TRIGGER audit_read_only');
        } finally {
          db.close();
        }
        await kms.send(new EncryptCommand({ KeyId: key.KeyMetadata?.KeyId, Plaintext: Buffer.from('x') }));
        assert.equal((await fetch(`${server.url}/health`)).status, 200);
        // The refused call left no record; the others did.
        assert.deepEqual(
          lookupAll(server.dataDir).map((r) => r.eventName),
          ['Encrypt', 'CreateKey'],
        );
        assert.match(server.output(), /audit record could not be written/);
      } finally {
        await server.destroy();
      }
    });
  }

  it('refuses --audit off outside dev mode, and records nothing with it in dev mode', async () => {
    const refused = trent(['server', '--data-dir', '/nonexistent-trent', '--audit', 'off']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /only with --dev/);
    const server = await startServer({ args: ['--dev', '--audit', 'off'] });
    try {
      await server.client().send(new CreateKeyCommand({}));
      assert.match(server.output(), /AUDIT OFF/);
      assert.equal(lookupAll(server.dataDir).length, 0);
    } finally {
      await server.destroy();
    }
  });
});
