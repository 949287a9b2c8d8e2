import type { KeyRecord } from '../storage/records.js';
import type { KeyRepository } from './key-repository.js';

/**
 * The end of a deletion window: every key whose waiting period is over is destroyed with its
 * material and aliases. Runs in batches so a backlog never holds everything in memory.
 */
export async function deleteDueKeys(keys: KeyRepository, now: number, batch = 100): Promise<KeyRecord[]> {
  const deleted: KeyRecord[] = [];
  for (;;) {
    const due = await keys.dueForDeletion(now, batch);
    for (const key of due) {
      if (await keys.destroy(key)) deleted.push(key);
    }
    if (due.length < batch) return deleted;
  }
}
