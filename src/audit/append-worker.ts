import { parentPort, workerData } from 'node:worker_threads';
import type { NewAuditEvent } from '../storage/audit-log.js';
import { SqliteAuditLog } from '../storage/sqlite/sqlite-audit-log.js';
import { linkRecord } from './chain.js';

/**
 * The audit append thread (started by WorkerAppender, src/audit/worker-appender.ts). It owns its
 * own connection to the SQLite audit log and does nothing but append (its log has an index thread
 * of its own, which also checkpoints the WAL). Each message — the batches the main thread held
 * while the thread committed the one before — becomes one transaction, one WAL fsync at
 * synchronous=FULL, in which the chain head is read, each record's hash computed in order with
 * `linkRecord`, and the head written. Only then are its batches acknowledged. The main thread keeps
 * serving while this thread waits for the disk, so batches grow with load (group commit).
 */

/** Main thread → worker. */
export type WorkerRequest =
  | { type: 'append'; no: number; batches: { id: number; events: NewAuditEvent[] }[] }
  | { type: 'close' };

/**
 * Worker → main thread, one per commit (the main thread has at most one message outstanding, so
 * one per message): these batches are durable, or (with `error`) none of them was written.
 */
export interface WorkerReply {
  /** The last message this reply covers. */
  no: number;
  ids: number[];
  error?: string;
}

export interface WorkerOptions {
  path: string;
  /** Int32 slot 0: the number of the last message whose batches are durable. */
  committed: SharedArrayBuffer;
}

if (parentPort === null) throw new Error('append-worker.js runs only as a worker thread');
const port = parentPort;
const { path, committed } = workerData as WorkerOptions;
const committedNo = new Int32Array(committed);

let log: SqliteAuditLog | undefined;
try {
  log = SqliteAuditLog.open(path);
} catch {
  // Reported by the first commit, which tries again.
}
let committing: Promise<void> = Promise.resolve();

// The main thread posts a message only once the one before is answered (WorkerAppender), so each
// message is one commit: every batch it holds in one transaction.
port.on('message', (message: WorkerRequest) => {
  if (message.type === 'close') {
    committing = committing.then(async () => {
      await log?.close();
      port.close();
    });
    return;
  }
  committing = committing.then(() => commit(message.no, message.batches));
});

async function commit(no: number, batches: { id: number; events: NewAuditEvent[] }[]): Promise<void> {
  const reply: WorkerReply = { no, ids: batches.map((b) => b.id) };
  try {
    // Opened on first use, and again after a failure to open: the file may come back.
    log ??= SqliteAuditLog.open(path);
    await log.append(
      batches.flatMap((b) => b.events),
      linkRecord,
    );
    Atomics.store(committedNo, 0, no);
  } catch (err) {
    reply.error = err instanceof Error ? err.message : String(err);
  }
  port.postMessage(reply);
}
