import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { type KeyUsageDbRow, SqliteAuditIndex } from './audit-index.js';

/**
 * The audit index thread (started by SqliteAuditLog on its first append): every `intervalMs` it
 * brings the index file up to date with the records appended so far, on connections of its own,
 * so that indexing costs the event loop nothing. `{ catchUp: n }` asks it to catch up now (a read
 * waits for that), answered by `{ caughtUp: n, ok }`, with a key's last use when asked for one
 * (GetKeyLastUsage); 'close' makes it catch up once more, close its connections and exit.
 */
export interface IndexThreadOptions {
  logPath: string;
  indexPath: string;
  intervalMs: number;
}

/** `keyUsage`: then look up that key's last use (null: none), after catching up. */
export type IndexThreadRequest = { catchUp: number; keyUsage?: string } | 'close';

/** `ok` false: the catch-up failed (busy, unwritable), and the reader should try it itself. */
export interface IndexThreadReply {
  caughtUp: number;
  ok: boolean;
  keyUsage?: KeyUsageDbRow | null;
}

if (parentPort === null) throw new Error('audit-index-thread.js runs only as a worker thread');
const port = parentPort;
const { logPath, indexPath, intervalMs } = workerData as IndexThreadOptions;

const log = new Database(logPath, { fileMustExist: true, timeout: 5000 });
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
  if (message !== 'close') {
    const ok = catchUp();
    const reply: IndexThreadReply = { caughtUp: message.catchUp, ok };
    if (ok && message.keyUsage !== undefined) {
      try {
        reply.keyUsage = index.keyUsage(message.keyUsage) ?? null;
      } catch {
        // Answered without it: the reader looks it up itself.
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
