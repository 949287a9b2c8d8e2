import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { createAccessKey } from '../auth/access-keys.js';
import { serviceNameOf, servicePrincipalOf } from '../auth/service-identity.js';
import {
  attachManagedPolicy,
  attachScp,
  checkServiceName,
  createManagedPolicy,
  deleteManagedPolicy,
  deleteService,
  deleteUser,
  ensureAccount,
  ensureRole,
  ensureUser,
  type IdentityAdmin,
  IdentityError,
  putRolePolicy,
  putUserPolicy,
} from '../server/identity-admin.js';
import { explain, whoCan } from '../server/policy-explain.js';
import { resolveSettings } from '../server/settings.js';
import { type AccessStore, openAccessStore } from '../storage/open-access-store.js';
import { addStoreOptions, openDeployment, type StoreOptions } from './open-deployment.js';

/**
 * `trent user create|delete|list` and `trent policy put-user-policy|delete-user-policy|list-user-policies`:
 * IAM users and their inline identity policies, written to the store. A running server sees a
 * change within a fraction of a second (it watches the store's identity version).
 */
export async function withIdentities<T>(
  options: StoreOptions,
  work: (admin: IdentityAdmin & { access: AccessStore; accountId: string; rootKey: Buffer }) => Promise<T>,
): Promise<T> {
  const { store, rootKey, deployment } = await openDeployment(options);
  try {
    const settings = resolveSettings({ dataDir: options.dataDir, store: options.store }, process.env);
    const access = await openAccessStore(settings.store, settings.dataDir);
    try {
      return await work({ store, identities: access, access, accountId: deployment.accountId, rootKey });
    } finally {
      await access.close();
    }
  } finally {
    await store.close();
  }
}

interface UserOptions extends StoreOptions {
  account?: string;
  tag?: string[];
}

export function userCommands(): Command {
  const command = new Command('user').description('manage IAM users');
  const tagOption = (c: Command) =>
    c.option('--tag <key=value>', 'a principal tag (repeatable)', (v: string, all: string[] = []) => [...all, v]);

  addStoreOptions(
    tagOption(
      command
        .command('create')
        .description('create an IAM user (or set the tags of an existing one)')
        .argument('<name>')
        .option('--account <id>', "the user's account (default: the deployment's default account)"),
    ),
  ).action(async (name: string, options: UserOptions) => {
    await withIdentities(options, async (admin) => {
      const accountId = options.account ?? admin.accountId;
      const tags = options.tag === undefined ? undefined : parseTags(options.tag);
      const { user, created } = await ensureUser(admin, accountId, name, Date.now(), tags);
      process.stdout.write(
        `${created ? 'created' : 'exists'}\tarn:aws:iam::${accountId}:user/${name}\t${user.userId}\t${JSON.stringify(user.tags)}\n`,
      );
    });
  });

  addStoreOptions(
    command
      .command('delete')
      .description('delete an IAM user with its policies and access keys')
      .argument('<name>')
      .option('--account <id>', "the user's account (default: the deployment's default account)"),
  ).action(async (name: string, options: UserOptions) => {
    await withIdentities(options, async (admin) => {
      const accountId = options.account ?? admin.accountId;
      if (!(await deleteUser(admin, accountId, name)))
        throw new IdentityError(`No user ${name} in account ${accountId}.`);
      process.stdout.write(`deleted arn:aws:iam::${accountId}:user/${name}\n`);
    });
  });

  addStoreOptions(
    command.command('list').description('list IAM users').option('--account <id>', 'only this account'),
  ).action(async (options: UserOptions) => {
    await withIdentities(options, async (admin) => {
      for (const u of await admin.identities.listUsers(options.account)) {
        process.stdout.write(
          `arn:aws:iam::${u.accountId}:user/${u.userName}\t${u.userId}\t${JSON.stringify(u.tags)}\n`,
        );
      }
    });
  });
  return command;
}

interface PolicyOptions extends StoreOptions {
  account?: string;
  user: string;
  name: string;
  file?: string;
  document?: string;
}

