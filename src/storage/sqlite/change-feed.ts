import type Database from 'better-sqlite3';
import type { StoreChange } from '../store.js';

/** How often each process looks for other processes' changes: the bound on a stale cache entry. */
export const CHANGE_POLL_MS = 100;

interface ChangeRow {
  seq: number;
  kind: string;
  key_arn: string | null;
  account_id: string | null;
  region: string | null;
  alias_name: string | null;
  grant_id: string | null;
}

/**
 * Several processes on one SQLite file (docs/multi-process.md): triggers (migration 5) append every
 * update or deletion of a key, an alias or a grant to `changes` in the writer's own transaction;
 * this polls for rows past the last one seen and tells `listener` of each. Rows this process wrote
 * are reported too (the cache already forgot them; forgetting twice is harmless). The triggers keep
 * only the last 10,000 rows: a reader that finds rows missing after its last one hears
 * `{ kind: 'all' }`.
 */
export function watchChanges(
  db: Database.Database,
  listener: (change: StoreChange) => void,
  intervalMs = CHANGE_POLL_MS,
): () => Promise<void> {
  const newest = db.prepare<[], number | null>('SELECT MAX(seq) FROM changes').pluck();
  const oldest = db.prepare<[], number | null>('SELECT MIN(seq) FROM changes').pluck();
  const after = db.prepare<[number], ChangeRow>(
    'SELECT seq, kind, key_arn, account_id, region, alias_name, grant_id FROM changes WHERE seq > ? ORDER BY seq LIMIT 1000',
  );
  let last = newest.get() ?? 0;
  const poll = () => {
    if (!db.open) return;
    for (;;) {
      const rows = after.all(last);
      if (rows.length === 0) return;
      const first = rows[0];
      if (first !== undefined && first.seq > last + 1 && (oldest.get() ?? 0) > last + 1) {
        // Pruned past us (or a seq skipped by a rolled-back insert — then this is merely cautious).
        listener({ kind: 'all' });
      }
      for (const row of rows) {
        last = row.seq;
        const change = toChange(row);
        if (change !== undefined) listener(change);
      }
      if (rows.length < 1000) return;
    }
  };
  const timer = setInterval(poll, intervalMs);
  timer.unref();
  return async () => clearInterval(timer);
}

function toChange(row: ChangeRow): StoreChange | undefined {
  if (row.kind === 'key' && row.key_arn !== null) return { kind: 'key', arn: row.key_arn };
  if (row.kind === 'grant' && row.key_arn !== null && row.grant_id !== null) {
    return { kind: 'grant', keyArn: row.key_arn, grantId: row.grant_id };
  }
  if (row.kind === 'alias' && row.account_id !== null && row.region !== null && row.alias_name !== null) {
    return { kind: 'alias', accountId: row.account_id, region: row.region, aliasName: row.alias_name };
  }
  return { kind: 'all' };
}
