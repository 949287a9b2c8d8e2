import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { CredentialCache } from '../auth/access-keys.js';
import { Authenticator } from '../auth/authenticate.js';
import { SigningKeyCache } from '../auth/sigv4.js';
import { SystemClock } from '../clock.js';
import { KeyRepository } from '../keys/key-repository.js';
import type { Services } from '../operations/context.js';
import { OPERATIONS } from '../operations/registry.js';
import { AccountAuthorizer } from '../policy/authorizer.js';
import { openStore } from '../storage/open-store.js';
import type { Store } from '../storage/store.js';
import { DeletionScheduler } from './deletion-scheduler.js';
import { type Deployment, setUpDeployment } from './first-start.js';
import { createHttpServer } from './http-server.js';
import { KmsHandler } from './kms-handler.js';
import { createLogger } from './logger.js';
import { rootKeySource, setUpRootKey } from './root-key-setup.js';
import type { ServerSettings } from './settings.js';

/**
 * Wiring: opens the store, finds the root key, sets up the deployment, builds the services and
 * starts listening. Returns a handle whose `close()` stops accepting connections, lets in-flight
 * requests finish, stops the schedulers and closes the store.
 */
export interface RunningServer {
  url: string;
  port: number;
  deployment: Deployment;
  services: Services;
  deletionScheduler: DeletionScheduler;
  operations: string[];
  close(): Promise<void>;
}

export async function startServer(
  settings: ServerSettings,
  env: NodeJS.ProcessEnv = process.env,
  logger: Logger = createLogger(settings.logLevel),
): Promise<RunningServer> {
  mkdirSync(settings.dataDir, { recursive: true, mode: 0o700 });
  const store = await openStore(settings.store, settings.dataDir);
  try {
    return await startOnStore(store, settings, env, logger);
  } catch (err) {
    await store.close();
    throw err;
  }
}

async function startOnStore(
  store: Store,
  settings: ServerSettings,
  env: NodeJS.ProcessEnv,
  logger: Logger,
): Promise<RunningServer> {
  const clock = new SystemClock();
  const rootKey = await setUpRootKey(store, rootKeySource(settings.dataDir, env), env);
  const deployment = await setUpDeployment(store, rootKey, settings.dataDir, settings.accountId, clock.now());
  const keys = new KeyRepository(store, rootKey);
  const services: Services = {
    keys,
    authorizer: new AccountAuthorizer(),
    clock,
    limits: { keysPerAccountRegion: settings.keyQuota },
  };
  const authenticator = new Authenticator({
    mode: settings.dev ? 'dev' : 'secure',
    service: 'kms',
    windowMs: settings.signatureWindowMs,
    defaultAccountId: deployment.accountId,
    credentials: new CredentialCache(store, rootKey),
    signingKeys: new SigningKeyCache(),
  });
  const kms = new KmsHandler({
    operations: OPERATIONS,
    authenticator,
    services,
    logger,
    bodyLimit: settings.bodyLimit,
  });
  const server = createHttpServer(kms, logger);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.port, settings.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${settings.host.includes(':') ? `[${settings.host}]` : settings.host}:${port}`;
  const deletionScheduler = new DeletionScheduler(keys, clock, logger, settings.schedulerIntervalMs);
  deletionScheduler.start();

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
  logger.info({ url, store: settings.store || `sqlite:${settings.dataDir}/trent.db` }, 'Trent is ready on %s', url);

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await deletionScheduler.stop();
      keys.clear();
      await store.close();
      rootKey.fill(0);
    })();
    return closing;
  };
  return { url, port, deployment, services, deletionScheduler, operations: kms.operationNames, close };
}