export function policyCommands(): Command {
  const command = new Command('policy').description('manage IAM identity policies');

  addStoreOptions(
    command
      .command('put-user-policy')
      .description('create or replace an inline policy of an IAM user (the user is created if missing)')
      .requiredOption('--user <name>', 'the IAM user')
      .requiredOption('--name <policy>', 'the policy name')
      .option('--file <path>', 'the policy document (JSON)')
      .option('--document <json>', 'the policy document, inline')
      .option('--account <id>', "the user's account (default: the deployment's default account)"),
  ).action(async (options: PolicyOptions) => {
    const document = options.document ?? (options.file === undefined ? undefined : readFileSync(options.file, 'utf8'));
    if (document === undefined) throw new IdentityError('Give the policy with --file or --document.');
    await withIdentities(options, async (admin) => {
      const accountId = options.account ?? admin.accountId;
      await ensureUser(admin, accountId, options.user, Date.now());
      await putUserPolicy(admin, accountId, options.user, options.name, document);
      process.stdout.write(`put ${options.name} on arn:aws:iam::${accountId}:user/${options.user}\n`);
    });
  });

  addStoreOptions(
    command
      .command('put-role-policy')
      .description('create or replace an inline policy of an IAM role')
      .requiredOption('--role <name>', 'the IAM role')
      .requiredOption('--name <policy>', 'the policy name')
      .option('--file <path>', 'the policy document (JSON)')
      .option('--document <json>', 'the policy document, inline')
      .option('--account <id>', "the role's account (default: the deployment's default account)"),
  ).action(async (options: PolicyOptions & { role: string }) => {
    const document = readDocument(options);
    await withIdentities(options, async (admin) => {
      const accountId = options.account ?? admin.accountId;
      await putRolePolicy(admin, accountId, options.role, options.name, document);
      process.stdout.write(`put ${options.name} on arn:aws:iam::${accountId}:role/${options.role}\n`);
    });
  });

  addStoreOptions(
    command
      .command('delete-role-policy')
      .description('delete an inline policy of an IAM role')
      .requiredOption('--role <name>', 'the IAM role')
      .requiredOption('--name <policy>', 'the policy name')
      .option('--account <id>', "the role's account (default: the deployment's default account)"),
  ).action(async (options: PolicyOptions & { role: string }) => {
    await withIdentities(options, async (admin) => {
      const accountId = options.account ?? admin.accountId;
      if (!(await admin.identities.deleteRolePolicy(accountId, options.role, options.name))) {
        throw new IdentityError(`Role ${options.role} has no policy ${options.name}.`);
      }
      process.stdout.write(`deleted ${options.name} of arn:aws:iam::${accountId}:role/${options.role}\n`);
    });
  });

  managedPolicyCommands(command);

  const question = (c: Command) =>
    c
      .requiredOption('--action <action>', 'the action, e.g. kms:Decrypt')
      .requiredOption('--key <id>', 'key id, key ARN, alias name or alias ARN')
      .option('--context <k=v>', 'an encryption context pair (repeatable)', (v: string, all: string[] = []) => [
        ...all,
        v,
      ])
      .option('--source-ip <ip>', 'aws:SourceIp of the request (default 127.0.0.1)')
      .option('--algorithm <alg>', 'kms:EncryptionAlgorithm of the request')
      .option('--region <region>', "region of the key (default us-east-1, or the key ARN's)")
      .option('--account <id>', "account of a key id or alias (default: the deployment's default account)");

  addStoreOptions(
    question(
      command
        .command('explain')
        .description('print the authorization decision for a principal, action and key, with its evaluation trace')
        .requiredOption('--principal <arn>', 'account root, user, role or assumed-role ARN'),
    ),
  ).action(async (options: ExplainOptions & { principal: string }) => {
    await withIdentities(options, async (admin) => {
      const out = await explain(
        { store: admin.store, access: admin.access, rootKey: admin.rootKey },
        { ...questionOf(options, admin.accountId), principal: options.principal },
      );
      process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    });
  });

  addStoreOptions(
    question(command.command('who-can').description('list the principals Trent knows that may perform the action')),
  ).action(async (options: ExplainOptions) => {
    await withIdentities(options, async (admin) => {
      const allowed = await whoCan(
        { store: admin.store, access: admin.access, rootKey: admin.rootKey },
        questionOf(options, admin.accountId),
      );
      for (const a of allowed) process.stdout.write(`${a.principal}\t${a.rule}${a.grantId ? `\t${a.grantId}` : ''}\n`);
    });
  });

  addStoreOptions(
    command
      .command('delete-user-policy')
      .description('delete an inline policy of an IAM user')
      .requiredOption('--user <name>', 'the IAM user')
      .requiredOption('--name <policy>', 'the policy name')
      .option('--account <id>', "the user's account (default: the deployment's default account)"),
  ).action(async (options: PolicyOptions) => {
    await withIdentities(options, async (admin) => {
      const accountId = options.account ?? admin.accountId;
      if (!(await admin.identities.deleteUserPolicy(accountId, options.user, options.name))) {
        throw new IdentityError(`User ${options.user} has no policy ${options.name}.`);
      }
      process.stdout.write(`deleted ${options.name} of arn:aws:iam::${accountId}:user/${options.user}\n`);
    });
  });

  addStoreOptions(
    command
      .command('list-user-policies')
      .description("print an IAM user's inline policies")
      .requiredOption('--user <name>', 'the IAM user')
      .option('--account <id>', "the user's account (default: the deployment's default account)"),
  ).action(async (options: PolicyOptions) => {
    await withIdentities(options, async (admin) => {
      const accountId = options.account ?? admin.accountId;
      const policies = await admin.identities.listUserPolicies(accountId, options.user);
      process.stdout.write(
        `${JSON.stringify(Object.fromEntries(policies.map((p) => [p.policyName, JSON.parse(p.document)])), null, 2)}\n`,
      );
    });
  });
  return command;
}

