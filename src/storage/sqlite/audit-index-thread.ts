import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { SqliteAuditIndex } from './audit-index.js';

/**
 * The audit index thread (started by SqliteAuditLog on its first append): every `intervalMs` it
 * brings the index file up to date with the records appended so far, on connections of its own,
 * so that indexing costs the event loop nothing. The message 'close' makes it catch up once more,
 * close its connections and exit.
 */
export interface IndexThreadOptions {
  logPath: string;
  indexPath: string;
  intervalMs: number;
}

if (parentPort === null) throw new Error('audit-index-thread.js runs only as a worker thread');
const port = parentPort;
const { logPath, indexPath, intervalMs } = workerData as IndexThreadOptions;

const log = new Database(logPath, { fileMustExist: true, timeout: 5000 });
const index = SqliteAuditIndex.open(indexPath, log);

const catchUp = () => {
  try {
    index.catchUp();
  } catch {
    // Busy or unwritable: the next tick, or the next read, tries again.
  }
};
const timer = setInterval(catchUp, intervalMs);

port.on('message', (message: unknown) => {
  if (message !== 'close') return;
  clearInterval(timer);
  catchUp();
  index.close();
  log.close();
  port.close();
});
