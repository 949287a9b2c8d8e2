import { createPublicKey } from 'node:crypto';
import { GENESIS_HASH } from '../storage/audit-log.js';
import { canonicalJson } from './canonical.js';
import { linkRecord } from './chain.js';
import { type Digest, digestHash, digestSignatureValid } from './digest.js';
import { fingerprintOf } from './signing-key.js';

/**
 * Offline verification of a stretch of the chain against the signed digests (docs/audit.md).
 * Pure: the CLI feeds it from a store or from an export. It names the first problem it finds:
 * an altered record (its text no longer hashes to its hash, or its hash was recomputed so the next
 * record no longer links to it), removed records (a link points to nothing stored), inserted records
 * (a later record links past them) or reordered records (a record links to one stored after it).
 */
export interface ChainEntry {
  seq: number;
  prevHash: string;
  hash: string;
  record: string;
}

export type FindingKind = 'altered' | 'removed' | 'inserted' | 'reordered' | 'digest';

export interface Finding {
  kind: FindingKind;
  /** The record named (its position in the stored order), when one is. */
  seq?: number;
  eventId?: string;
  message: string;
}

export interface VerifyResult {
  ok: boolean;
  checked: number;
  digestsChecked: number;
  /** Records after the newest digest: chained, but not yet covered by a signature. */
  unsigned: number;
  findings: Finding[];
}

export interface VerifyInput {
  /** The stretch to check, in stored order. */
  entries: readonly ChainEntry[];
  /** The hash the first entry must link to (the previous record's, or a digest's anchor). */
  anchor: string;
  /** Every digest (all of them are checked for signature and linkage). */
  digests: readonly Digest[];
  publicKeyPem: string;
  /** The seq of the newest record in the log, for counting unsigned records. */
  headSeq: number;
}

export function verifyChain(input: VerifyInput): VerifyResult {
  const findings: Finding[] = [];
  const digestFindings = checkDigests(input.digests, input.publicKeyPem);
  const { entries } = input;
  const positionOfHash = new Map<string, number>();
  for (const [i, e] of entries.entries()) positionOfHash.set(e.hash, i);

  const name = (i: number): { seq: number; eventId?: string } => {
    const e = entries[i]!;
    const eventId = eventIdOf(e.record);
    return eventId === undefined ? { seq: e.seq } : { seq: e.seq, eventId };
  };

  for (let i = 0; i < entries.length && findings.length === 0; i++) {
    const e = entries[i]!;
    if (linkRecord(e.prevHash, e.record) !== e.hash || !isCanonical(e.record)) {
      findings.push({
        kind: 'altered',
        ...name(i),
        message: `record seq ${e.seq} was altered: its content no longer matches its hash`,
      });
      break;
    }
    const expected = i === 0 ? input.anchor : entries[i - 1]!.hash;
    if (e.prevHash === expected) continue;
    const j = positionOfHash.get(e.prevHash);
    if (j !== undefined && j < i - 1) {
      findings.push({
        kind: 'inserted',
        ...name(j + 1),
        message: `record seq ${entries[j + 1]!.seq} was inserted: seq ${e.seq} links to seq ${entries[j]!.seq}, so the ${i - 1 - j} record(s) between are not part of the chain`,
      });
    } else if (j !== undefined && j > i) {
      findings.push({
        kind: 'reordered',
        ...name(i),
        message: `record seq ${e.seq} is out of order: it follows the record stored at seq ${entries[j]!.seq}`,
      });
    } else if (i > 0 && entries[i + 1]?.prevHash === entries[i - 1]!.hash) {
      findings.push({
        kind: 'inserted',
        ...name(i),
        message: `record seq ${e.seq} was inserted: it links to no stored record, and seq ${entries[i + 1]!.seq} links past it`,
      });
    } else if (i > 0 && e.seq === entries[i - 1]!.seq + 1) {
      findings.push({
        kind: 'altered',
        ...name(i - 1),
        message: `record seq ${entries[i - 1]!.seq} was altered and its hash recomputed: seq ${e.seq} links to a different predecessor`,
      });
    } else {
      const from = i === 0 ? undefined : entries[i - 1]!.seq + 1;
      const range = from === undefined || from === e.seq ? `before seq ${e.seq}` : `seq ${from}..${e.seq - 1}`;
      findings.push({
        kind: 'removed',
        seq: e.seq,
        message: `record(s) ${range} were removed: seq ${e.seq} links to a record that is not stored`,
      });
    }
  }

  // Digest anchors: a digest's range must start and end on the stored chain.
  if (findings.length === 0) {
    const bySeq = new Map(entries.map((e) => [e.seq, e]));
    for (const d of input.digests) {
      const last = bySeq.get(d.toSeq);
      if (last !== undefined && last.hash !== d.lastHash) {
        findings.push({
          kind: 'altered',
          seq: d.toSeq,
          message: `record seq ${d.toSeq} does not match signed digest ${d.number} (its hash was recomputed, or records up to it were changed)`,
        });
        break;
      }
      const first = bySeq.get(d.fromSeq);
      if (first !== undefined && first.prevHash !== d.previousHash) {
        findings.push({
          kind: 'altered',
          seq: d.fromSeq,
          message: `record seq ${d.fromSeq} does not link to the hash signed in digest ${d.number}`,
        });
        break;
      }
    }
  }
  findings.push(...digestFindings);
  const lastDigest = input.digests.at(-1);
  return {
    ok: findings.length === 0,
    checked: entries.length,
    digestsChecked: input.digests.length,
    unsigned: Math.max(0, input.headSeq - (lastDigest?.toSeq ?? 0)),
    findings,
  };
}

/** Signatures, fingerprints, numbering, contiguity and the previousDigestHash links. */
function checkDigests(digests: readonly Digest[], publicKeyPem: string): Finding[] {
  const key = createPublicKey(publicKeyPem);
  const fingerprint = fingerprintOf(key);
  let previous: Digest | undefined;
  for (const d of digests) {
    const problem =
      d.publicKeyFingerprint !== fingerprint
        ? 'is signed by another key'
        : !digestSignatureValid(d, key)
          ? 'has an invalid signature'
          : previous !== undefined && d.number !== previous.number + 1
            ? `follows digest ${previous.number}`
            : previous !== undefined && d.fromSeq !== previous.toSeq + 1
              ? `does not start where digest ${previous.number} ended`
              : previous !== undefined && d.previousHash !== previous.lastHash
                ? `does not continue the chain of digest ${previous.number}`
                : previous !== undefined && d.previousDigestHash !== digestHash(canonicalJson(previous))
                  ? `does not link to digest ${previous.number}`
                  : previous === undefined && d.number === 1 && d.previousHash !== GENESIS_HASH
                    ? 'does not start at the beginning of the chain'
                    : undefined;
    if (problem !== undefined) return [{ kind: 'digest', message: `digest ${d.number} ${problem}` }];
    previous = d;
  }
  return [];
}

function isCanonical(text: string): boolean {
  try {
    return canonicalJson(JSON.parse(text)) === text;
  } catch {
    return false;
  }
}

function eventIdOf(text: string): string | undefined {
  try {
    const id = (JSON.parse(text) as { eventID?: unknown }).eventID;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}
