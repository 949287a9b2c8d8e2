import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createAccessKey, unwrapAccessKeySecret } from '../auth/access-keys.js';
import type { Store } from '../storage/store.js';

/**
 * A deployment's identity setup: its default account and an administrator access key, created once
 * (two processes starting together agree on one, through the store), and the administrator's
 * credentials written to an AWS shared-credentials file (profile `default`, mode 0600) in the data
 * directory, so that `AWS_SHARED_CREDENTIALS_FILE=<data-dir>/credentials aws kms …` just works.
 */
export const DEFAULT_ACCOUNT_ID = '111122223333';
export const CREDENTIALS_FILE = 'credentials';

export interface Deployment {
  accountId: string;
  adminAccessKeyId: string;
  credentialsPath: string;
}

export class SetupError extends Error {}

export async function setUpDeployment(
  store: Store,
  rootKey: Buffer,
  dataDir: string,
  requestedAccountId: string | undefined,
  now: number,
): Promise<Deployment> {
  const accountId = await store.putMetaIfAbsent('default-account', requestedAccountId ?? DEFAULT_ACCOUNT_ID);
  if (requestedAccountId !== undefined && requestedAccountId !== accountId) {
    throw new SetupError(
      `This store's default account is ${accountId}; it cannot start as account ${requestedAccountId}.`,
    );
  }
  if ((await store.getAccount(accountId)) === undefined) await store.putAccount({ accountId, createdAt: now });

  let adminAccessKeyId = await store.getMeta('admin-access-key');
  if (adminAccessKeyId === undefined) {
    const { record } = await createAccessKey(store, rootKey, { accountId, description: 'administrator', now });
    adminAccessKeyId = await store.putMetaIfAbsent('admin-access-key', record.accessKeyId);
    // Another process won the race: keep only its key.
    if (adminAccessKeyId !== record.accessKeyId) await store.deleteAccessKey(record.accessKeyId);
  }
  const admin = await store.getAccessKey(adminAccessKeyId);
  const secret = admin === undefined ? undefined : unwrapAccessKeySecret(rootKey, admin);
  if (secret === undefined) {
    throw new SetupError(`The administrator access key ${adminAccessKeyId} is missing from the store.`);
  }
  const credentialsPath = join(dataDir, CREDENTIALS_FILE);
  writeCredentialsFile(credentialsPath, adminAccessKeyId, secret);
  return { accountId, adminAccessKeyId, credentialsPath };
}

/** (Re)writes the file unless it already holds these credentials. */
function writeCredentialsFile(path: string, accessKeyId: string, secret: string): void {
  const text = `[default]\naws_access_key_id = ${accessKeyId}\naws_secret_access_key = ${secret}\n`;
  if (existsSync(path) && readFileSync(path, 'utf8') === text) return;
  writeFileSync(path, text, { mode: 0o600 });
  chmodSync(path, 0o600);
}
