import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditRecord } from '../../src/audit/record.js';
import { type AuditSigningKey, auditSigningKey } from '../../src/audit/signing-key.js';
import { SqliteAuditLog } from '../../src/storage/sqlite/sqlite-audit-log.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';

/** A fresh Ed25519 audit signing key, as a deployment's (tests of the audit log and writer). */
export function testSigningKey(): AuditSigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return auditSigningKey(privateKey, publicKey);
}

/** A minimal CloudTrail-shaped record of an Encrypt by the account root, with fresh ids. */
export function auditRecord(fields: Partial<AuditRecord> = {}): AuditRecord {
  return {
    eventVersion: '1.11',
    userIdentity: { type: 'Root', principalId: '111122223333', arn: 'arn:aws:iam::111122223333:root' },
    eventTime: '2026-01-01T00:00:00Z',
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
    ...fields,
  };
}

/** A store and its SQLite audit log in a fresh directory; `close` removes them. */
export interface TestAuditLog {
  path: string;
  store: SqliteStore;
  log: SqliteAuditLog;
  close(): Promise<void>;
}

export function openTestAuditLog(prefix: string): TestAuditLog {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const path = join(dir, 'trent.db');
  const store = SqliteStore.open(path);
  const log = SqliteAuditLog.open(path);
  return {
    path,
    store,
    log,
    async close() {
      await log.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
