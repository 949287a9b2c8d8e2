import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { type Appender, LogAppender, TurnBatchingAppender } from '../audit/writer.js';
import type { AuditLog, NewAuditEvent } from '../storage/audit-log.js';
import { openAuditLog } from '../storage/open-audit-log.js';
import { isPostgresSpec } from '../storage/postgres/connection.js';
import type { ServerSettings } from './settings.js';
import { announceReady, type RunningServer, setUpStore, startServer } from './start.js';

/**
 * `trent server --workers N`, the default on more than two cores (docs/multi-process.md): a primary
 * process that runs the first-start setup (and goes on re-applying the identities file when it
 * changes), forks N workers that share the listening port (node:cluster), prints the ready line
 * once all of them listen, and on SIGTERM or SIGINT lets each finish its in-flight requests.
 * Worker 1 — and a replacement for it — runs the schedulers; the others only serve. Caches stay
 * right across the processes through the store's change feed (SqliteStore.watch). On SQLite, the
 * primary also commits every worker's audit records (IpcAppender → LogAppender): one writer of the
 * chain, so the workers never wait for each other's write lock on the event loop.
 */

const SCHEDULERS_ENV = 'TRENT_CLUSTER_SCHEDULERS';

type FromWorker = { type: 'ready'; url: string } | { type: 'audit'; id: number; events: NewAuditEvent[] };
type ToWorker =
  | { type: 'shutdown' }
  | { type: 'audit-done'; id: number }
  | { type: 'audit-failed'; id: number; message: string };
const AUDIT_ENV = 'TRENT_CLUSTER_AUDIT_IPC';

export function isClusterWorker(): boolean {
  return cluster.isWorker;
}

/** Runs the primary; resolves once every worker is ready. The process exits when they have stopped. */
export async function runPrimary(settings: ServerSettings, env: NodeJS.ProcessEnv, logger: Logger): Promise<void> {
  // The primary keeps the store open while it watches the identities file (setUpStore).
  const setup = await setUpStore(settings, env, logger);
  let auditLog: AuditLog | undefined;
  try {
    auditLog =
      settings.audit === 'on' && !isPostgresSpec(settings.store)
        ? await openAuditLog(settings.store, settings.dataDir)
        : undefined;
  } catch (err) {
    await setup.close();
    throw err;
  }
  const appender = auditLog === undefined ? undefined : new TurnBatchingAppender(new LogAppender(auditLog));
  const workers = new Set<Worker>();
  let stopping = false;
  let exitCode = 0;
  let failStart: ((err: Error) => void) | undefined;

  const stopAll = () => {
    stopping = true;
    if (workers.size === 0) exit();
    for (const worker of workers) {
      if (worker.isConnected()) worker.send({ type: 'shutdown' } satisfies ToWorker);
    }
  };

  let exiting = false;
  const exit = () => {
    if (exiting) return;
    exiting = true;
    Promise.all([setup.close(), auditLog?.close()]).then(
      () => process.exit(exitCode),
      () => process.exit(1),
    );
  };

  const fork = (schedulers: boolean): Worker => {
    const worker = cluster.fork({ [SCHEDULERS_ENV]: schedulers ? '1' : '0', [AUDIT_ENV]: appender ? '1' : '0' });
    workers.add(worker);
    worker.on('message', (message: FromWorker) => {
      if (message.type !== 'audit' || appender === undefined) return;
      appender.append(message.events).then(
        () => worker.isConnected() && worker.send({ type: 'audit-done', id: message.id } satisfies ToWorker),
        (err: unknown) =>
          worker.isConnected() &&
          worker.send({
            type: 'audit-failed',
            id: message.id,
            message: err instanceof Error ? err.message : String(err),
          } satisfies ToWorker),
      );
    });
    worker.on('exit', (code, signal) => {
      workers.delete(worker);
      if (stopping) {
        if (code !== 0) exitCode = 1;
        if (workers.size === 0) exit();
      } else if (failStart !== undefined) {
        failStart(new Error(`worker ${worker.process.pid} exited with ${signal ?? code} while starting`));
      } else {
        logger.error({ pid: worker.process.pid, code, signal }, 'worker exited; starting another');
        fork(schedulers);
      }
    });
    return worker;
  };

  const started = Array.from({ length: settings.workers }, (_, i) => fork(i === 0));
  let url: string;
  try {
    const urls = await new Promise<string[]>((resolve, reject) => {
      failStart = reject;
      const ready = new Map<Worker, string>();
      for (const worker of started) {
        worker.on('message', (message: FromWorker) => {
          if (message.type !== 'ready') return;
          ready.set(worker, message.url);
          if (ready.size === started.length) resolve([...ready.values()]);
        });
      }
    });
    url = urls[0] ?? '';
  } catch (err) {
    exitCode = 1;
    stopAll();
    throw err;
  } finally {
    failStart = undefined;
  }
  process.once('SIGTERM', () => {
    logger.info({ signal: 'SIGTERM', workers: workers.size }, 'shutting down: workers finish in-flight requests');
    stopAll();
  });
  process.once('SIGINT', () => {
    logger.info({ signal: 'SIGINT', workers: workers.size }, 'shutting down: workers finish in-flight requests');
    stopAll();
  });
  logger.info({ workers: settings.workers, pids: started.map((w) => w.process.pid) }, 'workers listening');
  announceReady(logger, settings, setup.deployment, url);
}

/** Runs one worker: serves until the primary says stop (or goes away), or a signal arrives. */
export async function runWorker(settings: ServerSettings, env: NodeJS.ProcessEnv, logger: Logger): Promise<void> {
  const schedulers = env[SCHEDULERS_ENV] === '1';
  const auditAppender = env[AUDIT_ENV] === '1' ? new IpcAppender() : undefined;
  const running: RunningServer = await startServer(settings, env, logger, {
    schedulers,
    announce: false,
    ...(auditAppender === undefined ? {} : { auditAppender }),
  });
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    running.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'worker shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('message', (message: ToWorker) => {
    if (message.type === 'shutdown') stop();
    else auditAppender?.answer(message);
  });
  process.once('disconnect', stop);
  // Ctrl-C reaches the whole process group: the workers stop as they would on the primary's word.
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.send?.({ type: 'ready', url: running.url } satisfies FromWorker);
}

/** A worker's audit appender: batches go to the primary, which commits them and answers. */
class IpcAppender implements Appender {
  readonly #waiting = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
  #nextId = 1;

  constructor() {
    process.once('disconnect', () => {
      for (const w of this.#waiting.values()) w.reject(new Error('the cluster primary went away'));
      this.#waiting.clear();
    });
  }

  append(events: NewAuditEvent[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (process.send === undefined || !process.connected) {
        reject(new Error('the cluster primary went away'));
        return;
      }
      const id = this.#nextId++;
      this.#waiting.set(id, { resolve, reject });
      process.send({ type: 'audit', id, events } satisfies FromWorker);
    });
  }

  answer(message: ToWorker): void {
    if (message.type === 'shutdown') return;
    const waiting = this.#waiting.get(message.id);
    if (waiting === undefined) return;
    this.#waiting.delete(message.id);
    if (message.type === 'audit-done') waiting.resolve();
    else waiting.reject(new Error(`audit append failed in the primary: ${message.message}`));
  }

  async close(): Promise<void> {}
}
