import { Command } from 'commander';
import { copyStore } from '../storage/copy-store.js';

/**
 * `trent store copy --from sqlite:PATH --to postgres://…`: moves a stopped single-node deployment
 * to PostgreSQL (src/storage/copy-store.ts). The nodes then serving the copy need the same root key.
 */
export function storeCommands(): Command {
  const store = new Command('store').description('move a deployment between stores');
  store
    .command('copy')
    .description('copy every key, version, alias, grant, tag, identity and audit record to an empty store')
    .requiredOption('--from <spec>', 'the source: sqlite:PATH (stop its server first)')
    .requiredOption('--to <spec>', 'the target: postgres://… (empty)')
    .action(async (o: { from: string; to: string }) => {
      const summary = await copyStore(o.from, o.to);
      process.stdout.write(`${JSON.stringify({ copied: summary.tables })}\n`);
    });
  return store;
}
