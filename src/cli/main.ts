import { Command, Option } from 'commander';
import { createLogger } from '../server/logger.js';
import { resolveSettings } from '../server/settings.js';
import { startServer } from '../server/start.js';
import { accessKeyCommands } from './access-key-commands.js';

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
    .option('--store <spec>', 'store: sqlite:PATH (default sqlite:<data-dir>/trent.db; env TRENT_STORE)')
    .option(
      '--account-id <id>',
      'the default account, 12 digits, fixed at first start (default 111122223333; env TRENT_ACCOUNT_ID)',
    )
    .option('--dev', 'dev mode: accept any access key, do not verify signatures (env TRENT_DEV=true)')
    .option('--log-level <level>', 'pino log level (default info; env TRENT_LOG_LEVEL)')
    .option('--config <file>', 'JSON file with any of the settings above (camelCase names)')
    .action(async (options: Record<string, unknown>) => {
      const { config, ...flags } = options;
      const settings = resolveSettings(flags, process.env, config as string | undefined);
      const logger = createLogger(settings.logLevel);
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
  await program.parseAsync(argv);
}
