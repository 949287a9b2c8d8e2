import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { AuditRecord } from '../../src/audit/record.js';
import { pruneAudit } from '../../src/audit/retention.js';
import { type AuditSigningKey, fingerprintOf } from '../../src/audit/signing-key.js';
import { verifyLog } from '../../src/audit/verify-log.js';
import { AuditWriter } from '../../src/audit/writer.js';
import type { AuditLog } from '../../src/storage/audit-log.js';
import { SqliteAuditLog } from '../../src/storage/sqlite/sqlite-audit-log.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import { turnsDuring } from '../helpers/event-loop.js';

/**
 * Retention in steps, on a real SQLite log: the writer signs a digest every N records, and a prune
 * deletes one digest's records per transaction with a turn of the event loop between, ending where
 * one prune of everything would, and verifiable.
 */
const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const signingKey: AuditSigningKey = {
  privateKey,
  publicKey,
  publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  fingerprint: fingerprintOf(publicKey),
};

function record(time: number): AuditRecord {
  return {
    eventVersion: '1.11',
    userIdentity: { type: 'Root', principalId: '111122223333', arn: 'arn:aws:iam::111122223333:root' } as never,
    eventTime: new Date(time).toISOString().replace(/\.\d+Z$/, 'Z'),
    eventSource: 'kms.amazonaws.com',
    eventName: 'Encrypt',
    awsRegion: 'us-east-1',
    sourceIPAddress: '127.0.0.1',
    requestParameters: null,
    responseElements: null,
    requestID: randomUUID(),
    eventID: randomUUID(),
    readOnly: true,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: '111122223333',
    eventCategory: 'Management',
  };
}

describe('audit retention in steps', () => {
  let dir: string;
  let store: SqliteStore;
  let log: SqliteAuditLog;
  const old = Date.now() - 10 * 86_400_000;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'trent-retention-'));
    const path = join(dir, 'trent.db');
    store = SqliteStore.open(path);
    log = SqliteAuditLog.open(path);
  });
  after(async () => {
    await log.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('signs a digest every N records of a writer', async () => {
    const writer = new AuditWriter(log, signingKey, () => old, 0, undefined, 5);
    for (let i = 0; i < 23; i++) await writer.write(record(old), old);
    // The digest after the 20th record is signed once that record is committed: let it land.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const ranges = (await log.digests()).map((d) => [d.fromSeq, d.toSeq]);
    assert.deepEqual(ranges, [
      [1, 5],
      [6, 10],
      [11, 15],
      [16, 20],
    ]);
    await writer.close();
    // close() signed a last digest over 21..23.
    assert.deepEqual((await log.digests()).at(-1)?.toSeq, 23);
  });

  it('prunes one digest at a time, turning the event loop between, and stays verifiable', async () => {
    const steps: number[] = [];
    const spy = {
      digests: () => log.digests(),
      readRange: (after: number, limit: number) => log.readRange(after, limit),
      prune: (throughSeq: number) => {
        steps.push(throughSeq);
        return log.prune(throughSeq);
      },
    } as unknown as AuditLog;
    // Records of 10 days ago: everything digested is past a cutoff of one day.
    const { turns, value } = await turnsDuring(pruneAudit(spy, Date.now() - 86_400_000));
    assert.deepEqual(value, { events: 23, throughSeq: 23 });
    assert.deepEqual(steps, [5, 10, 15, 20, 23]);
    assert.ok(turns >= 4, `the event loop turned ${turns} times`);
    assert.equal((await log.readRange(0, 10)).length, 0);
    const verified = await verifyLog(log, signingKey.publicKeyPem);
    assert.ok(verified.ok, JSON.stringify(verified.findings));
    // Nothing left to prune: no steps.
    steps.length = 0;
    assert.deepEqual(await pruneAudit(spy, Date.now()), { events: 0, throughSeq: 23 });
    assert.deepEqual(steps, []);
  });
});
