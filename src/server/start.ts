import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';
import { pruneAudit } from '../audit/retention.js';
import { setUpAuditSigningKey } from '../audit/signing-key.js';
import { WorkerAppender } from '../audit/worker-appender.js';
import { type Appender, type AuditSink, AuditWriter, DisabledAuditSink, LogAppender } from '../audit/writer.js';
import { CredentialCache } from '../auth/access-keys.js';
import { Authenticator } from '../auth/authenticate.js';
import { OnBehalfOfResolver } from '../auth/service-identity.js';
import { SessionCache } from '../auth/sessions.js';
import { SigningKeyCache } from '../auth/sigv4.js';
import { SystemClock } from '../clock.js';
import { limitCryptoThreads } from '../crypto/crypto-threads.js';
import { Grants } from '../keys/grants.js';
import { KeyRepository } from '../keys/key-repository.js';
import type { KeyUsageSource, Services } from '../operations/context.js';
import { OPERATIONS } from '../operations/registry.js';
import { IdentityDirectory } from '../policy/identity-directory.js';
import { parseIpBlock } from '../policy/ip-address.js';
import { KmsAuthorizer } from '../policy/kms-authorizer.js';
import type { AuditLog } from '../storage/audit-log.js';
import type { GrantStore } from '../storage/grant-store.js';
import { type AccessStore, openAccessStore } from '../storage/open-access-store.js';
import { openAuditLog } from '../storage/open-audit-log.js';
import { describeStore, openStore } from '../storage/open-store.js';
import { isPostgresSpec } from '../storage/postgres/connection.js';
import { SchedulerLock } from '../storage/postgres/scheduler-lock.js';
import { SqliteAuditLog } from '../storage/sqlite/sqlite-audit-log.js';
import { SqliteConnections } from '../storage/sqlite/wal-database.js';
import type { Store } from '../storage/store.js';
import { ADMIN_AUDIT_LOOKUP_PATH, adminAuditLookupRoute } from './admin-audit-lookup.js';
import { ADMIN_CLOCK_PATH, adminClockRoute } from './admin-clock.js';
import { WebhookDeletionAlerts } from './deletion-alerts.js';
import { type Deployment, setUpDeployment } from './first-start.js';
import { createHttpServer } from './http-server.js';
import { applyIdentitiesFile, watchIdentitiesFile } from './identities-file.js';
import { KmsHandler } from './kms-handler.js';
import { LIFECYCLE_JOBS } from './lifecycle-jobs.js';
import { LifecycleScheduler } from './lifecycle-scheduler.js';
import { createLogger } from './logger.js';
import { RequestOriginResolver } from './request-origin.js';
import { rootKeySource, setUpRootKey } from './root-key-setup.js';
import { type ServerSettings, SettingsError, THREAD_NEEDS_SQLITE } from './settings.js';
import { StsHandler } from './sts-handler.js';
import { VpcEndpointsFile } from './vpc-endpoints-file.js';

/**
 * Wiring: opens the store, finds the root key, sets up the deployment, builds the services and
 * starts listening. Returns a handle whose `close()` stops accepting connections, lets in-flight
 * requests finish, stops the schedulers and closes the store.
 */
export interface RunningServer {
  url: string;
  port: number;
  /** The listener itself, for handing it requests in process (bench/request-path.ts). */
  httpServer: Server;
  deployment: Deployment;
  services: Services;
  /** Deletion at the end of the waiting period, automatic rotation, expiry of imported material. */
  lifecycleScheduler: LifecycleScheduler;
  audit: AuditSink;
  operations: string[];
  /** Resolves to the keys read into the key cache at start, once they are (preloadKeys). */
  keyCachePreloaded: Promise<number>;
  close(): Promise<void>;
}

/**
 * What this process does among several on one store (`trent server --workers N`,
 * docs/multi-process.md). A single process does everything.
 */
export interface ProcessRole {
  /** Run the timed work (deletion, rotation and expiry, audit retention): one process per store. */
  schedulers: boolean;
  /**
   * Apply and watch the identities file, and print the start-up lines (the cluster primary does
   * these, once: setUpStore, announceReady).
   */
  announce: boolean;
  /** Where audit batches are committed, when not here (cluster workers: by the primary, over IPC). */
  auditAppender?: Appender;
}

export const SINGLE_PROCESS: ProcessRole = { schedulers: true, announce: true };

/**
 * The appender of a process that commits its own records: on its event loop (undefined: the
 * writer's LogAppender) or, with `--audit-commit thread`, on a thread of its own (WorkerAppender;
 * docs/audit.md). The thread opens the log's SQLite file itself; PostgreSQL has no such thread.
 */