interface ManagedPolicyOptions extends StoreOptions {
  account?: string;
  name: string;
  policyName: string;
  user: string;
  role: string;
  file?: string;
  document?: string;
}

/**
 * `trent policy create-policy|delete-policy|list-policies|attach-user-policy|detach-user-policy|
 * attach-role-policy|detach-role-policy`: customer managed policies and their attachments.
 */
function managedPolicyCommands(command: Command): void {
  const account = (c: Command) =>
    c.option('--account <id>', "the policy's account (default: the deployment's default account)");

  addStoreOptions(
    account(
      command
        .command('create-policy')
        .description('create a customer managed policy (arn:aws:iam::<account>:policy/<name>)')
        .requiredOption('--name <policy>', 'the policy name')
        .option('--file <path>', 'the policy document (JSON)')
        .option('--document <json>', 'the policy document, inline'),
    ),
  ).action(async (options: ManagedPolicyOptions) => {
    const document = readDocument(options);
    await withIdentities(options, async (admin) => {
      const accountId = options.account ?? admin.accountId;
      await createManagedPolicy(admin, accountId, options.name, document, Date.now());
      const policy = await admin.identities.getManagedPolicy(accountId, options.name);
      process.stdout.write(`created	arn:aws:iam::${accountId}:policy/${options.name}	${policy?.policyId}
`);
    });
  });

  addStoreOptions(
    account(
      command
        .command('delete-policy')
        .description('delete a customer managed policy (refused while it is attached)')
        .requiredOption('--name <policy>', 'the policy name'),
    ),
  ).action(async (options: ManagedPolicyOptions) => {
    await withIdentities(options, async (admin) => {
      const accountId = options.account ?? admin.accountId;
      await deleteManagedPolicy(admin, accountId, options.name);
      process.stdout.write(`deleted arn:aws:iam::${accountId}:policy/${options.name}
`);
    });
  });

  addStoreOptions(
    command
      .command('list-policies')
      .description('list customer managed policies and what they are attached to')
      .option('--account <id>', 'only this account'),
  ).action(async (options: ManagedPolicyOptions) => {
    await withIdentities(options, async (admin) => {
      for (const p of await admin.identities.listManagedPolicies(options.account)) {
        const attachments = await admin.identities.listPolicyAttachments(p.accountId, p.policyName);
        process.stdout.write(
          `arn:aws:iam::${p.accountId}:policy/${p.policyName}\t${p.policyId}\t${attachments
            .map((a) => `${a.entityType}/${a.entityName}`)
            .join(',')}\n`,
        );
      }
    });
  });

  for (const entityType of ['user', 'role'] as const) {
    addStoreOptions(
      account(
        command
          .command(`attach-${entityType}-policy`)
          .description(`attach a customer managed policy to an IAM ${entityType}`)
          .requiredOption(`--${entityType} <name>`, `the IAM ${entityType}`)
          .requiredOption('--policy-name <policy>', 'the managed policy name'),
      ),
    ).action(async (options: ManagedPolicyOptions) => {
      await withIdentities(options, async (admin) => {
        const accountId = options.account ?? admin.accountId;
        await attachManagedPolicy(admin, accountId, entityType, options[entityType], options.policyName);
        process.stdout.write(
          `attached arn:aws:iam::${accountId}:policy/${options.policyName} to arn:aws:iam::${accountId}:${entityType}/${options[entityType]}\n`,
        );
      });
    });

    addStoreOptions(
      account(
        command
          .command(`detach-${entityType}-policy`)
          .description(`detach a customer managed policy from an IAM ${entityType}`)
          .requiredOption(`--${entityType} <name>`, `the IAM ${entityType}`)
          .requiredOption('--policy-name <policy>', 'the managed policy name'),
      ),
    ).action(async (options: ManagedPolicyOptions) => {
      await withIdentities(options, async (admin) => {
        const accountId = options.account ?? admin.accountId;
        const name = options[entityType];
        if (
          !(await admin.identities.detachPolicy({
            accountId,
            policyName: options.policyName,
            entityType,
            entityName: name,
          }))
        ) {
          throw new IdentityError(`Policy ${options.policyName} is not attached to ${entityType} ${name}.`);
        }
        process.stdout.write(
          `detached arn:aws:iam::${accountId}:policy/${options.policyName} from arn:aws:iam::${accountId}:${entityType}/${name}\n`,
        );
      });
    });
  }
}

