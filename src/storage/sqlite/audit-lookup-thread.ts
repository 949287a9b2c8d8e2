import { parentPort, workerData } from 'node:worker_threads';
import type Database from 'better-sqlite3';
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

export type LookupReply = { id: number; rows: unknown[] } | { id: number; error: string };

if (parentPort === null) throw new Error('audit-lookup-thread.js runs only as a worker thread');
const port = parentPort;
const { logPath, indexPath } = workerData as LookupThreadOptions;

const db = openLookupConnection(logPath, indexPath);
const statements = new Map<string, Database.Statement>();

port.on('message', ({ id, sql, params }: LookupRequest) => {
  let reply: LookupReply;
  try {
    let statement = statements.get(sql);
    if (statement === undefined) {
      statement = db.prepare(sql);
      statements.set(sql, statement);
    }
    reply = { id, rows: statement.all(...params) };
  } catch (err) {
    reply = { id, error: err instanceof Error ? err.message : String(err) };
  }
  port.postMessage(reply);
});
