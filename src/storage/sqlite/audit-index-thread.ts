import { closeSync, fdatasyncSync, openSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { KeyUsageDbRow } from '../audit-log.js';
import { SqliteAuditIndex } from './audit-index.js';

/**
 * The audit index thread (started by SqliteAuditLog on its first append): every `intervalMs` it
 * brings the index file up to date with the records appended so far, on connections of its own,
 * so that indexing costs the event loop nothing. `{ catchUp: n }` asks it to catch up now (a read
 * waits for that), answered by `{ caughtUp: n, ok }`, then to do one more thing when asked: look up
 * a key's last use (GetKeyLastUsage), or a retention step's index work — keep the last use of the
 * keys whose last records go, or drop the index rows of the records gone (SqliteAuditLog.prune).
 * 'checkpoint' makes it checkpoint the log's WAL (SqliteAuditLog's `#checkpoint`), answered by
 * 'checkpointed'.
 * 'close' makes it catch up once more, close its connections and exit.
 */
export interface IndexThreadOptions {
  logPath: string;
  indexPath: string;
  intervalMs: number;
}

/**
 * What the thread does after catching up, if anything: look up a key's last use (null: none), or
 * SqliteAuditIndex.keepUsageThrough, or SqliteAuditIndex.prune.
 */
export type IndexThreadWork = { keyUsage: string } | { keepUsageThrough: number } | { pruneThrough: number };

export type IndexThreadRequest = { catchUp: number } | ({ catchUp: number } & IndexThreadWork) | 'checkpoint' | 'close';

/** The answer to 'checkpoint' (when it did not fail). */
export type CheckpointReply = 'checkpointed';

/**
 * `ok` false: the catch-up failed (busy, unwritable), and the reader should try it itself; so
 * should the asker of work whose `done` is not true.
 */
export interface IndexThreadReply {
  caughtUp: number;
  ok: boolean;
  keyUsage?: KeyUsageDbRow | null;
  done?: boolean;
}

if (parentPort === null) throw new Error('audit-index-thread.js runs only as a worker thread');
const port = parentPort;
const { logPath, indexPath, intervalMs } = workerData as IndexThreadOptions;

const log = new Database(logPath, { fileMustExist: true, timeout: 5000 });
// The log's checkpoints run here ('checkpoint'): FULL, so that one that copies the whole WAL syncs
// the database file, as SQLite must before the WAL may start over.
log.pragma('synchronous = FULL');
const index = SqliteAuditIndex.open(indexPath, log);

const catchUp = (): boolean => {
  try {
    index.catchUp();
    return true;
  } catch {
    // Busy or unwritable: the next tick, or the next read, tries again.
    return false;
  }
};
const timer = setInterval(catchUp, intervalMs);

port.on('message', (message: IndexThreadRequest) => {
  if (message === 'checkpoint') {
    try {
      log.pragma('wal_checkpoint(PASSIVE)');
      syncFile(logPath);
      port.postMessage('checkpointed' satisfies CheckpointReply);
    } catch {
      // Left to the next one, or to the appending connection's automatic checkpoint.
    }
    return;
  }
  if (message !== 'close') {
    const ok = catchUp();
    const reply: IndexThreadReply = { caughtUp: message.catchUp, ok };
    // Nothing more after a failed catch-up (work on an index that is behind could miss records).
    if (ok) {
      try {
        if ('keyUsage' in message) {
          reply.keyUsage = index.keyUsage(message.keyUsage) ?? null;
        } else if ('keepUsageThrough' in message) {
          index.keepUsageThrough(message.keepUsageThrough);
          reply.done = true;
        } else if ('pruneThrough' in message) {
          index.prune(message.pruneThrough);
          reply.done = true;
        }
      } catch {
        // Answered without it: the asker does it itself.
      }
    }
    port.postMessage(reply);
    return;
  }
  clearInterval(timer);
  catchUp();
  index.close();
  log.close();
  port.close();
});

/**
 * Syncs the log's database file after a checkpoint here. SQLite syncs it only after a checkpoint
 * that reached the WAL's end as it stands when the copy ends, which under load none of the
 * thread's does (the event loop commits while it copies); left to SQLite, the pages the thread had
 * copied were synced by the event loop's checkpoint that follows (SqliteAuditLog's `#checkpoint`):
 * 8–13 ms there, against 0.7–0.8 ms with them on disk already. Where SQLite did sync, this finds
 * nothing left to write. Opened each time, so that a thread that dies leaves no descriptor open.
 */
function syncFile(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