interface ExplainOptions extends StoreOptions {
  action: string;
  key: string;
  context?: string[];
  sourceIp?: string;
  algorithm?: string;
  region?: string;
  account?: string;
}

function questionOf(options: ExplainOptions, defaultAccountId: string) {
  const arn = /^arn:aws:kms:([a-z0-9-]+):(\d{12}):/.exec(options.key);
  return {
    action: options.action,
    key: options.key,
    accountId: options.account ?? arn?.[2] ?? defaultAccountId,
    region: options.region ?? arn?.[1] ?? 'us-east-1',
    context: options.context === undefined ? undefined : parseTags(options.context),
    sourceIp: options.sourceIp,
    algorithm: options.algorithm,
  };
}

function readDocument(options: { file?: string; document?: string }, what = 'policy'): string {
  const document = options.document ?? (options.file === undefined ? undefined : readFileSync(options.file, 'utf8'));
  if (document === undefined) throw new IdentityError(`Give the ${what} with --file or --document.`);
  return document;
}

interface RoleOptions extends StoreOptions {
  account?: string;
  tag?: string[];
  trustFile?: string;
  trustDocument?: string;
  maxSessionDuration?: string;
}

export function roleCommands(): Command {
  const command = new Command('role').description('manage IAM roles (assumed through STS AssumeRole)');
  addStoreOptions(
    command
      .command('create')
      .description('create an IAM role (or update the trust policy, tags and duration of an existing one)')
      .argument('<name>')
      .option('--trust-file <path>', 'the trust policy (JSON): who may assume the role')
      .option('--trust-document <json>', 'the trust policy, inline')
      .option('--max-session-duration <seconds>', 'longest session AssumeRole issues, 3600-43200 (default 3600)')
      .option('--tag <key=value>', 'a principal tag of its sessions (repeatable)', (v: string, all: string[] = []) => [
        ...all,
        v,
      ])
      .option('--account <id>', "the role's account (default: the deployment's default account)"),
  ).action(async (name: string, options: RoleOptions) => {
    const trustPolicy = readDocument({ file: options.trustFile, document: options.trustDocument }, 'trust policy');
    await withIdentities(options, async (admin) => {
      const accountId = options.account ?? admin.accountId;
      const { role, created } = await ensureRole(admin, accountId, name, Date.now(), {
        trustPolicy,
        tags: options.tag === undefined ? undefined : parseTags(options.tag),
        maxSessionDuration: options.maxSessionDuration === undefined ? undefined : Number(options.maxSessionDuration),
      });
      process.stdout.write(
        `${created ? 'created' : 'exists'}\tarn:aws:iam::${accountId}:role/${name}\t${role.roleId}\t${JSON.stringify(role.tags)}\n`,
      );
    });
  });

  addStoreOptions(
    command
      .command('delete')
      .description('delete an IAM role with its inline policies (its sessions lose every permission)')
      .argument('<name>')
      .option('--account <id>', "the role's account (default: the deployment's default account)"),
  ).action(async (name: string, options: RoleOptions) => {
    await withIdentities(options, async (admin) => {
      const accountId = options.account ?? admin.accountId;
      if (!(await admin.identities.deleteRole(accountId, name)))
        throw new IdentityError(`No role ${name} in account ${accountId}.`);
      process.stdout.write(`deleted arn:aws:iam::${accountId}:role/${name}\n`);
    });
  });

  addStoreOptions(
    command.command('list').description('list IAM roles').option('--account <id>', 'only this account'),
  ).action(async (options: RoleOptions) => {
    await withIdentities(options, async (admin) => {
      for (const r of await admin.identities.listRoles(options.account)) {
        process.stdout.write(
          `arn:aws:iam::${r.accountId}:role/${r.roleName}\t${r.roleId}\t${r.maxSessionDuration}\t${JSON.stringify(r.tags)}\n`,
        );
      }
    });
  });
  return command;
}

interface ScpOptions extends StoreOptions {
  account?: string;
  name?: string;
  file?: string;
  document?: string;
}

