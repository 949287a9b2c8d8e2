import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from './server.js';

/**
 * Runs `bin/trent <args>` to completion, as an operator would. A `trent server` run through here
 * is one process (TRENT_WORKERS=1) unless `env` says otherwise, as in helpers/server.ts.
 */
export function trent(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin/trent'), ...args], {
    env: { ...process.env, TRENT_WORKERS: '1', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A new access key for an IAM user of the data directory's account (`trent access-key create`). */
export function createAccessKey(dataDir: string, userName: string): { accessKeyId: string; secretAccessKey: string } {
  const r = trent(['access-key', 'create', '--user', userName, '--data-dir', dataDir]);
  const accessKeyId = /^aws_access_key_id = (\S+)$/m.exec(r.stdout)?.[1];
  const secretAccessKey = /^aws_secret_access_key = (\S+)$/m.exec(r.stdout)?.[1];
  if (r.code !== 0 || accessKeyId === undefined || secretAccessKey === undefined) {
    throw new Error(`trent access-key create --user ${userName}: ${r.stderr}`);
  }
  return { accessKeyId, secretAccessKey };
}

/** Every record in a data directory's audit log, newest first (`trent audit lookup`). */
export function lookupAll(dataDir: string, filters: string[] = []): Record<string, unknown>[] {
  const records: Record<string, unknown>[] = [];
  let token: string | undefined;
  do {
    const r = trent([
      'audit',
      'lookup',
      '--data-dir',
      dataDir,
      '--limit',
      '1000',
      ...filters,
      ...(token ? ['--next-token', token] : []),
    ]);
    if (r.code !== 0) throw new Error(`trent audit lookup failed: ${r.stderr}`);
    const page = JSON.parse(r.stdout) as { Records: Record<string, unknown>[]; NextToken?: string };
    records.push(...page.Records);
    token = page.NextToken;
  } while (token !== undefined);
  return records;
}