export function ownAppender(auditLog: AuditLog, settings: ServerSettings, logger: Logger): Appender | undefined {
  if (settings.auditCommit === 'loop') return undefined;
  // resolveSettings refuses the thread with a PostgreSQL store.
  if (!(auditLog instanceof SqliteAuditLog)) throw new SettingsError(THREAD_NEEDS_SQLITE);
  logger.info({ path: auditLog.path }, 'audit records are committed on a thread of their own');
  return new WorkerAppender(auditLog.path, new LogAppender(auditLog));
}

export async function startServer(
  settings: ServerSettings,
  env: NodeJS.ProcessEnv = process.env,
  logger: Logger = createLogger(settings.logLevel),
  role: ProcessRole = SINGLE_PROCESS,
): Promise<RunningServer> {
  mkdirSync(settings.dataDir, { recursive: true, mode: 0o700 });
  limitCryptoThreads(availableParallelism(), settings.workers);
  // One connection per SQLite file for the store, the audit log and the access store (wal-database.ts).
  const connections = new SqliteConnections();
  const store = await openStore(settings.store, settings.dataDir, {
    onBackgroundError: (err) => logger.warn({ err: err.message }, 'store connection lost; reconnecting on demand'),
    connections,
  });
  let auditLog: AuditLog | undefined;
  let access: AccessStore | undefined;
  try {
    auditLog = settings.audit === 'on' ? await openAuditLog(settings.store, settings.dataDir, connections) : undefined;
    access = await openAccessStore(settings.store, settings.dataDir, connections);
    return await startOnStore(store, auditLog, access, settings, env, logger, role);
  } catch (err) {
    await access?.close();
    await auditLog?.close();
    await store.close();
    throw err;
  }
}

