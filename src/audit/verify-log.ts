import { type AuditLog, GENESIS_HASH } from '../storage/audit-log.js';
import { parseDigest } from './digest.js';
import { type ChainEntry, type Finding, type VerifyResult, verifyChain } from './verify.js';

const PAGE = 5000;

/**
 * Verifies a stored log (a stopped server's, or beside a running one: it reads a snapshot of
 * committed records). With `from`/`to` (epoch ms) only the records in that time range are checked,
 * linked to the record before them.
 */
export async function verifyLog(
  log: AuditLog,
  publicKeyPem: string,
  range: { from?: number; to?: number } = {},
): Promise<VerifyResult> {
  const digests = (await log.digests()).map((d) => parseDigest(d.doc));
  const head = await log.head();
  const startSeq =
    range.from === undefined ? (await log.readRange(0, 1))[0]?.seq : await log.firstSeqAtOrAfter(range.from);
  const entries: ChainEntry[] = [];
  const early: Finding[] = [];
  let anchor = GENESIS_HASH;
  if (startSeq !== undefined) {
    const before = startSeq > 1 ? await log.getEvent(startSeq - 1) : undefined;
    const pruneAnchor = digests.find((d) => d.toSeq === startSeq - 1);
    if (startSeq === 1) anchor = GENESIS_HASH;
    else if (before !== undefined) anchor = before.hash;
    else if (pruneAnchor !== undefined) anchor = pruneAnchor.lastHash;
    else {
      early.push({
        kind: 'removed',
        seq: startSeq,
        message: `record(s) before seq ${startSeq} were removed: no record or signed digest anchors seq ${startSeq}`,
      });
    }
    for (let after = startSeq - 1; ; ) {
      const page = await log.readRange(after, PAGE);
      for (const e of page) {
        if (range.to !== undefined && e.eventTime >= range.to) break;
        entries.push({ seq: e.seq, prevHash: e.prevHash, hash: e.hash, record: e.record });
      }
      if (page.length < PAGE || (range.to !== undefined && (page.at(-1)?.eventTime ?? 0) >= range.to)) break;
      after = page.at(-1)!.seq;
    }
  }
  const result = verifyChain({ entries, anchor, digests, publicKeyPem, headSeq: head.seq });
  const lastStored = entries.at(-1)?.seq ?? 0;
  if (
    range.to === undefined &&
    result.ok &&
    lastStored < head.seq &&
    !(entries.length === 0 && prunedThrough(digests) === head.seq)
  ) {
    result.findings.push({
      kind: 'removed',
      seq: lastStored + 1,
      message: `record(s) seq ${lastStored + 1}..${head.seq} were removed from the end of the log`,
    });
  }
  if (early.length > 0) result.findings.unshift(...early);
  result.ok = result.findings.length === 0;
  return result;
}

function prunedThrough(digests: { toSeq: number }[]): number {
  return digests.at(-1)?.toSeq ?? 0;
}
