import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { AuditRecord } from '../src/audit/record.js';
import { auditSigningKey } from '../src/audit/signing-key.js';
import { WorkerAppender } from '../src/audit/worker-appender.js';
import { AuditWriter } from '../src/audit/writer.js';
import { SqliteAuditLog } from '../src/storage/sqlite/sqlite-audit-log.js';
import { SqliteStore } from '../src/storage/sqlite/sqlite-store.js';

/**
 * The audit writer alone, in process: N appenders each write a record and wait for it to be
 * durable, in a loop, for --duration seconds; prints records/s per N. A benchmark, not a test.
 *
 *   node dist/bench/audit-append.js [--duration 3] [--concurrency 1,16,64] [--mode worker,in-thread]
 *
 * `in-thread` is the server's writer (commits on the calling thread); `worker` commits through
 * WorkerAppender, on a thread of its own.
 */
const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '1,16,64' },
    mode: { type: 'string', default: 'in-thread,worker' },
    // CPU work per record on the calling thread (ms), standing in for the request's own work.
    work: { type: 'string', default: '0' },
  },
});
const durationMs = Number(values.duration) * 1000;
const workMs = Number(values.work);
const concurrencies = values.concurrency.split(',').map(Number);
const modes = values.mode.split(',');

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const signingKey = auditSigningKey(privateKey, publicKey);
const KEY_ARN = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

function record(): AuditRecord {
  const id = randomUUID();
  return {
    eventVersion: '1.11',
    userIdentity: { type: 'Root', principalId: '111122223333', arn: 'arn:aws:iam::111122223333:root' } as never,
    eventTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    eventSource: 'kms.amazonaws.com',
    eventName: 'Encrypt',
    awsRegion: 'us-east-1',
    sourceIPAddress: '127.0.0.1',
    userAgent: 'aws-sdk-js/3 bench',
    requestParameters: { keyId: KEY_ARN, encryptionAlgorithm: 'SYMMETRIC_DEFAULT' },
    responseElements: null,
    requestID: id,
    eventID: randomUUID(),
    readOnly: true,
    resources: [{ accountId: '111122223333', type: 'AWS::KMS::Key', ARN: KEY_ARN }],
    eventType: 'AwsApiCall',
    apiVersion: '2014-11-01',
    managementEvent: true,
    recipientAccountId: '111122223333',
    eventCategory: 'Management',
  };
}

function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // the request's own CPU work
  }
}

async function run(mode: string, concurrency: number): Promise<{ rate: number; records: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'trent-audit-bench-'));
  const path = join(dir, 'trent.db');
  const store = SqliteStore.open(path);
  const log = SqliteAuditLog.open(path);
  const appender = mode === 'worker' ? new WorkerAppender(path) : undefined;
  const writer = new AuditWriter(log, signingKey, Date.now, 0, appender);
  try {
    // Warm-up: starts the thread and the connection.
    await writer.write(record(), Date.now());
    let records = 0;
    const start = performance.now();
    const end = start + durationMs;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < end) {
          if (workMs > 0) busy(workMs);
          await writer.write(record(), Date.now());
          records += 1;
        }
      }),
    );
    const elapsed = performance.now() - start;
    return { rate: (records * 1000) / elapsed, records };
  } finally {
    await writer.close();
    await log.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const concurrency of concurrencies) {
  for (const mode of modes) {
    const { rate, records } = await run(mode, concurrency);
    console.log(
      `${mode.padEnd(9)} c=${String(concurrency).padEnd(3)} work=${workMs}ms ${rate.toFixed(0).padStart(6)} records/s (${records})`,
    );
  }
}
