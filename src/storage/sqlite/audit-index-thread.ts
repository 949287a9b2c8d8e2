import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { SqliteAuditIndex } from './audit-index.js';

/**
 * The audit index thread (started by SqliteAuditLog on its first append): every `intervalMs` it
 * brings the index file up to date with the records appended so far, on connections of its own,
 * so that indexing costs the event loop nothing. `{ catchUp: n }` asks it to catch up now (a read
 * waits for that), answered by `{ caughtUp: n, ok }`; 'close' makes it catch up once more, close
 * its connections and exit.
 */
export interface IndexThreadOptions {
  logPath: string;
  indexPath: string;
  intervalMs: number;
}

export type IndexThreadRequest = { catchUp: number } | 'close';

/** `ok` false: the catch-up failed (busy, unwritable), and the reader should try it itself. */
export interface IndexThreadReply {
  caughtUp: number;
  ok: boolean;
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
    port.postMessage({ caughtUp: message.catchUp, ok: catchUp() } satisfies IndexThreadReply);
    return;
  }
  clearInterval(timer);
  catchUp();
  index.close();
  log.close();
  port.close();
});
