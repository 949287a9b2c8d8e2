import { Command } from 'commander';
import { createAccessKey } from '../auth/access-keys.js';
import { ensureAccount, ensureUser } from '../server/identity-admin.js';
import { withIdentities } from './identity-commands.js';
import { addStoreOptions, openDeployment, type StoreOptions } from './open-deployment.js';

/**
 * `trent access-key create|list|delete`: long-term access keys for the deployment's accounts.
 * `create` prints the secret once, in the AWS shared-credentials format; Trent keeps it only
 * wrapped under the root key.
 */
export function accessKeyCommands(): Command {
  const command = new Command('access-key').description('manage access keys');

  addStoreOptions(
    command
      .command('create')
      .description('create an access key and print it as a credentials-file profile')
      .option('--account <id>', "the account the key belongs to (default: the deployment's default account)")
      .option('--user <name>', 'sign as IAM user arn:aws:iam::<account>:user/<name> instead of the account root')
      .option('--description <text>', 'a note kept with the key')
      .option('--profile <name>', 'profile name to print', 'default'),
  ).action(
    async (options: StoreOptions & { account?: string; user?: string; description?: string; profile: string }) => {
      await withIdentities(options, async ({ store, identities, rootKey, accountId: defaultAccount }) => {
        const accountId = options.account ?? defaultAccount;
        await ensureAccount({ store, identities }, accountId, Date.now());
        // An access key of a user that does not exist yet creates the user (with no policies).
        if (options.user !== undefined) await ensureUser({ store, identities }, accountId, options.user, Date.now());
        const { record, secret } = await createAccessKey(store, rootKey, {
          accountId,
          ...(options.user === undefined ? {} : { userName: options.user }),
          ...(options.description === undefined ? {} : { description: options.description }),
          now: Date.now(),
        });
        process.stdout.write(
          `[${options.profile}]\naws_access_key_id = ${record.accessKeyId}\naws_secret_access_key = ${secret}\n# principal ${record.principalArn}\n`,
        );
      });
    },
  );

  addStoreOptions(
    command
      .command('list')
      .description('list access keys (never their secrets)')
      .option('--account <id>', 'only this account'),
  ).action(async (options: StoreOptions & { account?: string }) => {
    const { store } = await openDeployment(options);
    try {
      for (const key of await store.listAccessKeys(options.account)) {
        const created = new Date(key.createdAt).toISOString();
        process.stdout.write(`${key.accessKeyId}\t${key.principalArn}\t${created}\t${key.description}\n`);
      }
    } finally {
      await store.close();
    }
  });

  addStoreOptions(command.command('delete').description('delete an access key').argument('<access-key-id>')).action(
    async (accessKeyId: string, options: StoreOptions) => {
      const { store, deployment } = await openDeployment(options);
      try {
        if (accessKeyId === deployment.adminAccessKeyId) {
          throw new Error('The administrator access key cannot be deleted.');
        }
        if (!(await store.deleteAccessKey(accessKeyId))) throw new Error(`No access key ${accessKeyId}.`);
        process.stdout.write(`deleted ${accessKeyId} (a running server stops accepting it within 5 seconds)\n`);
      } finally {
        await store.close();
      }
    },
  );
  return command;
}
