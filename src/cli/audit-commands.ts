import { mkdirSync, readFileSync } from 'node:fs';
import { Command } from 'commander';
import { exportAudit, verifyExport } from '../audit/export.js';
import { pruneAudit } from '../audit/retention.js';
import { readAuditPublicKey, setUpAuditSigningKey } from '../audit/signing-key.js';
import type { VerifyResult } from '../audit/verify.js';
import { verifyLog } from '../audit/verify-log.js';
import { signDigest } from '../audit/writer.js';
import { resolveSettings } from '../server/settings.js';
import type { AuditFilter, AuditLog } from '../storage/audit-log.js';
import { openAuditLog } from '../storage/open-audit-log.js';
import { openStore } from '../storage/open-store.js';
import type { Store } from '../storage/store.js';
import { addStoreOptions, openDeployment, type StoreOptions } from './open-deployment.js';

/**
 * `trent audit verify|export|lookup|public-key|digest|prune`. Like every admin command they take
 * --data-dir / --store and work on a stopped server's store or beside a running one; `verify
 * --export DIR` needs no store at all. Exit status 1 when verification finds a problem.
 */
export function auditCommands(): Command {
  const command = new Command('audit').description('the audit trail: verify, export, look up');

  addStoreOptions(
    command
      .command('verify')
      .description(
        'check the hash chain and the signed digests; name the first altered, removed, inserted or reordered record',
      )
      .option('--from <time>', 'only records at or after this ISO 8601 time')
      .option('--to <time>', 'only records before this ISO 8601 time')
      .option('--export <dir>', 'verify an export made by `trent audit export` instead of a store')
      .option('--public-key <file>', 'the audit public key (PEM) to trust, e.g. saved from `trent audit public-key`')
      .option('--json', 'print the result as JSON'),
  ).action(
    async (
      options: StoreOptions & { from?: string; to?: string; export?: string; publicKey?: string; json?: boolean },
    ) => {
      const pinned = options.publicKey === undefined ? undefined : readFileSync(options.publicKey, 'utf8');
      let result: VerifyResult;
      if (options.export !== undefined) {
        result = verifyExport(options.export, pinned);
      } else {
        result = await withAudit(options, async (store, log) => {
          const key = pinned ?? (await readAuditPublicKey(store));
          if (key === undefined) throw new Error('This store has no audit signing key yet (the server never started).');
          return verifyLog(log, key, { from: time(options.from), to: time(options.to) });
        });
      }
      report(result, options.json === true);
      if (!result.ok) process.exitCode = 1;
    },
  );

  addStoreOptions(
    command
      .command('export')
      .description('write CloudTrail-style hourly log files ({"Records": [...]}, gzip) and Trent digest files')
      .requiredOption('--out <dir>', 'output directory'),
  ).action(async (options: StoreOptions & { out: string }) => {
    const { store, rootKey, deployment } = await openDeployment(options);
    const settings = resolveSettings({ dataDir: options.dataDir, store: options.store }, process.env);
    const log = await openAuditLog(settings.store, settings.dataDir);
    try {
      const key = await setUpAuditSigningKey(store, rootKey);
      // Sign what is not yet covered, so the whole export is anchored in signed digests.
      await signDigest(log, key, Date.now());
      mkdirSync(options.out, { recursive: true });
      const done = await exportAudit(log, options.out, {
        accountId: deployment.accountId,
        publicKeyPem: key.publicKeyPem,
      });
      process.stdout.write(`exported ${done.records} records in ${done.files} files to ${options.out}\n`);
    } finally {
      await log.close();
      await store.close();
    }
  });

  addStoreOptions(
    command
      .command('lookup')
      .description('find records, newest first')
      .option('--key-arn <arn>', 'records that used this key')
      .option('--event-name <name>', 'e.g. Encrypt')
      .option('--principal <arn>', "the caller's principal ARN")
      .option('--error-code <code>', 'e.g. AccessDenied')
      .option('--read-only <bool>', 'true or false')
      .option('--from <time>', 'at or after this ISO 8601 time')
      .option('--to <time>', 'before this ISO 8601 time')
      .option('--limit <n>', 'records per page (default 50)', '50')
      .option('--next-token <token>', 'continue after a previous page'),
  ).action(
    async (
      options: StoreOptions & {
        keyArn?: string;
        eventName?: string;
        principal?: string;
        errorCode?: string;
        readOnly?: string;
        from?: string;
        to?: string;
        limit: string;
        nextToken?: string;
      },
    ) => {
      const filter: AuditFilter = {};
      if (options.keyArn !== undefined) filter.keyArn = options.keyArn;
      if (options.eventName !== undefined) filter.eventName = options.eventName;
      if (options.principal !== undefined) filter.principalArn = options.principal;
      if (options.errorCode !== undefined) filter.errorCode = options.errorCode;
      if (options.readOnly !== undefined) filter.readOnly = options.readOnly === 'true';
      const from = time(options.from);
      const to = time(options.to);
      if (from !== undefined) filter.from = from;
      if (to !== undefined) filter.to = to;
      const limit = Number(options.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new Error('--limit takes 1 to 1000');
      const before = options.nextToken === undefined ? undefined : Number(options.nextToken);
      const page = await withAudit(options, (_store, log) => log.lookup(filter, limit, before));
      const last = page.at(-1);
      const next = page.length === limit && last !== undefined ? String(last.seq) : undefined;
      const out = { Records: page.map((e) => JSON.parse(e.record) as unknown), ...(next ? { NextToken: next } : {}) };
      process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    },
  );

  addStoreOptions(command.command('public-key').description('print the audit signing public key (PEM)')).action(
    async (options: StoreOptions) => {
      const key = await withAudit(options, (store) => readAuditPublicKey(store));
      if (key === undefined) throw new Error('This store has no audit signing key yet (the server never started).');
      process.stdout.write(key);
    },
  );

  addStoreOptions(command.command('digest').description('sign a digest over the records not yet covered')).action(
    async (options: StoreOptions) => {
      const { store, rootKey } = await openDeployment(options);
      const settings = resolveSettings({ dataDir: options.dataDir, store: options.store }, process.env);
      const log = await openAuditLog(settings.store, settings.dataDir);
      try {
        const digest = await signDigest(log, await setUpAuditSigningKey(store, rootKey), Date.now());
        process.stdout.write(digest === undefined ? 'nothing new to sign\n' : `${digest.doc}\n`);
      } finally {
        await log.close();
        await store.close();
      }
    },
  );

  addStoreOptions(
    command
      .command('prune')
      .description('delete records older than N days, up to the end of a signed digest (which stays as the anchor)')
      .requiredOption('--older-than-days <n>', 'age in days (0: everything already covered by a digest)'),
  ).action(async (options: StoreOptions & { olderThanDays: string }) => {
    const days = Number(options.olderThanDays);
    if (!Number.isFinite(days) || days < 0) throw new Error('--older-than-days takes a number of days');
    const pruned = await withAudit(options, (_store, log) => pruneAudit(log, Date.now() - days * 86_400_000));
    process.stdout.write(`pruned ${pruned.events} records (through seq ${pruned.throughSeq})\n`);
  });

  return command;
}

async function withAudit<T>(options: StoreOptions, fn: (store: Store, log: AuditLog) => Promise<T>): Promise<T> {
  const settings = resolveSettings({ dataDir: options.dataDir, store: options.store }, process.env);
  const store = await openStore(settings.store, settings.dataDir);
  try {
    const log = await openAuditLog(settings.store, settings.dataDir);
    try {
      return await fn(store, log);
    } finally {
      await log.close();
    }
  } finally {
    await store.close();
  }
}

function time(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw new Error(`Not an ISO 8601 time: '${text}'`);
  return t;
}

function report(result: VerifyResult, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return;
  }
  if (result.ok) {
    process.stdout.write(
      `OK: ${result.checked} records and ${result.digestsChecked} signed digests verified` +
        (result.unsigned > 0 ? `; ${result.unsigned} newest record(s) not yet covered by a digest` : '') +
        '\n',
    );
    return;
  }
  for (const f of result.findings)
    process.stdout.write(`FAIL ${f.kind}: ${f.message}${f.eventId ? ` [eventID ${f.eventId}]` : ''}\n`);
}
