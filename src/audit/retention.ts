import type { AuditLog } from '../storage/audit-log.js';
import { parseDigest } from './digest.js';

/**
 * Retention by age. Records are pruned only up to the end of a signed digest whose newest record is
 * older than the cutoff, so the chain that remains starts right after a digest: that digest's
 * signed `lastHash` is the anchor the first remaining record must link to, and verify stays green.
 * Digests themselves are never pruned (they are small and hold no request data).
 *
 * One digest's records at a time, one transaction each, with a turn of the event loop between: a
 * delete runs on the event loop (~6.5 µs a record with SQLite), and all of an hour's records in one
 * transaction stopped the server for seconds. Each step ends at a digest, so the log is as verify
 * expects after every step, and after a crash between two. The writer signs a digest at least
 * every DIGEST_EVERY_RECORDS records (writer.ts), which bounds a step.
 */
export async function pruneAudit(log: AuditLog, cutoff: number): Promise<{ events: number; throughSeq: number }> {
  const ends: number[] = [];
  let throughSeq = 0;
  for (const row of await log.digests()) {
    ends.push(row.toSeq);
    const digest = parseDigest(row.doc);
    const newest = digest.newestEventTime === null ? 0 : Date.parse(digest.newestEventTime);
    if (newest < cutoff) throughSeq = row.toSeq;
  }
  if (throughSeq === 0) return { events: 0, throughSeq };
  // Steps that end before the first record left would delete nothing.
  const first = (await log.readRange(0, 1))[0]?.seq ?? throughSeq + 1;
  let events = 0;
  for (const end of ends) {
    if (end < first || end > throughSeq) continue;
    events += await log.prune(end);
    if (end < throughSeq) await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return { events, throughSeq };
}
