import { parentPort, workerData } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import { answerCalls } from '../../thread-calls.js';
import { openLookupConnection } from './audit-lookup-reader.js';

/**
 * The audit lookup thread (started by AuditLookupReader): runs lookup queries on a connection of
 * its own that sees the log and its index file together, so that a lookup scanning much of a
 * large log does not stop the server's event loop.
 */
export interface LookupThreadOptions {
  logPath: string;
  indexPath: string;
}

export interface LookupRequest {
  id: number;
  sql: string;
  params: unknown[];
}

if (parentPort === null) throw new Error('audit-lookup-thread.js runs only as a worker thread');
const port = parentPort;
const { logPath, indexPath } = workerData as LookupThreadOptions;

const db = openLookupConnection(logPath, indexPath);
const statements = new Map<string, Database.Statement>();

answerCalls<LookupRequest>(port, ({ sql, params }) => {
  let statement = statements.get(sql);
  if (statement === undefined) {
    statement = db.prepare(sql);
    statements.set(sql, statement);
  }
  return statement.all(...params);
});
