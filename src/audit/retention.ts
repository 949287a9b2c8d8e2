import type { AuditLog } from '../storage/audit-log.js';
import { parseDigest } from './digest.js';

/**
 * Retention by age. Records are pruned only up to the end of a signed digest whose newest record is
 * older than the cutoff, so the chain that remains starts right after a digest: that digest's
 * signed `lastHash` is the anchor the first remaining record must link to, and verify stays green.
 * Digests themselves are never pruned (they are small and hold no request data).
 */
export async function pruneAudit(log: AuditLog, cutoff: number): Promise<{ events: number; throughSeq: number }> {
  let throughSeq = 0;
  for (const row of await log.digests()) {
    const digest = parseDigest(row.doc);
    const newest = digest.newestEventTime === null ? 0 : Date.parse(digest.newestEventTime);
    if (newest < cutoff) throughSeq = row.toSeq;
  }
  if (throughSeq === 0) return { events: 0, throughSeq };
  return { events: await log.prune(throughSeq), throughSeq };
}
