import { Command, Option } from 'commander';
import { isClusterWorker, runPrimary, runWorker } from '../server/cluster.js';
import { limitHeapGrowth } from '../server/heap-growth.js';
import { createLogger } from '../server/logger.js';
import { resolveSettings } from '../server/settings.js';
import { startServer } from '../server/start.js';
import { accessKeyCommands } from './access-key-commands.js';
import { auditCommands } from './audit-commands.js';
import { clockCommands } from './clock-commands.js';
import { policyCommands, roleCommands, scpCommands, serviceCommands, userCommands } from './identity-commands.js';
import { storeCommands } from './store-commands.js';

/**
 * The `trent` command. `trent server` runs the KMS endpoint; the other commands administer a
 * deployment's store directly (they take the same --data-dir / --store options).
 */
export async function main(argv: string[]): Promise<void> {
  const program = new Command('trent')
    .description('A self-hosted key management service that speaks the AWS KMS API')
    .showHelpAfterError();

  program
    .command('server')
    .description('run the KMS API server')
    .option('--host <host>', 'address to listen on (default 127.0.0.1; env TRENT_HOST)')
    .addOption(new Option('--port <port>', 'port to listen on (default 4599; env TRENT_PORT)'))
    .option(
      '--data-dir <dir>',
      'directory for the root key, credentials and the default store (default .trent; env TRENT_DATA_DIR)',
    )
    .option(
      '--store <spec>',
      'store: sqlite:PATH or postgres://USER@HOST:PORT/DB?max=N (default sqlite:<data-dir>/trent.db; env TRENT_STORE)',
    )
    .option(
      '--account-id <id>',
      'the default account, 12 digits, fixed at first start (default 111122223333; env TRENT_ACCOUNT_ID)',
    )
    .option('--dev', 'dev mode: accept any access key, do not verify signatures (env TRENT_DEV=true)')
    .option('--log-level <level>', 'pino log level (default info; env TRENT_LOG_LEVEL)')
    .option('--audit <on|off>', 'off only with --dev, for benchmarks: calls are then not recorded (env TRENT_AUDIT)')
    .option('--audit-retention-days <n>', 'prune audit records older than this (default 0: keep all)')
    .option('--audit-digest-interval-ms <ms>', 'how often to sign an audit digest (default 3600000)')
    .option(
      '--audit-commit <loop|thread>',
      'commit audit records on the event loop or on a thread of their own (SQLite; one process); see docs/audit.md (default loop; env TRENT_AUDIT_COMMIT)',
    )
    .option(
      '--identities <file>',
      'identities file (users, policies, access keys) applied at start; see docs/identities.md',
    )
    .option('--allow-time-travel', 'tests only: let the administrator move the lifecycle clock (trent clock advance)')
    .option('--deletion-alert-url <url>', 'POST a JSON alert here whenever a key pending deletion is used')
    .option(
      '--trusted-proxies <cidrs>',
      'CIDR[,CIDR…] of front proxies whose X-Trent-Source-Vpce/-Vpc and X-Forwarded-For headers are believed; see docs/identities.md (default none; env TRENT_TRUSTED_PROXIES)',
    )
    .option(
      '--workers <n>',
      'server processes sharing the port, or auto (one per core); 1 runs a single process; see docs/multi-process.md (default: one per core on more than two cores, else 1; always 1 with --allow-time-travel; env TRENT_WORKERS)',
    )
    .option('--config <file>', 'JSON file with any of the settings above (camelCase names)')
    .action(async (options: Record<string, unknown>) => {
      limitHeapGrowth();
      const { config, ...flags } = options;
      const settings = resolveSettings(flags, process.env, config as string | undefined);
      const logger = createLogger(settings.logLevel);
      if (isClusterWorker()) return runWorker(settings, process.env, logger);
      if (settings.workers > 1 && settings.allowTimeTravel) {
        // The lifecycle clock lives in each process: moving it must move the only one. (Only an
        // explicit count gets here: by default, time travel resolves to one worker quietly.)
        logger.warn('--allow-time-travel runs one process: --workers %d ignored', settings.workers);
      } else if (settings.workers > 1) {
        return runPrimary(settings, process.env, logger);
      }
      const running = await startServer(settings, process.env, logger);
      const shutdown = (signal: string) => {
        logger.info({ signal }, 'shutting down: finishing in-flight requests');
        running.close().then(
          () => {
            logger.info('stopped');
            process.exit(0);
          },
          (err: unknown) => {
            logger.error({ err }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.once('SIGTERM', () => shutdown('SIGTERM'));
      process.once('SIGINT', () => shutdown('SIGINT'));
    });

  program.addCommand(accessKeyCommands());
  program.addCommand(auditCommands());
  program.addCommand(clockCommands());
  program.addCommand(userCommands());
  program.addCommand(policyCommands());
  program.addCommand(roleCommands());
  program.addCommand(scpCommands());
  program.addCommand(serviceCommands());
  program.addCommand(storeCommands());
  await program.parseAsync(argv);
}
