import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fingerprintOf } from './dist/src/audit/signing-key.js';
import { AuditWriter, signDigest } from './dist/src/audit/writer.js';
import { pruneAudit } from './dist/src/audit/retention.js';
import { SqliteAuditLog } from './dist/src/storage/sqlite/sqlite-audit-log.js';
import { SqliteStore } from './dist/src/storage/sqlite/sqlite-store.js';
const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const key = { privateKey, publicKey, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(), fingerprint: fingerprintOf(publicKey) };
const N = Number(process.argv[2] ?? 200000);
const dir = mkdtempSync(join(tmpdir(), 'prune-'));
const path = join(dir, 'trent.db');
const store = SqliteStore.open(path);
const log = SqliteAuditLog.open(path);
const KEY_ARN = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
let t = Date.now() - 10 * 86400000;
const rec = () => ({ eventVersion: '1.11', userIdentity: { type: 'Root', principalId: '111122223333', arn: 'arn:aws:iam::111122223333:root' }, eventTime: new Date(t).toISOString().replace(/\.\d+Z$/, 'Z'), eventSource: 'kms.amazonaws.com', eventName: 'Encrypt', awsRegion: 'us-east-1', sourceIPAddress: '127.0.0.1', userAgent: 'aws-sdk-js/3 bench', requestParameters: { keyId: KEY_ARN, encryptionAlgorithm: 'SYMMETRIC_DEFAULT' }, responseElements: null, requestID: randomUUID(), eventID: randomUUID(), readOnly: true, resources: [{ accountId: '111122223333', type: 'AWS::KMS::Key', ARN: KEY_ARN }], eventType: 'AwsApiCall', apiVersion: '2014-11-01', managementEvent: true, recipientAccountId: '111122223333', eventCategory: 'Management' });
const writer = new AuditWriter(log, key, () => t, 0);
for (let i = 0; i < N; i += 1000) {
  await Promise.all(Array.from({ length: 1000 }, () => writer.write(rec(), t)));
  t += 1000;
  if (i === N / 2 - 1000) await signDigest(log, key, t);
}
await signDigest(log, key, t);
console.log('digests', (await log.digests()).length, 'log size MB', (statSync(path).size / 1e6).toFixed(0));
const t0 = performance.now();
// Longest event-loop stall while pruning: a timer ticking every 1 ms.
let last = performance.now(), worst = 0;
const tick = setInterval(() => { const now = performance.now(); worst = Math.max(worst, now - last); last = now; }, 1);
const pruned = await pruneAudit(log, Date.now());
await new Promise((r) => setTimeout(r, 5));
clearInterval(tick);
console.log('pruned', pruned, 'in', (performance.now() - t0).toFixed(0), 'ms; longest stall', worst.toFixed(0), 'ms');
await writer.close(); await log.close(); await store.close(); rmSync(dir, { recursive: true, force: true });
