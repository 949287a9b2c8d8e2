import type { AuditLog } from '../storage/audit-log.js';
import { parseDigest } from './digest.js';

/** Digests read at a time. */
const PAGE = 100;

/**
 * Retention by age. Records are pruned only up to the end of a signed digest whose newest record is
 * older than the cutoff, so the chain that remains starts right after a digest: that digest's
 * signed `lastHash` is the anchor the first remaining record must link to, and verify stays green.
 * Digests themselves are never pruned (they are small and hold no request data).
 *
 * One digest's records at a time, oldest first, one transaction each, with a turn of the event loop
 * between: a delete runs on the event loop (~6.5 µs a record with SQLite), and all of an hour's
 * records in one transaction stopped the server for seconds. Each step ends at a digest, so the log
 * is as verify expects after every step, and after a crash between two. The writer signs a digest
 * at least every DIGEST_EVERY_RECORDS records (writer.ts), which bounds a step. It stops at the
 * first digest with a record newer than the cutoff, and reads only the digests from the first
 * record left on (there may be millions of older ones).
 *
 * Returns how many records went and the seq they went through (0: none).
 */
export async function pruneAudit(log: AuditLog, cutoff: number): Promise<{ events: number; throughSeq: number }> {
  const first = (await log.readRange(0, 1))[0]?.seq;
  let events = 0;
  let throughSeq = 0;
  if (first === undefined) return { events, throughSeq };
  for (let from = first; ; ) {
    const page = await log.digestsFrom(from, PAGE);
    for (const row of page) {
      const newest = parseDigest(row.doc).newestEventTime;
      if (newest !== null && Date.parse(newest) >= cutoff) return { events, throughSeq };
      if (throughSeq > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      events += await log.prune(row.toSeq);
      throughSeq = row.toSeq;
    }
    const last = page.at(-1);
    if (page.length < PAGE || last === undefined) return { events, throughSeq };
    from = last.toSeq + 1;
  }
}