async function startOnStore(
  store: Store,
  auditLog: AuditLog | undefined,
  access: AccessStore,
  settings: ServerSettings,
  env: NodeJS.ProcessEnv,
  logger: Logger,
  role: ProcessRole,
): Promise<RunningServer> {
  const clock = new SystemClock();
  const rootKey = await setUpRootKey(store, rootKeySource(settings.dataDir, env), env);
  const deployment = await setUpDeployment(store, rootKey, settings.dataDir, settings.accountId, clock.now());
  const keys = new KeyRepository(store, rootKey);
  const signingKey = await setUpAuditSigningKey(store, rootKey);
  const audit: AuditSink =
    auditLog === undefined
      ? new DisabledAuditSink()
      : new AuditWriter(
          auditLog,
          signingKey,
          Date.now,
          settings.auditDigestIntervalMs,
          role.auditAppender ?? ownAppender(auditLog, settings, logger),
        );
  const startedAt = Date.now();
  const keyUsage: KeyUsageSource = auditLog ?? {
    keyLastUsage: async () => undefined,
    trackingStart: async () => startedAt,
  };
  if (settings.identities !== '' && role.announce) {
    await applyIdentitiesFile(settings.identities, { store, identities: access, rootKey, logger, now: clock.now() });
  }
  const identityDirectory = new IdentityDirectory(access);
  const authorizer = new KmsAuthorizer(identityDirectory, access, undefined, async (key) =>
    (await keys.listAliases(key, { limit: 1000 }, key.keyId)).map((alias) => alias.aliasName),
  );
  // Several processes or nodes on one store: forget what another one changed (a key, its grants,
  // an alias), or everything after a gap in the notices.
  const unwatch = await store.watch?.((change) => {
    if (change.kind === 'key') {
      keys.forgetKey(change.arn);
      authorizer.forgetGrants(change.arn);
    } else if (change.kind === 'grant') {
      void authorizer.grantStored(change.keyArn, change.grantId);
    } else if (change.kind === 'alias') {
      keys.forgetAlias(change, change.aliasName);
    } else {
      keys.clear();
    }
  });
  const services: Services = {
    keys,
    authorizer,
    grants: new Grants(access, rootKey, (keyArn, change) => authorizer.grantChanged(keyArn, change)),
    clock,
    limits: { keysPerAccountRegion: settings.keyQuota },
    keyUsage,
    ...(settings.deletionAlertUrl === ''
      ? {}
      : { deletionAlerts: new WebhookDeletionAlerts(new URL(settings.deletionAlertUrl), logger) }),
  };
  const authenticator = new Authenticator({
    mode: settings.dev ? 'dev' : 'secure',
    service: 'kms',
    windowMs: settings.signatureWindowMs,
    defaultAccountId: deployment.accountId,
    credentials: new CredentialCache(store, rootKey),
    sessions: new SessionCache(access, rootKey),
    signingKeys: new SigningKeyCache(),
    onBehalfOf: new OnBehalfOfResolver(store, access),
  });
  const sts = new StsHandler({
    authenticator: authenticator.forService('sts'),
    identities: access,
    directory: identityDirectory,
    rootKey,
    logger,
    bodyLimit: settings.bodyLimit,
    dev: settings.dev,
    audit,
    defaultAccountId: deployment.accountId,
  });
  // Every process reads the VPC endpoints of the identities file (they live in memory only).
  const vpcEndpoints = settings.identities === '' ? undefined : new VpcEndpointsFile(settings.identities, logger);
  vpcEndpoints?.watch();
  const origins = new RequestOriginResolver(
    settings.trustedProxies.map((cidr) => parseIpBlock(cidr)).filter((b) => b !== undefined),
    () => vpcEndpoints?.current ?? new Map(),
  );
  const kms = new KmsHandler({
    origin: (req) => origins.origin(req),
    operations: OPERATIONS,
    authenticator,
    services,
    logger,
    bodyLimit: settings.bodyLimit,
    audit,
    defaultAccountId: deployment.accountId,
  });
  const lifecycleScheduler = new LifecycleScheduler(
    keys,
    clock,
    logger,
    settings.schedulerIntervalMs,
    LIFECYCLE_JOBS,
    audit,
  );
  const adminClock = adminClockRoute({
    enabled: settings.allowTimeTravel,
    clock,
    authenticator,
    adminAccessKeyId: deployment.adminAccessKeyId,
    runSchedulers: async () => {
      await lifecycleScheduler.runOnce();
    },
    logger,
  });
  const server = createHttpServer(
    kms,
    logger,
    () => audit.health(),
    new Map([
      [ADMIN_CLOCK_PATH, adminClock],
      [
        ADMIN_AUDIT_LOOKUP_PATH,
        adminAuditLookupRoute({ authenticator, adminAccessKeyId: deployment.adminAccessKeyId, log: auditLog }),
      ],
    ]),
    sts,
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.port, settings.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${settings.host.includes(':') ? `[${settings.host}]` : settings.host}:${port}`;
  // Several nodes on PostgreSQL: the schedulers run on the node holding the scheduler lock, and
  // another node takes over when that one dies (src/storage/postgres/scheduler-lock.ts).
  const schedulerLock =
    role.schedulers && isPostgresSpec(settings.store)
      ? new SchedulerLock(settings.store, {
          acquired: () => {
            logger.info('this node runs the schedulers (it holds the scheduler lock)');
            lifecycleScheduler.start();
          },
          lost: () => {
            logger.warn('lost the scheduler lock: schedulers stopped until it is taken again');
            void lifecycleScheduler.stop();
          },
          onError: (err) => logger.warn({ err }, 'scheduler lock connection failed'),
        })
      : undefined;
  if (schedulerLock !== undefined) await schedulerLock.start();
  else if (role.schedulers) {
    lifecycleScheduler.start();
  }
  if (settings.allowTimeTravel) {
    logger.warn('TIME TRAVEL ALLOWED: the administrator can move the lifecycle clock forward (tests only).');
  }
  const retention =
    auditLog !== undefined && settings.auditRetentionDays > 0 && role.schedulers
      ? setInterval(() => {
          if (schedulerLock !== undefined && !schedulerLock.held) return;
          const cutoff = Date.now() - settings.auditRetentionDays * 86_400_000;
          pruneAudit(auditLog, cutoff).then(
            (pruned) => pruned.events > 0 && logger.info(pruned, 'pruned audit records past retention'),
            (err: unknown) => logger.error({ err }, 'audit pruning failed'),
          );
        }, settings.auditDigestIntervalMs).unref()
      : undefined;

  // One process applies changes to the file (the store carries them to the others).
  const unwatchIdentities =
    settings.identities !== '' && role.announce
      ? watchIdentitiesFile(settings.identities, { store, identities: access, rootKey, logger })
      : undefined;
  if (role.announce) announceReady(logger, settings, deployment, url);
  const preloading = preloadKeys(keys, authorizer, access, logger);

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await preloading.stop();
      await schedulerLock?.close();
      await lifecycleScheduler.stop();
      if (retention !== undefined) clearInterval(retention);
      await unwatchIdentities?.();
      vpcEndpoints?.close();
      await audit.close();
      await auditLog?.close();
      await access.close();
      await unwatch?.();
      keys.clear();
      await store.close();
      rootKey.fill(0);
    })();
    return closing;
  };
  return {
    url,
    port,
    httpServer: server,
    deployment,
    services,
    lifecycleScheduler,
    audit,
    operations: kms.operationNames,
    keyCachePreloaded: preloading.done,
    close,
  };
}

/**
 * Reads every key into the key cache in the background once the server serves (KeyRepository
 * .preload): with 100,000 keys, ~2 s of the event loop in small pages between requests, after
 * which no key's first use reads its record or material from the store. The keys without grants
 * (all but those the store names, one query) are cached as such too, so that their first use does
 * not read their grants either. `done` resolves to the keys cached (0 when it failed: each key is
 * then read at its first use, as without it); `stop` ends it at the next page and waits for that
 * page.
 */
export function preloadKeys(
  keys: KeyRepository,
  authorizer: KmsAuthorizer,
  grants: GrantStore,
  logger: Logger,
): { done: Promise<number>; stop(): Promise<number> } {
  let stopped = false;
  const started = performance.now();
  const version = authorizer.grantsVersion;
  const done = grants
    .keysWithGrants()
    .then(
      (arns) => new Set(arns),
      (err: unknown) => {
        // The keys are still preloaded; each key's first use then reads its grants.
        logger.warn({ err }, 'reading which keys have grants failed');
        return undefined;
      },
    )
    .then((granted) =>
      keys.preload(
        () => stopped,
        undefined,
        granted &&
          ((arns) =>
            authorizer.cacheNoGrants(
              arns.filter((arn) => !granted.has(arn)),
              version,
            )),
      ),
    )
    .then(
      (count) => {
        if (!stopped) logger.info({ keys: count, ms: Math.round(performance.now() - started) }, 'key cache preloaded');
        return count;
      },
      (err: unknown) => {
        if (!stopped) logger.warn({ err }, 'preloading the key cache failed');
        return 0;
      },
    );
  return {
    done,
    stop: () => {
      stopped = true;
      return done;
    },
  };
}

/** The start-up lines, the last of which (`Trent is ready on URL`) tells that requests are served. */
export function announceReady(logger: Logger, settings: ServerSettings, deployment: Deployment, url: string): void {
  if (settings.audit === 'off') {
    logger.warn('AUDIT OFF: calls are not recorded (benchmarking only; refused outside dev mode).');
  }
  if (settings.dev) {
    logger.warn(
      'DEV MODE: signatures are NOT verified and ANY access key is accepted as the root of account %s. Never expose this server.',
      deployment.accountId,
    );
  }
  logger.info(
    { credentials: deployment.credentialsPath, account: deployment.accountId },
    'administrator credentials are in %s (profile default)',
    deployment.credentialsPath,
  );
  logger.info({ url, store: describeStore(settings.store, settings.dataDir) }, 'Trent is ready on %s', url);
}

/** What the cluster primary keeps after setUpStore: the deployment, and the store it watches with. */
export interface StoreSetUp {
  deployment: Deployment;
  /** Stops watching the identities file (waiting for a reload in progress) and closes the store. */
  close(): Promise<void>;
}

/**
 * First-start setup without serving (the cluster primary, before it forks): root key, default
 * account and administrator key, audit signing key, identities file — so every worker finds them.
 * With an identities file, the store, access store and root key stay open and the file is
 * re-applied whenever it changes (watchIdentitiesFile), as a single process does; the workers see
 * the changes through identity_version (docs/multi-process.md).
 */
export async function setUpStore(
  settings: ServerSettings,
  env: NodeJS.ProcessEnv,
  logger: Logger,
): Promise<StoreSetUp> {
  mkdirSync(settings.dataDir, { recursive: true, mode: 0o700 });
  limitCryptoThreads(availableParallelism(), settings.workers);
  const store = await openStore(settings.store, settings.dataDir, {
    onBackgroundError: (err) => logger.warn({ err: err.message }, 'store connection lost; reconnecting on demand'),
  });
  let access: AccessStore | undefined;
  let rootKey: Buffer | undefined;
  const closeAll = async () => {
    rootKey?.fill(0);
    await access?.close();
    await store.close();
  };
  let deployment: Deployment;
  try {
    if (settings.audit === 'on') await (await openAuditLog(settings.store, settings.dataDir)).close();
    access = await openAccessStore(settings.store, settings.dataDir);
    rootKey = await setUpRootKey(store, rootKeySource(settings.dataDir, env), env);
    deployment = await setUpDeployment(store, rootKey, settings.dataDir, settings.accountId, Date.now());
    await setUpAuditSigningKey(store, rootKey);
    if (settings.identities !== '') {
      await applyIdentitiesFile(settings.identities, { store, identities: access, rootKey, logger, now: Date.now() });
      const unwatch = watchIdentitiesFile(settings.identities, { store, identities: access, rootKey, logger });
      return {
        deployment,
        close: async () => {
          await unwatch();
          await closeAll();
        },
      };
    }
  } catch (err) {
    await closeAll();
    throw err;
  }
  await closeAll();
  return { deployment, close: async () => {} };
}
