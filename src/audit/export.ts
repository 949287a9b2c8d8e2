import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { type AuditLog, GENESIS_HASH, type StoredAuditEvent } from '../storage/audit-log.js';
import { canonicalJson } from './canonical.js';
import { linkRecord } from './chain.js';
import { type Digest, parseDigest } from './digest.js';
import type { Finding, VerifyResult } from './verify.js';
import { verifyChain } from './verify.js';

/**
 * `trent audit export`: CloudTrail-style log files — gzip'd `{"Records": [...]}`, one per hour of
 * events — that tools reading CloudTrail logs can read, plus Trent's manifest
 * (`Trent-Digest/manifest.json`): for each file its SHA-256 and, per record, its seq, eventID and
 * chain hash; the signed digests; the public key. `verifyExport` needs nothing else.
 */
export const MANIFEST = join('Trent-Digest', 'manifest.json');
const PAGE = 5000;

export interface ExportManifest {
  trentExportVersion: '1';
  accountId: string;
  anchor: string;
  publicKey: string;
  files: { path: string; sha256: string; records: { seq: number; eventID: string; hash: string }[] }[];
  digests: Digest[];
}

export async function exportAudit(
  log: AuditLog,
  outDir: string,
  options: { accountId: string; publicKeyPem: string },
): Promise<{ files: number; records: number }> {
  const digests = (await log.digests()).map((d) => parseDigest(d.doc));
  const groups: { hour: string; events: StoredAuditEvent[] }[] = [];
  let anchor: string | undefined;
  let count = 0;
  for (let after = 0; ; ) {
    const page = await log.readRange(after, PAGE);
    for (const e of page) {
      anchor ??= e.prevHash;
      const hour = new Date(e.eventTime).toISOString().slice(0, 13);
      const last = groups.at(-1);
      if (last?.hour === hour) last.events.push(e);
      else groups.push({ hour, events: [e] });
      count++;
    }
    if (page.length < PAGE) break;
    after = page.at(-1)!.seq;
  }
  const manifest: ExportManifest = {
    trentExportVersion: '1',
    accountId: options.accountId,
    anchor: anchor ?? GENESIS_HASH,
    publicKey: options.publicKeyPem,
    files: [],
    digests,
  };
  for (const group of groups) {
    const [date, hh] = group.hour.split('T') as [string, string];
    const [y, m, d] = date.split('-') as [string, string, string];
    const first = group.events[0]!.seq;
    const name = `${options.accountId}_CloudTrail_trent_${y}${m}${d}T${hh}00Z_${first}.json.gz`;
    const path = join('AWSLogs', options.accountId, 'CloudTrail', 'trent', y, m, d, name);
    // The records as stored: each is its canonical text, so the chain can be recomputed.
    const text = `{"Records":[${group.events.map((e) => e.record).join(',')}]}`;
    mkdirSync(dirname(join(outDir, path)), { recursive: true });
    writeFileSync(join(outDir, path), gzipSync(text));
    manifest.files.push({
      path,
      sha256: createHash('sha256').update(text).digest('hex'),
      records: group.events.map((e) => ({ seq: e.seq, eventID: e.eventId, hash: e.hash })),
    });
  }
  mkdirSync(join(outDir, 'Trent-Digest'), { recursive: true });
  writeFileSync(join(outDir, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
  return { files: groups.length, records: count };
}

/**
 * Verifies an export with no store. Each record is placed by its eventID at its position in the
 * manifest and must hash, from the previous position's hash, to that position's hash; positions
 * left empty were removed, records with no position were inserted, positions met out of order were
 * reordered. Then the chain recomputed from the records alone must meet every signed digest.
 */
export function verifyExport(dir: string, publicKeyPem?: string): VerifyResult {
  const manifest = JSON.parse(readFileSync(join(dir, MANIFEST), 'utf8')) as ExportManifest;
  const key = publicKeyPem ?? manifest.publicKey;
  const positions = manifest.files.flatMap((f) => f.records);
  const index = new Map(positions.map((p, i) => [p.eventID, i]));
  const hashAt = (i: number) => (i === 0 ? manifest.anchor : positions[i - 1]!.hash);
  const findings: Finding[] = [];
  const texts: { seq: number; text: string }[] = [];
  const seen = new Set<number>();
  let lastPosition = -1;
  for (const file of manifest.files) {
    let records: unknown[];
    try {
      const text = gunzipSync(readFileSync(join(dir, file.path))).toString('utf8');
      records = (JSON.parse(text) as { Records: unknown[] }).Records;
    } catch (err) {
      findings.push({ kind: 'removed', message: `log file ${file.path} is missing or unreadable: ${String(err)}` });
      continue;
    }
    for (const record of records) {
      const text = canonicalJson(record);
      const eventId = (record as { eventID?: string }).eventID ?? '';
      const at = index.get(eventId);
      if (at === undefined) {
        findings.push({
          kind: 'inserted',
          eventId,
          message: `record ${eventId} in ${file.path} was inserted: the manifest has no such record`,
        });
        continue;
      }
      const p = positions[at]!;
      if (linkRecord(hashAt(at), text) !== p.hash) {
        findings.push({
          kind: 'altered',
          seq: p.seq,
          eventId,
          message: `record seq ${p.seq} (${eventId}) was altered`,
        });
      }
      if (at < lastPosition) {
        findings.push({
          kind: 'reordered',
          seq: p.seq,
          eventId,
          message: `record seq ${p.seq} (${eventId}) is out of order`,
        });
      }
      lastPosition = Math.max(lastPosition, at);
      seen.add(at);
      texts.push({ seq: p.seq, text });
    }
  }
  positions.forEach((p, i) => {
    if (!seen.has(i))
      findings.push({
        kind: 'removed',
        seq: p.seq,
        eventId: p.eventID,
        message: `record seq ${p.seq} (${p.eventID}) was removed`,
      });
  });
  if (findings.length > 0) {
    findings.sort((a, b) => (a.seq ?? Number.MAX_SAFE_INTEGER) - (b.seq ?? Number.MAX_SAFE_INTEGER));
    return { ok: false, checked: texts.length, digestsChecked: 0, unsigned: 0, findings };
  }
  // The manifest's hashes are claims; recompute the chain from the records and meet the digests.
  let prev = manifest.anchor;
  const entries = texts.map(({ seq, text }) => {
    const hash = linkRecord(prev, text);
    const entry = { seq, prevHash: prev, hash, record: text };
    prev = hash;
    return entry;
  });
  const headSeq = positions.at(-1)?.seq ?? 0;
  return verifyChain({ entries, anchor: manifest.anchor, digests: manifest.digests, publicKeyPem: key, headSeq });
}
