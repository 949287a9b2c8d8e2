import { createHash, type KeyObject, sign, verify } from 'node:crypto';
import type { DigestRow } from '../storage/audit-log.js';
import { canonicalJson } from './canonical.js';
import { cloudTrailTime } from './record.js';
import { type AuditSigningKey, SIGNATURE_ALGORITHM } from './signing-key.js';

/**
 * Trent's signed digests (docs/audit.md): digest n covers records fromSeq..toSeq of the chain,
 * states the hash before the range and the hash of its last record, and links to digest n-1 by
 * the SHA-256 of its canonical text, as CloudTrail's digest files link by previousDigestHashValue.
 * The signature (Ed25519) covers the canonical text of every other member.
 */
export const DIGEST_VERSION = '1';

export interface Digest {
  trentDigestVersion: string;
  number: number;
  fromSeq: number;
  toSeq: number;
  recordCount: number;
  previousHash: string;
  lastHash: string;
  oldestEventTime: string | null;
  newestEventTime: string | null;
  digestTime: string;
  previousDigestHash: string | null;
  publicKeyFingerprint: string;
  signatureAlgorithm: string;
  signature: string;
}

export type UnsignedDigest = Omit<Digest, 'signature'>;

export function makeDigest(
  previous: DigestRow | undefined,
  range: { fromSeq: number; toSeq: number; previousHash: string; lastHash: string; count: number },
  times: { oldest: number | undefined; newest: number | undefined; now: number },
  key: AuditSigningKey,
): DigestRow {
  const unsigned: UnsignedDigest = {
    trentDigestVersion: DIGEST_VERSION,
    number: (previous?.number ?? 0) + 1,
    fromSeq: range.fromSeq,
    toSeq: range.toSeq,
    recordCount: range.count,
    previousHash: range.previousHash,
    lastHash: range.lastHash,
    oldestEventTime: times.oldest === undefined ? null : cloudTrailTime(times.oldest),
    newestEventTime: times.newest === undefined ? null : cloudTrailTime(times.newest),
    digestTime: new Date(times.now).toISOString(),
    previousDigestHash: previous === undefined ? null : digestHash(previous.doc),
    publicKeyFingerprint: key.fingerprint,
    signatureAlgorithm: SIGNATURE_ALGORITHM,
  };
  const signature = sign(null, Buffer.from(canonicalJson(unsigned), 'utf8'), key.privateKey).toString('hex');
  const doc = canonicalJson({ ...unsigned, signature });
  return { number: unsigned.number, fromSeq: range.fromSeq, toSeq: range.toSeq, createdAt: times.now, doc };
}

export function digestHash(doc: string): string {
  return createHash('sha256').update(doc, 'utf8').digest('hex');
}

export function parseDigest(doc: string): Digest {
  return JSON.parse(doc) as Digest;
}

export function digestSignatureValid(digest: Digest, publicKey: KeyObject): boolean {
  const { signature, ...unsigned } = digest;
  try {
    return verify(null, Buffer.from(canonicalJson(unsigned), 'utf8'), publicKey, Buffer.from(signature, 'hex'));
  } catch {
    return false;
  }
}
