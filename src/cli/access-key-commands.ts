import { Command } from 'commander';
import { createAccessKey } from '../auth/access-keys.js';
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
      const { store, rootKey, deployment } = await openDeployment(options);
      try {
        const accountId = options.account ?? deployment.accountId;
        if (!/^\d{12}$/.test(accountId)) throw new Error(`The account id must be 12 digits, not '${accountId}'.`);
        if ((await store.getAccount(accountId)) === undefined)
          await store.putAccount({ accountId, createdAt: Date.now() });
        const { record, secret } = await createAccessKey(store, rootKey, {
          accountId,
          ...(options.user === undefined ? {} : { userName: options.user }),
          ...(options.description === undefined ? {} : { description: options.description }),
          now: Date.now(),
        });
        process.stdout.write(
          `[${options.profile}]\naws_access_key_id = ${record.accessKeyId}\naws_secret_access_key = ${secret}\n# principal ${record.principalArn}\n`,
        );
      } finally {
        await store.close();
      }
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