export function scpCommands(): Command {
  const command = new Command('scp').description(
    'manage service control policies: the organization boundary of an account',
  );
  addStoreOptions(
    command
      .command('attach')
      .description('attach (or replace) an SCP on an account; once an account has SCPs, they must allow every call')
      .requiredOption('--account <id>', 'the account')
      .option('--name <policy>', 'the policy name (default: the file name, or "scp")')
      .option('--file <path>', 'the policy document (JSON)')
      .option('--document <json>', 'the policy document, inline'),
  ).action(async (options: ScpOptions) => {
    const document = readDocument(options, 'SCP');
    const name =
      options.name ??
      (options.file === undefined ? 'scp' : (options.file.split(/[\\/]/).pop() ?? 'scp').replace(/\.json$/, ''));
    await withIdentities(options, async (admin) => {
      await attachScp(admin, options.account as string, name, document, Date.now());
      process.stdout.write(`attached ${name} to account ${options.account}\n`);
    });
  });

  addStoreOptions(
    command
      .command('detach')
      .description('detach an SCP from an account')
      .requiredOption('--account <id>', 'the account')
      .requiredOption('--name <policy>', 'the policy name'),
  ).action(async (options: ScpOptions) => {
    await withIdentities(options, async (admin) => {
      if (!(await admin.identities.deleteScp(options.account as string, options.name as string))) {
        throw new IdentityError(`Account ${options.account} has no SCP ${options.name}.`);
      }
      process.stdout.write(`detached ${options.name} from account ${options.account}\n`);
    });
  });

  addStoreOptions(
    command.command('list').description('print SCPs').option('--account <id>', 'only this account'),
  ).action(async (options: ScpOptions) => {
    await withIdentities(options, async (admin) => {
      for (const p of await admin.identities.listScps(options.account)) {
        process.stdout.write(`${p.accountId}\t${p.policyName}\t${JSON.stringify(JSON.parse(p.document))}\n`);
      }
    });
  });
  return command;
}

/**
 * `trent service create|list|delete`: service identities (docs/identities.md, "Calls through a
 * service"). `create` prints a new access key of the service in credentials-file form.
 */
export function serviceCommands(): Command {
  const command = new Command('service').description(
    'manage service identities: stand-ins for AWS services that call KMS on behalf of a principal',
  );
  addStoreOptions(
    command
      .command('create')
      .description('create an access key for a service identity (s3 → s3.amazonaws.com) and print it')
      .argument('<name>', 'the service name, as in <name>.amazonaws.com')
      .option('--account <id>', "the account whose principals it may act for (default: the deployment's default)")
      .option('--profile <name>', 'profile name to print', 'default'),
  ).action(async (name: string, options: StoreOptions & { account?: string; profile: string }) => {
    checkServiceName(name);
    await withIdentities(options, async (admin) => {
      const accountId = options.account ?? admin.accountId;
      await ensureAccount(admin, accountId, Date.now());
      const { record, secret } = await createAccessKey(admin.store, admin.rootKey, {
        accountId,
        service: name,
        description: `service ${name}`,
        now: Date.now(),
      });
      process.stdout.write(
        `[${options.profile}]\naws_access_key_id = ${record.accessKeyId}\naws_secret_access_key = ${secret}\n# principal ${record.principalArn} (account ${accountId})\n`,
      );
    });
  });

  addStoreOptions(
    command
      .command('delete')
      .description('delete a service identity: all its access keys in the account')
      .argument('<name>')
      .option('--account <id>', "the account (default: the deployment's default account)"),
  ).action(async (name: string, options: StoreOptions & { account?: string }) => {
    checkServiceName(name);
    await withIdentities(options, async (admin) => {
      const accountId = options.account ?? admin.accountId;
      if (!(await deleteService(admin, accountId, name))) {
        throw new IdentityError(`No service identity ${name} in account ${accountId}.`);
      }
      process.stdout.write(`deleted ${servicePrincipalOf(name)} in account ${accountId}\n`);
    });
  });

  addStoreOptions(
    command
      .command('list')
      .description('list service identities and their access keys')
      .option('--account <id>', 'only this account'),
  ).action(async (options: StoreOptions & { account?: string }) => {
    await withIdentities(options, async (admin) => {
      for (const key of await admin.store.listAccessKeys(options.account)) {
        if (serviceNameOf(key.principalArn) === undefined) continue;
        process.stdout.write(`${key.principalArn}\t${key.accountId}\t${key.accessKeyId}\n`);
      }
    });
  });
  return command;
}

function parseTags(pairs: string[]): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new IdentityError(`Tag '${pair}' must be key=value.`);
    tags[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return tags;
}
